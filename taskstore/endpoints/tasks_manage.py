"""tasks.clone, move, make_public, make_private, set_requirements: thin handlers over ops.manage and
ops.status (spec: lifecycle §12, §13)."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.ops import manage, status
from taskstore.ops.context import OpContext


@endpoint("tasks.clone")
def clone(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """A new ``created`` copy of a task (fields of 2.5, 2.12 and 2.13 are accepted at every version)."""
    return manage.clone(ctx, req)


@endpoint("tasks.move")
def move(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Move the caller's tasks into a project given by id or by name (made if missing)."""
    project_id = manage.move(
        ctx, req.get("ids") or [], project=req.get("project"), project_name=req.get("project_name")
    )
    return {"project_id": project_id}


@endpoint("tasks.make_public", min_version="2.9")
def make_public(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"updated": manage.set_public(ctx, req.get("ids") or [], public=True)}


@endpoint("tasks.make_private", min_version="2.9")
def make_private(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"updated": manage.set_public(ctx, req.get("ids") or [], public=False)}


@endpoint("tasks.set_requirements")
def set_requirements(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Replace ``script.requirements`` (any status)."""
    return shaping.updated(1, status.set_requirements(ctx, req["task"], req["requirements"]))
