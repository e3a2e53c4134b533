"""Helpers for the hyperparams / configuration / artifacts / task models / events tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from support import create_task, get_task, set_status

from taskstore import TaskStore
from taskstore.db.records import TaskRecord

OLD = datetime(2001, 1, 1)
OLD_TEXT = "2001-01-01T00:00:00+00:00"
# Every status a task can be in, and the ones the §3.1 rule lets an edit through.
STATUSES = ("created", "queued", "in_progress", "stopped", "failed", "closed", "completed", "publishing", "published",
            "unknown")  # fmt: skip


def hp(section: str, name: str, value: str = "v", **attrs: Any) -> dict[str, Any]:
    return {"section": section, "name": name, "value": value, **attrs}


def cfg(name: str, value: str = "v", **attrs: Any) -> dict[str, Any]:
    return {"name": name, "value": value, **attrs}


def task_in(store: Any, status: str = "created", **fields: Any) -> str:
    tid = create_task(store, **fields)
    if status != "created":
        set_status(store, tid, status)
    return tid


def age(store: TaskStore, task_id: str) -> None:
    """Put last_update / last_change far in the past (so that a write is visible in them)."""
    with store._db.transaction() as conn:
        conn.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(last_update=OLD, last_change=OLD))


def stamps(store: Any, task_id: str) -> tuple[bool, bool]:
    """(last_update changed, last_change changed) since :func:`age`."""
    doc = get_task(store, task_id)
    return doc["last_update"] != OLD_TEXT, doc["last_change"] != OLD_TEXT


def set_columns(store: TaskStore, task_id: str, **values: Any) -> None:
    with store._db.transaction() as conn:
        conn.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(**values))
