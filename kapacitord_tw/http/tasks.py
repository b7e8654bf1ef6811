"""
``/kapacitor/v1/tasks`` and ``/kapacitor/v1/templates`` (reference §6).

The checks run in Kapacitor's order with its messages and status codes,
with these deliberate differences:

* a rename (``PATCH`` with a new ``id``) validates the new id with the same
  rule and message as a create (§10 #20);
* an unknown ``fields`` value is a 400 even when nothing matches;
* a template update whose task rewrite fails rolls the template back too,
  not only the tasks, before answering 500;
* scripts over 1 MiB are refused with a 400 (large ones are compiled in the
  CPU worker pool, so the reactor is never blocked for long).

Every mutation holds the runner's lock and answers only once it is on disk.
The checks themselves live in :mod:`kapacitord_tw.tasks.definitions`
(shared with the ``[load]`` service); this module reads requests and
renders answers.
"""

from __future__ import annotations

import attrs
from klein import Klein
from time import perf_counter as _perf

from twisted.internet import defer
from twisted.internet.task import deferLater
from twisted.logger import Logger

from kapacitord_tw.http.params import arg, int_arg
from kapacitord_tw import globmatch, gocompat
from kapacitord_tw.auth.credentials import query_args
from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, json_response, no_content
from kapacitord_tw.http.root import decoded_path
from kapacitord_tw.http.routing import BASE
from kapacitord_tw.tasks import bodies, views
from kapacitord_tw.tasks.definitions import Definitions, DefinitionError, busy_error
from kapacitord_tw.tasks.model import Task, Template

TASKS_PATH = BASE + "/tasks"
TEMPLATES_PATH = BASE + "/templates"
DEFAULT_LIMIT = 100
#: Work a listing does before the reactor gets a turn.
LIST_SLICE_SECONDS = 0.004


def _decode(request, fields) -> dict:
    try:
        return jsonbody.decode_struct(request.content.read(), fields)
    except (jsonbody.BodyError, RecursionError):  # deep nesting is a bad body too
        raise APIError(400, "invalid JSON") from None


# ------------------------------------------------------------ query params




def _script_format(args: dict) -> str:
    value = arg(args, "script-format")
    if value in ("", "formatted"):
        return "formatted"
    if value == "raw":
        return value
    raise APIError(400, f"invalid script-format parameter {gocompat.go_quote(value)}")


def _dot_view(args: dict) -> str:
    value = arg(args, "dot-view")
    if value in ("", "attributes"):
        return "attributes"
    if value == "labels":
        return value
    raise APIError(400, f"invalid dot-view parameter {gocompat.go_quote(value)}")


def _fields(args: dict, default) -> list:
    """The ``fields`` asked for plus ``id`` and ``link``, or all of ``default``."""
    requested = [f.decode("utf-8", "replace") for f in args.get(b"fields", [])]
    return requested + ["id", "link"] if requested else list(default)


def _check_fields(fields, known) -> None:
    """Kapacitor finds an unknown field only while rendering a match; we always do."""
    for field in fields:
        if field not in known:
            raise APIError(400, f"unsupported field {gocompat.go_quote(field)}")


@attrs.frozen
class _ListQuery:
    """The query of ``GET /tasks`` and ``GET /templates``."""

    pattern: str
    fields: list
    script_format: str
    dot_view: str
    offset: int
    limit: int


def _list_query(args: dict, default_fields, known_fields, with_dot_view: bool) -> _ListQuery:
    """Read and check a listing's parameters, in Kapacitor's order (the first bad one answers)."""
    pattern = arg(args, "pattern")
    try:
        globmatch.check_pattern(pattern)
    except globmatch.PatternTooLong as e:
        raise APIError(400, str(e)) from None
    fields = _fields(args, default_fields)
    script_format = _script_format(args)
    dot_view = _dot_view(args) if with_dot_view else "attributes"
    offset = int_arg(args, "offset", 0)
    limit = int_arg(args, "limit", DEFAULT_LIMIT)
    _check_fields(fields, known_fields)
    return _ListQuery(pattern, fields, script_format, dot_view, offset, limit)


@defer.inlineCallbacks
def _entries(objects, render, clock=None):
    """``render(object)`` for each, one at a time (big scripts compile in the
    worker pool), each encoded as the listing's pretty JSON shows it.  With a
    ``clock``, the reactor gets a turn after every ``LIST_SLICE_SECONDS`` of work:
    the stats of 1,000 tasks cost ~0.2 s, which a ping should not wait for."""
    slice_seconds = LIST_SLICE_SECONDS
    entries = []
    started = _perf()
    for obj in objects:
        entry = yield render(obj).addErrback(_busy)
        entries.append(gocompat.json_indented(entry, 2))
        if clock is not None and _perf() - started >= slice_seconds:
            yield deferLater(clock, 0, lambda: None)
            started = _perf()
    return entries


