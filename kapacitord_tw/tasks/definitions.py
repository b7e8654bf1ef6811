"""
Defining tasks and templates: every check of ``POST``/``PATCH``/``DELETE``
on ``/tasks`` and ``/templates``, in Kapacitor's order with its messages,
without a request.

The HTTP areas (:mod:`kapacitord_tw.http.tasks`) and the ``[load]``
service (:mod:`kapacitord_tw.tasks.load`) both call these, so a file in the
load directory is held to exactly what the API would accept.  Callers hold
the runner's ``lock`` around each call.  A refusal is a
:class:`DefinitionError` carrying the status and message the API answers.
"""

from __future__ import annotations

import uuid

import attrs
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw import gocompat, names, tick
from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.storage.errors import StoreError
from kapacitord_tw.tasks import bodies
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


class DefinitionError(Exception):
    """A refused definition: ``code`` is the API's status, ``message`` its text."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def busy_error() -> DefinitionError:
    """The CPU worker pool's queue is full: the client should retry."""
    return DefinitionError(503, "TICKscript compilation is busy, retry later")


def busy(failure):
    """Errback: a full worker queue is a 503."""
    failure.trap(WorkersBusy)
    raise busy_error()


def _script_errors(failure):
    """ScriptError → 400 with its message; a full worker queue → 503."""
    if failure.check(ScriptError):
        raise DefinitionError(400, failure.value.message)
    return busy(failure)


def _check_id_length(kind: str, object_id: str) -> None:
    """A new id past the length limit is a 400 (a deviation: Kapacitor has no limit)."""
    message = names.too_long(f"{kind} ID", object_id)
    if message is not None:
        raise DefinitionError(400, message)


def _invalid_id(kind: str, object_id: str) -> DefinitionError:
    return DefinitionError(
        400,
        f"{kind} ID must contain only letters, numbers, '-', '.' and '_'. "
        + gocompat.go_quote(object_id),
    )


def _check_script(script: str) -> None:
    try:
        check_size(script)
    except ScriptError as e:
        raise DefinitionError(400, e.message) from None


def _check_vars(variables) -> None:
    if isinstance(variables, bodies.InvalidVars):
        raise DefinitionError(400, str(variables.error))


