"""Malformed scripts are rejected with TickError, never a crash."""

import glob
import os
import random

from kapacitord_tw.tick import (
    TickError, compile_task, compile_template, format_script)

SCRIPTS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "scripts",
                                        "*.tick")))
PIECES = list("|.@()[]'\"/\\*-+!=<>~,:\n 019smhdwuµ") + [
    "//", "'''", "var ", "lambda:", " AND ", "1.5", "10s", "TRUE", "stream",
    "batch", "dbrp ", "|alert()", ".as('x')"]


def mutate(rng, text):
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(chars) + 1)
        roll = rng.random()
        if roll < 0.4 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif roll < 0.8:
            chars.insert(pos, rng.choice(PIECES))
        elif chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(PIECES)
    return "".join(chars)


def test_mutated_scripts_either_compile_or_raise_tick_errors():
    rng = random.Random(20260303)
    sources = []
    for path in SCRIPTS:
        with open(path, encoding="utf-8") as handle:
            sources.append(handle.read())
    for _ in range(400):
        script = mutate(rng, rng.choice(sources))
        for step in (format_script, compile_template, compile_task):
            try:
                step(script)
            except TickError:
                pass
