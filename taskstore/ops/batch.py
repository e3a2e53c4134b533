"""The one batch runner behind every ``*_many`` endpoint.

Rows are locked up front in sorted id order (two overlapping batches on PostgreSQL cannot deadlock);
each id then runs in request order inside its own SAVEPOINT, so one id's failure is rolled back
alone and never undoes another's success.  Only APIErrors are per-id failures: anything else aborts
the whole call, as in the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from taskstore.db.records import TaskRecord
from taskstore.errors import APIError, error
from taskstore.ops.context import OpContext, chunks

ItemResult = dict[str, Any]


def failure(item_id: str, exc: APIError) -> dict[str, Any]:
    return {"id": item_id, "error": {"codes": [exc.code, exc.subcode], "msg": exc.message, "data": exc.data}}


def run_many(
    ctx: OpContext, ids: Sequence[str], op: Callable[[OpContext, str], ItemResult]
) -> dict[str, list[dict[str, Any]]]:
    """Run ``op(ctx, id)`` for every id; ``{"succeeded": [{"id", ...op result}], "failed": [...]}``.

    An empty ``ids`` fails the whole call with 400/12 (lifecycle §14).
    """
    if not ids:
        raise error("validation_error", "ids: at least one id is required", field="ids")
    if ctx.dialect == "postgresql":
        for chunk in chunks(sorted(set(ids))):
            ctx.session.execute(
                select(TaskRecord.id).where(TaskRecord.id.in_(chunk)).order_by(TaskRecord.id).with_for_update()
            )
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
