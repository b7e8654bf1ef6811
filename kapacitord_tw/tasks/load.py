"""
The ``[load]`` service: tasks, templates and topic handlers defined by
files, as Kapacitor's ``services/load`` does.

Under ``[load] dir``, in this order:

* ``templates/*.tick``: templates, id = file name without extension;
* ``tasks/*.tick``: enabled tasks, their dbrps from the script's ``dbrp`` lines;
* ``tasks/*.{json,yml,yaml}``: enabled tasks from a template
  (``template-id``, ``dbrps``, ``vars``), id = file name without extension;
* ``handlers/*.{json,yml,yaml}``: topic handlers (see :mod:`.handlerfiles`).

Each goes through :class:`~kapacitord_tw.tasks.definitions.Definitions`,
the API's own checks.  An existing object with the same id is updated, and
a task is then disabled and enabled again (restarted), as Kapacitor does.
The first bad file stops the pass with ``failed to load file <path>: <why>``;
at start-up that stops the daemon.  After a good pass, objects an earlier
pass loaded whose file is gone are deleted (the ``load_items`` namespace
remembers what was loaded).
"""

from __future__ import annotations

import json
import os
from typing import List, Optional, Tuple

import attrs
from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw.http import jsonbody
from kapacitord_tw.tasks import bodies
from kapacitord_tw.tasks.definitions import DefinitionError, Definitions
from kapacitord_tw.tasks.handlerfiles import (
    HANDLER_BODY,
    InvalidHandler,
    UnsupportedHandlers,
    handler_spec,
)
from kapacitord_tw.tasks.model import DISABLED, ENABLED

#: The store namespace of what earlier passes loaded (Kapacitor's bucket name).
ITEMS = "load_items"
TASKS_DIR, TEMPLATES_DIR, HANDLERS_DIR = "tasks", "templates", "handlers"
TICK = (".tick",)
DATA = (".json", ".yml", ".yaml")
#: A task-vars or handler file larger than this is refused (scripts have their own limit).
MAX_DATA_FILE_BYTES = 1024 * 1024
#: YAML aliases can make a small file decode into a huge tree: count nodes, stop here.
MAX_DATA_NODES = 100_000

#: ``client.TaskVars``: the fields a task-vars file may set (others are ignored).
TASK_VARS = {
    "id": jsonbody.string,
    "template-id": jsonbody.string,
    "dbrps": bodies.TASK_BODY["dbrps"],
    "vars": bodies.TASK_BODY["vars"],
}


class LoadError(Exception):
    """A pass failed; ``str()`` is Kapacitor's message (``failed to load file …``)."""


def go_ext(name: str) -> str:
    """``filepath.Ext``: from the last dot of the name (``".tick"`` for ``.tick``)."""
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def file_id(path: str) -> str:
    base = os.path.basename(path)
    return base[: len(base) - len(go_ext(base))]


def list_files(directory: str, extensions: Tuple[str, ...]) -> List[str]:
    """Regular files of ``directory`` with one of ``extensions``, by name (Go's ReadDir)."""
    with os.scandir(directory) as entries:
        names = sorted(
            entry.name for entry in entries
            if not entry.is_dir() and go_ext(entry.name) in extensions
        )
    return [os.path.join(directory, name) for name in names]


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise LoadError(f"failed to open file {path}: {e.strerror or e}") from None
    return data.decode("utf-8", "replace")


