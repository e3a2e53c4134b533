"""reset and delete, and the cleanup procedure they share (spec: lifecycle §5, §7, §8).

The reference runs the steps one by one without a transaction (dequeue, model and child rewrites,
then the events check that may still refuse); here a call (or batch item) is one transaction, so
a refusal changes nothing.  The order of the checks is the reference's, so the same error wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from taskstore.db.records import EventRecord, ModelRecord, TaskRecord, TaskTagRecord
from taskstore.enums import TaskStatus as S
from taskstore.errors import APIError, error
from taskstore.ops import events, models, queueing
from taskstore.ops.context import OpContext
from taskstore.ops.statemachine import UNSET, change_status, precheck
from taskstore.ops.status import leave_queue
from taskstore.ops.taskdoc import DELETED_PREFIX
from taskstore.ops.tasks import touch_project

# Event types whose files reset/delete report (debug images by url, plots by the sources in them).
IMAGE_EVENT = "training_debug_image"
PLOT_EVENT = "plot"
# The reference's pattern for image sources inside a plot's JSON text.
PLOT_SOURCE = re.compile(r"['\"]source['\"]:\s?['\"]([a-z][a-z0-9+\-.]*://.*?)['\"]", re.IGNORECASE)
# The empty execution that reset's clear_all writes (the reference's Execution() defaults).
EMPTY_EXECUTION: dict[str, Any] = {"test_split": 0}


@dataclass(frozen=True)
class Options:
    """The request options reset and delete share."""

    force: bool = False
    return_file_urls: bool = False
    delete_output_models: bool = True

    @classmethod
    def of(cls, req: Mapping[str, Any]) -> Options:
        """From a request; ``delete_output_models`` defaults to true and is honoured on the single
        endpoints too, as the reference's code does (its schema documents it for the batch ones)."""
        keep = req.get("delete_output_models")
        return cls(bool(req.get("force")), bool(req.get("return_file_urls")), keep is None or bool(keep))


@dataclass
class Cleanup:
    updated_children: int = 0
    updated_models: int = 0
    deleted_models: int = 0
    urls: dict[str, list[str]] | None = None


@dataclass
class _Models:
    published: dict[str, ModelRecord]
    draft: dict[str, ModelRecord]
    in_use: set[str]


def _verify(ctx: OpContext, task: TaskRecord, force: bool) -> _Models:
    """§5 step 1: published children / models refuse without force; sort the task's models."""
    if not force:
        children = ctx.session.scalar(
            select(func.count()).select_from(TaskRecord).where(TaskRecord.parent == task.id,
                                                               TaskRecord.status == S.published)
        )  # fmt: skip
        if children:
            raise error("task_cannot_be_deleted", "has children, use force=True", task=task.id, children=children)
    published: dict[str, ModelRecord] = {}
    draft: dict[str, ModelRecord] = {}
    for model in ctx.session.scalars(select(ModelRecord).where(ModelRecord.task == task.id).order_by(ModelRecord.id)):
        (published if model.ready else draft)[model.id] = model
    if published and not force:
        raise error("task_cannot_be_deleted", "has output models, use force=True", task=task.id, models=len(published))
    output_ids = [m.get("model") for m in (task.models or {}).get("output") or () if m.get("model")]
    if output_ids:
        # Only models of the caller's company (the reference looks in every company): another company's
        # models and public ones are not the caller's to delete, re-point or be refused by.
        stmt = select(ModelRecord).where(ModelRecord.id.in_(set(output_ids)), ctx.own(ModelRecord))
        for model in ctx.session.scalars(stmt.order_by(ModelRecord.id)):
            if model.ready:
                if not force:
                    raise error("task_cannot_be_deleted", "has output model, use force=True", task=task.id,
                                model=model.id)  # fmt: skip
                published[model.id] = model
            else:
                draft[model.id] = model
    return _Models(published, draft, _in_use(ctx, draft))


def _in_use(ctx: OpContext, draft: dict[str, ModelRecord]) -> set[str]:
    """The draft models some task (this one included) lists as an input model."""
    if not draft:
        return set()
    using = models.tasks_using(ctx, draft)
    return {m["model"] for t in using for m in models.input_models(t) if m.get("model") in draft}


def _event_urls(ctx: OpContext, task_id: str) -> set[str]:
    urls: set[str] = set()
    rows = ctx.session.execute(
        select(EventRecord.type, EventRecord.url, EventRecord.data).where(
            EventRecord.task == task_id, EventRecord.type.in_((IMAGE_EVENT, PLOT_EVENT))
        )
    )
    for kind, url, data in rows:
        if kind == IMAGE_EVENT:
            if url:
                urls.add(url)
            continue
        data = data or {}
        plot = data.get("plot_str")
        text = plot if isinstance(plot, str) else json.dumps(data)
        urls.update(PLOT_SOURCE.findall(text))
        urls.update(u for u in data.get("source_urls") or () if isinstance(u, str) and u)
    return urls


