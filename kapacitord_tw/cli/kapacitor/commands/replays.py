"""Recording and replay commands: record, replay, replay-live, list/delete recordings|replays.

As ``cmd/kapacitor/main.go``: the commands start the work, then poll every
half second until it is no longer running, print the ID and fail with the
object's error (``Error: ...``, exit 3) if it failed; ``-no-wait`` returns
at once without printing anything.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from ...goflags import Flag, FlagSet
from ..client import BASE_PATH
from ..gofmt import DurationError, go_quote, parse_influxql_duration, rfc822_local
from ..runtime import EXIT_ARGS, CommandError, Context, Exit
from .common import all_pages, delete_pages

__all__ = ["record", "replay", "replay_live", "list_recordings", "list_replays",
           "delete_recordings", "delete_replays", "REPLAY_FLAGS"]

POLL_SECONDS = 0.5

RECORD = """Usage: kapacitor record [batch|stream|query] [options]

	Record the result of a InfluxDB query or a snapshot of the live data stream.

	Prints the recording ID on exit.

	See 'kapacitor help replay' for how to replay a recording.
"""

RECORD_STREAM = """Usage: kapacitor record stream [options]

	Record a snapshot of the live data stream.

	Prints the recording ID on exit.

	See 'kapacitor help replay' for how to replay a recording.

Examples:

	$ kapacitor record stream -task mem_free -duration 1m

		This records the live data stream for 1 minute using the databases and retention policies
		from the named task.

Options:
"""

RECORD_BATCH = """Usage: kapacitor record batch [options]

	Record the result of a InfluxDB query from a task.

	Prints the recording ID on exit.

	See 'kapacitor help replay' for how to replay a recording.

Examples:

	$ kapacitor record batch -task cpu_idle -start 2015-09-01T00:00:00Z -stop 2015-09-02T00:00:00Z

		This records the result of the query defined in task 'cpu_idle' and runs the query
		until the queries reaches the stop time, starting at time 'start' and incrementing
		by the schedule defined in the task.

	$ kapacitor record batch -task cpu_idle -past 10h

		This records the result of the query defined in task 'cpu_idle' and runs the query
		until the queries reaches the present time.
		The starting time for the queries is 'now - 10h' and increments by the schedule defined in the task.

Options:
"""

RECORD_QUERY = """Usage: kapacitor record query [options]

	Record the result of a InfluxDB query.

	Prints the recording ID on exit.

	Recordings have types like tasks. you must specify the desired type.

	See 'kapacitor help replay' for how to replay a recording.

Examples:

	$ kapacitor record query -query 'select value from "telegraf"."default"."cpu_idle" where time > now() - 1h and time < now()' -type stream

		This records the result of the query and stores it as a stream recording. Use '-type batch' to store as batch recording.

Options:
"""

REPLAY = """Usage: kapacitor replay [options]

Replay a recording to a task. Prints the replay ID.

The times of the data points will either be relative to now or the exact times
in the recording if the '-rec-time' flag is set. In either case the relative times
between the data points remains the same.

See 'kapacitor help record' for how to create a replay.
See 'kapacitor help define' for how to create a task.

Options:
"""

REPLAY_LIVE = """Usage: kapacitor replay-live <batch|query> [options]

Replay data to a task directly without saving a recording.

The command is a hybrid of the 'kapacitor record batch|query' and 'kapacitor replay' commands.

See either 'kapacitor replay-live batch' or 'kapacitor replay-live query' for more details
"""

REPLAY_LIVE_BATCH = """Usage: kapacitor replay-live batch [options]

Replay data from the queries in a batch task against the task.

This is similar to 'kapacitor record batch ...' but without saving a recording.

Examples:

	$ kapacitor replay-live batch -task cpu_idle -start 2015-09-01T00:00:00Z -stop 2015-09-02T00:00:00Z

		This replays the result of the query defined in task 'cpu_idle' and runs the query
		until the queries reaches the stop time, starting at time 'start' and incrementing
		by the schedule defined in the task.

	$ kapacitor replay-live batch -task cpu_idle -past 10h

		This replays the result of the query defined in task 'cpu_idle' and runs the query
		until the queries reaches the present time.
		The starting time for the queries is 'now - 10h' and increments by the schedule defined in the task.

