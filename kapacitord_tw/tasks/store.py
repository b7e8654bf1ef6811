"""
Tasks and templates in the durable store.

Every mutation returns the store's Deferred, which fires once the change
is on disk: the HTTP layer yields it before answering.  Reads are
synchronous (``get_now``); the store's in-memory view already holds every
mutation issued so far.
"""

from __future__ import annotations

from typing import List, Optional

from twisted.internet.defer import succeed

from kapacitord_tw.tasks.model import TASKS, TEMPLATES, Task, Template


class TaskStore:
    """Typed access to the ``tasks`` and ``templates`` namespaces."""

    def __init__(self, store):
        self.store = store

    # -------------------------------------------------------------- tasks

    def task(self, task_id: str) -> Optional[Task]:
        return self._get(TASKS, Task, task_id)

    def task_exists(self, task_id: str) -> bool:
        return self.store.get_now(TASKS, task_id) is not None

    def task_ids(self) -> List[str]:
        return self.store.keys(TASKS)

    def list_tasks(self, pattern: str, offset: int, limit: int):
        """Deferred ``[Task]``; a negative limit means all (pattern and offset ignored)."""
        if limit < 0:
            return self._list(TASKS, Task)
        return self._list(TASKS, Task, pattern or None, offset, limit)

    def create_task(self, task: Task):
        """Deferred ``True`` if stored, ``False`` if the id is taken."""
        return self.store.create(TASKS, task.id, task.to_record())

    def put_task(self, task: Task):
        return self.store.put(TASKS, task.id, task.to_record())

    def set_task_error(self, task_id: str, error: str):
        """Record a task's last error (no write when it is already that)."""
        record = self.store.get_now(TASKS, task_id)
        if record is None or record.get("error", "") == error:
            return succeed(None)

        def change(value):
            value["error"] = error
            return value

        return self.store.update(TASKS, task_id, change)

    def delete_task(self, task_id: str):
        return self.store.delete(TASKS, task_id)

    # ---------------------------------------------------------- templates

    def template(self, template_id: str) -> Optional[Template]:
        return self._get(TEMPLATES, Template, template_id)

    def list_templates(self, pattern: str, offset: int, limit: int):
        """Deferred ``[Template]``; a negative limit yields nothing (as Kapacitor's)."""
        if limit < 0:
            return succeed([])
        return self._list(TEMPLATES, Template, pattern or None, offset, limit)

    def create_template(self, template: Template):
        return self.store.create(TEMPLATES, template.id, template.to_record())

    def put_template(self, template: Template):
        return self.store.put(TEMPLATES, template.id, template.to_record())

    def delete_template(self, template_id: str):
        return self.store.delete(TEMPLATES, template_id)

    def associate(self, template_id: str, task_id: str):
        return self._associations(template_id, lambda ids: ids | {task_id})

    def disassociate(self, template_id: str, task_id: str):
        return self._associations(template_id, lambda ids: ids - {task_id})

    def _associations(self, template_id: str, change):
        def apply(value):
            value["tasks"] = sorted(change(set(value.get("tasks") or ())))
            return value

        return self.store.update(TEMPLATES, template_id, apply)

    # ------------------------------------------------------------ records

    def _get(self, namespace: str, record_class, key: str):
        record = self.store.get_now(namespace, key)
        return None if record is None else record_class.from_record(record)

    def _list(self, namespace: str, record_class, *query):
        """Deferred list of ``record_class``; ``query`` is the store's (pattern, offset, limit)."""
        d = self.store.list(namespace, *query)
        return d.addCallback(lambda rows: [record_class.from_record(v) for _k, v in rows])
