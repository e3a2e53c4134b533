"""Helpers for the queue tests: queue contents, direct row edits, the orphan invariant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from taskstore import TaskStore
from taskstore.db.records import QueueEntryRecord, TaskRecord


def make_queue(store: Any, name: str = "gpu queue", **fields: Any) -> str:
    return str(store.call("queues.create", {"name": name, **fields})["id"])


def queue_doc(store: Any, queue_id: str) -> dict[str, Any]:
    return dict(store.call("queues.get_by_id", {"queue": queue_id})["queue"])


def entries(store: Any, queue_id: str) -> list[str]:
    """The task ids of a queue, head first."""
    return [e["task"] for e in queue_doc(store, queue_id)["entries"]]


def all_entries(store: TaskStore) -> list[tuple[str, str]]:
    """Every (queue, task) entry in the database, in seq order."""
    with store._db.transaction(write=False) as conn:
        rows = conn.execute(select(QueueEntryRecord.queue, QueueEntryRecord.task).order_by(QueueEntryRecord.seq)).all()
    return [(q, t) for q, t in rows]


def statuses(store: TaskStore) -> dict[str, str]:
    with store._db.transaction(write=False) as conn:
        return {i: s for i, s in conn.execute(select(TaskRecord.id, TaskRecord.status))}


def set_columns(store: TaskStore, task_id: str, **values: Any) -> None:
    """Write task columns directly (to build states the API refuses to make)."""
    with store._db.transaction() as conn:
        conn.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(**values))


def assert_no_orphans(store: TaskStore) -> None:
    """Every queue entry names a task that is ``queued``, and no task sits in a queue twice or in two queues."""
    found = all_entries(store)
    status = statuses(store)
    orphans = [(q, t, status.get(t)) for q, t in found if status.get(t) != "queued"]
    assert not orphans, orphans
    tasks = [t for _, t in found]
    assert len(tasks) == len(set(tasks)), found
