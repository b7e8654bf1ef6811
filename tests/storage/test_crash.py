"""kill -9 in the middle of writing and compacting loses nothing that was acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from .helpers import open_store

CHILD = os.path.join(os.path.dirname(__file__), "crash_child.py")


def run_and_kill(path: str, acks_before_kill: int, writers: int, pad: int) -> list[str]:
    """Start the child, kill -9 it after *acks_before_kill* lines, return every line it wrote."""
    child = subprocess.Popen([sys.executable, CHILD, path, str(writers), str(pad)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        acks = []
        while len(acks) < acks_before_kill:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"child died early: {child.stderr.read().decode()}")
            acks.append(line.decode().strip())
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()  # acknowledged before the kill, still in the pipe
        acks += rest.decode().splitlines()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return acks


@pytest.mark.parametrize("acks_before_kill, writers, pad", [
    (150, 16, 150),
    (2000, 16, 150),
    (700, 64, 8000),  # big batches: the kill often interrupts a compaction
    (1500, 64, 8000),
])
def test_every_acknowledged_change_survives_kill_9(tmp_path, acks_before_kill, writers, pad):
    path = str(tmp_path / "data" / "kapacitor.journal")
    acks = run_and_kill(path, acks_before_kill, writers, pad)

    store = open_store(path)
    try:
        present = set(store.keys("ns"))
        put = {a.split()[1] for a in acks if a.startswith("put ")}
        deleted = {a.split()[1] for a in acks if a.startswith("del ")}
        deleting = {a.split()[1] for a in acks if a.startswith("deleting ")}
        hot = [int(a.split()[1]) for a in acks if a.startswith("hot ")]
        assert put - deleting <= present
        assert not deleted & present
        # Overwrites are durable in order: the hot key holds the last acknowledged value or a later one.
        assert store.get_now("ns", "hot")["n"] >= max(hot)
    finally:
        store.close()
