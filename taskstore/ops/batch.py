"""The one batch runner behind every ``*_many`` endpoint.

Rows are locked up front (PostgreSQL), each table in sorted id order and the tables in the order every
call takes them (tasks, then the queues holding their entries, then their projects), so two
overlapping batches, or a batch and a single call, cannot deadlock; each id then runs in request
order inside its own SAVEPOINT, so one id's failure is rolled back alone and never undoes another's
success.  Only APIErrors are per-id failures: anything else aborts the whole call, as in the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from taskstore.db.records import ProjectRecord, QueueEntryRecord, TaskRecord
from taskstore.errors import APIError, error
from taskstore.ops.context import OpContext, chunks
from taskstore.ops.queueing import lock_queues

ItemResult = dict[str, Any]


def failure(item_id: str, exc: APIError) -> dict[str, Any]:
    return {"id": item_id, "error": {"codes": [exc.code, exc.subcode], "msg": exc.message, "data": exc.data}}


def run_many(
    ctx: OpContext,
    ids: Sequence[str],
    op: Callable[[OpContext, str], ItemResult],
    *,
    queues: Sequence[str] = (),
) -> dict[str, list[dict[str, Any]]]:
    """Run ``op(ctx, id)`` for every id; ``{"succeeded": [{"id", ...op result}], "failed": [...]}``.

    ``queues``: further queue rows the items write (an enqueue's target), locked up front with the
    others.  An empty ``ids`` fails the whole call with 400/12 (lifecycle §14).
    """
    if not ids:
        raise error("validation_error", "ids: at least one id is required", field="ids")
    if ctx.dialect == "postgresql":
        _lock_rows(ctx, sorted(set(ids)), queues)
    succeeded: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item_id in ids:
        savepoint = ctx.session.begin_nested()
        try:
            result = op(ctx, item_id)
            savepoint.commit()
        except APIError as exc:
            savepoint.rollback()
            # Core writes inside the item (status changes) are not tracked by the ORM: reload all.
            ctx.session.expire_all()
            failed.append(failure(item_id, exc))
            continue
        except BaseException:
            savepoint.rollback()
            raise
        succeeded.append({"id": item_id, **result})
    return {"succeeded": succeeded, "failed": failed}


def _lock_rows(ctx: OpContext, ids: list[str], queues: Sequence[str]) -> None:
    """Lock the tasks ``ids`` (sorted), the queues holding their entries and ``queues``, and the
    caller's projects of those tasks; without this the items would reach queue and project rows in
    request order, and overlapping batches would deadlock on them."""
    projects: set[str] = set()
    held: set[str] = set(queues)
    for chunk in chunks(ids):
        rows = ctx.session.execute(
            select(TaskRecord.id, TaskRecord.project).where(TaskRecord.id.in_(chunk)).order_by(TaskRecord.id)
            .with_for_update()
        )  # fmt: skip
        projects.update(project for _, project in rows if project)
    for chunk in chunks(ids):
        held.update(ctx.session.scalars(select(QueueEntryRecord.queue).where(QueueEntryRecord.task.in_(chunk))))
    lock_queues(ctx, held)
    for chunk in chunks(sorted(projects)):
        ctx.session.execute(
            select(ProjectRecord.id).where(ProjectRecord.id.in_(chunk), ctx.own(ProjectRecord))
            .order_by(ProjectRecord.id).with_for_update()
        )  # fmt: skip
