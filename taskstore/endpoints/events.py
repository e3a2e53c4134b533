"""events.delete_for_task (the part of events.* that the task lifecycle needs)."""

from __future__ import annotations

from typing import Any

from taskstore.api.registry import endpoint
from taskstore.ops import events
from taskstore.ops.context import OpContext


@endpoint("events.delete_for_task")
def delete_for_task(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete every event of a task; ``deleted`` is the count (the reference's schema says boolean)."""
    return {"deleted": events.delete_for_task(ctx, req["task"], allow_locked=bool(req.get("allow_locked")))}
