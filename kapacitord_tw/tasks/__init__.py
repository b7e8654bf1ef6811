"""Tasks and templates: the stored definitions, their TICKscript handling and the task master.

``build_task_runner`` wires the parts for the daemon; the HTTP areas in
:mod:`kapacitord_tw.http.tasks` and :class:`TaskMasterService` take the
runner it returns.
"""

from kapacitord_tw.tasks.master import TaskMaster
from kapacitord_tw.tasks.model import DBRP, DISABLED, ENABLED, Task, Template
from kapacitord_tw.tasks.runner import TaskMasterService, TaskRunner
from kapacitord_tw.tasks.scripts import MAX_SCRIPT_BYTES, ScriptError, Scripts
from kapacitord_tw.tasks.store import TaskStore


def build_task_runner(store, workers, reactor=None, bus=None, services=None) -> TaskRunner:
    """A runner over ``store``; its master reads ``bus``, big scripts compile on ``workers``;
    ``services`` (:class:`~kapacitord_tw.engine.task.EngineServices`) is what its nodes reach."""
    return TaskRunner(TaskStore(store), Scripts(workers), TaskMaster(reactor, bus, services))


__all__ = [
    "DBRP",
    "DISABLED",
    "ENABLED",
    "MAX_SCRIPT_BYTES",
    "ScriptError",
    "Scripts",
    "Task",
    "TaskMaster",
    "TaskMasterService",
    "TaskRunner",
    "TaskStore",
    "Template",
    "build_task_runner",
]
