"""Micro-benchmark: does one mutation cost the same with 10 or 10,000 records, and how fast is loading?

Run: ``python benchmarks/storage_scaling.py [--dir DIR]``.  Prints, for stores
holding 10 and 10,000 records: the reactor-thread CPU time of one ``put`` of a
new and of an existing key (what blocks the event loop), the latency of one sequential durable ``put``
(dominated by fsync) and the throughput of 1,000 concurrent puts (group
commit); then the time to open a 100,000-record journal, the time the reactor
is held when a compaction of it starts, and the compaction's total time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

from twisted.internet import defer, task

from kapacitord_tw.storage import JournalStore
from kapacitord_tw.storage.records import snapshot_bytes, put_line

VALUE = {"name": "", "admin": False, "hash": "$2b$10$" + "x" * 53,
         "privileges": {"/api": ["read", "write"]}, "pad": "p" * 40}


def value(i: int) -> dict:
    return {**VALUE, "name": f"user{i:06d}"}


@defer.inlineCallbacks
def measure_puts(reactor, directory: str, existing: int):
    path = os.path.join(directory, f"puts-{existing}", "kapacitor.journal")
    store = JournalStore.open(path, reactor)
    yield defer.gatherResults([store.put("ns", f"user{i:06d}", value(i)) for i in range(existing)])

    # Reactor-thread cost only: issue many puts in one turn, time the issuing
    # (best of 5 rounds, to keep garbage collection and warm-up out of it).
    n = 1000
    insert_us = overwrite_us = float("inf")
    for round_ in range(5):
        start = time.perf_counter()
        ds = [store.put("ns", f"user{i * existing // n:06d}-{round_}", value(i)) for i in range(n)]
        insert_us = min(insert_us, (time.perf_counter() - start) / n * 1e6)
        yield defer.gatherResults(ds)
        start = time.perf_counter()
        ds = [store.put("ns", f"user{i * existing // n:06d}", value(i)) for i in range(n)]
        overwrite_us = min(overwrite_us, (time.perf_counter() - start) / n * 1e6)
        yield defer.gatherResults(ds)

    latencies = []
    for i in range(100):
        start = time.perf_counter()
        yield store.put("ns", f"user{i % existing:06d}", value(i))
        latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    yield defer.gatherResults([store.put("ns", f"user{i % existing:06d}", value(i)) for i in range(1000)])
    concurrent_s = time.perf_counter() - start
    yield store.close()
    print(f"{existing:>6} records: reactor CPU per put: new key {insert_us:5.1f} us, "
          f"overwrite {overwrite_us:5.1f} us | "
          f"sequential durable put median {statistics.median(latencies) * 1e3:6.2f} ms | "
          f"1000 concurrent puts {concurrent_s * 1e3:7.1f} ms")


@defer.inlineCallbacks
def measure_load(reactor, directory: str, n: int = 100_000):
    path = os.path.join(directory, "load", "kapacitor.journal")
    os.makedirs(os.path.dirname(path))
    lines = [put_line("user_store", f"user{i:06d}", value(i)) for i in range(n)]
    data = snapshot_bytes([lines])
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    print(f"journal of {n} records, {len(data) / n:.0f} bytes each, {len(data) / 1e6:.1f} MB")

    start = time.perf_counter()
    store = JournalStore.open(path, reactor)
    print(f"open + load: {time.perf_counter() - start:.3f} s")

    start = time.perf_counter()
    d = store.compact()
    held = time.perf_counter() - start
    yield d
    print(f"compaction: reactor held {held * 1e3:.1f} ms, total {time.perf_counter() - start:.3f} s")

    start = time.perf_counter()
    page = yield store.list("user_store", offset=50_000, limit=100)
    print(f"list offset=50000 limit=100: {(time.perf_counter() - start) * 1e3:.2f} ms ({len(page)} rows)")
    start = time.perf_counter()
    yield store.put("user_store", "user050000a", value(0))
    print(f"put of a new key among {n}: {(time.perf_counter() - start) * 1e3:.2f} ms (incl. fsync)")
    yield store.close()


@defer.inlineCallbacks
def main(reactor, directory):
    for existing in (10, 10_000, 100_000):
        yield measure_puts(reactor, directory, existing)
    yield measure_load(reactor, directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to create the stores (default: a temporary directory)")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="storage-bench-")
    try:
        task.react(main, [directory])
    finally:
        if not args.dir:
            shutil.rmtree(directory, ignore_errors=True)
