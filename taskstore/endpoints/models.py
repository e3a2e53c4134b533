"""models.create, get_by_id, get_all, edit, delete: the model registry entries tasks refer to."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.db.records import ModelRecord
from taskstore.ops import listing, models
from taskstore.ops.context import OpContext


@endpoint("models.create")
def create(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"id": models.create_model(ctx, req).id, "created": True}


@endpoint("models.get_by_id", write=False)
def get_by_id(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"model": shaping.model_document(ctx.get(ModelRecord, req["model"]))}


@endpoint("models.get_all", write=False)
def get_all(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    rows = listing.list_records(ctx, ModelRecord, req)
    return {"models": [listing.project(shaping.model_document(m), req.get("only_fields")) for m in rows]}


@endpoint("models.edit")
def edit(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    fields = models.edit_model(ctx, req["model"], req)
    return shaping.updated(1 if fields else 0, fields)


@endpoint("models.delete")
def delete(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return models.delete_model(ctx, req["model"], force=bool(req.get("force")))
