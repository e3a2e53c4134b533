"""Task events: adding them (events.add / add_batch, folding scalars into the task's metric summaries)
and deleting them (events.delete_for_task, and the cleanup of reset/delete)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Dialect, Select, Table, bindparam, delete, insert, select

from taskstore.db.records import EventRecord, TaskRecord
from taskstore.enums import TaskStatus
from taskstore.errors import error
from taskstore.ops import metrics, taskrow
from taskstore.ops.context import OpContext, chunks, own_bound
from taskstore.ops.status import seconds_since

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


# -- events.add / events.add_batch (spec: query_edit §4) -------------------------------------------------
EVENT_TYPES = ("training_stats_scalar", "training_stats_vector", "training_debug_image", "plot", "log")
IMAGE_TYPE = "training_debug_image"
MAX_ITERATION = 2**63 - 1
_EPOCH = datetime(1970, 1, 1)
# Event keys kept in their own columns (or consumed); everything else is kept in ``data``.
_OWN_KEYS = frozenset({"task", "type", "metric", "variant", "iter", "timestamp", "ts", "value", "values", "url",
                       "allow_locked"})  # fmt: skip
_TASKS = cast(Table, TaskRecord.__table__)
_EVENTS = cast(Table, EventRecord.__table__)
_INSERT_EVENTS = insert(_EVENTS)
_EVENT_COLUMNS = ("company", "task", "type", "metric", "variant", "iter", "timestamp", "value", "url", "data")


@lru_cache(maxsize=4)
def _sqlite_insert(dialect: Dialect) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The SQL and the columns' own bind processors for inserting event rows on SQLite.

    SQLAlchemy's per-row parameter handling costs more than SQLite's insert itself for a batch of
    small rows; the rows are converted with the very processors it would use, then handed to the
    driver's executemany.
    """
    compiled = _INSERT_EVENTS.compile(dialect=dialect, column_keys=list(_EVENT_COLUMNS))
    assert compiled.positiontup == list(_EVENT_COLUMNS)
    return compiled.string, tuple(_EVENTS.c[c].type.dialect_impl(dialect).bind_processor(dialect)
                                  for c in _EVENT_COLUMNS)  # fmt: skip


def _insert_events(ctx: OpContext, rows: list[dict[str, Any]]) -> None:
    if ctx.dialect != "sqlite":
        ctx.conn.execute(_INSERT_EVENTS, rows)
        return
    sql, processors = _sqlite_insert(ctx.conn.dialect)
    when, data = processors[6], processors[9]
    assert when is not None and data is not None and processors[:6] == (None,) * 6
    params = [
        (r["company"], r["task"], r["type"], r["metric"], r["variant"], r["iter"], when(r["timestamp"]), r["value"],
         r["url"], data(r["data"]))
        for r in rows
    ]  # fmt: skip
    ctx.conn.exec_driver_sql(sql, params)


@lru_cache(maxsize=8)
def _load_tasks(allow_locked: bool, lock: bool) -> Select[Any]:
    """The tasks events may be added to: the caller's company's (public ones are not), unlocked unless
    allowed; built once (the hot path of events.add_batch)."""
    t = _TASKS.c
    stmt = (
        select(t.id, t.status, t.started, t.last_iteration, t.last_metrics, t.extra)
        .where(t.id.in_(bindparam("ids", expanding=True)), own_bound(t.company))
        .order_by(t.id)
    )
    if not allow_locked:
        stmt = stmt.where(t.status.not_in(LOCKED_STATUSES))
    return stmt.with_for_update() if lock else stmt


class _Rejected(Exception):
    """An event the reference would not store; the message is its ``errors_info`` key."""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _iteration(raw: Any) -> int | None:
    if raw is None or type(raw) is int:  # ints are within 64 bits (the value policy)
        return raw  # type: ignore[no-any-return]
    try:
        it = int(raw)  # the reference's int(): 5.0 and "5" are 5
    except (TypeError, ValueError):
        raise _Rejected("Iteration must be an integer") from None
    if not -MAX_ITERATION - 1 <= it <= MAX_ITERATION:
        raise _Rejected(f"Iteration number should not exceed {MAX_ITERATION}")
    return it


