"""tasks.enqueue, enqueue_many, dequeue, dequeue_many: thin handlers over ops.queueing (lifecycle §9)."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.ops import queueing
from taskstore.ops.batch import run_many
from taskstore.ops.context import OpContext


def _reason(req: dict[str, Any]) -> dict[str, str]:
    return {"reason": req.get("status_reason") or "", "message": req.get("status_message") or ""}


def _enqueue(ctx: OpContext, task_id: str, req: dict[str, Any], *, force: bool, validate: bool) -> dict[str, Any]:
    # queue_name is honoured at every version, as the reference's code does (the schema has it from 2.19).
    queue = queueing.resolve_queue(ctx, req.get("queue"), req.get("queue_name"))
    fields = queueing.enqueue_task(ctx, task_id, queue, force=force, validate=validate, **_reason(req))
    return shaping.updated(1, fields)


# ``force`` is in no schema of these two; the reference's request models accept it (dequeue ignores it).
_FORCE = {"force": {"type": "boolean", "default": False}}


@endpoint("tasks.enqueue", extra=_FORCE)
def enqueue(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Queue a task (created or stopped; any status with ``force``, honoured though no schema lists it)."""
    return {"queued": 1, **_enqueue(ctx, req["task"], req, force=bool(req.get("force")), validate=False)}


@endpoint("tasks.enqueue_many", min_version="2.13")
def enqueue_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Queue many tasks (no force); each id resolves the queue itself, so queue errors fail every id."""
    validate = bool(req.get("validate_tasks"))
    return run_many(
        ctx,
        req["ids"],
        lambda c, tid: {"queued": True, **_enqueue(c, tid, req, force=False, validate=validate)},
        # The target queue row is locked up front with the others (PostgreSQL); a queue named by
        # queue_name, or the default queue, is resolved per item and so locked after them.
        queues=[req["queue"]] if req.get("queue") else [],
    )


@endpoint("tasks.dequeue", extra=_FORCE)
def dequeue(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Take a queued task out of its queue and back to the status it had (``force`` is ignored)."""
    return {"dequeued": 1, **shaping.updated(1, queueing.dequeue_task(ctx, req["task"], **_reason(req)))}


@endpoint("tasks.dequeue_many", min_version="2.13")
def dequeue_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return run_many(
        ctx,
        req["ids"],
        lambda c, tid: {"dequeued": True, **shaping.updated(1, queueing.dequeue_task(c, tid, **_reason(req)))},
    )
