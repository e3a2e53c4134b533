"""Artifacts (2.10+) and task models (2.13+) of a task: thin handlers over ops.outputs
(spec: query_edit §3.5, §2.7)."""

from __future__ import annotations

from typing import Any

from taskstore.api.registry import endpoint
from taskstore.ops import outputs
from taskstore.ops.context import OpContext


@endpoint("tasks.add_or_update_artifacts", min_version="2.10")
def add_or_update_artifacts(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Add artifacts, or replace the stored ones of the same key and mode."""
    return {"updated": outputs.add_or_update_artifacts(ctx, req["task"], req["artifacts"])}


@endpoint("tasks.delete_artifacts", min_version="2.10")
def delete_artifacts(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete artifacts by key and mode."""
    return {"deleted": outputs.delete_artifacts(ctx, req["task"], req["artifacts"])}


@endpoint("tasks.add_or_update_model", min_version="2.13")
def add_or_update_model(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Add a task model item, or replace the one of that name; ``iteration`` raises last_iteration."""
    iteration = req.get("iteration")
    updated = outputs.add_or_update_model(
        ctx, req["task"], name=req["name"], model=req["model"], kind=req["type"], iteration=iteration
    )
    return {"updated": updated}


@endpoint("tasks.delete_models", min_version="2.13")
def delete_models(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete task model items by name and type."""
    return {"updated": outputs.delete_models(ctx, req["task"], req["models"])}
