"""Task events: deleting them (events.delete_for_task, and the cleanup of reset/delete)."""

from __future__ import annotations

from sqlalchemy import delete, select

from taskstore.db.records import EventRecord, TaskRecord
from taskstore.enums import TaskStatus
from taskstore.errors import error
from taskstore.ops.context import OpContext

# Events of these tasks are kept unless the caller allows it (allow_locked / force).
LOCKED_STATUSES = (TaskStatus.publishing.value, TaskStatus.published.value)


def check_unlocked(ctx: OpContext, task: TaskRecord) -> None:
    """400/101 "or task published" ``{company, id}`` for a publishing or published task."""
    if task.status in LOCKED_STATUSES:
        raise error("invalid_task_id", "or task published", company=ctx.company, id=task.id)


def delete_events(ctx: OpContext, task_id: str) -> int:
    """Delete every event of a task (no checks); return how many."""
    result = ctx.session.execute(
        delete(EventRecord).where(EventRecord.task == task_id).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_for_task(ctx: OpContext, task_id: str, *, allow_locked: bool) -> int:
    """events.delete_for_task: the task must be the caller's company's (public ones count as missing:
    400/101 ``{ids}``); a locked task needs ``allow_locked``."""
    task = ctx.session.scalars(select(TaskRecord).where(TaskRecord.id == task_id, ctx.own(TaskRecord))).first()
    if task is None:
        raise error("invalid_task_id", ids=[task_id])
    if not allow_locked:
        check_unlocked(ctx, task)
    return delete_events(ctx, task_id)
