"""Tasks and queues together: entries, the atomic pop, enqueue and dequeue (spec: lifecycle §1.6, §9).

Everything runs inside the call's one transaction, so a failing enqueue or dequeue changes nothing
(the reference changes the status first and reverts it by hand when the queue step fails).

Concurrency:
* SQLite: every writing call runs under ``BEGIN IMMEDIATE`` (one writer at a time), so reading the
  head of a queue and deleting it inside the call is atomic.
* PostgreSQL: the pop is one ``DELETE ... WHERE seq = (SELECT ... FOR UPDATE SKIP LOCKED)
  RETURNING``, so two workers never get the same entry and never wait on each other's head.  Adding
  an entry first updates the queue row (a row lock), so two concurrent adds of one task cannot both
  pass the "already queued" check.  Auto-creating a queue by name takes an advisory lock on
  (company, name), so concurrent enqueues cannot create two queues of one name (or two defaults).

Status changes go through ``statemachine.change_status`` only (imported as a module: statemachine
may import this module back to drop the entries of a task that leaves ``queued``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.sql.dml import ReturningDelete

from taskstore.db.records import QueueEntryRecord, QueueRecord, TaskRecord
from taskstore.enums import TaskStatus
from taskstore.errors import error
from taskstore.ops import queues, statemachine
from taskstore.ops.context import OpContext, chunks, own_bound, visible_bound
from taskstore.ops.taskdoc import DELETED_PREFIX, check_models, check_project

ENQUEUE_STATUS = "enqueue_status"  # kept in TaskRecord.extra (internal, hidden from get_all)

__all__ = [
    "add_entry",
    "dequeue_and_revert",
    "dequeue_task",
    "drop_entries",
    "enqueue_task",
    "lock_queues",
    "pop_next",
    "remove_entries",
    "remove_task_entries",
    "resolve_queue",
    "task_owner",
]


# -- entries ----------------------------------------------------------------------------------------
def _touch(ctx: OpContext, queue_ids: Iterable[str]) -> None:
    ids = sorted(set(queue_ids))
    if ids:
        ctx.conn.execute(_TOUCH_QUEUES, {"queues": ids, "now": ctx.now})


def drop_entries(ctx: OpContext, task_id: str, *, keep: str | None = None) -> int:
    """Delete every queue entry of ``task_id`` (but those in queue ``keep``); return how many.

    Called by every status change out of ``queued`` (tasks.started after a pop among them), so it is
    one prepared Core statement on the call's connection.
    """
    if keep is None:
        rows = ctx.conn.execute(_DROP, {"task": task_id}).all()
    else:
        rows = ctx.conn.execute(_DROP_BUT, {"task": task_id, "keep": keep}).all()
    _touch(ctx, (q for (q,) in rows))
    return len(rows)


_DROP = delete(QueueEntryRecord).where(QueueEntryRecord.task == bindparam("task")).returning(QueueEntryRecord.queue)
_DROP_BUT = _DROP.where(QueueEntryRecord.queue != bindparam("keep"))
_TOUCH_QUEUES = (
    update(QueueRecord)
    .where(QueueRecord.id.in_(bindparam("queues", expanding=True)))
    .values(last_update=bindparam("now"))
)


def lock_queues(ctx: OpContext, queue_ids: Iterable[str]) -> None:
    """PostgreSQL: lock the caller's queue rows among ``queue_ids``, in sorted id order (SQLite: nothing
    to do, its write transactions are exclusive).

    Every writing call takes its rows in one order: tasks, then queues, then projects (a status change
    touches the task's project last).  A call that would otherwise reach a queue row only after the
    project row (an enqueue: status change first, then the entry) or several rows in request order
    (a batch) locks them here first, so that no two calls wait for each other's rows in a cycle.
    """
    if ctx.dialect != "postgresql":
        return
    for chunk in chunks(sorted(set(queue_ids))):
        ctx.session.execute(
            select(QueueRecord.id)
            .where(QueueRecord.id.in_(chunk), ctx.own(QueueRecord))
            .order_by(QueueRecord.id)
            .with_for_update()
        )


def add_entry(ctx: OpContext, queue_id: str, task_id: str) -> None:
    """Append ``task_id`` to a queue of the caller's company: 400/701 unknown queue, 400/706 already in it."""
    queue = queues.get_queue(ctx, queue_id)
    # Update the queue row first: on PostgreSQL the row lock serializes concurrent adds to this queue.
    ctx.session.execute(
        update(QueueRecord)
        .where(QueueRecord.id == queue.id)
        .values(last_update=ctx.now)
        .execution_options(synchronize_session="evaluate")
    )
    present = ctx.session.execute(
        select(QueueEntryRecord.seq)
        .where(QueueEntryRecord.queue == queue.id, QueueEntryRecord.task == task_id)
        .limit(1)
    ).first()
    if present is not None:
        raise error("task_already_queued", task=task_id)
    ctx.session.execute(insert(QueueEntryRecord).values(queue=queue.id, task=task_id, added=ctx.now))


def remove_entries(ctx: OpContext, queue_id: str, task_id: str) -> int:
    """Remove every entry of ``task_id`` from one queue of the caller's company.

    400/703 when the queue is unknown (or another company's) or does not hold the task.
    """
    rows: list[Any] = []
    if ctx.session.execute(select(QueueRecord.id).where(QueueRecord.id == queue_id, ctx.own(QueueRecord))).first():
        rows = list(
            ctx.session.execute(
                delete(QueueEntryRecord)
                .where(QueueEntryRecord.queue == queue_id, QueueEntryRecord.task == task_id)
                .returning(QueueEntryRecord.seq)
                .execution_options(synchronize_session=False)
            )
        )
    if not rows:
        raise error("invalid_queue_or_task_not_queued", task=task_id, id=queue_id, company=ctx.company)
    _touch(ctx, [queue_id])
    return len(rows)


def remove_task_entries(ctx: OpContext, task: TaskRecord, *, silent: bool) -> int:
    """§1.6 "remove": take a queued task out of the queue named by its ``execution.queue``.

    Not queued: 400/101 ``{status, expected}``; no ``execution.queue``: 400/11 (both return 0 when
    ``silent``).  Not in that queue: 400/703, which ``silent`` does not suppress.
    """
    if task.status != TaskStatus.queued:
        if silent:
            return 0
        raise error("invalid_task_id", status=task.status, expected=TaskStatus.queued.value)
    queue_id = (task.execution or {}).get("queue")
    if not queue_id:
        if silent:
            return 0
        raise error("missing_required_fields", "task has no queue value", field="execution.queue")
    return remove_entries(ctx, queue_id, task.id)


def pop_next(ctx: OpContext, queue_id: str) -> tuple[str, datetime] | None:
    """Atomically remove and return the head entry ``(task, added)`` of a queue; None when empty.

    400/701 for an unknown queue (or another company's).  The task's status is not touched (it stays
    ``queued`` until the worker calls tasks.started, as in the reference).  This is the hot path of
    every worker: two prepared Core statements on the call's connection, no ORM session.
    """
    params = {"queue": queue_id, "company": ctx.company}
    row = ctx.conn.execute(_POP_POSTGRESQL if ctx.dialect == "postgresql" else _POP, params).first()
    if row is None:
        if ctx.conn.execute(_OWN_QUEUE, params).first() is None:
            raise ctx.missing(QueueRecord, queue_id)
        return None
    touch = _TOUCH_UNLESS_LOCKED if ctx.dialect == "postgresql" else _TOUCH_QUEUE
    ctx.conn.execute(touch, {"queue": queue_id, "now": ctx.now})
    return row[0], row[1]


# Built and compiled once: the company is bound per call.
_OWN_QUEUE = select(QueueRecord.id).where(QueueRecord.id == bindparam("queue"), own_bound(QueueRecord.company))


def _pop_statement(*, skip_locked: bool) -> ReturningDelete[str, datetime]:
    """DELETE the head entry of an own queue, RETURNING (task, added)."""
    head = (
        select(QueueEntryRecord.seq)
        .where(QueueEntryRecord.queue == bindparam("queue"), QueueEntryRecord.queue.in_(_OWN_QUEUE.scalar_subquery()))
        .order_by(QueueEntryRecord.seq)
        .limit(1)
    )
    if skip_locked:
        head = head.with_for_update(skip_locked=True)
    return (
        delete(QueueEntryRecord)
        .where(QueueEntryRecord.seq == head.scalar_subquery())
        .returning(QueueEntryRecord.task, QueueEntryRecord.added)
    )


# SQLite runs the pop under BEGIN IMMEDIATE (one writer at a time); PostgreSQL skips heads that another
# worker holds, so two workers never get the same entry and never wait for each other's head.
_POP = _pop_statement(skip_locked=False)
_POP_POSTGRESQL = _pop_statement(skip_locked=True)
_TOUCH_QUEUE = update(QueueRecord).where(QueueRecord.id == bindparam("queue")).values(last_update=bindparam("now"))
# PostgreSQL: a pop does not wait for the queue row when another transaction (a concurrent pop or add)
# holds it: that one writes a last_update of the same instant.  Otherwise every pop of a queue would
# queue up behind the previous pop's commit.
_TOUCH_UNLESS_LOCKED = (
    update(QueueRecord)
    .where(
        QueueRecord.id
        == select(QueueRecord.id)
        .where(QueueRecord.id == bindparam("queue"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(last_update=bindparam("now"))
)


def task_owner(ctx: OpContext, task_id: str) -> dict[str, str] | None:
    """``{company, user}`` of a task the caller can see (get_next_task's task_info; agents ask for it)."""
    row = ctx.conn.execute(_OWNER, {"task": task_id, "company": ctx.company}).first()
    return None if row is None else {"company": row[0], "user": row[1]}


_OWNER = select(TaskRecord.company, TaskRecord.user).where(
    TaskRecord.id == bindparam("task"), visible_bound(TaskRecord.company)
)


# -- queues by name ---------------------------------------------------------------------------------
def resolve_queue(ctx: OpContext, queue_id: str | None, queue_name: str | None) -> str:
    """The target queue of an enqueue: the id given, the queue named (made if missing), or the default."""
    if queue_id and queue_name:
        raise error("validation_error", "Either queue id or queue name should be provided")
    if queue_id:
        return queue_id
    if queue_name:
        name = queue_name.strip()
        queues.serialize_creation(ctx, name)
        found = ctx.session.execute(
            select(QueueRecord.id).where(QueueRecord.name == name, ctx.own(QueueRecord)).order_by(QueueRecord.created)
        ).first()
        return found[0] if found is not None else queues.create_queue(ctx, {"name": name}).id
    return queues.default_queue(ctx).id


# -- enqueue / dequeue ------------------------------------------------------------------------------
def validate_references(ctx: OpContext, task: TaskRecord) -> None:
    """enqueue_many(validate_tasks): parent, project and input models must exist (400/101, 401, 201)."""
    parent = task.parent
    if parent and not parent.startswith(DELETED_PREFIX) and not ctx.exists(TaskRecord, parent):
        raise error("invalid_task_id", "invalid parent", parent=parent)
    if task.project:
        check_project(ctx, task.project)
    inputs = [m["model"] for m in (task.models or {}).get("input") or () if m.get("model")]
    if inputs:
        check_models(ctx, inputs)


def enqueue_task(
    ctx: OpContext,
    task_id: str,
    queue_id: str,
    *,
    force: bool = False,
    validate: bool = False,
    reason: str = "",
    message: str = "",
) -> dict[str, Any]:
    """§9 enqueue of one task into ``queue_id``; returns the fields written.

    The status change comes first and the queue check after it (so error precedence is the
    reference's); a queue error rolls the whole call (or batch item) back.  A task that is already
    queued (force) moves: its entries in other queues are dropped and its ``enqueue_status`` keeps
    the status it had before it was first queued.
    """
    task = ctx.get_for_write(TaskRecord, task_id)
    if validate:
        validate_references(ctx, task)
    if ctx.dialect == "postgresql":  # the queue rows this call writes, before change_status touches the project
        held = [queue_id]
        if task.status == TaskStatus.queued:  # (force) its entries elsewhere are dropped
            held += ctx.session.scalars(select(QueueEntryRecord.queue).where(QueueEntryRecord.task == task.id))
        lock_queues(ctx, held)
    previous = task.status
    enqueue_status = previous
    if previous == TaskStatus.queued:
        enqueue_status = (task.extra or {}).get(ENQUEUE_STATUS) or previous
    written = statemachine.change_status(
        ctx,
        task,
        TaskStatus.queued.value,
        force=force,
        allow_same=False,
        reason=reason,
        message=message,
        fields={ENQUEUE_STATUS: enqueue_status, "execution.queue": queue_id},
    )
    if previous == TaskStatus.queued:
        drop_entries(ctx, task.id, keep=queue_id)
    add_entry(ctx, queue_id, task.id)
    return written


def dequeue_and_revert(
    ctx: OpContext, task: TaskRecord, *, reason: str, message: str, silent: bool = False
) -> dict[str, Any]:
    """§1.6 DAR: remove the task from its queue, then move it back to ``enqueue_status`` (or created).

    No force; ``enqueue_status`` is cleared.  Returns the fields written, or ``{}`` when ``silent``
    and the task was not queued (or had no queue).  Runs in a SAVEPOINT: when the revert is refused
    (400/110) the removed entry is put back, so a caller that swallows the error leaves no queued
    task without its entry (the reference does).
    """
    with ctx.session.begin_nested():
        if not remove_task_entries(ctx, task, silent=silent):
            return {}
        target = (task.extra or {}).get(ENQUEUE_STATUS) or TaskStatus.created.value
        return statemachine.change_status(
            ctx, task, target, reason=reason, message=message, fields={ENQUEUE_STATUS: None}
        )


def dequeue_task(ctx: OpContext, task_id: str, *, reason: str = "", message: str = "") -> dict[str, Any]:
    """tasks.dequeue of one task: load it for writing, then DAR with errors raised."""
    return dequeue_and_revert(ctx, ctx.get_for_write(TaskRecord, task_id), reason=reason, message=message)
