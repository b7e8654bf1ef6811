"""
Starting and stopping stored tasks on the task master.

This is Kapacitor's ``startTask``/``stopTask``, the rewrite of a template's
tasks when the template changes (``updateAllAssociatedTasks``), the start-up
pass that restarts every enabled task, and the service that ties the
master's life to the daemon's.  ``lock`` serialises every task/template
mutation of the HTTP API, so a handler that yields (to the store, or to a
compile in a worker thread) still sees the state it checked when it resumes.
"""

from __future__ import annotations

import time
from typing import Callable

import attrs
from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw import tick
from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.engine.task import TaskStartError
from kapacitord_tw.storage.errors import StoreError
from kapacitord_tw.tasks.model import DBRP, Task, Template
from kapacitord_tw.tasks.scripts import ScriptError, Scripts
from kapacitord_tw.tasks.store import TaskStore


class TaskRunner:
    """The task API's view of the task master."""

    log = Logger()

    def __init__(self, tasks: TaskStore, scripts: Scripts, master,
                 now_ns: Callable[[], int] = time.time_ns):
        self.tasks = tasks
        self.scripts = scripts
        self.master = master
        self.now_ns = now_ns
        self.lock = defer.DeferredLock()

    @defer.inlineCallbacks
    def start(self, task: Task):
        """Compile and start ``task``; errback :class:`ScriptError` when it cannot run."""
        compiled = yield self.scripts.compile_task(task.script, task.vars)
        try:
            self.master.start_task(task.id, compiled, [(d.db, d.rp) for d in task.dbrps])
        except TaskStartError as e:
            raise ScriptError(str(e)) from None
        # Starting clears the last error, as Kapacitor's saveLastError(id, "").
        yield self.tasks.set_task_error(task.id, "")
        return None

    def stop(self, task_id: str) -> None:
        self.master.stop_task(task_id)

    def forget(self, task_id: str):
        """A task was deleted: its anonymous alert topics go too (errors are logged)."""
        services = self.master.services
        delete = getattr(services.topics, "delete_task_topics", None)
        if delete is None:
            return defer.succeed(None)
        return delete(services.master_id, task_id).addErrback(
            lambda f: self.log.failure("deleting the alert topics of task {task}", f,
                                       task=task_id))

    @defer.inlineCallbacks
    def retarget(self, old: Template, new: Template):
        """Point the tasks of template ``old`` at ``new``, restarting enabled ones.

        On the first failure every task already rewritten is put back (and
        restarted) and :class:`RetargetFailed` carries Kapacitor's message.
        """
        old_program = yield self.scripts.parse(old.script).addErrback(
            _retarget_failure("failed to parse old tickscript: {}"))
        new_program = yield self.scripts.parse(new.script).addErrback(
            _retarget_failure("failed to parse new tickscript: {}"))
        old_dbrps = tick.dbrps(old_program)
        new_dbrps = [DBRP(db, rp) for db, rp in tick.dbrps(new_program)]
        done = []
        try:
            for task_id in new.tasks:
                task = self.tasks.task(task_id)
                if task is None:
                    continue
                rewritten = attrs.evolve(task, template_id=new.id, script=new.script,
                                         type=new.type)
                if old_dbrps or new_dbrps:
                    rewritten = attrs.evolve(rewritten, dbrps=new_dbrps)
                done.append(task)
                try:
                    yield self.tasks.put_task(rewritten)
                except StoreError as e:
                    raise RetargetFailed(f"error updating associated task {task_id}: {e}") from None
                if rewritten.enabled:
                    self.stop(task_id)
                    try:
                        yield self.start(rewritten)
                    except (ScriptError, WorkersBusy, StoreError) as e:
                        detail = e.detail if isinstance(e, ScriptError) else str(e)
                        raise RetargetFailed(
                            f"error reloading associated task {task_id}: {detail}") from None
        except RetargetFailed:
            yield self._put_back(done)
            raise

    @defer.inlineCallbacks
    def _put_back(self, originals):
        for task in originals:
            try:
                yield self.tasks.put_task(task)
                if task.enabled:
                    self.stop(task.id)
                    yield self.start(task)
            except Exception:
                self.log.failure("error rolling back associated task {task}", task=task.id)

    @defer.inlineCallbacks
    def restore(self):
        """Start every enabled task in the store (daemon start-up)."""
        yield self.lock.acquire()
        try:
            for task_id in self.tasks.task_ids():
                task = self.tasks.task(task_id)
                if task is None or not task.enabled:
                    continue
                self.log.info("starting enabled task {task}", task=task_id)
                try:
                    yield self.start(task)
                except ScriptError as e:
                    self.log.error(
                        "failed to start enabled task {task}: {error}", task=task_id, error=e.detail
                    )
                except Exception:
                    self.log.failure("failed to start enabled task {task}", task=task_id)
        finally:
            self.lock.release()


class RetargetFailed(Exception):
    """Rewriting a template's tasks failed (and was undone); the text is the 500 message."""


def _retarget_failure(message: str):
    def convert(failure):
        if failure.check(ScriptError):
            raise RetargetFailed(message.format(failure.value.detail))
        return failure

    return convert


class TaskMasterService(Service):
    """Restarts enabled tasks when the daemon starts; stops them all on shutdown."""

    name = "task-master"

    def __init__(self, runner: TaskRunner):
        self.runner = runner

    def startService(self):
        super().startService()
        self.runner.restore().addErrback(
            lambda f: self.runner.log.failure("restarting enabled tasks failed", f))

    def stopService(self):
        super().stopService()
        # Points already acknowledged with a 204 are processed before the tasks stop.
        self.runner.master.engine.flush()
        self.runner.master.stop_all()
