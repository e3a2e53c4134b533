"""Models: the registry entries that tasks point to as input and output models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from taskstore.db.records import ModelRecord, ProjectRecord, TaskRecord
from taskstore.ops.context import OpContext
from taskstore.ops.tags import check_tags
from taskstore.ops.tasks import new_id

COLUMNS = ("name", "uri", "comment", "tags", "system_tags", "framework", "project", "parent", "task", "ready")
EXTRA = ("design", "labels", "metadata")
# Changing these counts as a content change (last_update), as in the reference.
CONTENT = frozenset({"uri", "framework", "design", "labels", "ready", "metadata", "tags", "system_tags"})


def _check_refs(ctx: OpContext, fields: Mapping[str, Any]) -> None:
    if fields.get("project"):
        ctx.get(ProjectRecord, fields["project"])
    if fields.get("task"):
        ctx.get_for_write(TaskRecord, fields["task"])
    check_tags(fields.get("tags"), fields.get("system_tags"))


def create_model(ctx: OpContext, request: Mapping[str, Any]) -> ModelRecord:
    fields = {k: request[k] for k in COLUMNS if request.get(k) is not None}
    _check_refs(ctx, fields)
    model = ModelRecord(
        id=new_id(),
        company="" if request.get("public") else ctx.company,
        user=ctx.user,
        created=ctx.now,
        last_update=ctx.now,
        extra={k: request[k] for k in EXTRA if request.get(k) is not None},
        **{"ready": True, **fields},
    )
    ctx.session.add(model)
    return model


def edit_model(ctx: OpContext, model_id: str, request: Mapping[str, Any]) -> dict[str, Any]:
    model = ctx.get_for_write(ModelRecord, model_id)
    fields = {k: request[k] for k in (*COLUMNS, *EXTRA) if request.get(k) is not None}
    _check_refs(ctx, fields)
    if not fields:
        return {}
    for key, val in fields.items():
        if key in EXTRA:
            model.extra = {**(model.extra or {}), key: val}
        else:
            setattr(model, key, val)
    if CONTENT & fields.keys():
        model.last_update = ctx.now
        fields["last_update"] = ctx.now
    return fields


def publish_last_output(ctx: OpContext, task: TaskRecord) -> bool:
    """Publish (``ready``) the last output model of ``task`` (lifecycle §6 step 4).

    Only a model of the caller's company that is not ready yet; a missing, public or other
    company's model is skipped silently, earlier output models are never touched.
    """
    outputs = (task.models or {}).get("output") or []
    model_id = outputs[-1].get("model") if outputs else None
    if not model_id:
        return False
    model = ctx.session.scalars(select(ModelRecord).where(ModelRecord.id == model_id, ctx.own(ModelRecord))).first()
    if model is None or model.ready:
        return False
    model.ready = True
    model.last_update = ctx.now
    return True
