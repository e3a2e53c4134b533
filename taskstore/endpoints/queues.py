"""queues.create, get_by_id, get_all, get_default (queue entries and pops arrive with issue 2/6)."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.db.records import QueueRecord
from taskstore.ops import listing, queues
from taskstore.ops.context import OpContext


@endpoint("queues.create")
def create(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"id": queues.create_queue(ctx, req).id}


@endpoint("queues.get_by_id", write=False)
def get_by_id(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    queue = queues.get_queue(ctx, req["queue"])
    doc = shaping.queue_document(queue, queues.entries(ctx, queue.id, req.get("max_task_entries")))
    return {"queue": doc}


@endpoint("queues.get_all", write=False)
def get_all(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    rows = listing.list_records(ctx, QueueRecord, req, visible=False)
    limit = req.get("max_task_entries")
    return {
        "queues": [
            listing.project(shaping.queue_document(q, queues.entries(ctx, q.id, limit)), req.get("only_fields"))
            for q in rows
        ]
    }


@endpoint("queues.get_default")
def get_default(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """The company's default queue, made on first need."""
    queue = queues.default_queue(ctx)
    return {"id": queue.id, "name": queue.name}
