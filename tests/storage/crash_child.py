"""Child process for the kill -9 test: mutates the store and reports acknowledgements.

Each line on stdout is written only after the Deferred of that mutation fired:
``put <key>``, ``del <key>`` or ``hot <n>`` (the value a single hot key was
overwritten with); ``deleting <key>`` is written before a delete is issued.
A small compaction floor makes compactions frequent, so the kill also lands
in the middle of them (often, with large values).

Usage: ``crash_child.py <journal path> <concurrent writers> <value padding>``.
"""

from __future__ import annotations

import itertools
import os
import sys

from twisted.internet import reactor

from kapacitord_tw.storage import JournalStore


def main(path: str, writers: int, pad: int) -> None:
    store = JournalStore.open(path, reactor, compact_floor=32 * 1024)
    counter = itertools.count()
    acked: list[str] = []

    def report(_, text: str) -> None:
        os.write(1, text.encode() + b"\n")

    def issue(_=None) -> None:
        i = next(counter)
        if i % 3 == 0:
            d = store.put("ns", "hot", {"n": i})
            d.addCallback(report, f"hot {i}")
        elif i % 3 == 2 and acked:
            key = acked.pop(0)
            report(None, f"deleting {key}")  # its put may legitimately vanish from now on
            d = store.delete("ns", key)
            d.addCallback(report, f"del {key}")
        else:
            key = f"k{i:07d}"
            d = store.put("ns", key, {"i": i, "pad": "p" * pad})
            d.addCallback(lambda _, key=key: acked.append(key))
            d.addCallback(report, f"put {key}")
        d.addCallback(issue)

    for _ in range(writers):
        reactor.callWhenRunning(issue)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
