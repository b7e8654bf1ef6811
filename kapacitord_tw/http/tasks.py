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
"""

from __future__ import annotations

import uuid

import attrs
from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw import gocompat, tick
from kapacitord_tw.auth.credentials import query_args
from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, json_response, no_content
from kapacitord_tw.http.root import decoded_path
from kapacitord_tw.http.routing import BASE
from kapacitord_tw.storage.errors import StoreError
from kapacitord_tw.tasks import bodies, views
from kapacitord_tw.tasks.model import (
    DBRP,
    DISABLED,
    ENABLED,
    Task,
    Template,
    valid_task_id,
    valid_template_id,
)
from kapacitord_tw.tasks.runner import RetargetFailed
from kapacitord_tw.tasks.scripts import ScriptError, check_size

TASKS_PATH = BASE + "/tasks"
TEMPLATES_PATH = BASE + "/templates"
DEFAULT_LIMIT = 100


def _decode(request, fields) -> dict:
    try:
        return jsonbody.decode_struct(request.content.read(), fields)
    except (jsonbody.BodyError, RecursionError):  # deep nesting is a bad body too
        raise APIError(400, "invalid JSON") from None


# ------------------------------------------------------------ query params


def _arg(args: dict, name: str) -> str:
    values = args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else ""


def _int_arg(args: dict, name: str, default: int) -> int:
    text = _arg(args, name)
    if text == "":
        return default
    try:
        return gocompat.parse_int10(text)
    except gocompat.NumError as e:
        raise APIError(
            400, f"invalid {name} parameter {gocompat.go_quote(text)} must be an integer: {e}"
        ) from None


def _script_format(args: dict) -> str:
    value = _arg(args, "script-format")
    if value in ("", "formatted"):
        return "formatted"
    if value == "raw":
        return value
    raise APIError(400, f"invalid script-format parameter {gocompat.go_quote(value)}")


def _dot_view(args: dict) -> str:
    value = _arg(args, "dot-view")
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
    pattern = _arg(args, "pattern")
    fields = _fields(args, default_fields)
    script_format = _script_format(args)
    dot_view = _dot_view(args) if with_dot_view else "attributes"
    offset = _int_arg(args, "offset", 0)
    limit = _int_arg(args, "limit", DEFAULT_LIMIT)
    _check_fields(fields, known_fields)
    return _ListQuery(pattern, fields, script_format, dot_view, offset, limit)


@defer.inlineCallbacks
def _entries(objects, render):
    """``render(object)`` for each, one at a time (big scripts compile in the worker pool)."""
    entries = []
    for obj in objects:
        entry = yield render(obj).addErrback(_busy)
        entries.append(entry)
    return entries


# ------------------------------------------------------------------- areas


def _busy_error() -> APIError:
    """The CPU worker pool's queue is full: the client should retry."""
    return APIError(503, "TICKscript compilation is busy, retry later")


def _script_errors(failure):
    """ScriptError → 400 with its message; a full worker queue → 503."""
    if failure.check(ScriptError):
        raise APIError(400, failure.value.message)
    return _busy(failure)


def _busy(failure):
    failure.trap(WorkersBusy)
    raise _busy_error()


def _invalid_id(kind: str, object_id: str) -> APIError:
    return APIError(
        400,
        f"{kind} ID must contain only letters, numbers, '-', '.' and '_'. "
        + gocompat.go_quote(object_id),
    )


