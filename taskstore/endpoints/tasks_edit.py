"""tasks.create, validate, edit, update, update_batch: thin handlers over ops.tasks."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.enums import TaskStatus
from taskstore.ops import tasks
from taskstore.ops.context import OpContext
from taskstore.ops.tags import conform_legacy_tags

_LEGACY_INPUTS = (2, 13)  # below it execution.model and execution.docker_cmd are accepted
# The data layer checks these (400/800, spec: query_edit §2.2 step 13), not the request schema.
_DATA_CHECKED = ("hyperparams.*.*.value", "configuration.*.value", "models.input.*", "models.output.*", "container.*")
# Accepted by the reference though no schema version of create/validate lists it (spec §2.1).
_RUNTIME = {"runtime": {"type": "object", "additionalProperties": True}}
# tasks.edit may set any task status (no state machine); values outside the enum are refused.
_STATUS = {"status": {"type": "string", "enum": [s.value for s in TaskStatus]}}


@endpoint("tasks.create", loose=_DATA_CHECKED, extra=_RUNTIME)
def create(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Create a task in status "created". Reference: apiserver/services/tasks.py (create)."""
    req = conform_legacy_tags(req, ctx.version)
    return {"id": tasks.create_task(ctx, req, legacy_inputs=ctx.version < _LEGACY_INPUTS)}


@endpoint("tasks.validate", write=False, loose=_DATA_CHECKED, extra=_RUNTIME)
def validate(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Check a task as create would, without storing it."""
    tasks.validate_task(ctx, conform_legacy_tags(req, ctx.version), legacy_inputs=ctx.version < _LEGACY_INPUTS)
    return {}


@endpoint("tasks.edit", loose=_DATA_CHECKED, extra=_STATUS)
def edit(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Edit a task (only in status "created" unless forced)."""
    req = conform_legacy_tags(req, ctx.version)
    _task, fields = tasks.edit_task(
        ctx, req["task"], req, force=bool(req.get("force")), legacy_inputs=ctx.version < _LEGACY_INPUTS
    )
    return shaping.updated(1 if fields else 0, shaping.edit_fields(fields, ctx.version))


@endpoint("tasks.update")
def update(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Update user-settable fields in any status."""
    fields = tasks.update_task(ctx, req["task"], conform_legacy_tags(req, ctx.version))
    return shaping.updated(1 if fields else 0, shaping.edit_fields(fields, ctx.version))


@endpoint("tasks.update_batch")
def update_batch(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Update many tasks (a list of update requests, or JSON-lines text)."""
    return {"updated": tasks.update_tasks(ctx, [conform_legacy_tags(i, ctx.version) for i in req["items"]])}