Options:
"""

REPLAY_LIVE_QUERY = """Usage: kapacitor replay-live query [options]

Replay the result of a querty against a task.

This is similar to 'kapacitor record query...' but without saving a recording.

Examples:

	$ kapacitor replay-live query -task cpu_alert -rec-time -query 'select value from "telegraf"."default"."cpu_idle" where time > now() - 1h and time < now()'

		This replays the result of the query against the cpu_alert task.


Options:
"""

_NO_WAIT = Flag("no-wait", "Do not wait for the recording to finish.", kind="bool", default=False)
_RECORDING_ID = Flag("recording-id", "The ID to give to this recording. If not set an random ID is chosen.")
_REPLAY_NO_WAIT = Flag("no-wait", "Do not wait for the replay to finish.", kind="bool", default=False)
_REPLAY_ID = Flag("replay-id", "The ID to give to this replay. If not set a random ID is chosen.")
_REAL = Flag("real-clock", "If set, replay the data in real time. If not set replay data as fast as possible.",
             kind="bool", default=False)
_REC_TIME = Flag("rec-time", "If set, use the times saved in the recording instead of present times.",
                 kind="bool", default=False)
_START = Flag("start", "The start time for the set of queries.")
_STOP = Flag("stop", "The stop time for the set of queries (default now).")
_PAST = Flag("past", "Set start time via 'now - past'.")
_CLUSTER = Flag("cluster", "Optional named InfluxDB cluster from configuration.")

RECORD_STREAM_FLAGS = FlagSet((
    Flag("duration", "How long to record the data stream."), _NO_WAIT, _RECORDING_ID,
    Flag("task", "The ID of a task. Uses the dbrp value for the task."),
))
RECORD_BATCH_FLAGS = FlagSet((
    _NO_WAIT, _PAST, _RECORDING_ID, _START, _STOP,
    Flag("task", "The ID of a task. Uses the queries contained in the task."),
))
RECORD_QUERY_FLAGS = FlagSet((
    _CLUSTER, _NO_WAIT, Flag("query", "The query to record."), _RECORDING_ID,
    Flag("type", "The type of the recording to save (stream|batch)."),
))
REPLAY_FLAGS = FlagSet((
    _REPLAY_NO_WAIT, _REAL, _REC_TIME, Flag("recording", "The recording ID."), _REPLAY_ID,
    Flag("task", "The task ID."),
))
REPLAY_LIVE_BATCH_FLAGS = FlagSet((
    _REPLAY_NO_WAIT, _PAST, _REAL, _REC_TIME, _REPLAY_ID, _START, _STOP,
    Flag("task", "The task ID."),
))
REPLAY_LIVE_QUERY_FLAGS = FlagSet((
    _CLUSTER, _REPLAY_NO_WAIT, Flag("query", "The query to replay."), _REAL, _REC_TIME,
    _REPLAY_ID, Flag("task", "The task ID."),
))


def _rfc3339(ns: int) -> str:
    """Go's JSON for a ``time.Time`` (UTC, nanoseconds trimmed)."""
    secs, nanos = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    frac = ("%09d" % nanos).rstrip("0")
    return text + ("." + frac if frac else "") + "Z"


def _parse_rfc3339(text: str) -> int:
    from kapacitord_tw.gocompat import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _duration(text: str) -> int:
    try:
        return parse_influxql_duration(text)
    except DurationError as exc:
        raise CommandError(str(exc)) from None


def _wait(ctx: Context, obj: dict, no_wait: bool, kind: str) -> None:
    """Poll until the object stops running; print its ID; its error fails the command."""
    if no_wait:
        return
    while obj.get("status") == "running":
        time.sleep(POLL_SECONDS)
        obj = ctx.client.call("GET", (obj.get("link") or {}).get("href", ""),
                              expect=(200, 202)) or {}
    ctx.terminal.out("%s\n" % obj.get("id", ""))
    if obj.get("status") == "failed":
        raise CommandError(obj.get("error") or "%s failed: unknown reason" % kind)


def _post(ctx: Context, path: str, payload: dict) -> dict:
    return ctx.client.call("POST", BASE_PATH + path, payload=payload, expect=(201,)) or {}


