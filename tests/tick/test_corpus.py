"""Every real-style script in tests/tick/scripts compiles and re-formats."""

import glob
import os

import pytest

from kapacitord_tw.tick import UDFInfo, compile_template, format_script

SCRIPTS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "scripts",
                                        "*.tick")))
UDFS = {"movingAverage": UDFInfo(wants="batch", provides="stream",
                                 options={"field": ("STRING",),
                                          "size": ("INT",),
                                          "as": ("STRING",)})}


def test_corpus_is_large_enough():
    assert len(SCRIPTS) >= 30


@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_script_compiles(path):
    with open(path, encoding="utf-8") as handle:
        script = handle.read()
    compiled = compile_template(script, udfs=UDFS)
    assert compiled.type in ("stream", "batch")
    assert len(compiled.pipeline) > 1
    assert compiled.dot("t").startswith("digraph t {\n")


@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_formatted_script_compiles_to_the_same_graph(path):
    with open(path, encoding="utf-8") as handle:
        script = handle.read()
    original = compile_template(script, udfs=UDFS)
    reformatted = compile_template(format_script(script), udfs=UDFS)
    assert reformatted.dot("t") == original.dot("t")
    assert reformatted.vars == original.vars