def _urls(ctx: OpContext, task: TaskRecord, models: _Models) -> dict[str, list[str]]:
    """§5 step 2: the files the caller may want to delete (draft, unused models only)."""
    artifacts = ((task.execution or {}).get("artifacts") or {}).values()
    return {
        "model_urls": sorted({m.uri for i, m in models.draft.items() if m.uri and i not in models.in_use}),
        "event_urls": sorted(_event_urls(ctx, task.id)),
        "artifact_urls": sorted({a["uri"] for a in artifacts if a.get("mode", "output") == "output" and a.get("uri")}),
    }


def _set_model_task(ctx: OpContext, ids: Iterable[str], value: str | None) -> int:
    ids = sorted(set(ids))
    if not ids:
        return 0
    result = ctx.session.execute(
        update(ModelRecord).where(ModelRecord.id.in_(ids)).values(task=value).execution_options(
            synchronize_session="fetch")
    )  # fmt: skip
    return int(result.rowcount)  # type: ignore[attr-defined]


def cleanup(ctx: OpContext, task: TaskRecord, options: Options, *, update_children: bool) -> Cleanup:
    """§5: verify, collect URLs, re-point children (delete), delete or unlink models, delete events."""
    force = options.force
    models = _verify(ctx, task, force)
    result = Cleanup(urls=_urls(ctx, task, models) if options.return_file_urls else None)
    gone = f"{DELETED_PREFIX}{task.id}"
    if update_children:
        children = ctx.session.execute(
            update(TaskRecord).where(TaskRecord.parent == task.id).values(parent=gone).execution_options(
                synchronize_session="fetch")
        )  # fmt: skip
        result.updated_children = int(children.rowcount)  # type: ignore[attr-defined]
    keep: list[str] = list(models.published)
    if options.delete_output_models:
        unused = sorted(i for i in models.draft if i not in models.in_use)
        if unused:
            deleted = ctx.session.execute(
                delete(ModelRecord).where(ModelRecord.id.in_(unused)).execution_options(synchronize_session="fetch")
            )
            result.deleted_models = int(deleted.rowcount)  # type: ignore[attr-defined]
        _set_model_task(ctx, models.in_use, None)
    else:
        keep += list(models.draft)
    if update_children:
        result.updated_models = _set_model_task(ctx, keep, gone)
    else:
        _set_model_task(ctx, keep, None)
    if not force:
        events.check_unlocked(ctx, task)
    events.delete_events(ctx, task.id)
    return result


# -- reset -----------------------------------------------------------------------------------------------
def _reset_fields(task: TaskRecord, clear_all: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "started": None, "completed": None, "published": None, "active_duration": None, "enqueue_status": None,
        "last_iteration": 0, "last_metrics": {}, "metric_stats": {}, "models.output": [], "runtime": {},
        "output.result": UNSET, "output.error": UNSET, "last_worker": UNSET, "last_worker_report": UNSET,
    }  # fmt: skip
    if clear_all:
        fields.update(execution=dict(EMPTY_EXECUTION), script=UNSET)
        return fields
    fields["execution.queue"] = UNSET
    artifacts = (task.execution or {}).get("artifacts")
    if artifacts:
        fields["execution.artifacts"] = {k: a for k, a in artifacts.items() if a.get("mode") == "input"}
    return fields


def reset(ctx: OpContext, task_id: str, options: Options, *, clear_all: bool = False) -> dict[str, Any]:
    """tasks.reset of one task (§7): ``{fields, dequeued, deleted_models, urls}``.

    The caller's status_reason/status_message are ignored: reset always writes "reset".
    """
    task = ctx.get_for_write(TaskRecord, task_id)
    precheck("reset", task, force=options.force)
    dequeued: dict[str, int] = {}
    try:
        removed = queueing.remove_task_entries(ctx, task, silent=True)
    except APIError:  # not in its queue any more (e.g. popped by a worker): swallowed, as the reference does
        removed = 0
    if removed:
        dequeued["removed"] = removed
    result = cleanup(ctx, task, options, update_children=False)
    fields = change_status(
        ctx, task, S.created, force=options.force, reason="reset", message="reset",
        fields=_reset_fields(task, clear_all),
    )  # fmt: skip
    fields.pop("execution.artifacts", None)
    return {"fields": fields, "dequeued": dequeued, "deleted_models": result.deleted_models, "urls": result.urls}


# -- delete ----------------------------------------------------------------------------------------------
def delete_task(
    ctx: OpContext, task_id: str, options: Options, *, reason: str = "", message: str = ""
) -> dict[str, Any]:
    """tasks.delete of one task (§8).

    ``move_to_trash`` needs nothing here: the reference's trash is never readable through the API.
    """
    task = ctx.get_for_write(TaskRecord, task_id)
    precheck("delete", task, force=options.force)
    leave_queue(ctx, task, reason, message)
    result = cleanup(ctx, task, options, update_children=True)
    queueing.drop_entries(ctx, task.id)
    ctx.session.execute(delete(TaskTagRecord).where(TaskTagRecord.task == task.id))
    ctx.session.execute(delete(TaskRecord).where(TaskRecord.id == task.id).execution_options(synchronize_session=False))
    ctx.session.expunge(task)
    touch_project(ctx, task.project)
    return {
        "deleted": True,
        "updated_children": result.updated_children,
        "updated_models": result.updated_models,
        "deleted_models": result.deleted_models,
        "urls": result.urls,
    }
