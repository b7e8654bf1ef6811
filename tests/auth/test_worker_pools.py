"""Issue #10 item 6: bcrypt checks and TICKscript compiles have separate
thread pools, so new logins do not wait behind big compiles (they waited
1.9-3.5 s behind 1 MB scripts when both shared one pool)."""

from __future__ import annotations

import threading
import time

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from kapacitord_tw.auth.workers import CPUWorkers, WorkersBusy
from kapacitord_tw.service import make_service
from tests.http.harness import V1, Harness, make_config

PING = V1 + "/ping"
TASKS = V1 + "/tasks"
ROOT = ("root", "rootpw")
BOB = ("bob", "bobpw")
#: Over the 64 KiB threshold, so compiled in a worker: a second or more.
BIG_SCRIPT = "stream|from().measurement('cpu')" + "|log()" * 12_000


async def pump_until(h, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        h.stub.flush()
        await deferLater(reactor, 0.005, lambda: None)


@pytest_twisted.ensureDeferred
async def test_new_login_is_prompt_while_big_compiles_run(tmp_path):
    h = Harness(tmp_path, reactor=reactor, cost=8)
    bcrypt_pool, compile_pool = h.workers, h.app.compile_workers
    assert isinstance(compile_pool, CPUWorkers) and compile_pool is not bcrypt_pool
    h.add_user("root", "rootpw", admin=True)
    h.add_user("bob", "bobpw", permissions=["api"])
    defines = []
    try:
        # As many big definitions as bcrypt has threads: one shared pool
        # would be full of compiles.
        for n in range(bcrypt_pool.threads):
            defines.append(h.start("POST", TASKS, {
                "id": f"big{n}", "script": BIG_SCRIPT + f"|log().prefix('{n}')",
                "dbrps": [{"db": "telegraf", "rp": "autogen"}]}, auth=ROOT))
        await pump_until(h, lambda: compile_pool.pending == bcrypt_pool.threads)
        start = time.monotonic()
        reply = await h.wait(h.start("GET", PING, auth=BOB))
        elapsed = time.monotonic() - start
        assert reply.code == 204
        assert compile_pool.pending > 0, "the compiles ended first: make them bigger"
        assert elapsed < 1.0
        for d in defines:
            assert (await h.wait(d, timeout=120)).code == 200
    finally:
        bcrypt_pool.stopService()
        compile_pool.stopService()


@pytest_twisted.ensureDeferred
async def test_full_compile_queue_does_not_refuse_logins(tmp_path):
    h = Harness(tmp_path, reactor=reactor)
    bcrypt_pool, compile_pool = h.workers, h.app.compile_workers
    h.add_user("root", "rootpw", admin=True)
    release = threading.Event()
    held = []
    try:
        while compile_pool.pending < compile_pool.max_pending:
            held.append(compile_pool.run(release.wait, 10))
        refused = compile_pool.run(release.wait, 10)
        failures = []
        refused.addErrback(failures.append)
        assert failures and failures[0].check(WorkersBusy)
        assert (await h.wait(h.start("GET", PING, auth=ROOT))).code == 204
    finally:
        release.set()
        for d in held:
            await d
        bcrypt_pool.stopService()
        compile_pool.stopService()


def test_the_daemon_runs_both_pools_as_services(tmp_path):
    service = make_service(make_config(tmp_path), reactor, endpoint=object())
    app = service.app
    pools = [child for child in service if isinstance(child, CPUWorkers)]
    assert pools == [app.workers, app.compile_workers]
    assert [pool.name for pool in pools] == ["kapacitord-bcrypt", "kapacitord-tick"]
    assert app.compile_workers.threads == 1
    app.store.close()