class _TaskArea(Area):
    """What the tasks and templates areas share: the runner and its parts."""

    log = Logger()

    def __init__(self, runner):
        self._runner = runner
        self._store = runner.tasks
        self._scripts = runner.scripts
        self._master = runner.master

    def _now(self) -> int:
        return self._runner.now_ns()

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

    def _parse(self, script: str):
        return self._scripts.parse(script).addErrback(_script_errors)

    def _compile_task(self, script: str, variables: dict):
        return self._scripts.compile_task(script, variables).addErrback(_script_errors)

    def _compile_template(self, script: str):
        return self._scripts.compile_template(script).addErrback(_script_errors)

    @staticmethod
    def _check_script(script: str) -> None:
        try:
            check_size(script)
        except ScriptError as e:
            raise APIError(400, e.message) from None

    @staticmethod
    def _check_vars(variables) -> None:
        if isinstance(variables, bodies.InvalidVars):
            raise APIError(400, str(variables.error))

    def _task_json(self, task: Task, script_format="formatted", dot_view="attributes"):
        d = views.task_json(task, self._scripts, self._master, script_format, dot_view)
        return d.addErrback(_busy)


class TasksAPI(_TaskArea):
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
        task_id = body.get("id", "") or str(uuid.uuid4())
        if not valid_task_id(task_id):
            raise _invalid_id("task", task_id)
        if self._store.task_exists(task_id):
            raise APIError(400, f"task {task_id} already exists")
        template_id = body.get("template-id", "")
        if template_id:
            template = self._store.template(template_id)
            if template is None:
                raise APIError(400, f"unknown template {template_id}: err: no template exists")
            script = template.script
        else:
            script = body.get("script", "")
            if not script:
                raise APIError(400, "must provide TICKscript")
        self._check_script(script)
        status = body.get("status", "") or DISABLED
        variables = body.get("vars") or {}
        self._check_vars(variables)
        program = yield self._parse(script)
        kind = tick.task_type(program)
        if kind is None:
            raise APIError(400, "invalid task type: invalid")
        yield self._compile_task(script, variables)
        implicit = [DBRP(db, rp) for db, rp in tick.dbrps(program)]
        explicit = body.get("dbrps") or []
        if not implicit and not explicit:
            raise APIError(400, "must specify dbrp")
        if implicit and explicit:
            raise APIError(400, "cannot specify dbrp in both implicitly and explicitly")
        now = self._now()
        task = Task(
            id=task_id,
            script=script,
            type=kind,
            template_id=template_id,
            dbrps=implicit or explicit,
            vars=variables,
            status=status,
            created=now,
            modified=now,
            last_enabled=now if status == ENABLED else None,
        )
        try:
            created = yield self._store.create_task(task)
            if created and template_id:
                yield self._store.associate(template_id, task_id)
        except StoreError as e:
            raise APIError(500, str(e)) from None
        if not created:
            raise APIError(400, f"task {task_id} already exists")
        self.log.info("task {task} defined", task=task_id)
        if task.enabled:
            yield self._start(task)
        # ``task`` is what was stored: starting only clears an error, and it has none.
        view = yield self._task_json(task)
        return json_response(request, view)

    @defer.inlineCallbacks
    def _start(self, task: Task):
        """Start an enabled task; it is already saved, so a failure is a 500."""
        try:
            yield self._runner.start(task)
        except ScriptError as e:
            raise APIError(500, e.detail) from None
        except WorkersBusy:
            raise _busy_error() from None
        except StoreError as e:
            raise APIError(500, str(e)) from None

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
        if output is None:
            raise APIError(404, "no task exists")
        try:
            body = gocompat.json_dumps(output.result())
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
        replay_id = _arg(args, "replay-id")
        if replay_id:
            raise APIError(400, f"no running replay with ID: {replay_id}")
        view = yield self._task_json(task, script_format, dot_view)
        return json_response(request, view)

    # ------------------------------------------------------------- update

    @defer.inlineCallbacks
    def _update(self, request, task_id: str, body: dict):
        original = self._store.task(task_id)
        if original is None:
            raise APIError(404, "task does not exist, cannot update")
        new_id = body.get("id", "") or original.id
        if new_id != original.id and not valid_task_id(new_id):
            raise _invalid_id("task", new_id)
        requested_template = body.get("template-id", "")
        explicit = body.get("dbrps") or []
        script = original.script
        template_id = original.template_id
        if requested_template or original.template_id:
            template_id = requested_template or original.template_id
            template = self._store.template(template_id)
            if template is None:
                raise APIError(
                    400, f"unknown template {requested_template}: err: no template exists"
                )
            script = template.script
            program = yield self._parse(script)
        else:
            program = yield self._parse(original.script)
            if body.get("script"):
                script = body["script"]
                self._check_script(script)
                old_program, program = program, (yield self._parse(script))
                if tick.dbrps(old_program) and not tick.dbrps(program) and not explicit:
                    raise APIError(400, "must specify dbrp")
        implicit = [DBRP(db, rp) for db, rp in tick.dbrps(program)]
        if implicit and explicit:
            raise APIError(400, "cannot specify dbrp in implicitly and explicitly")
        dbrps = implicit or explicit or original.dbrps
        status = body.get("status", "") or original.status
        status_changed = status != original.status
        variables = original.vars
        if body.get("vars"):
            variables = body["vars"]
            self._check_vars(variables)
        kind = tick.task_type(program)
        if kind is None:
            raise APIError(400, "invalid task type: invalid")
        yield self._compile_task(script, variables)
        now = self._now()
        updated = attrs.evolve(
            original,
            id=new_id,
            script=script,
            type=kind,
            template_id=template_id,
            dbrps=dbrps,
            vars=variables,
            status=status,
            modified=now,
            last_enabled=now if status_changed and status == ENABLED else original.last_enabled,
        )
        renamed = new_id != original.id
        if renamed:
            yield self._rename(original, updated)
        else:
            try:
                yield self._store.put_task(updated)
            except StoreError as e:
                raise APIError(500, f"failed to replace task definition: {e}") from None
        yield self._move_association(original, updated)
        if status_changed:
            if updated.enabled:
                yield self._start(updated)
            else:
                self._runner.stop(original.id)
        self.log.info("task {task} updated", task=new_id)
        view = yield self._task_json(self._store.task(new_id) or updated)
        return json_response(request, view)

    @defer.inlineCallbacks
    def _rename(self, original: Task, updated: Task):
        try:
            created = yield self._store.create_task(updated)
        except StoreError as e:
            raise APIError(500, f"failed to create new task during ID change: {e}") from None
        if not created:
            raise APIError(500, "failed to create new task during ID change: task already exists")
        try:
            yield self._store.delete_task(original.id)
        except StoreError:
            self.log.failure(
                "failed to delete old task definition during ID change {old} -> {new}",
                old=original.id,
                new=updated.id,
            )
        if original.enabled and updated.enabled:
            self._runner.stop(original.id)
            yield self._start(updated)

    @defer.inlineCallbacks
    def _move_association(self, original: Task, updated: Task):
        if not updated.template_id:
            return
        if original.id == updated.id and original.template_id == updated.template_id:
            return
        try:
            if original.template_id:
                yield self._store.disassociate(original.template_id, original.id)
            yield self._store.associate(updated.template_id, updated.id)
        except StoreError as e:
            raise APIError(500, f"failed to associate task with template: {e}") from None

    # ------------------------------------------------------------- delete

    @defer.inlineCallbacks
    def _delete(self, request, task_id: str):
        task = self._store.task(task_id)
        if task is None:
            return no_content(request)
        if task.template_id:
            try:
                yield self._store.disassociate(task.template_id, task.id)
            except StoreError:
                self.log.failure("failed to disassociate task {task} from its template",
                                 task=task_id)
        self._runner.stop(task_id)
        try:
            yield self._store.delete_task(task_id)
        except StoreError as e:
            raise APIError(500, str(e)) from None
        self.log.info("task {task} deleted", task=task_id)
        return no_content(request)

    # --------------------------------------------------------------- list

    @app.route("/tasks", methods=["GET"])
    @defer.inlineCallbacks
    def list_tasks(self, request):
        query = _list_query(query_args(request), views.TASK_FIELDS, views.TASK_FIELDS, True)
        tasks = yield self._store.list_tasks(query.pattern, query.offset, query.limit)
        entries = yield _entries(tasks, lambda task: views.task_entry(
            task, query.fields, self._scripts, self._master, query.script_format, query.dot_view))
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
        template_id = body.get("id", "") or str(uuid.uuid4())
        if not valid_template_id(template_id):
            raise _invalid_id("template", template_id)
        if self._store.template(template_id) is not None:
            raise APIError(400, f"template {template_id} already exists")
        script = body.get("script", "")
        self._check_script(script)
        program = yield self._parse(script)
        kind = tick.task_type(program)
        if kind is None:
            raise APIError(400, "invalid task type: invalid")
        if not script:
            raise APIError(400, "must provide TICKscript")
        yield self._compile_template(script)
        now = self._now()
        template = Template(id=template_id, script=script, type=kind, created=now, modified=now)
        try:
            created = yield self._store.create_template(template)
        except StoreError as e:
            raise APIError(500, str(e)) from None
        if not created:
            raise APIError(400, f"template {template_id} already exists")
        self.log.info("template {template} defined", template=template_id)
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
        try:
            existed = yield self._store.delete_template(template_id)
        except StoreError as e:
            raise APIError(500, str(e)) from None
        if existed:
            self.log.info("template {template} deleted", template=template_id)
        return no_content(request)

    # ------------------------------------------------------------- update

    @defer.inlineCallbacks
    def _update(self, request, template_id: str, body: dict):
        original = self._store.template(template_id)
        if original is None:
            raise APIError(404, "template does not exist, cannot update")
        new_id = body.get("id", "") or original.id
        if new_id != original.id and not valid_template_id(new_id):
            raise _invalid_id("template", new_id)
        script = body.get("script", "") or original.script
        self._check_script(script)
        try:
            compiled = yield self._scripts.compile_template(script)
        except ScriptError as e:
            message = e.message
            if not message.startswith("invalid TICKscript: "):
                message = "invalid TICKscript: " + message
            raise APIError(400, message) from None
        except WorkersBusy:
            raise _busy_error() from None
        live_tasks = [t for t in original.tasks if self._store.task_exists(t)]
        updated = Template(
            id=new_id,
            script=script,
            type=compiled.type,
            error=original.error,
            created=original.created,
            modified=self._now(),
            tasks=live_tasks,
        )
        renamed = new_id != original.id
        if renamed:
            try:
                created = yield self._store.create_template(updated)
            except StoreError as e:
                raise APIError(500, f"failed to create new template for ID change: {e}") from None
            if not created:
                raise APIError(
                    500, "failed to create new template for ID change: template already exists"
                )
            try:
                yield self._store.delete_template(original.id)
            except StoreError:
                self.log.failure(
                    "failed to delete old template during ID change {old} -> {new}",
                    old=original.id,
                    new=new_id,
                )
        else:
            try:
                yield self._store.put_template(updated)
            except StoreError as e:
                raise APIError(500, f"failed to replace template definition: {e}") from None
        try:
            yield self._runner.retarget(original, updated)
        except RetargetFailed as e:
            yield self._restore_template(original, updated)
            raise APIError(500, str(e)) from None
        self.log.info("template {template} updated", template=new_id)
        view = yield self._template_json(updated)
        return json_response(request, view)

    @defer.inlineCallbacks
    def _restore_template(self, original: Template, updated: Template):
        try:
            if original.id != updated.id:
                yield self._store.delete_template(updated.id)
            yield self._store.put_template(original)
        except StoreError:
            self.log.failure("error rolling back template {template}", template=original.id)

    # --------------------------------------------------------------- list

    @app.route("/templates", methods=["GET"])
    @defer.inlineCallbacks
    def list_templates(self, request):
        query = _list_query(
            query_args(request), views.TEMPLATE_FIELDS, views.TEMPLATE_LIST_FIELDS, False
        )
        templates = yield self._store.list_templates(query.pattern, query.offset, query.limit)
        entries = yield _entries(templates, lambda template: views.template_entry(
            template, query.fields, self._scripts, query.script_format))
        return json_response(request, {"templates": entries})
