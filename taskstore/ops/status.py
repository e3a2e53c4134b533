"""Status endpoints' operations: the signals, stop, publish, archive, ping, set_requirements.

Spec: lifecycle §3 (started/stopped/failed/close/completed), §4 (stop), §6 (publish), §10 (archive),
§11 (ping), §13 (set_requirements).  Every status write goes through ``statemachine.change_status``;
each function works on one task (batch endpoints call them through ``ops.batch.run_many``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from taskstore.db.records import TaskRecord
from taskstore.enums import TaskStatus as S
from taskstore.errors import APIError, error
from taskstore.ops import models, queueing
from taskstore.ops.context import OpContext, chunks
from taskstore.ops.manage import require_ids
from taskstore.ops.statemachine import OPERATIONS, TaskRow, change_status, check_transition, load_for_status
from taskstore.ops.tags import set_tags

ARCHIVED = "archived"
DEVELOPMENT = "development"
# apiserver.workers.task_update_timeout: a task reported on within this many seconds is "run by a worker".
TASK_UPDATE_TIMEOUT = 600


def seconds_since(start: datetime | None, now: datetime) -> int:
    """Whole seconds from ``start`` to ``now``, never negative; 0 without a start."""
    if start is None:
        return 0
    return max(0, int((now - start).total_seconds()))


def _signal_fields(task: TaskRow, operation: str, now: datetime) -> dict[str, Any]:
    """The extra fields a signal writes besides the SCP bookkeeping (lifecycle §3 table)."""
    if operation == "started":
        # started keeps the earliest time since the last reset; a kept value is not written.
        return {} if task.started is not None else {"started": now}
    if operation in ("stopped", "completed"):
        return {"completed": now, "duration": seconds_since(task.started, now)}
    if operation == "failed":
        return {"duration": seconds_since(task.started, now)}
    return {}


def signal(
    ctx: OpContext, task_id: str, operation: str, *, force: bool = False, reason: str = "", message: str = ""
) -> dict[str, Any]:
    """started / stopped / failed / close / completed on one task; returns the fields written."""
    task = load_for_status(ctx, task_id)
    target = OPERATIONS[operation].target
    assert target is not None
    kept_start = operation == "started" and task.started is not None
    written = change_status(
        ctx, task, target, force=force, reason=reason, message=message, fields=_signal_fields(task, operation, ctx.now)
    )
    if kept_start:
        # [ref quirk] the reference reports its "keep the minimum" write under this key.
        written["min.started"] = ctx.now
    return written


def run_by_worker(task: TaskRow, now: datetime) -> bool:
    """A worker reported on the task (``last_worker``) and the task was updated recently."""
    last_update = task.last_update
    return bool(
        (task.extra or {}).get("last_worker")
        and last_update is not None
        and (now - last_update).total_seconds() < TASK_UPDATE_TIMEOUT
    )


def stop(ctx: OpContext, task_id: str, *, force: bool = False, reason: str = "") -> dict[str, Any]:
    """tasks.stop (lifecycle §4): stopped at once, or only marked "stopping" for a worker to act on.

    A queued task leaves its queue (change_status drops the entries of a task leaving ``queued``).
    """
    task = load_for_status(ctx, task_id)
    immediate = task.status == S.queued or DEVELOPMENT in (task.system_tags or ()) or not run_by_worker(task, ctx.now)
    if immediate:
        target, message = S.stopped.value, f"Stopped by {ctx.user}"
    else:
        target, message = task.status, "stopping"
    return change_status(ctx, task, target, force=force, reason=reason, message=message)


def publish(
    ctx: OpContext,
    task_id: str,
    *,
    force: bool = False,
    publish_model: bool = True,
    reason: str = "",
    message: str = "",
) -> dict[str, Any]:
    """tasks.publish (lifecycle §6): via ``publishing``, publishing the last output model on the way.

    The reference puts the status back by hand when a step fails; here the call (or batch item)
    is one transaction, so a failure changes nothing.
    """
    task = ctx.get_for_write(TaskRecord, task_id)
    check_transition(task.status, S.published, force=force, same_state=OPERATIONS["publish"].same_state)
    change_status(ctx, task, S.publishing, force=True, bookkeeping=False)
    if publish_model:
        models.publish_last_output(ctx, task)
    return change_status(
        ctx,
        task,
        S.published,
        force=force,
        reason=reason,
        message=message,
        fields={"published": ctx.now, "output": dict(task.output or {})},
    )


def completed(
    ctx: OpContext,
    task_id: str,
    *,
    force: bool = False,
    publish_too: bool = False,
    reason: str = "",
    message: str = "",
) -> tuple[dict[str, Any], int]:
    """tasks.completed, then (``publish``, 2.20) publish with model publishing on.

    Returns the completed step's fields (``status`` replaced by publish's) and publish's count.
    """  # fmt: skip
    fields = signal(ctx, task_id, "completed", force=force, reason=reason, message=message)
    if not publish_too:
        return fields, 0
    published = publish(ctx, task_id, force=force, publish_model=True, reason=reason, message=message)
    fields["status"] = published["status"]
    return fields, 1


# -- archive ---------------------------------------------------------------------------------------------
def leave_queue(ctx: OpContext, task: TaskRecord, reason: str, message: str) -> None:
    """The DAR step of archive and delete: errors swallowed (the DAR undoes its own partial work)."""
    if task.status != S.queued:
        return  # DAR would refuse it (400/101) with nothing written
    try:
        queueing.dequeue_and_revert(ctx, task, reason=reason, message=message)
    except APIError:
        ctx.session.expire(task)  # its SAVEPOINT rolled back: reload what the task really holds


def _archive(ctx: OpContext, task: TaskRecord, reason: str, message: str) -> None:
    leave_queue(ctx, task, reason, message)
    task.status_reason = reason
    task.status_message = message
    if ARCHIVED not in (task.system_tags or ()):
        set_tags(ctx, task, system_tags=[*(task.system_tags or ()), ARCHIVED])
    task.last_change = ctx.now


def archive_one(ctx: OpContext, task_id: str, *, reason: str = "", message: str = "") -> dict[str, Any]:
    """archive_many's item: load for writing (400/101, 403/21), dequeue if queued, tag archived."""
    _archive(ctx, ctx.get_for_write(TaskRecord, task_id), reason, message)
    return {"archived": True}


