"""queues.create, get_by_id, get_all, get_default, delete, and the entries: add_task, remove_task, get_next_task."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.db.records import QueueRecord, TaskRecord
from taskstore.ops import listing, queueing, queues
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


@endpoint("queues.delete")
def delete(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete a queue (refused while it has entries unless ``force``)."""
    queues.delete_queue(ctx, req["queue"], force=bool(req.get("force")))
    return {"deleted": 1}


@endpoint("queues.add_task")
def add_task(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Append a task to a queue; the task's status is not touched."""
    queues.get_queue(ctx, req["queue"])  # 400/701 before the task check, as in the reference
    queueing.add_entry(ctx, req["queue"], ctx.get(TaskRecord, req["task"]).id)
    return {"added": 1}


@endpoint("queues.remove_task")
def remove_task(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Remove a task's entries from a queue; the task's status is not touched."""
    return {"removed": queueing.remove_entries(ctx, req["queue"], req["task"])}


@endpoint("queues.get_next_task")
def get_next_task(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Pop the head entry atomically: ``{"entry": {task, added}}``, or ``{}`` when the queue is empty."""
    popped = queueing.pop_next(ctx, req["queue"])
    if popped is None:
        return {}
    out: dict[str, Any] = {"entry": {"task": popped[0], "added": shaping.value(popped[1])}}
    info = queueing.task_owner(ctx, popped[0]) if req.get("get_task_info") else None
    return {**out, "task_info": info} if info else out
