"""Cron expressions as Kapacitor's cronexpr reads them, and ``query().cron()`` on a Clock.

The expression/answer pairs are gorhill/cronexpr's own test vectors.
"""

import time
from datetime import datetime

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from kapacitord_tw import tick
from kapacitord_tw.engine import cron
from kapacitord_tw.engine.task import EngineServices, TaskExecution, TaskStartError

VECTORS = [
    ("* * * * * * *", "2013-01-01 00:00:59", "2013-01-01 00:01:00"),
    ("* * * * * * *", "2016-02-28 23:59:59", "2016-02-29 00:00:00"),
    ("*/5 * * * * * *", "2013-01-01 00:00:00", "2013-01-01 00:00:05"),
    ("*/5 * * * * * *", "2012-12-31 23:59:59", "2013-01-01 00:00:00"),
    ("* * * * *", "2013-01-01 00:00:00", "2013-01-01 00:01:00"),
    ("* * * * *", "2013-01-01 23:59:00", "2013-01-02 00:00:00"),
    ("17-43/5 * * * *", "2013-01-01 00:30:00", "2013-01-01 00:32:00"),
    ("17-43/5 * * * *", "2013-01-01 00:50:00", "2013-01-01 01:17:00"),
    ("15-30/4,55 * * * *", "2013-01-01 00:16:00", "2013-01-01 00:19:00"),
    ("15-30/4,55 * * * *", "2013-01-01 00:30:00", "2013-01-01 00:55:00"),
    ("15-30/4,55 * * * *", "2012-12-31 23:55:00", "2013-01-01 00:15:00"),
    ("0 0 * * MON", "2013-12-30 00:30:00", "2014-01-06 00:00:00"),
    ("0 0 * * friday", "2013-01-28 00:00:00", "2013-02-01 00:00:00"),
    ("0 0 * * 6,7", "2013-01-01 00:00:00", "2013-01-05 00:00:00"),
    ("0 0 * * 6#5", "2013-09-02 00:00:00", "2013-11-30 00:00:00"),
    ("0 0 14W * *", "2013-03-31 00:00:00", "2013-04-15 00:00:00"),
    ("0 0 14W * *", "2013-08-31 00:00:00", "2013-09-13 00:00:00"),
    ("0 0 30W * *", "2013-03-02 00:00:00", "2013-03-29 00:00:00"),
    ("0 0 30W * *", "2013-09-02 00:00:00", "2013-09-30 00:00:00"),
    ("0 0 L * *", "2014-02-01 00:00:00", "2014-02-28 00:00:00"),
    ("0 0 L * *", "2016-02-15 00:00:00", "2016-02-29 00:00:00"),
    ("0 0 LW * *", "2013-11-02 00:00:00", "2013-11-29 00:00:00"),
    ("0 0 LW * *", "2014-08-15 00:00:00", "2014-08-29 00:00:00"),
    ("@hourly", "2013-01-01 00:30:00", "2013-01-01 01:00:00"),
    ("@daily", "2013-01-01 00:30:00", "2013-01-02 00:00:00"),
    ("@weekly", "2013-01-01 00:00:00", "2013-01-06 00:00:00"),
    ("@monthly", "2013-01-15 00:00:00", "2013-02-01 00:00:00"),
    ("@yearly", "2013-01-15 00:00:00", "2014-01-01 00:00:00"),
    ("0 0 29 2 *", "2013-01-01 00:00:00", "2016-02-29 00:00:00"),
    # Both day fields restricted: either matches (crontab's rule).
    ("0 0 13 * 5", "2013-09-01 00:00:00", "2013-09-06 00:00:00"),
    ("0 0 13 * 5", "2013-09-07 00:00:00", "2013-09-13 00:00:00"),
]


@pytest.mark.parametrize("expr,after,expected", VECTORS)
def test_next_fire_time_matches_cronexpr(expr, after, expected):
    got = cron.parse(expr).next_wall(datetime.fromisoformat(after))
    assert got == datetime.fromisoformat(expected)


def test_six_fields_end_with_the_year_and_no_fire_after_2099():
    assert cron.parse("* * * * * 1980").next_wall(datetime(2013, 8, 31)) is None
    assert cron.parse("* * * * * 2050").next_wall(datetime(2013, 8, 31)) == datetime(2050, 1, 1)
    assert cron.parse("@yearly").next_wall(datetime(2099, 6, 1)) is None


@pytest.mark.parametrize("expr,message", [
    ("* * * *", "missing field(s)"),
    ("61 * * * *", "syntax error in minute field: '61'"),
    ("* 24 * * *", "syntax error in hour field: '24'"),
    ("* * 0 * *", "syntax error in day-of-month field: '0'"),
    ("* * * 13 *", "syntax error in month field: '13'"),
    ("* * * * 8", "syntax error in day-of-week field: '8'"),
    ("*/0 * * * *", "invalid interval */0"),
    ("*/99 * * * *", "invalid interval */99"),
])
def test_malformed_expressions_say_what_cronexpr_says(expr, message):
    with pytest.raises(cron.CronError) as e:
        cron.parse(expr)
    assert str(e.value) == message


def test_pathological_expression_is_answered_quickly():
    expr = cron.parse("0 0 31 2 *")  # never: February has no 31st
    started = time.monotonic()
    assert expr.next_wall(datetime(1970, 1, 1)) is None
    assert time.monotonic() - started < 1.0


# ------------------------------------------------------- query().cron()


class _Recorder:
    """The cluster client seen by the query node: records statements, answers nothing."""

    def __init__(self):
        self.statements = []

    def query(self, statement):
        self.statements.append(statement)
        return defer.succeed([])


class _Cluster:
    def __init__(self):
        self.client = _Recorder()


class _Service:
    def __init__(self):
        self.default = _Cluster()

    def cluster(self, name=""):
        return self.default


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _task(script, clock, service):
    return TaskExecution("t", tick.compile_task(script), [("db", "rp")], clock,
                         services=EngineServices(influxdb=service))


def test_cron_query_runs_at_each_fire_time_with_its_window(utc):
    clock = Clock()
    clock.advance(1_000_000_007)  # 2001-09-09T01:46:47Z
    service = _Service()
    task = _task("batch|query('SELECT mean(v) FROM db.rp.m').cron('*/10 * * * * * *')"
                 ".period(10s).offset(1s)|httpOut('o')", clock, service)
    task.start()
    sent = service.default.client.statements
    clock.advance(2)
    assert sent == []
    clock.advance(1)  # 01:46:50
    clock.advance(10)  # 01:47:00
    s = 10**9
    # Fires at :50 and :00; each window ends 1s (offset) before and lasts 10s (period).
    assert sent == [
        f"SELECT mean(v) FROM db.rp.m WHERE time >= {999_999_999 * s} AND time < {1_000_000_009 * s}",
        f"SELECT mean(v) FROM db.rp.m WHERE time >= {1_000_000_009 * s} AND time < {1_000_000_019 * s}",
    ]
    task.stop()
    clock.advance(60)
    assert len(sent) == 2
    assert clock.getDelayedCalls() == []


def test_cron_and_every_together_are_refused():
    with pytest.raises(TaskStartError) as e:
        _task("batch|query('SELECT v FROM db.rp.m').cron('* * * * *').every(1s)", Clock(), _Service())
    assert "must not set both 'every' and 'cron' properties" in str(e.value)


def test_malformed_cron_is_the_task_start_error():
    with pytest.raises(TaskStartError) as e:
        _task("batch|query('SELECT v FROM db.rp.m').cron('* * *')", Clock(), _Service())
    assert str(e.value).endswith("missing field(s)")