def _start_stop(ctx: Context, options, flags, text) -> tuple[int, int]:
    if not options["start"] and not options["past"]:
        ctx.usage(text, flags)
        raise CommandError("must set one of start or past flags.")
    if options["start"] and options["past"]:
        ctx.usage(text, flags)
        raise CommandError("cannot set both start and past flags.")
    start, stop = None, time.time_ns()
    if options["start"]:
        start = _parse_rfc3339(options["start"])
    if options["stop"]:
        stop = _parse_rfc3339(options["stop"])
    if options["past"]:
        start = stop - _duration(options["past"])
    return start, stop

#: ``kapacitor help <command>`` texts of these commands.
COMMAND_USAGE = {"record": RECORD, "replay": REPLAY}


# ------------------------------------------------------------------ record


def record(ctx: Context, args: list[str]) -> None:
    if not args:
        ctx.usage(RECORD)
        raise Exit(EXIT_ARGS)
    kind, rest = args[0], args[1:]
    if kind == "stream":
        options = ctx.parse(RECORD_STREAM_FLAGS, rest, RECORD_STREAM)
        if not options["task"] or not options["duration"]:
            ctx.usage(RECORD_STREAM, RECORD_STREAM_FLAGS)
            raise CommandError("both task and duration are required")
        stop = time.time_ns() + _duration(options["duration"])
        payload = {"task": options["task"], "stop": _rfc3339(stop)}
        if options["recording-id"]:
            payload = {"id": options["recording-id"], **payload}
        recording = _post(ctx, "/recordings/stream", payload)
    elif kind == "batch":
        options = ctx.parse(RECORD_BATCH_FLAGS, rest, RECORD_BATCH)
        if not options["task"]:
            ctx.usage(RECORD_BATCH, RECORD_BATCH_FLAGS)
            raise CommandError("task is required")
        start, stop = _start_stop(ctx, options, RECORD_BATCH_FLAGS, RECORD_BATCH)
        payload = {"task": options["task"], "start": _rfc3339(start), "stop": _rfc3339(stop)}
        if options["recording-id"]:
            payload = {"id": options["recording-id"], **payload}
        recording = _post(ctx, "/recordings/batch", payload)
    elif kind == "query":
        options = ctx.parse(RECORD_QUERY_FLAGS, rest, RECORD_QUERY)
        if not options["query"] or not options["type"]:
            ctx.usage(RECORD_QUERY, RECORD_QUERY_FLAGS)
            raise CommandError("both query and type are required")
        payload = {"query": options["query"], "type": options["type"]}
        if options["recording-id"]:
            payload = {"id": options["recording-id"], **payload}
        if options["cluster"]:
            payload["cluster"] = options["cluster"]
        recording = _post(ctx, "/recordings/query", payload)
    else:
        raise CommandError("Unknown record type %s, expected 'stream', 'batch' or 'query'"
                           % go_quote(kind))
    _wait(ctx, recording, options["no-wait"], "recording")


# ------------------------------------------------------------------ replay


def replay(ctx: Context, args: list[str]) -> None:
    options = ctx.parse(REPLAY_FLAGS, args, REPLAY)
    if not options["recording"]:
        ctx.usage(REPLAY, REPLAY_FLAGS)
        raise CommandError("must pass recording ID")
    if not options["task"]:
        ctx.usage(REPLAY, REPLAY_FLAGS)
        raise CommandError("must pass task ID")
    payload = {
        "id": options["replay-id"],
        "recording": options["recording"],
        "task": options["task"],
        "recording-time": options["rec-time"],
        "clock": "real" if options["real-clock"] else "fast",
    }
    _wait(ctx, _post(ctx, "/replays", payload), options["no-wait"], "replay")


