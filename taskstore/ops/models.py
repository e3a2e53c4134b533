"""Models: the registry entries that tasks point to as input and output models."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Text, cast, or_, select

from taskstore.db.records import ModelRecord, ProjectRecord, TaskRecord
from taskstore.enums import TaskStatus
from taskstore.errors import error
from taskstore.ops.context import OpContext, chunks
from taskstore.ops.tags import check_tags
from taskstore.ops.taskdoc import DELETED_PREFIX
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


def input_models(task: TaskRecord) -> list[dict[str, Any]]:
    return list((task.models or {}).get("input") or ())


def tasks_using(ctx: OpContext, model_ids: Collection[str]) -> list[TaskRecord]:
    """The tasks that list one of ``model_ids`` as an input model, of every company: the reference
    counts (and rewrites) them all, since a model id means the same model whoever points to it."""
    wanted = set(model_ids)
    text = cast(TaskRecord.models, Text)
    found: list[TaskRecord] = []
    for chunk in chunks(sorted(wanted), 100):
        # A substring match finds the candidates in SQL; the JSON check below makes it exact.
        cond = or_(*(text.contains(i, autoescape=True) for i in chunk))
        for task in ctx.session.scalars(select(TaskRecord).where(cond).order_by(TaskRecord.id)):
            if any(m.get("model") in wanted for m in input_models(task)):
                found.append(task)
    return found


def _renamed(items: list[dict[str, Any]], model_id: str) -> list[dict[str, Any]]:
    gone = f"{DELETED_PREFIX}{model_id}"
    return [{**m, "model": gone} if m.get("model") == model_id else m for m in items]


def delete_model(ctx: OpContext, model_id: str, *, force: bool) -> dict[str, Any]:
    """models.delete: refused (unless ``force``) while tasks use the model as an input (400/205) or
    while the task that created it is published (400/206); with ``force`` those references become
    ``__DELETED__<id>`` so they no longer resolve to another model by accident."""
    model = ctx.get_for_write(ModelRecord, model_id)
    using = tasks_using(ctx, [model_id])
    if using and not force:
        raise error("model_in_use", "as execution model, use force=True to delete", num_tasks=len(using))
    creator = ctx.session.get(TaskRecord, model.task) if model.task else None
    if creator is not None and creator.status == TaskStatus.published:
        if not force:
            raise error("model_creating_task_exists", "and published, use force=True to delete", task=model.task)
        outputs = list((creator.models or {}).get("output") or ())
        if any(m.get("model") == model_id for m in outputs):
            creator.models = {**creator.models, "output": _renamed(outputs, model_id)}
            creator.output = {**(creator.output or {}), "error": f"model deleted on {ctx.now.isoformat()}"}
            creator.last_change = ctx.now
    for task in using:
        task.models = {**task.models, "input": _renamed(input_models(task), model_id)}
    url = model.uri
    ctx.session.delete(model)
    return {"deleted": True, "url": url}