def _count_nodes(value) -> None:
    """Refuse a decoded tree over :data:`MAX_DATA_NODES` (shared YAML aliases count every time)."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_DATA_NODES:
            raise ValueError(f"more than {MAX_DATA_NODES} values")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def decode_data_file(path: str, text: str, fields: dict, what: str) -> dict:
    """A JSON or YAML file decoded like a request body of ``fields``.

    YAML is turned into JSON first, as Kapacitor's ``ghodss/yaml`` does, so
    both go through the API's own decoders.
    """
    import yaml  # only a [load] directory with YAML files needs it

    ext = go_ext(path)
    kind = "json" if ext == ".json" else "yaml"
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DATA_FILE_BYTES:
        raise LoadError(f"file is too large: {size} bytes, at most {MAX_DATA_FILE_BYTES} "
                        "are accepted")
    try:
        if kind == "yaml":
            tree = yaml.safe_load(text)
            _count_nodes(tree)
            raw = json.dumps(tree, default=str, allow_nan=True).encode()
        else:
            json.loads(text)  # json.Unmarshal: trailing data after the value is an error too
            raw = text.encode("utf-8", "surrogatepass")
        return jsonbody.decode_struct(raw, fields)
    except (yaml.YAMLError, jsonbody.BodyError, ValueError, TypeError, RecursionError) as e:
        detail = " ".join(str(e).split())
        raise LoadError(f"failed to unmarshal {kind} {what} file \"{path}\": {detail}") from None


@attrs.frozen
class LoadDir:
    """``[load] dir`` and its three parts."""

    root: str

    @property
    def tasks(self) -> str:
        return os.path.join(self.root, TASKS_DIR)

    @property
    def templates(self) -> str:
        return os.path.join(self.root, TEMPLATES_DIR)

    @property
    def handlers(self) -> str:
        return os.path.join(self.root, HANDLERS_DIR)


class Loader:
    """One load pass at a time over ``directory``, through the task runner's API checks."""

    log = Logger()

    def __init__(self, directory: str, runner, store, handlers=None):
        self.dir = LoadDir(directory)
        self._runner = runner
        self._store = runner.tasks
        self._definitions = Definitions(runner)
        self._items = store
        self.handlers = handlers if handlers is not None else UnsupportedHandlers()
        self._pass_lock = defer.DeferredLock()

    def load(self):
        """Deferred: one full pass (load, then remove what vanished); errback :class:`LoadError`."""
        return self._pass_lock.run(self._load)

    @defer.inlineCallbacks
    def _load(self):
        seen = {TASKS_DIR: set(), TEMPLATES_DIR: set(), HANDLERS_DIR: set()}
        if not os.path.isdir(self.dir.root):
            self.log.debug("skipping load... load directory does not exist: {dir}",
                           dir=self.dir.root)
        else:
            yield self._load_templates(seen[TEMPLATES_DIR])
            try:
                yield self._load_tasks(seen[TASKS_DIR])
            except LoadError as e:
                raise LoadError(f"failed to load tasks: {e}") from None
            yield self._load_handlers(seen[HANDLERS_DIR])
        yield self._remove_missing(seen)
        self.log.info(
            "load directory {dir}: {templates} templates, {tasks} tasks, {handlers} handlers",
            dir=self.dir.root, templates=len(seen[TEMPLATES_DIR]), tasks=len(seen[TASKS_DIR]),
            handlers=len(seen[HANDLERS_DIR]))

    def _files(self, directory: str, extensions) -> List[str]:
        try:
            return list_files(directory, extensions)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise LoadError(f"open {directory}: {e.strerror or e}") from None

    # ------------------------------------------------------------ templates

    @defer.inlineCallbacks
    def _load_templates(self, seen: set):
        for path in self._files(self.dir.templates, TICK):
            self._loading("template", path)
            try:
                template_id = yield self._load_template(path)
            except (LoadError, DefinitionError) as e:
                raise LoadError(f"failed to load file {path}: {_message(e)}") from None
            seen.add(template_id)

    @defer.inlineCallbacks
    def _load_template(self, path: str):
        script = read_text(path)
        template_id = file_id(path)
        yield self._locked(self._define_template, template_id, script)
        yield self._remember(TEMPLATES_DIR, template_id)
        return template_id

    @defer.inlineCallbacks
    def _define_template(self, template_id: str, script: str):
        body = {"id": template_id, "script": script}
        if self._store.template(template_id) is None:
            yield _prefixed("failed to create template: ",
                            self._definitions.create_template(body))
        else:
            yield _prefixed("failed to update template: ",
                            self._definitions.update_template(template_id, body))

    # ---------------------------------------------------------------- tasks

    @defer.inlineCallbacks
    def _load_tasks(self, seen: set):
        scripts = self._files(self.dir.tasks, TICK)
        var_files = self._files(self.dir.tasks, DATA)
        for path in scripts:
            self._loading("task", path)
            task_id = yield self._load_file(path, self._task_body_from_script)
            seen.add(task_id)
        for path in var_files:
            self._loading("template task", path)
            task_id = yield self._load_file(path, self._task_body_from_vars)
            seen.add(task_id)

    @defer.inlineCallbacks
    def _load_file(self, path: str, read_body):
        task_id = file_id(path)
        try:
            body = read_body(path)
            body["id"] = task_id  # the file's name wins over an "id" inside it, as in Kapacitor
            yield self._locked(self._define_task, task_id, body)
            yield self._remember(TASKS_DIR, task_id)
        except (LoadError, DefinitionError) as e:
            raise LoadError(f"failed to load file {path}: {_message(e)}") from None
        return task_id

    @staticmethod
    def _task_body_from_script(path: str) -> dict:
        return {"script": read_text(path)}

    @staticmethod
    def _task_body_from_vars(path: str) -> dict:
        return decode_data_file(path, read_text(path), TASK_VARS, "task vars")

    @defer.inlineCallbacks
    def _define_task(self, task_id: str, body: dict):
        """Create enabled, or update then disable and enable again (a restart)."""
        if not self._store.task_exists(task_id):
            yield _prefixed("failed to create task: ",
                            self._definitions.create_task({**body, "status": ENABLED}))
            return
        yield _prefixed("failed to create task: ", self._definitions.update_task(task_id, body))
        yield self._definitions.update_task(task_id, {"status": DISABLED})
        yield self._definitions.update_task(task_id, {"status": ENABLED})

    # ------------------------------------------------------------- handlers

    @defer.inlineCallbacks
    def _load_handlers(self, seen: set):
        for path in self._files(self.dir.handlers, DATA):
            self._loading("handler", path)
            try:
                decoded = decode_data_file(path, read_text(path), HANDLER_BODY, "task vars")
                spec = handler_spec(decoded)
                yield self.handlers.define(spec, path)
            except (LoadError, InvalidHandler) as e:
                raise LoadError(f"failed to load file {path}: {e}") from None
            yield self._remember(HANDLERS_DIR, spec.key)
            seen.add(spec.key)

    # ------------------------------------------------------ removing missing

    @defer.inlineCallbacks
    def _remove_missing(self, seen: dict):
        """Delete what an earlier pass loaded and this one did not: tasks, templates, handlers."""
        for kind, delete in ((TASKS_DIR, self._definitions.delete_task),
                             (TEMPLATES_DIR, self._definitions.delete_template),
                             (HANDLERS_DIR, self._delete_handler)):
            prefix = kind + "/"
            for key in self._items.keys(ITEMS):
                if not key.startswith(prefix) or key[len(prefix):] in seen[kind]:
                    continue
                object_id = key[len(prefix):]
                try:
                    yield self._locked(delete, object_id)
                except DefinitionError as e:
                    raise LoadError(e.message) from None
                self.log.info("{kind} {id} deleted: its file is gone from the load directory",
                              kind=kind[:-1], id=object_id)
                yield self._items.delete(ITEMS, key)

    def _delete_handler(self, key: str):
        topic, _, handler_id = key.partition("/")
        return self.handlers.delete(topic, handler_id)

    # ------------------------------------------------------------- helpers

    def _locked(self, function, *args):
        return self._runner.lock.run(function, *args)

    def _remember(self, kind: str, object_id: str):
        key = f"{kind}/{object_id}"
        if self._items.get_now(ITEMS, key) is not None:
            return defer.succeed(None)
        return self._items.put(ITEMS, key, {"id": key})

    def _loading(self, thing: str, path: str) -> None:
        self.log.info("loading object from file object={object} file={file}",
                      object=thing, file=path)