def replay_live(ctx: Context, args: list[str]) -> None:
    if not args:
        ctx.usage(REPLAY_LIVE)
        raise Exit(EXIT_ARGS)
    kind, rest = args[0], args[1:]
    if kind == "batch":
        options = ctx.parse(REPLAY_LIVE_BATCH_FLAGS, rest, REPLAY_LIVE_BATCH)
        if not options["task"]:
            ctx.usage(REPLAY_LIVE_BATCH, REPLAY_LIVE_BATCH_FLAGS)
            raise CommandError("task is required")
        start, stop = _start_stop(ctx, options, REPLAY_LIVE_BATCH_FLAGS, REPLAY_LIVE_BATCH)
        payload = {"task": options["task"], "start": _rfc3339(start), "stop": _rfc3339(stop),
                   "recording-time": options["rec-time"],
                   "clock": "real" if options["real-clock"] else "fast"}
        path = "/replays/batch"
    elif kind == "query":
        options = ctx.parse(REPLAY_LIVE_QUERY_FLAGS, rest, REPLAY_LIVE_QUERY)
        if not options["query"] or not options["task"]:
            ctx.usage(REPLAY_LIVE_QUERY, REPLAY_LIVE_QUERY_FLAGS)
            raise CommandError("both query and task are required")
        payload = {"task": options["task"], "query": options["query"],
                   "recording-time": options["rec-time"],
                   "clock": "real" if options["real-clock"] else "fast"}
        if options["cluster"]:
            payload["cluster"] = options["cluster"]
        path = "/replays/query"
    else:
        raise CommandError("Unknown replay-live type %s, expected 'batch' or 'query'"
                           % go_quote(kind))
    if options["replay-id"]:
        payload = {"id": options["replay-id"], **payload}
    _wait(ctx, _post(ctx, path, payload), options["no-wait"], "replay")


# ------------------------------------------------------------ list, delete


def human_bytes(size: int) -> str:
    """go-humanize's ``Bytes``: SI units, one decimal under 10."""
    if size < 10:
        return "%d B" % size
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    exponent = min(int(math.floor(math.log(size) / math.log(1000))), len(units) - 1)
    value = math.floor(size / 1000 ** exponent * 10 + 0.5) / 10
    return ("%.0f %s" if value >= 10 else "%.1f %s") % (value, units[exponent])


def _listing(ctx: Context, kind: str, fields: list[str]) -> Callable[[str], list]:
    def fetch(pattern: str) -> list:
        def page(offset: int, limit: int) -> list:
            query = [("pattern", pattern), *[("fields", f) for f in fields],
                     ("offset", str(offset)), ("limit", str(limit))]
            return (ctx.client.call("GET", BASE_PATH + "/" + kind, query) or {}).get(kind) or []
        return all_pages(page)
    return fetch


def list_recordings(ctx: Context, patterns: list[str]) -> None:
    fetch = _listing(ctx, "recordings", ["type", "size", "date", "status"])
    found = [r for pattern in patterns for r in fetch(pattern)]
    width = max([2] + [len(r.get("id", "")) for r in found]) + 1
    row = "%%-%ds%%-8s%%-10s%%-10s%%-23s\n" % width
    out = ctx.terminal.out
    out(row % ("ID", "Type", "Status", "Size", "Date"))
    for r in found:
        out(row % (r.get("id", ""), r.get("type", ""), r.get("status", ""),
                   human_bytes(int(r.get("size") or 0)), rfc822_local(r.get("date"))))


def list_replays(ctx: Context, patterns: list[str]) -> None:
    fetch = _listing(ctx, "replays", ["task", "recording", "status", "clock", "date"])
    found = [r for pattern in patterns for r in fetch(pattern)]
    id_w = max([2] + [len(r.get("id", "")) for r in found]) + 1
    task_w = max([4] + [len(r.get("task", "")) for r in found]) + 1
    rec_w = max([9] + [len(r.get("recording", "")) for r in found]) + 1
    row = "%%-%ds%%-%ds%%-%ds%%-9s%%-8s%%-23s\n" % (id_w, task_w, rec_w)
    out = ctx.terminal.out
    out(row % ("ID", "Task", "Recording", "Status", "Clock", "Date"))
    for r in found:
        out(row % (r.get("id", ""), r.get("task", ""), r.get("recording", ""),
                   r.get("status", ""), r.get("clock", ""), rfc822_local(r.get("date"))))


def _deleter(kind: str):
    def delete(ctx: Context, patterns: list[str]) -> None:
        for pattern in patterns:
            delete_pages(
                lambda offset, limit: (ctx.client.call(
                    "GET", BASE_PATH + "/" + kind,
                    [("pattern", pattern), ("fields", "link"),
                     ("offset", str(offset)), ("limit", str(limit))]) or {}).get(kind) or [],
                ctx.client.delete_link,
            )
    return delete


delete_recordings = _deleter("recordings")
delete_replays = _deleter("replays")
