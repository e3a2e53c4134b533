"""tasks.create, validate, edit, update, update_batch: thin handlers over ops.tasks."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.ops import tasks
from taskstore.ops.context import OpContext

_LEGACY_INPUTS = (2, 13)  # below it execution.model and execution.docker_cmd are accepted


@endpoint("tasks.create")
def create(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Create a task in status "created". Reference: apiserver/services/tasks.py (create)."""
    return {"id": tasks.create_task(ctx, req, legacy_inputs=ctx.version < _LEGACY_INPUTS)}


@endpoint("tasks.validate", write=False)
def validate(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Check a task as create would, without storing it."""
    tasks.validate_task(ctx, req, legacy_inputs=ctx.version < _LEGACY_INPUTS)
    return {}


@endpoint("tasks.edit")
def edit(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Edit a task (only in status "created" unless forced)."""
    _task, fields = tasks.edit_task(
        ctx, req["task"], req, force=bool(req.get("force")), legacy_inputs=ctx.version < _LEGACY_INPUTS
    )
    return shaping.updated(1 if fields else 0, shaping.edit_fields(fields, ctx.version))


@endpoint("tasks.update")
def update(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Update user-settable fields in any status."""
    fields = tasks.update_task(ctx, req["task"], req)
    return shaping.updated(1 if fields else 0, fields)


@endpoint("tasks.update_batch")
def update_batch(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Update many tasks (a list of update requests, or JSON-lines text)."""
    return {"updated": tasks.update_tasks(ctx, req["items"])}
