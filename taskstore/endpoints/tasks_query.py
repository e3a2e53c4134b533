"""Reading tasks: get_by_id (the query language of get_all arrives with issue 3/6)."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.db.records import TaskRecord
from taskstore.ops.context import OpContext


@endpoint("tasks.get_by_id", write=False)
def get_by_id(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """One task, hidden or not, own company or public; 400/101 otherwise."""
    return {"task": shaping.task_document(ctx.get(TaskRecord, req["task"]), ctx.version)}
