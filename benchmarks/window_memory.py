"""Resident memory held by window groups and buffered points, measured in a
fresh process (RSS delta around feeding the engine's router in-process,
rows parsed from line protocol as ``/write``'s workers make them).

Usage: ``python benchmarks/window_memory.py groups|points``; prints JSON.
"""

from __future__ import annotations

import gc
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet.task import Clock  # noqa: E402

from kapacitord_tw import tick  # noqa: E402
from kapacitord_tw.engine.router import Engine  # noqa: E402
from kapacitord_tw.engine.task import TaskExecution  # noqa: E402
from kapacitord_tw.ingest.lineprotocol import SeriesKeys, parse_rows  # noqa: E402
from kapacitord_tw.ingest.rows import SeriesTable, WriteRows  # noqa: E402

MINUTE = 60 * 10**9
BASE = 1_700_000_000 * 10**9 // MINUTE * MINUTE


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def engine_with(script: str):
    clock = Clock()
    engine = Engine(clock)
    execution = TaskExecution("bench", tick.compile_task(script), [("telegraf", "autogen")], clock)
    execution.start()
    engine.add_task(execution)
    return engine, execution


#: Series shared across writes, as the daemon's ingest keeps them.
KEYS = SeriesKeys(SeriesTable().intern)


def feed(engine, groups: int, when: int, chunk: int = 5000) -> None:
    for start in range(0, groups, chunk):
        body = "".join(
            f"cpu,host=server{g:06d},region=r{g % 7} usage_idle={(g * 31) % 1000 / 10},usage_user=1.5 {when}\n"
            for g in range(start, min(groups, start + chunk))
        ).encode()
        # The daemon's path: rows (shared series, one fields dict per point).
        rows, count = parse_rows(body, "", 0, KEYS)
        engine.publish_rows(WriteRows("telegraf", "autogen", rows, count))
        engine.flush()


def groups_case() -> dict:
    groups = 100_000
    engine, execution = engine_with(
        "stream|from().measurement('cpu').groupBy('host')"
        "|window().period(1m).every(1m)|mean('usage_idle')")
    feed(engine, 100, BASE)  # warm caches and code paths
    gc.collect()
    before = rss()
    feed(engine, groups, BASE + 1)
    gc.collect()
    after = rss()
    window = execution.nodes["window2"]
    assert window.cardinality == groups, window.cardinality
    return {"groups": groups, "rss_delta": after - before, "per_group": (after - before) / groups}


def points_case() -> dict:
    groups, minutes = 4000, 30
    engine, execution = engine_with(
        "stream|from().measurement('cpu').groupBy('host')"
        "|window().period(30m).every(1m)|mean('usage_idle')")
    feed(engine, groups, BASE - MINUTE)  # one warm-up point per group (groups exist)
    gc.collect()
    before = rss()
    for minute in range(minutes):
        feed(engine, groups, BASE + minute * MINUTE)
    gc.collect()
    after = rss()
    window = execution.nodes["window2"]
    held = sum(len(g) for g in window.groups.values())
    return {"groups": groups, "points_held": held, "rss_delta": after - before,
            "per_point": (after - before) / (groups * minutes)}


if __name__ == "__main__":
    case = sys.argv[1]
    print(json.dumps(groups_case() if case == "groups" else points_case()))
