"""
``kill -9`` at random moments during mixed user and task writes, over
several rounds on the same data directory: start-up always succeeds and
nothing that was acknowledged is lost (deleted things stay deleted).

The CI version runs 2 short rounds; ``KAPACITORD_ABUSE_LONG=1`` (set by
``python -m benchmarks --abuse``) runs 8.
"""

import os
import random
import threading
import time

import pytest

from tests.support.daemon import Daemon, free_port, write_config

TASK_SCRIPT = "stream\n    |from()\n        .measurement('cpu')\n    |log()\n"
LONG = bool(os.environ.get("KAPACITORD_ABUSE_LONG"))


class Ledger:
    """What clients were told: acknowledged creates/deletes, and the in-flight ones."""

    def __init__(self):
        self.lock = threading.Lock()
        self.present = {}  # (kind, name) -> acknowledged present
        self.uncertain = set()  # in flight when the daemon died

    def begin(self, key):
        with self.lock:
            self.uncertain.add(key)

    def ack(self, key, present: bool):
        with self.lock:
            self.uncertain.discard(key)
            self.present[key] = present

    def settle(self):
        """After a restart the in-flight ones are whatever the server says."""
        with self.lock:
            pending = set(self.uncertain)
            self.uncertain.clear()
            return pending


def _worker(daemon, ledger, worker_id, round_no, stop, tasks_supported):
    rng = random.Random(worker_id * 1000 + round_no)
    mine = []
    i = 0
    while not stop.is_set():
        i += 1
        roll = rng.random()
        try:
            if tasks_supported and roll < 0.3:
                name = f"t{round_no}-{worker_id}-{i}"
                key = ("tasks", name)
                ledger.begin(key)
                status, _h, _b = daemon.request(
                    "POST", "/kapacitor/v1/tasks",
                    {"id": name, "type": "stream", "script": TASK_SCRIPT,
                     "dbrps": [{"db": "telegraf", "rp": "autogen"}], "status": "enabled"},
                    timeout=5,
                )
                assert status == 200, status
                ledger.ack(key, True)
                mine.append(key)
            elif mine and roll < 0.45:
                key = mine.pop(rng.randrange(len(mine)))
                ledger.begin(key)
                status, _h, _b = daemon.request(
                    "DELETE", f"/kapacitor/v1/{key[0]}/{key[1]}", timeout=5
                )
                assert status == 204, status
                ledger.ack(key, False)
            else:
                name = f"u{round_no}-{worker_id}-{i}"
                key = ("users", name)
                ledger.begin(key)
                status, _h, _b = daemon.request(
                    "POST", "/kapacitor/v1/users",
                    {"name": name, "password": "pw", "permissions": ["api"]}, timeout=5,
                )
                assert status == 200, status
                ledger.ack(key, True)
                mine.append(key)
        except (OSError, ConnectionError):
            return  # the daemon died under us; the op stays uncertain


def _exists(daemon, key) -> bool:
    status, _h, _b = daemon.request("GET", f"/kapacitor/v1/{key[0]}/{key[1]}")
    assert status in (200, 404), status
    return status == 200


@pytest.mark.parametrize("rounds", [8 if LONG else 2])
def test_kill_9_during_mixed_writes_loses_nothing_acknowledged(tmp_path, rounds):
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, auth=True, http_auth=False)
    ledger = Ledger()
    rng = random.Random(42)
    tasks_supported = None
    for round_no in range(rounds):
        daemon = Daemon(conf, port).start()
        try:
            if tasks_supported is None:
                status, _h, _b = daemon.request("GET", "/kapacitor/v1/tasks")
                tasks_supported = status == 200
            # Everything acknowledged so far survived the previous kill.
            for key in ledger.settle():
                ledger.ack(key, _exists(daemon, key))
            for key, present in list(ledger.present.items()):
                assert _exists(daemon, key) == present, (key, present)
            stop = threading.Event()
            workers = [
                threading.Thread(
                    target=_worker,
                    args=(daemon, ledger, w, round_no, stop, tasks_supported),
                    daemon=True,
                )
                for w in range(8)
            ]
            for t in workers:
                t.start()
            time.sleep(rng.uniform(0.4, 1.5 if LONG else 0.9))
        finally:
            daemon.kill()  # SIGKILL
        stop.set()
        for t in workers:
            t.join(10)
    assert len(ledger.present) > 20, "the rounds really wrote something"
    daemon = Daemon(conf, port).start()
    try:
        for key in ledger.settle():
            ledger.ack(key, _exists(daemon, key))
        for key, present in ledger.present.items():
            assert _exists(daemon, key) == present, (key, present)
    finally:
        daemon.stop()