def archive(ctx: OpContext, task_ids: Sequence[str], *, reason: str = "", message: str = "") -> int:
    """tasks.archive: all or nothing; the ids are looked up in the caller's company only."""
    wanted = sorted(set(require_ids(task_ids, "tasks")))
    found: list[TaskRecord] = []
    for chunk in chunks(wanted):
        stmt = select(TaskRecord).where(TaskRecord.id.in_(chunk), ctx.own(TaskRecord)).order_by(TaskRecord.id)
        found.extend(ctx.session.scalars(stmt.with_for_update() if ctx.dialect == "postgresql" else stmt))
    if len(found) != len(wanted):
        raise error("invalid_task_id", ids=list(task_ids))
    for task in found:
        _archive(ctx, task, reason, message)
    return len(found)


def unarchive_one(ctx: OpContext, task_id: str, *, reason: str = "", message: str = "") -> dict[str, Any]:
    """unarchive_many's item: drop the archived tag; no status change, no queue action."""
    task = ctx.get_for_write(TaskRecord, task_id)
    task.status_reason = reason
    task.status_message = message
    if ARCHIVED in (task.system_tags or ()):
        set_tags(ctx, task, system_tags=[t for t in task.system_tags if t != ARCHIVED])
    task.last_change = ctx.now
    return {"unarchived": True}


# -- ping, set_requirements ----------------------------------------------------------------------------
def ping(ctx: OpContext, task_id: str) -> None:
    """Refresh last_update (and active_duration of a running task); an unknown id does nothing."""
    task = ctx.session.scalars(select(TaskRecord).where(TaskRecord.id == task_id, ctx.own(TaskRecord))).first()
    if task is None:
        return
    task.last_update = task.last_change = ctx.now
    if task.status == S.in_progress and task.started is not None:
        task.active_duration = seconds_since(task.started, ctx.now)


def set_requirements(ctx: OpContext, task_id: str, requirements: dict[str, Any]) -> dict[str, Any]:
    """Replace ``script.requirements`` in any status; returns the fields written."""
    task = ctx.get_for_write(TaskRecord, task_id)
    task.script = {**(task.script or {}), "requirements": requirements}
    task.last_update = task.last_change = ctx.now
    return {"script.requirements": requirements}
