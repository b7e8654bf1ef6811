"""The real daemon with parse workers: ``kapacitord -config`` and ``twistd
kapacitord`` start them, they hold no secrets, a SIGKILLed worker loses no
write, and none outlives the daemon (SIGTERM or SIGKILL)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
import time

from benchmarks.writes import cpu_body
from tests.support.daemon import Daemon, free_port, write_config
from tests.test_twistd_plugin import twistd_daemon

SECRET = "s3cr3t-shared-secret-for-the-test"
WORKER_MODULE = b"kapacitord_tw.ingest.worker"


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def workers_of(pid: int) -> list[int]:
    out = []
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if WORKER_MODULE in f.read():
                    out.append(child)
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def with_workers(config: str, workers: int) -> str:
    """The config file with ``[http] write-workers`` set."""
    with open(config) as f:
        text = f.read().replace("[http]\n", f"[http]\n  write-workers = {workers}\n", 1)
    with open(config, "w") as f:
        f.write(text)
    return config


def start(tmp_path, workers: int = 2, env=None) -> Daemon:
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, auth=False)
    return Daemon(with_workers(conf, workers), port, env=env).start()


def points_ok(d: Daemon) -> int:
    status, _h, body = d.request("GET", "/kapacitor/v1/debug/vars")
    assert status == 200
    stats = [s for s in json.loads(body)["kapacitor"].values() if s["name"] == "httpd"]
    return stats[0]["values"]["points_written_ok"]


def test_kapacitord_starts_its_workers_and_sigterm_stops_them(tmp_path):
    with start(tmp_path, workers=2) as d:
        wait_for(lambda: len(workers_of(d.proc.pid)) == 2, what="two workers")
        pids = workers_of(d.proc.pid)
        body = cpu_body(5000)
        assert d.request("POST", "/write?db=db", body)[0] == 204
        assert d.request("POST", "/write?db=db", gzip.compress(body),
                         headers={"Content-Encoding": "gzip"})[0] == 204
        status, _h, answer = d.request("POST", "/write?db=db", body + b"bad\n")
        assert (status, answer) == (400, b"unable to parse 'bad': missing fields\n")
        assert points_ok(d) == 10_000
        assert d.stop() == 0
        wait_for(lambda: not any(alive(p) for p in pids), 5, "the workers to exit")


def test_workers_exit_when_the_daemon_is_killed(tmp_path):
    with start(tmp_path, workers=2) as d:
        wait_for(lambda: len(workers_of(d.proc.pid)) == 2, what="two workers")
        pids = workers_of(d.proc.pid)
        d.proc.kill()
        d.proc.wait(10)
        wait_for(lambda: not any(alive(p) for p in pids), 10, "orphaned workers to exit")


def test_workers_inherit_no_secrets(tmp_path):
    env = {"KAPACITOR_HTTP_SHARED_SECRET": SECRET, "SOME_TOKEN": SECRET}
    with start(tmp_path, workers=1, env=env) as d:
        wait_for(lambda: len(workers_of(d.proc.pid)) == 1, what="a worker")
        (worker,) = workers_of(d.proc.pid)
        with open(f"/proc/{worker}/environ", "rb") as f:
            environ = f.read()
        with open(f"/proc/{worker}/cmdline", "rb") as f:
            cmdline = f.read()
        names = {item.split(b"=", 1)[0] for item in environ.split(b"\0") if item}
        assert names <= {b"PATH", b"PYTHONPATH"}
        assert SECRET.encode() not in environ + cmdline
        assert b"k.conf" not in cmdline
        # Its only descriptors are its pipes and the standard ones (once its
        # start-up imports, which open source files for a moment, are over).
        d.request("POST", "/write?db=db", cpu_body(2_000))  # a parse: the worker is up

        def descriptors():
            return sorted(int(fd) for fd in os.listdir(f"/proc/{worker}/fd"))

        try:
            wait_for(lambda: descriptors() == [0, 1, 2], timeout=10, what="only fds 0-2")
        except AssertionError:
            assert descriptors() == [0, 1, 2]


def test_a_worker_killed_during_writes_loses_no_acknowledged_point(tmp_path):
    with start(tmp_path, workers=2) as d:
        wait_for(lambda: len(workers_of(d.proc.pid)) == 2, what="two workers")
        body = cpu_body(20_000)
        answers = []
        done = threading.Event()

        def writer():
            # Writing until a killed worker was holding a write: a fast
            # machine may parse a fixed number of writes before the kill.
            while not done.is_set():
                answers.append(d.request("POST", "/write?db=db", body, timeout=60)[0])

        threads = [threading.Thread(target=writer) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        try:
            time.sleep(0.3)
            while "writes it held are parsed again" not in d.output():
                assert time.monotonic() < deadline, "no worker was killed holding a write"
                for pid in workers_of(d.proc.pid)[:1]:
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.3)
        finally:
            done.set()
            for t in threads:
                t.join(120)
        assert answers and answers == [204] * len(answers)
        assert points_ok(d) == len(answers) * 20_000
        wait_for(lambda: len(workers_of(d.proc.pid)) == 2, what="the replacement worker")


def test_write_workers_0_parses_in_the_daemon(tmp_path):
    with start(tmp_path, workers=0) as d:
        assert d.request("POST", "/write?db=db", cpu_body(3000))[0] == 204
        assert points_ok(d) == 3000
        assert workers_of(d.proc.pid) == []


def test_twistd_kapacitord_starts_the_workers_and_stops_them(tmp_path):
    port = free_port()
    config = with_workers(
        write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port, auth=False), 2)
    daemon, _pidfile = twistd_daemon(tmp_path, port, config)
    with daemon:
        wait_for(lambda: len(workers_of(daemon.proc.pid)) == 2, what="two workers")
        pids = workers_of(daemon.proc.pid)
        assert daemon.request("POST", "/write?db=db", cpu_body(5000))[0] == 204
        daemon.stop()
        wait_for(lambda: not any(alive(p) for p in pids), 5, "the workers to exit")