def _message(error: Exception) -> str:
    return error.message if isinstance(error, DefinitionError) else str(error)


def _prefixed(prefix: str, d):
    """Kapacitor's loader wraps the API's refusal: ``failed to create task: <message>``."""

    def wrap(failure):
        failure.trap(DefinitionError)
        raise DefinitionError(failure.value.code, prefix + failure.value.message)

    return d.addErrback(wrap)


class LoadService(Service):
    """Runs a pass when the daemon starts; a failed start-up pass stops the daemon.

    ``ready()`` is the Deferred the HTTP listener waits for: ``True`` after
    a good pass, ``False`` after a failed one (then ``error`` holds the message).
    """

    name = "load"
    log = Logger()

    def __init__(self, loader: Optional[Loader], reactor=None):
        self.loader = loader
        self._reactor = reactor
        self.error: Optional[str] = None
        self._outcome: Optional[bool] = None
        self._waiters: List[defer.Deferred] = []

    def ready(self):
        """Deferred ``True``/``False``: whether the start-up pass succeeded."""
        if self._outcome is not None:
            return defer.succeed(self._outcome)
        d = defer.Deferred()
        self._waiters.append(d)
        return d

    def startService(self):
        super().startService()
        if self.loader is None:
            self._settle(True)
            return
        self.loader.load().addCallbacks(lambda _: self._settle(True), self._failed)

    def _failed(self, failure):
        self.error = _failure_text(failure)
        self.log.error("failed to reload tasks/templates/handlers: {error}", error=self.error)
        self._settle(False)
        if getattr(self._reactor, "running", False):
            self._reactor.stop()

    def _settle(self, outcome: bool) -> None:
        self._outcome = outcome
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(outcome)

    def reload(self):
        """SIGHUP: a new pass; a failure is logged and the daemon keeps running."""
        if self.loader is None:
            return defer.succeed(None)
        self.log.info("reloading tasks/templates/handlers directory {dir}",
                      dir=self.loader.dir.root)

        def failed(failure):
            self.log.error("failed to reload tasks/templates/handlers: {error}",
                           error=_failure_text(failure))

        return self.loader.load().addErrback(failed)


def _failure_text(failure) -> str:
    if failure.check(LoadError):
        return str(failure.value)
    # Anything else is a bug: keep the traceback in the log, say something short.
    Logger().failure("load pass failed unexpectedly", failure)
    return f"{failure.type.__name__}: {failure.getErrorMessage()}"