# ------------------------------------------------------------------- areas


def _busy_error() -> APIError:
    """The CPU worker pool's queue is full: the client should retry."""
    return _api_error(busy_error())


def _api_error(refused: DefinitionError) -> APIError:
    return APIError(refused.code, refused.message)


def _refused(failure):
    """Errback: a refused definition is answered with its status and message."""
    failure.trap(DefinitionError)
    raise _api_error(failure.value)


def _busy(failure):
    failure.trap(WorkersBusy)
    raise _busy_error()


class _TaskArea(Area):
    """What the tasks and templates areas share: the runner and its parts."""

    log = Logger()

    def __init__(self, runner):
        self._runner = runner
        self._store = runner.tasks
        self._scripts = runner.scripts
        self._master = runner.master
        self._definitions = Definitions(runner)

    def _one(self, request, base: str, kind: str, body_fields: dict):
        """``GET``/``PATCH``/``DELETE`` of ``<base>/<id>``; mutations take the lock."""
        object_id = decoded_path(request)[len(base) + 1:]
        if not object_id:
            raise APIError(400, f"must specify {kind} id on path")
        method = request.method.decode("latin-1").upper()
        if method == "GET":
            return self._get(request, object_id)
        if method == "PATCH":
            body = _decode(request, body_fields)
            return self._locked(self._update, request, object_id, body)
        return self._locked(self._delete, request, object_id)

    def _locked(self, function, *args):
        return self._runner.lock.run(function, *args)

    def _task_json(self, task: Task, script_format="formatted", dot_view="attributes"):
        d = views.task_json(task, self._scripts, self._master, script_format, dot_view)
        return d.addErrback(_busy)


class _ReplayMaster:
    """What task views ask a master, answered by one replay's execution."""

    def __init__(self, execution):
        self._execution = execution

    def executing(self, task_id: str):
        return self._execution if task_id == self._execution.id else None


class TasksAPI(_TaskArea):
    #: kapacitord_tw.replay.ReplayService (``?replay-id=``, replays' httpOut); None: none
    replays = None
    app = install_error_handlers(Klein())
    mux = (
        ("GET", "/tasks", {}),
        ("POST", "/tasks", {}),
        ("GET", "/tasks/", {}),
        ("PATCH", "/tasks/", {}),
        ("DELETE", "/tasks/", {}),
    )

    # ------------------------------------------------------------- create

    @app.route("/tasks", methods=["POST"])
    def create(self, request):
        body = _decode(request, bodies.TASK_BODY)
        return self._locked(self._create, request, body)

    @defer.inlineCallbacks
    def _create(self, request, body: dict):
        task = yield self._definitions.create_task(body).addErrback(_refused)
        view = yield self._task_json(task)
        return json_response(request, view)

    # ------------------------------------------------------ one task: GET

    @app.route("/tasks/", methods=["GET", "PATCH", "DELETE"])
    @app.route("/tasks/<path:_rest>", methods=["GET", "PATCH", "DELETE"])
    def one_task(self, request, _rest=None):
        return self._one(request, TASKS_PATH, "task", bodies.TASK_BODY)

    def _get(self, request, task_id: str):
        task_id, slash, endpoint = task_id.partition("/")
        if slash:
            return self._output(request, task_id, endpoint)
        return self._get_task(request, task_id)

    def _output(self, request, task_id: str, endpoint: str):
        """``GET /tasks/<id>/<httpOut name>``: the node's latest result, compact JSON.

        Kapacitor registers this route while the task runs; otherwise the
        request falls through to the task handler, which finds no task
        named ``<id>/<name>``.
        """
        executing = self._master.executing(task_id)
        output = None if executing is None else executing.outputs.get(endpoint)
        replay_id = arg(query_args(request), "replay-id")
        if output is not None and not replay_id:
            result = output.result
        else:
            # A replay's httpOut, as Kapacitor serves it while the replay runs;
            # ``?replay-id=`` also reaches a finished replay's last result.
            found = None if self.replays is None else self.replays.output(
                task_id, endpoint, replay_id)
            if found is None:
                raise APIError(404, "no task exists")
            result = lambda: found  # noqa: E731
        try:
            body = gocompat.json_dumps(result())
        except ValueError as e:
            raise APIError(500, str(e)) from None
        request.setHeader(b"Content-Type", b"application/json; charset=utf-8")
        return body

    @defer.inlineCallbacks
    def _get_task(self, request, task_id: str):
        task = self._store.task(task_id)
        if task is None:
            raise APIError(404, "no task exists")
        args = query_args(request)
        script_format = _script_format(args)
        dot_view = _dot_view(args)
        replay_id = arg(args, "replay-id")
        master = self._master
        if replay_id:
            master = self._replay_master(replay_id, task_id)
        view = yield views.task_json(task, self._scripts, master, script_format,
                                     dot_view).addErrback(_busy)
        return json_response(request, view)

    def _replay_master(self, replay_id: str, task_id: str):
        """The task as a running replay executes it (``?replay-id=``)."""
        run = None if self.replays is None else self.replays.running_replay(replay_id)
        if run is None:
            raise APIError(400, f"no running replay with ID: {replay_id}")
        if run.task_id != task_id:
            raise APIError(400, f"replay {replay_id} is not for task: {task_id}")
        return _ReplayMaster(run.execution)

    # ------------------------------------------------------------- update

    @defer.inlineCallbacks
    def _update(self, request, task_id: str, body: dict):
        task = yield self._definitions.update_task(task_id, body).addErrback(_refused)
        view = yield self._task_json(task)
        return json_response(request, view)

    # ------------------------------------------------------------- delete

    @defer.inlineCallbacks
    def _delete(self, request, task_id: str):
        yield self._definitions.delete_task(task_id).addErrback(_refused)
        return no_content(request)

    # --------------------------------------------------------------- list

    @app.route("/tasks", methods=["GET"])
    @defer.inlineCallbacks
    def list_tasks(self, request):
        query = _list_query(query_args(request), views.TASK_FIELDS, views.TASK_FIELDS, True)
        tasks = yield self._store.list_tasks(query.pattern, query.offset, query.limit)
        entries = yield _entries(tasks, lambda one: views.task_entry(
            one, query.fields, self._scripts, self._master, query.script_format, query.dot_view),
            self._master.clock)
        return json_response(request, {"tasks": entries})


