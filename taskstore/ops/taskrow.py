"""A task's columns for the fine-grained edit endpoints (hyperparams, configuration, artifacts,
task models): loaded without the ORM, checked against the status rule of query_edit §3.1, and
written back with one Core UPDATE.

The ORM would load the whole row (every JSON document) and run its unit of work for what is one
document read and one UPDATE; these endpoints are called once per reported value by training code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Row, Table, Update, bindparam, update

from taskstore.db.records import TaskRecord
from taskstore.enums import TaskStatus as S
from taskstore.errors import error
from taskstore.ops.context import OpContext

_TASKS = cast(Table, TaskRecord.__table__)
# Without force only "created"; with force also "in_progress" (never stopped/completed/...: §3.1).
EDITABLE = (S.created.value,)
EDITABLE_FORCED = (S.created.value, S.in_progress.value)


@lru_cache(maxsize=64)
def _update_statement(columns: tuple[str, ...]) -> Update:
    return update(_TASKS).where(_TASKS.c.id == bindparam("w_id")).values({c: bindparam(c) for c in columns})


def check_status(status: str, *, force: bool, any_status: bool = False) -> None:
    """§3.1: 400/110 (expected=created) unless the status allows the edit."""
    if any_status or status in (EDITABLE_FORCED if force else EDITABLE):
        return
    raise error("invalid_task_status", expected=S.created.value, status=status)


def load(
    ctx: OpContext, task_id: str, columns: Sequence[str], *, force: bool = False, any_status: bool = False
) -> Row[Any]:
    """``company, status, *columns`` of a task the caller may change, in an editable status.

    Missing or another company's: 400/101; public: 403/21; wrong status: 400/110.  The row is
    locked on PostgreSQL (SQLite write transactions are exclusive already).
    """
    row = ctx.task_columns_for_write(task_id, ("company", "status", *columns))
    check_status(row.status, force=force, any_status=any_status)
    return row


def write(ctx: OpContext, task_id: str, values: Mapping[str, Any]) -> None:
    """One UPDATE of the given columns of ``task_id``."""
    ctx.conn.execute(_update_statement(tuple(values)), {**values, "w_id": task_id})


def stamp(ctx: OpContext, *, content: bool = True) -> dict[str, Any]:
    """``last_change`` (and ``last_update`` for a content change) = now."""
    return {"last_change": ctx.now, "last_update": ctx.now} if content else {"last_change": ctx.now}


def require_items(items: Sequence[Any] | None, field: str) -> list[Any]:
    """A request list with at least one item (the reference's ``Length(1)`` validators): else 400/12."""
    if not items:
        raise error("validation_error", f"{field}: at least one item is required", field=field)
    return list(items)
