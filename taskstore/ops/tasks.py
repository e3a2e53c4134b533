"""Creating and editing tasks: create, validate, edit, update, update_batch (spec: query_edit §2)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, update

from taskstore.db.records import ProjectRecord, TaskRecord, TaskTagRecord
from taskstore.enums import TaskStatus
from taskstore.errors import error
from taskstore.ops.context import OpContext
from taskstore.ops.statemachine import change_status
from taskstore.ops.tags import check_tags, set_tags
from taskstore.ops.taskdoc import build_fields, check_name

_EMPTY_DOCUMENTS: dict[str, Any] = {
    key: {} for key in ("execution", "script", "output", "container", "runtime", "models", "hyperparams",
                        "configuration", "last_metrics", "extra")
}  # fmt: skip
_INSERT_TASK = insert(TaskRecord)
_INSERT_TAGS = insert(TaskTagRecord)
# Fields whose change alone does not count as a content change (no last_update).
USER_SETTABLE = frozenset({"name", "comment", "project", "tags", "system_tags", "status_message", "created",
                           "output.error"})  # fmt: skip
# Sub-documents that edit merges key by key instead of replacing.
MERGED = ("script", "execution", "models")
# What tasks.update (and each update_batch item) may set.
UPDATE_FIELDS = ("name", "tags", "system_tags", "comment", "project", "status_message", "output__error")


def new_id() -> str:
    return uuid.uuid4().hex


def touch_project(ctx: OpContext, project: str | None) -> None:
    """The project's ``last_update`` = now, for a project of the caller's company only: a task may name
    another company's or a public project (update does not check it; a clone of a public task keeps
    the source's), and a caller never writes a row it could not write directly."""
    if project:
        ctx.session.execute(
            update(ProjectRecord).where(ProjectRecord.id == project, ctx.own(ProjectRecord)).values(last_update=ctx.now)
        )


def create_task(ctx: OpContext, request: Mapping[str, Any], *, legacy_inputs: bool) -> str:
    """Store a new task in status "created"; return its id.

    Written with two Core inserts (the row, then its tag rows): the ORM unit of work would cost more
    than the rest of the call.
    """
    fields = build_fields(ctx, request, legacy_inputs=legacy_inputs)
    check_name(fields["name"])
    tags = fields.pop("tags", [])
    system_tags = fields.pop("system_tags", [])
    task_id = new_id()
    conn = ctx.conn
    conn.execute(
        _INSERT_TASK,
        {
            **_EMPTY_DOCUMENTS,
            "id": task_id,
            "company": ctx.company,
            "user": ctx.user,
            "status": TaskStatus.created.value,
            "created": ctx.now,
            "last_update": ctx.now,
            "last_change": ctx.now,
            "last_iteration": 0,
            "tags": tags,
            "system_tags": system_tags,
            **fields,
        },
    )
    rows = [{"task": task_id, "system": False, "tag": t} for t in sorted(set(tags))]
    rows += [{"task": task_id, "system": True, "tag": t} for t in sorted(set(system_tags))]
    if rows:
        conn.execute(_INSERT_TAGS, rows)
    touch_project(ctx, fields.get("project"))
    return task_id


def validate_task(ctx: OpContext, request: Mapping[str, Any], *, legacy_inputs: bool) -> None:
    build_fields(ctx, request, legacy_inputs=legacy_inputs, drop_deleted_parent=True)


def edit_task(
    ctx: OpContext, task_id: str, request: Mapping[str, Any], *, force: bool, legacy_inputs: bool
) -> tuple[TaskRecord, dict[str, Any]]:
    """Apply an edit; return the task and the fields written (dotted paths for merged sub-documents)."""
    task = ctx.get_for_write(TaskRecord, task_id)
    if not force and task.status != TaskStatus.created:
        raise error("invalid_task_status", expected=TaskStatus.created.value, status=task.status)
    fields = build_fields(ctx, request, previous=task, legacy_inputs=legacy_inputs)
    status = request.get("status")
    if status is not None and status not in TaskStatus.__members__:
        raise error("validation_error", f"status: {status!r} is not a task status", field="status")
    if "name" in fields:
        check_name(fields["name"])
    written: dict[str, Any] = {}
    for key, val in fields.items():
        if key in ("tags", "system_tags"):
            continue
        if key in MERGED:
            setattr(task, key, {**(getattr(task, key) or {}), **val})
            written.update({f"{key}.{sub}": v for sub, v in val.items()})
        else:
            setattr(task, key, val)
            written[key] = val
    if "tags" in fields or "system_tags" in fields:
        set_tags(ctx, task, tags=fields.get("tags"), system_tags=fields.get("system_tags"))
        written.update({k: sorted(fields[k]) for k in ("tags", "system_tags") if k in fields})
    if status is not None:
        written.update(change_status(ctx, task, status, force=True, bookkeeping=False))
    if not written:
        return task, {}
    return task, _stamp(ctx, task, written)


def _stamp(ctx: OpContext, task: TaskRecord, written: dict[str, Any]) -> dict[str, Any]:
    """Set last_change (and last_update unless only user-settable fields changed)."""
    content = any(k.split(".")[0] not in USER_SETTABLE and k not in USER_SETTABLE for k in written)
    task.last_change = ctx.now
    written["last_change"] = ctx.now
    if content:
        task.last_update = ctx.now
        written["last_update"] = ctx.now
    if "project" in written:
        touch_project(ctx, task.project)
    return written


def _update_values(request: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: request[k] for k in UPDATE_FIELDS if request.get(k) is not None}
    # Tags first, as on create/edit: 400/16 comes from field processing, the name's 400/800 from
    # the document's validation when it is written (query_edit §2.2 steps 4 and 13).
    if "tags" in values:
        check_tags(values["tags"], values.get("system_tags"))
    if "name" in values:
        values["name"] = values["name"].strip()
        check_name(values["name"])
    return values


def _apply_update(ctx: OpContext, task: TaskRecord, values: dict[str, Any]) -> dict[str, Any]:
    written: dict[str, Any] = {}
    for key, val in values.items():
        if key in ("tags", "system_tags"):
            set_tags(ctx, task, **{key: val})
            written[key] = sorted(val)
        elif key == "output__error":
            task.output = {**(task.output or {}), "error": val}
            written["output.error"] = val
        else:
            setattr(task, key, val or None if key == "project" else val)
            written[key] = val
    task.last_change = ctx.now
    written["last_change"] = ctx.now
    if "project" in values:
        touch_project(ctx, task.project)
    return written


def update_task(ctx: OpContext, task_id: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """tasks.update: user-settable fields in any status; returns the fields written."""
    task = ctx.get_for_write(TaskRecord, task_id)
    values = _update_values(request)
    if not values:
        return {}
    return _apply_update(ctx, task, values)


def update_tasks(ctx: OpContext, items: Sequence[Mapping[str, Any]]) -> int:
    """tasks.update_batch: every task must be writable first; duplicates -> the last item wins."""
    last: dict[str, Mapping[str, Any]] = {}
    for item in items:
        last[item["task"]] = item
    tasks = ctx.get_many_for_write(TaskRecord, list(last))
    count = 0
    for task_id, item in last.items():
        values = _update_values(item)
        if values:
            _apply_update(ctx, tasks[task_id], values)
            count += 1
    return count
