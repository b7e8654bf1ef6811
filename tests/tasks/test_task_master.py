"""The task master: executing instances, restart from the store, shutdown, the point bus."""

from __future__ import annotations

from kapacitord_tw.ingest.points import Point
from kapacitord_tw.tasks import TaskMasterService
from tests.tasks.conftest import FIXED_NS
from tests.tasks.support import TASKS, define, make_harness


def restart(h, tmp_path):
    """Close the store, open it again in a new app, and start its task master."""
    closed = []
    h.store.close().addBoth(closed.append)
    assert closed == [None]
    again = make_harness(tmp_path)
    again.app.tasks.now_ns = lambda: FIXED_NS
    service = TaskMasterService(again.app.tasks)
    service.startService()
    return again, service


def test_enabled_tasks_execute_again_after_a_restart(h, tmp_path):
    define(h, task_id="on", status="enabled")
    define(h, task_id="off")
    again, _ = restart(h, tmp_path)
    assert again.app.tasks.master.executing_ids() == ["on"]
    shown = again.get(TASKS + "/on").json()
    assert (shown["status"], shown["executing"]) == ("enabled", True)
    assert shown["stats"]["node-stats"]["stream0"]["collected"] == 0
    assert again.get(TASKS + "/off").json()["executing"] is False


def test_stopping_the_service_stops_every_task(h, tmp_path):
    define(h, task_id="on", status="enabled")
    again, service = restart(h, tmp_path)
    service.stopService()
    assert again.app.tasks.master.executing_ids() == []


def test_stored_task_that_no_longer_compiles_shows_error_and_does_not_execute(h, tmp_path):
    define(h, task_id="broken", status="enabled")
    record = h.store.get_now("tasks", "broken")
    record["script"] = "stream|from().measurement('cpu')|nosuchnode()"
    h.store.put("tasks", "broken", record)
    again, _ = restart(h, tmp_path)
    assert not again.app.tasks.master.is_executing("broken")
    shown = again.get(TASKS + "/broken").json()
    assert (shown["status"], shown["executing"], shown["dot"]) == ("enabled", False, "")
    assert "nosuchnode" in shown["error"]


def write(h, db="telegraf", rp="autogen", count=1):
    h.app.bus.publish([Point(db, rp, "cpu", (), (("usage_idle", 5.0),), i) for i in range(count)])


def test_points_of_the_tasks_dbrp_are_counted_at_its_source(h):
    define(h, status="enabled")
    write(h, count=3)
    write(h, db="other", count=5)
    shown = h.get(TASKS + "/cpu_alert").json()
    stream0 = shown["stats"]["node-stats"]["stream0"]
    assert (stream0["collected"], stream0["emitted"]) == (3, 3)
    assert 'stream0 -> from1 [processed="3"];' in shown["dot"]


def test_disabled_task_stops_counting_points(h):
    define(h, status="enabled")
    h.patch(TASKS + "/cpu_alert", {"status": "disabled"})
    h.patch(TASKS + "/cpu_alert", {"status": "enabled"})
    write(h, count=2)
    h.patch(TASKS + "/cpu_alert", {"status": "disabled"})
    write(h, count=2)
    h.patch(TASKS + "/cpu_alert", {"status": "enabled"})
    shown = h.get(TASKS + "/cpu_alert").json()
    assert shown["stats"]["node-stats"]["stream0"]["collected"] == 0


def test_throughput_is_sampled_every_second(h):
    define(h, status="enabled")
    write(h, count=10)
    h.clock.advance(1)
    shown = h.get(TASKS + "/cpu_alert").json()
    assert shown["stats"]["task-stats"]["throughput"] == 10
    assert 'graph [throughput="10.00 points/s"];' in shown["dot"]
    h.clock.advance(1)
    assert h.get(TASKS + "/cpu_alert").json()["stats"]["task-stats"]["throughput"] == 0


def test_enabling_does_not_leave_timers_after_delete(h):
    define(h, status="enabled")
    assert h.clock.getDelayedCalls()
    h.delete(TASKS + "/cpu_alert")
    assert not h.clock.getDelayedCalls()
