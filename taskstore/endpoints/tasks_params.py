"""tasks.get/edit/delete_hyper_params and the configuration endpoints: thin handlers over ops.params
(spec: query_edit §3.1-§3.4)."""

from __future__ import annotations

from typing import Any

from taskstore.api.registry import endpoint
from taskstore.ops import params
from taskstore.ops.context import OpContext


@endpoint("tasks.get_hyper_params", write=False)
def get_hyper_params(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Every param of the tasks, flattened and sorted by section and name."""
    return {"params": params.get_hyper_params(ctx, req["tasks"])}


@endpoint("tasks.edit_hyper_params")
def edit_hyper_params(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Add or update params (``replace_hyperparams``: none / section / all)."""
    replace = req.get("replace_hyperparams") or "none"
    force = bool(req.get("force"))
    return {"updated": params.edit_hyper_params(ctx, req["task"], req["hyperparams"], replace=replace, force=force)}


@endpoint("tasks.delete_hyper_params")
def delete_hyper_params(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete params, or whole sections (an item without a name)."""
    return {"deleted": params.delete_hyper_params(ctx, req["task"], req["hyperparams"], force=bool(req.get("force")))}


@endpoint("tasks.get_configurations", write=False)
def get_configurations(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Configuration items of the tasks (all, or the ``names`` asked for), sorted by name."""
    return {"configurations": params.get_configurations(ctx, req["tasks"], req.get("names"))}


@endpoint("tasks.get_configuration_names", write=False)
def get_configuration_names(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """The configuration names of each task (unknown tasks and tasks without names left out)."""
    skip_empty = req.get("skip_empty", True) is not False
    return {"configurations": params.get_configuration_names(ctx, req["tasks"], skip_empty=skip_empty)}


@endpoint("tasks.edit_configuration")
def edit_configuration(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Add or update configuration items (or replace them all)."""
    replace, force = bool(req.get("replace_configuration")), bool(req.get("force"))
    return {"updated": params.edit_configuration(ctx, req["task"], req["configuration"], replace=replace, force=force)}


@endpoint("tasks.delete_configuration")
def delete_configuration(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Delete configuration items by name."""
    return {
        "deleted": params.delete_configuration(ctx, req["task"], req["configuration"], force=bool(req.get("force")))
    }
