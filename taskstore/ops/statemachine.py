"""Task status: the allowed moves (data), the transitions machine built once, and the only writer.

``change_status`` is the one function in taskstore that writes ``tasks.status``.  It asks the
machine whether the move is allowed (skipped with ``force``), applies the same-state rule, and writes
with compare-and-set (``UPDATE ... WHERE id = :id AND status = :expected``): a lost race is 400/121,
never a silent overwrite.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from transitions import Machine

from taskstore.db.records import ProjectRecord, TaskRecord
from taskstore.enums import TaskStatus as S
from taskstore.errors import error
from taskstore.ops.context import OpContext

# from -> the statuses it may move to without force (spec: lifecycle §1.2).  Same-state moves are
# not listed: the same-state rule allows them unless the operation forbids it.
ALLOWED: dict[S, tuple[S, ...]] = {
    S.created: (S.queued, S.in_progress),
    S.queued: (S.created, S.in_progress, S.stopped),
    S.in_progress: (S.created, S.stopped, S.failed, S.completed),
    S.stopped: (S.created, S.queued, S.in_progress, S.failed, S.closed, S.completed, S.publishing, S.published),
    S.closed: (S.created, S.stopped, S.failed, S.publishing, S.published),
    S.failed: (S.created, S.stopped, S.published),
    S.completed: (S.created, S.in_progress, S.published),
    S.publishing: (S.published,),
    S.published: (),
}

MACHINE = Machine(
    model=None,
    states=[s.value for s in S],
    transitions=[
        {"trigger": f"set_{dest.value}", "source": src.value, "dest": dest.value}
        for src, dests in ALLOWED.items()
        for dest in dests
    ],
    initial=S.created.value,
    auto_transitions=False,
    send_event=False,
)


def is_allowed(current: str, new: str) -> bool:
    """Whether the machine has the move current -> new (same-state moves are not in the machine)."""
    return bool(MACHINE.get_transitions(trigger=f"set_{new}", source=current, dest=new))


def check_transition(current: str, new: str, *, force: bool = False, allow_same: bool = True) -> None:
    """Raise the reference's error when ``current -> new`` is not allowed."""
    if force:
        return
    if current == new:
        if not allow_same:
            raise error(
                "invalid_task_status", "Task already in requested status", current_status=current, new_status=new
            )
        return
    if current == S.unknown or current not in MACHINE.states:
        raise error("internal_error", f"Current status {current} not supported by state machine")
    if not is_allowed(current, new):
        raise error("invalid_task_status", "Invalid status change", current_status=current, new_status=new)


def change_status(
    ctx: OpContext,
    task: TaskRecord,
    new_status: str,
    *,
    force: bool = False,
    allow_same: bool = True,
    reason: str | None = "",
    message: str | None = "",
    fields: dict[str, Any] | None = None,
    bookkeeping: bool = True,
) -> dict[str, Any]:
    """Move ``task`` to ``new_status`` with compare-and-set; return the fields written.

    ``fields`` are further columns written in the same statement.  ``bookkeeping=False`` writes only
    the status and ``fields`` (tasks.edit sets status without the status-change bookkeeping).
    """
    current = task.status
    check_transition(current, new_status, force=force, allow_same=allow_same)
    values: dict[str, Any] = {"status": new_status}
    if bookkeeping:
        values.update(
            status_reason=reason or "",
            status_message=message or "",
            status_changed=ctx.now,
            last_update=ctx.now,
            last_change=ctx.now,
        )
    values.update(fields or {})
    if bookkeeping and new_status == S.queued and "development" in (task.system_tags or []):
        from taskstore.ops.tags import set_tags

        set_tags(ctx, task, system_tags=[t for t in task.system_tags if t != "development"])
    result = ctx.session.execute(
        update(TaskRecord)
        .where(TaskRecord.id == task.id, TaskRecord.status == current)
        .values(**values)
        .execution_options(synchronize_session="evaluate")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise error("failed_changing_task_status", task_id=task.id, current_status=current, new_status=new_status)
    if bookkeeping and task.project:
        ctx.session.execute(
            update(ProjectRecord).where(ProjectRecord.id == task.project).values(last_update=ctx.now)
        )
    return values
