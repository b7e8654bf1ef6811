"""
The issue's "done when": the cpu alert can be defined, shown, listed,
enabled, disabled and deleted, with the original's JSON byte for byte.
"""

from __future__ import annotations

from tests.tasks.support import CPU_FORMATTED, TASKS, TELEGRAF, define, go_pretty

CREATED = "2026-03-03T12:00:00.123456789Z"
LINK = {"rel": "self", "href": "/kapacitor/v1/tasks/cpu_alert"}
STATIC_DOT = "digraph cpu_alert {\nstream0 -> from1;\nfrom1 -> alert2;\n}"
RUNTIME_DOT = (
    "digraph cpu_alert {\n"
    'graph [throughput="0.00 points/s"];\n'
    "\n"
    'stream0 [avg_exec_time_ns="0s" errors="0" working_cardinality="0" ];\n'
    'stream0 -> from1 [processed="0"];\n'
    "\n"
    'from1 [avg_exec_time_ns="0s" errors="0" working_cardinality="0" ];\n'
    'from1 -> alert2 [processed="0"];\n'
    "\n"
    'alert2 [alerts_inhibited="0" alerts_triggered="0" avg_exec_time_ns="0s" '
    'crits_triggered="0" errors="0" infos_triggered="0" oks_triggered="0" '
    'warns_triggered="0" working_cardinality="0" ];\n'
    "}"
)
LABELS_DOT = (
    "digraph cpu_alert {\n"
    'graph [label="Throughput: 0.00 points/s" forcelabels=true pad="0.8,0.5"];\n'
    "\n"
    'stream0 [xlabel="avg_exec_time_ns=0s\\rerrors=0\\rworking_cardinality=0"];\n'
    'stream0 -> from1 [label="processed=0"];\n'
    "\n"
    'from1 [xlabel="avg_exec_time_ns=0s\\rerrors=0\\rworking_cardinality=0"];\n'
    'from1 -> alert2 [label="processed=0"];\n'
    "\n"
    'alert2 [xlabel="alerts_inhibited=0\\ralerts_triggered=0\\ravg_exec_time_ns=0s'
    "\\rcrits_triggered=0\\rerrors=0\\rinfos_triggered=0\\roks_triggered=0"
    '\\rwarns_triggered=0\\rworking_cardinality=0"];\n'
    "}"
)
BASE_STATS = {"avg_exec_time_ns": 0, "collected": 0, "emitted": 0, "errors": 0,
              "working_cardinality": 0}
STATS = {
    "task-stats": {"throughput": 0},
    "node-stats": {
        "alert2": {
            "alerts_inhibited": 0, "alerts_triggered": 0, "avg_exec_time_ns": 0,
            "collected": 0, "crits_triggered": 0, "emitted": 0, "errors": 0,
            "infos_triggered": 0, "oks_triggered": 0, "warns_triggered": 0,
            "working_cardinality": 0,
        },
        "from1": BASE_STATS,
        "stream0": BASE_STATS,
    },
}


def task_object(status="disabled", executing=False, dot=STATIC_DOT, stats=None,
                last_enabled="0001-01-01T00:00:00Z"):
    """Go's client.Task in declaration order."""
    return {
        "link": LINK,
        "id": "cpu_alert",
        "template-id": "",
        "type": "stream",
        "dbrps": TELEGRAF,
        "script": CPU_FORMATTED,
        "vars": {},
        "dot": dot,
        "status": status,
        "executing": executing,
        "error": "",
        "stats": stats or {},
        "created": CREATED,
        "modified": CREATED,
        "last-enabled": last_enabled,
    }


def test_cpu_alert_define_show_list_enable_disable_delete(h):
    reply = h.post(TASKS, {"id": "cpu_alert", "type": "stream", "dbrps": TELEGRAF,
                           "script": "stream|from().measurement('cpu')|alert()"
                                     ".crit(lambda: \"usage_idle\" < 10)"})
    assert reply.code == 200
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    assert reply.body == go_pretty(task_object())

    shown = h.get(TASKS + "/cpu_alert")
    assert (shown.code, shown.body) == (200, go_pretty(task_object()))

    listed = h.get(TASKS)
    entry = task_object()
    del entry["template-id"]
    entry["stats"] = None
    assert (listed.code, listed.body) == (
        200, go_pretty({"tasks": [{k: entry[k] for k in sorted(entry)}]}))

    enabled = h.patch(TASKS + "/cpu_alert", {"status": "enabled"})
    running = task_object("enabled", True, RUNTIME_DOT, STATS, last_enabled=CREATED)
    assert (enabled.code, enabled.body) == (200, go_pretty(running))
    assert h.get(TASKS + "/cpu_alert").body == go_pretty(running)
    labels = h.get(TASKS + "/cpu_alert?dot-view=labels").json()
    assert labels["dot"] == LABELS_DOT

    disabled = h.patch(TASKS + "/cpu_alert", {"status": "disabled"})
    stopped = task_object("disabled", False, last_enabled=CREATED)
    assert (disabled.code, disabled.body) == (200, go_pretty(stopped))
    assert not h.app.tasks.master.is_executing("cpu_alert")

    deleted = h.delete(TASKS + "/cpu_alert")
    assert (deleted.code, deleted.body) == (204, b"")
    assert h.get(TASKS).body == go_pretty({"tasks": []})
    assert h.get(TASKS + "/cpu_alert").code == 404


def test_raw_script_format_returns_the_script_as_defined(h):
    raw = "stream|from().measurement('cpu')|alert().crit(lambda: \"usage_idle\" < 10)"
    define(h, script=raw)
    assert h.get(TASKS + "/cpu_alert?script-format=raw").json()["script"] == raw
    assert h.get(TASKS + "/cpu_alert").json()["script"] == CPU_FORMATTED