def _event_row(ctx: OpContext, event: Mapping[str, Any], valid: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
    """One accepted event as an ``events`` row, checked in the reference's order; else _Rejected."""
    etype = event.get("type")
    if etype is None:
        raise _Rejected("Event must have a 'type' field")
    etype = str(etype).replace(" ", "_")
    if etype not in EVENT_TYPES:
        raise _Rejected(f"Invalid event type {etype}")
    task = event.get("task")
    if task is None:
        raise _Rejected("Event must have a 'task' field")
    if not isinstance(task, str) or task not in valid:
        raise _Rejected("Invalid task id")
    timestamp = event["ts"] if "ts" in event else event.get("timestamp")
    if timestamp is None:
        timestamp = now_ms
    if type(timestamp) is not int and not _number(timestamp):
        raise _Rejected("Event timestamp must be a number (epoch milliseconds)")
    try:
        when = _EPOCH + timedelta(milliseconds=timestamp)
    except OverflowError:
        raise _Rejected("Event timestamp must be a number (epoch milliseconds)") from None
    it = _iteration(event.get("iter"))
    # Missing or null is "" (as the reference stores it); other falsy values (0, [], false) are no names.
    metric, variant = event.get("metric"), event.get("variant")
    metric, variant = "" if metric is None else metric, "" if variant is None else variant
    if not isinstance(metric, str) or not isinstance(variant, str):
        raise _Rejected("Event metric and variant must be strings")
    value = event.get("values", event.get("value"))
    data = {} if event.keys() <= _OWN_KEYS else {k: v for k, v in event.items() if k not in _OWN_KEYS}
    if etype == metrics.SCALAR:
        if value is not None and not _number(value):
            raise _Rejected("Scalar event value must be a number")
    elif value is not None:
        data["value"] = value
        value = None
    url = event.get("url")
    if etype == IMAGE_TYPE and url is not None:
        if not isinstance(url, str):
            raise _Rejected("Event url must be a string")
    elif url is not None:
        data["url"] = url
        url = None
    return {"company": ctx.company, "task": task, "type": etype, "metric": metric, "variant": variant, "iter": it,
            "timestamp": when, "value": value, "url": url, "data": data, "_ms": timestamp}  # fmt: skip


def _valid_tasks(ctx: OpContext, ids: set[str], allow_locked: bool) -> dict[str, Any]:
    """The caller's company's tasks among ``ids`` (public ones are not), unlocked unless allowed;
    locked in sorted id order on PostgreSQL."""
    found: dict[str, Any] = {}
    stmt = _load_tasks(allow_locked, ctx.dialect == "postgresql")
    for chunk in chunks(sorted(ids)):
        found.update((row.id, row) for row in ctx.conn.execute(stmt, {"ids": list(chunk), "company": ctx.company}))
    return found


def add_events(ctx: OpContext, events: Sequence[Mapping[str, Any]], *, allow_locked: bool = False) -> dict[str, Any]:
    """Store the acceptable events, fold them into their tasks; ``{added, errors, errors_info}``.

    Rejected events are counted by reason as the reference counts them; none accepted is 400/131.
    """
    valid = _valid_tasks(ctx, {e["task"] for e in events if isinstance(e.get("task"), str)}, allow_locked)
    now_ms = int((ctx.now - _EPOCH).total_seconds() * 1000)
    errors: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    folds: dict[str, metrics.TaskFold] = {}
    for event in events:
        try:
            row = _event_row(ctx, event, valid, now_ms)
        except _Rejected as exc:
            errors[str(exc)] = errors.get(str(exc), 0) + 1
            continue
        fold = folds.get(row["task"])
        if fold is None:
            fold = folds[row["task"]] = metrics.TaskFold()
        fold.add(row["type"], row["metric"], row["variant"], row["iter"], row.pop("_ms"), row["value"])
        rows.append(row)
    if not rows:
        raise error("events_not_added", **errors)
    _insert_events(ctx, rows)
    for task_id in sorted(folds):
        _apply(ctx, valid[task_id], folds[task_id])
    return {"added": len(rows), "errors": sum(errors.values()), "errors_info": errors}


def _apply(ctx: OpContext, task: Any, fold: metrics.TaskFold) -> None:
    values: dict[str, Any] = {"last_update": ctx.now, "last_change": ctx.now}
    if task.status == TaskStatus.in_progress and task.started is not None:
        values["active_duration"] = seconds_since(task.started, ctx.now)
    if fold.iter_max is not None and fold.iter_max > (task.last_iteration or 0):
        values["last_iteration"] = fold.iter_max
    if fold.scalars:
        values["last_metrics"] = metrics.merge_last_metrics(task.last_metrics, fold)
    if fold.stats:
        extra = dict(task.extra or {})
        extra["metric_stats"] = metrics.merge_metric_stats(extra.get("metric_stats"), fold)
        values["extra"] = extra
    taskrow.write(ctx, task.id, values)
