"""Queues and their entries; the default queue is made for a company on first need."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from taskstore.db.records import QueueEntryRecord, QueueRecord
from taskstore.errors import error
from taskstore.ops.context import OpContext
from taskstore.ops.tasks import new_id

DEFAULT_QUEUE = "default"
MIN_NAME_LENGTH = 3


def create_queue(ctx: OpContext, request: Mapping[str, Any]) -> QueueRecord:
    name = str(request["name"]).strip()
    if len(name) < MIN_NAME_LENGTH:
        raise error("data_validation_error", f"name: must be at least {MIN_NAME_LENGTH} characters long", field="name")
    exists = ctx.session.execute(
        select(QueueRecord.id).where(QueueRecord.name == name, ctx.own(QueueRecord)).limit(1)
    ).first()
    if exists is not None:
        raise error("expected_unique_data", "Queue with the same name already exists", name=name)
    queue = QueueRecord(
        id=new_id(),
        company=ctx.company,
        user=ctx.user,
        name=name,
        display_name=request.get("display_name"),
        tags=list(request.get("tags") or []),
        system_tags=list(request.get("system_tags") or []),
        created=ctx.now,
        last_update=ctx.now,
        meta=dict(request.get("metadata") or {}),
    )
    ctx.session.add(queue)
    return queue


def get_queue(ctx: OpContext, queue_id: str) -> QueueRecord:
    """A queue of the caller's company (queues are never public)."""
    queue = ctx.session.get(QueueRecord, queue_id)
    if queue is None or queue.company != ctx.company:
        raise ctx.missing(QueueRecord, queue_id)
    return queue


def entries(ctx: OpContext, queue_id: str, limit: int | None = None) -> list[tuple[str, datetime]]:
    stmt = (
        select(QueueEntryRecord.task, QueueEntryRecord.added)
        .where(QueueEntryRecord.queue == queue_id)
        .order_by(QueueEntryRecord.seq)
    )
    if limit is not None:
        # "at most this many": a negative count is none (SQLite read -1 as "no limit", PostgreSQL refused it)
        stmt = stmt.limit(max(limit, 0))
    return [(t, a) for t, a in ctx.session.execute(stmt)]


def queue_lengths(ctx: OpContext, queue_ids: list[str]) -> dict[str, int]:
    rows = ctx.session.execute(
        select(QueueEntryRecord.queue, func.count())
        .where(QueueEntryRecord.queue.in_(queue_ids))
        .group_by(QueueEntryRecord.queue)
    )
    return {q: n for q, n in rows}


def serialize_creation(ctx: OpContext, name: str) -> None:
    """PostgreSQL: one transaction at a time may look up-or-create the queue ``name`` of this company.

    (SQLite needs nothing: every writing call holds the database's one write lock.)
    """
    if ctx.dialect == "postgresql":
        digest = hashlib.blake2b(f"{ctx.company}\0{name}".encode(), digest_size=8).digest()
        ctx.session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True))))


def default_queue(ctx: OpContext, *, create: bool = True) -> QueueRecord:
    """The caller's queue tagged "default"; a company without one gets it made (as the server does)."""
    if create:
        serialize_creation(ctx, DEFAULT_QUEUE)
    found = [
        q
        for q in ctx.session.scalars(select(QueueRecord).where(ctx.own(QueueRecord)).order_by(QueueRecord.created))
        if DEFAULT_QUEUE in (q.system_tags or [])
    ]
    if len(found) > 1:
        raise error("multiple_default_queues", queues=[q.id for q in found])
    if found:
        return found[0]
    if not create:
        raise error("no_default_queue")
    return create_queue(ctx, {"name": DEFAULT_QUEUE, "system_tags": [DEFAULT_QUEUE]})


def delete_queue(ctx: OpContext, queue_id: str, *, force: bool) -> None:
    """queues.delete: 400/701 unknown queue; 400/702 while it has entries, unless ``force``.

    Its entries go with it; the tasks they named keep their status (as in the reference).
    """
    queue = get_queue(ctx, queue_id)
    if not force and entries(ctx, queue.id, limit=1):
        raise error("queue_not_empty", "use force=true to delete", id=queue_id)
    ctx.session.execute(
        delete(QueueEntryRecord).where(QueueEntryRecord.queue == queue.id).execution_options(synchronize_session=False)
    )
    ctx.session.delete(queue)
