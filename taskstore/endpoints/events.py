"""events.add, events.add_batch (metric summaries of tasks, URLs for cleanup) and events.delete_for_task."""

from __future__ import annotations

from typing import Any

from taskstore.api.registry import endpoint
from taskstore.errors import error
from taskstore.ops import events
from taskstore.ops.context import OpContext


@endpoint("events.delete_for_task")
def delete_for_task(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete every event of a task; ``deleted`` is the count (the reference's schema says boolean)."""
    return {"deleted": events.delete_for_task(ctx, req["task"], allow_locked=bool(req.get("allow_locked")))}


# Every event field the reference reads; checked per event by ops.events (a bad event is counted in
# ``errors_info``, not a 400 for the whole call), so none is typed here.  Listed so that a strict
# store does not refuse them (the schema's request is an ``anyOf`` of event shapes).
_FIELD_NAMES = ("task", "type", "timestamp", "ts", "iter", "metric", "variant", "value", "values", "key", "url",
                "plot_str", "skip_validation", "level", "worker", "msg")  # fmt: skip
# "Any JSON value", spelled as the list of every JSON type so that the validator takes its fast path.
_ANY = {"type": ["string", "number", "boolean", "null", "object", "array"]}
_EVENT_FIELDS: dict[str, dict[str, Any]] = {key: _ANY for key in _FIELD_NAMES}


@endpoint("events.add", extra={**_EVENT_FIELDS, "allow_locked": {"type": "boolean"}})
def add(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Report one event; ``allow_locked`` also accepts it for a publishing/published task."""
    event = {k: v for k, v in req.items() if k != "allow_locked"}
    return events.add_events(ctx, [event], allow_locked=bool(req.get("allow_locked")))


@endpoint("events.add_batch")
def add_batch(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Report many events (a list of events.add bodies, or JSON-lines text); none is 400/17."""
    if not req["items"]:
        raise error("batch_contains_no_items")
    return events.add_events(ctx, req["items"])
