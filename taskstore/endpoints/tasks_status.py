"""Status endpoints: the signals, stop, publish, reset, delete, archive, ping and their ``*_many``.

Thin handlers over ops.status and ops.cleanup (spec: lifecycle §3-8, §10, §11, §14).  Batch
endpoints run every id through ops.batch.run_many; they are served from API 2.13, where the schema
introduces them.
"""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.ops import cleanup, status
from taskstore.ops.batch import run_many
from taskstore.ops.context import OpContext

BATCH_SINCE = "2.13"


def _reason(req: dict[str, Any]) -> dict[str, str]:
    return {"reason": req.get("status_reason") or "", "message": req.get("status_message") or ""}


def _signal(ctx: OpContext, req: dict[str, Any], operation: str) -> dict[str, Any]:
    fields = status.signal(ctx, req["task"], operation, force=bool(req.get("force")), **_reason(req))
    return shaping.updated(1, fields)


@endpoint("tasks.started")
def started(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Mark a task in_progress (``started`` in the response is the update count, as in the reference)."""
    return {**_signal(ctx, req, "started"), "started": 1}


@endpoint("tasks.stopped")
def stopped(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """A worker reports the task stopped (no queue action; sets ``completed``)."""
    return _signal(ctx, req, "stopped")


@endpoint("tasks.failed")
def failed(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return _signal(ctx, req, "failed")


@endpoint("tasks.close")
def close(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return _signal(ctx, req, "close")


@endpoint("tasks.completed", min_version="2.2")
def completed(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Mark a task completed; with ``publish`` (2.20, honoured at every version) publish it too."""
    fields, published = status.completed(
        ctx, req["task"], force=bool(req.get("force")), publish_too=bool(req.get("publish")), **_reason(req)
    )
    return {**shaping.updated(1, fields), "published": published}


def _stop(ctx: OpContext, task_id: str, req: dict[str, Any]) -> dict[str, Any]:
    fields = status.stop(ctx, task_id, force=bool(req.get("force")), reason=req.get("status_reason") or "")
    return shaping.updated(1, fields)


@endpoint("tasks.stop")
def stop(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Stop a task at once, or mark it "stopping" for the worker running it (``status_message`` is ignored)."""
    return _stop(ctx, req["task"], req)


@endpoint("tasks.stop_many", min_version=BATCH_SINCE)
def stop_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return run_many(ctx, req["ids"], lambda c, tid: _stop(c, tid, req))


def _publish(ctx: OpContext, task_id: str, req: dict[str, Any]) -> dict[str, Any]:
    publish_model = req.get("publish_model")
    fields = status.publish(
        ctx, task_id, force=bool(req.get("force")), publish_model=publish_model is None or bool(publish_model),
        **_reason(req),
    )  # fmt: skip
    return shaping.updated(1, fields)


@endpoint("tasks.publish")
def publish(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Publish a task and (``publish_model``, default true) its last output model."""
    return _publish(ctx, req["task"], req)


@endpoint("tasks.publish_many", min_version=BATCH_SINCE)
def publish_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return run_many(ctx, req["ids"], lambda c, tid: _publish(c, tid, req))


def _reset(ctx: OpContext, task_id: str, req: dict[str, Any]) -> dict[str, Any]:
    res = cleanup.reset(ctx, task_id, cleanup.Options.of(req), clear_all=bool(req.get("clear_all")))
    return {**shaping.updated(1, res["fields"]), "dequeued": res["dequeued"],
            "deleted_models": res["deleted_models"], "urls": res["urls"] or {}}  # fmt: skip


@endpoint("tasks.reset")
def reset(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Back to ``created``: dequeue, clean up models and events, clear the run's results."""
    res = _reset(ctx, req["task"], req)
    return {**res, "events": {}}


@endpoint("tasks.reset_many", min_version=BATCH_SINCE)
def reset_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    def one(c: OpContext, tid: str) -> dict[str, Any]:
        res = _reset(c, tid, req)
        return {**res, "dequeued": bool(res["dequeued"].get("removed"))}

    return run_many(ctx, req["ids"], one)


def _delete(ctx: OpContext, task_id: str, req: dict[str, Any]) -> dict[str, Any]:
    return cleanup.delete_task(ctx, task_id, cleanup.Options.of(req), **_reason(req))


@endpoint("tasks.delete")
def delete(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete a task (``created`` or archived unless forced); children and models are re-pointed."""
    return _delete(ctx, req["task"], req)


@endpoint("tasks.delete_many", min_version=BATCH_SINCE)
def delete_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return run_many(ctx, req["ids"], lambda c, tid: _delete(c, tid, req))


@endpoint("tasks.archive")
def archive(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Archive tasks of the caller's company, all or nothing (queued ones are dequeued first)."""
    return {"archived": status.archive(ctx, req.get("tasks") or [], **_reason(req))}


@endpoint("tasks.archive_many", min_version=BATCH_SINCE)
def archive_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return run_many(ctx, req["ids"], lambda c, tid: status.archive_one(c, tid, **_reason(req)))


@endpoint("tasks.unarchive_many", min_version=BATCH_SINCE)
def unarchive_many(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return run_many(ctx, req["ids"], lambda c, tid: status.unarchive_one(c, tid, **_reason(req)))


@endpoint("tasks.ping")
def ping(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Keep a running task fresh; an unknown id is silently ignored."""
    status.ping(ctx, req["task"])
    return {}