class Definitions:
    """Task and template definitions over a :class:`~kapacitord_tw.tasks.runner.TaskRunner`.

    ``body`` arguments are decoded request bodies
    (:data:`~kapacitord_tw.tasks.bodies.TASK_BODY`,
    :data:`~kapacitord_tw.tasks.bodies.TEMPLATE_BODY`).
    """

    log = Logger()

    def __init__(self, runner):
        self._runner = runner
        self._store = runner.tasks
        self._scripts = runner.scripts

    def _parse(self, script: str):
        return self._scripts.parse(script).addErrback(_script_errors)

    def _compile_task(self, script: str, variables: dict):
        return self._scripts.compile_task(script, variables).addErrback(_script_errors)

    def _compile_template(self, script: str):
        return self._scripts.compile_template(script).addErrback(_script_errors)

    # ---------------------------------------------------------------- tasks

    @defer.inlineCallbacks
    def create_task(self, body: dict):
        """Deferred stored :class:`Task` (started when enabled)."""
        task_id = body.get("id", "") or str(uuid.uuid4())
        _check_id_length("task", task_id)
        if not valid_task_id(task_id):
            raise _invalid_id("task", task_id)
        if self._store.task_exists(task_id):
            raise DefinitionError(400, f"task {task_id} already exists")
        template_id = body.get("template-id", "")
        if template_id:
            template = self._store.template(template_id)
            if template is None:
                raise DefinitionError(
                    400, f"unknown template {template_id}: err: no template exists")
            script = template.script
        else:
            script = body.get("script", "")
            if not script:
                raise DefinitionError(400, "must provide TICKscript")
        _check_script(script)
        status = body.get("status", "") or DISABLED
        variables = body.get("vars") or {}
        _check_vars(variables)
        program = yield self._parse(script)
        kind = tick.task_type(program)
        if kind is None:
            raise DefinitionError(400, "invalid task type: invalid")
        yield self._compile_task(script, variables)
        implicit = [DBRP(db, rp) for db, rp in tick.dbrps(program)]
        explicit = body.get("dbrps") or []
        if not implicit and not explicit:
            raise DefinitionError(400, "must specify dbrp")
        if implicit and explicit:
            raise DefinitionError(400, "cannot specify dbrp in both implicitly and explicitly")
        now = self._runner.now_ns()
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
            raise DefinitionError(500, str(e)) from None
        if not created:
            raise DefinitionError(400, f"task {task_id} already exists")
        self.log.info("task {task} defined", task=task_id)
        if task.enabled:
            yield self._start(task)
        # ``task`` is what was stored: starting only clears an error, and it has none.
        return task

    @defer.inlineCallbacks
    def _start(self, task: Task):
        """Start an enabled task; it is already saved, so a failure is a 500."""
        try:
            yield self._runner.start(task)
        except ScriptError as e:
            raise DefinitionError(500, e.detail) from None
        except WorkersBusy:
            raise busy_error() from None
        except StoreError as e:
            raise DefinitionError(500, str(e)) from None

    @defer.inlineCallbacks
    def update_task(self, task_id: str, body: dict):
        """Deferred :class:`Task` as stored after the update (``PATCH``)."""
        original = self._store.task(task_id)
        if original is None:
            raise DefinitionError(404, "task does not exist, cannot update")
        new_id = body.get("id", "") or original.id
        if new_id != original.id:
            _check_id_length("task", new_id)
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
                raise DefinitionError(
                    400, f"unknown template {requested_template}: err: no template exists"
                )
            script = template.script
            program = yield self._parse(script)
        else:
            program = yield self._parse(original.script)
            if body.get("script"):
                script = body["script"]
                _check_script(script)
                old_program, program = program, (yield self._parse(script))
                if tick.dbrps(old_program) and not tick.dbrps(program) and not explicit:
                    raise DefinitionError(400, "must specify dbrp")
        implicit = [DBRP(db, rp) for db, rp in tick.dbrps(program)]
        if implicit and explicit:
            raise DefinitionError(400, "cannot specify dbrp in implicitly and explicitly")
        dbrps = implicit or explicit or original.dbrps
        status = body.get("status", "") or original.status
        status_changed = status != original.status
        variables = original.vars
        if body.get("vars"):
            variables = body["vars"]
            _check_vars(variables)
        kind = tick.task_type(program)
        if kind is None:
            raise DefinitionError(400, "invalid task type: invalid")
        yield self._compile_task(script, variables)
        now = self._runner.now_ns()
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
                raise DefinitionError(500, f"failed to replace task definition: {e}") from None
        yield self._move_association(original, updated)
        if status_changed:
            if updated.enabled:
                yield self._start(updated)
            else:
                self._runner.stop(original.id)
        self.log.info("task {task} updated", task=new_id)
        return self._store.task(new_id) or updated

    @defer.inlineCallbacks
    def _rename(self, original: Task, updated: Task):
        try:
            created = yield self._store.create_task(updated)
        except StoreError as e:
            raise DefinitionError(
                500, f"failed to create new task during ID change: {e}") from None
        if not created:
            raise DefinitionError(
                500, "failed to create new task during ID change: task already exists")
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
            raise DefinitionError(
                500, f"failed to associate task with template: {e}") from None

    @defer.inlineCallbacks
    def delete_task(self, task_id: str):
        """Deferred ``True`` if the task existed (deleting a missing one is no error)."""
        task = self._store.task(task_id)
        if task is None:
            return False
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
            raise DefinitionError(500, str(e)) from None
        self.log.info("task {task} deleted", task=task_id)
        yield self._runner.forget(task_id)
        return True

    # ------------------------------------------------------------ templates

    @defer.inlineCallbacks
    def create_template(self, body: dict):
        """Deferred stored :class:`Template`."""
        template_id = body.get("id", "") or str(uuid.uuid4())
        _check_id_length("template", template_id)
        if not valid_template_id(template_id):
            raise _invalid_id("template", template_id)
        if self._store.template(template_id) is not None:
            raise DefinitionError(400, f"template {template_id} already exists")
        script = body.get("script", "")
        _check_script(script)
        program = yield self._parse(script)
        kind = tick.task_type(program)
        if kind is None:
            raise DefinitionError(400, "invalid task type: invalid")
        if not script:
            raise DefinitionError(400, "must provide TICKscript")
        yield self._compile_template(script)
        now = self._runner.now_ns()
        template = Template(id=template_id, script=script, type=kind, created=now, modified=now)
        try:
            created = yield self._store.create_template(template)
        except StoreError as e:
            raise DefinitionError(500, str(e)) from None
        if not created:
            raise DefinitionError(400, f"template {template_id} already exists")
        self.log.info("template {template} defined", template=template_id)
        return template

    @defer.inlineCallbacks
    def delete_template(self, template_id: str):
        """Deferred ``True`` if the template existed."""
        try:
            existed = yield self._store.delete_template(template_id)
        except StoreError as e:
            raise DefinitionError(500, str(e)) from None
        if existed:
            self.log.info("template {template} deleted", template=template_id)
        return bool(existed)

    @defer.inlineCallbacks
    def update_template(self, template_id: str, body: dict):
        """Deferred updated :class:`Template`; its tasks are rewritten (and restarted)."""
        original = self._store.template(template_id)
        if original is None:
            raise DefinitionError(404, "template does not exist, cannot update")
        new_id = body.get("id", "") or original.id
        if new_id != original.id:
            _check_id_length("template", new_id)
        if new_id != original.id and not valid_template_id(new_id):
            raise _invalid_id("template", new_id)
        script = body.get("script", "") or original.script
        _check_script(script)
        try:
            compiled = yield self._scripts.compile_template(script)
        except ScriptError as e:
            message = e.message
            if not message.startswith("invalid TICKscript: "):
                message = "invalid TICKscript: " + message
            raise DefinitionError(400, message) from None
        except WorkersBusy:
            raise busy_error() from None
        live_tasks = [t for t in original.tasks if self._store.task_exists(t)]
        updated = Template(
            id=new_id,
            script=script,
            type=compiled.type,
            error=original.error,
            created=original.created,
            modified=self._runner.now_ns(),
            tasks=live_tasks,
        )
        renamed = new_id != original.id
        if renamed:
            try:
                created = yield self._store.create_template(updated)
            except StoreError as e:
                raise DefinitionError(
                    500, f"failed to create new template for ID change: {e}") from None
            if not created:
                raise DefinitionError(
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
                raise DefinitionError(
                    500, f"failed to replace template definition: {e}") from None
        try:
            yield self._runner.retarget(original, updated)
        except RetargetFailed as e:
            yield self._restore_template(original, updated)
            raise DefinitionError(500, str(e)) from None
        self.log.info("template {template} updated", template=new_id)
        return updated

    @defer.inlineCallbacks
    def _restore_template(self, original: Template, updated: Template):
        try:
            if original.id != updated.id:
                yield self._store.delete_template(updated.id)
            yield self._store.put_template(original)
        except StoreError:
            self.log.failure("error rolling back template {template}", template=original.id)