class TemplatesAPI(_TaskArea):
    app = install_error_handlers(Klein())
    mux = (
        ("GET", "/templates", {}),
        ("POST", "/templates", {}),
        ("GET", "/templates/", {}),
        ("PATCH", "/templates/", {}),
        ("DELETE", "/templates/", {}),
    )

    def _template_json(self, template: Template, script_format="formatted"):
        return views.template_json(template, self._scripts, script_format).addErrback(_busy)

    # ------------------------------------------------------------- create

    @app.route("/templates", methods=["POST"])
    def create(self, request):
        body = _decode(request, bodies.TEMPLATE_BODY)
        return self._locked(self._create, request, body)

    @defer.inlineCallbacks
    def _create(self, request, body: dict):
        template = yield self._definitions.create_template(body).addErrback(_refused)
        view = yield self._template_json(template)
        return json_response(request, view)

    # ----------------------------------------------------- one template

    @app.route("/templates/", methods=["GET", "PATCH", "DELETE"])
    @app.route("/templates/<path:_rest>", methods=["GET", "PATCH", "DELETE"])
    def one_template(self, request, _rest=None):
        return self._one(request, TEMPLATES_PATH, "template", bodies.TEMPLATE_BODY)

    @defer.inlineCallbacks
    def _get(self, request, template_id: str):
        template = self._store.template(template_id)
        if template is None:
            raise APIError(404, "no template exists")
        script_format = _script_format(query_args(request))
        view = yield self._template_json(template, script_format)
        return json_response(request, view)

    @defer.inlineCallbacks
    def _delete(self, request, template_id: str):
        yield self._definitions.delete_template(template_id).addErrback(_refused)
        return no_content(request)

    # ------------------------------------------------------------- update

    @defer.inlineCallbacks
    def _update(self, request, template_id: str, body: dict):
        template = yield self._definitions.update_template(template_id, body).addErrback(_refused)
        view = yield self._template_json(template)
        return json_response(request, view)

    # --------------------------------------------------------------- list

    @app.route("/templates", methods=["GET"])
    @defer.inlineCallbacks
    def list_templates(self, request):
        query = _list_query(
            query_args(request), views.TEMPLATE_FIELDS, views.TEMPLATE_LIST_FIELDS, False
        )
        templates = yield self._store.list_templates(query.pattern, query.offset, query.limit)
        entries = yield _entries(templates, lambda template: views.template_entry(
            template, query.fields, self._scripts, query.script_format), self._master.clock)
        return json_response(request, {"templates": entries})
