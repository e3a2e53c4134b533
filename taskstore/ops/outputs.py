"""What a run leaves on its task: artifacts (query_edit §3.5) and task models (§2.7).

Both follow the status rule of §3.1 with force always on: the task must be ``created`` or
``in_progress`` (the request's ``force`` is ignored, as the reference ignores it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from taskstore.db.types import render_time
from taskstore.enums import TaskStatus as S
from taskstore.ops import taskrow
from taskstore.ops.context import OpContext
from taskstore.ops.status import seconds_since
from taskstore.ops.taskdoc import artifact_id, artifacts_map

MODEL_TYPES = ("input", "output")


# -- artifacts -------------------------------------------------------------------------------------------
def add_or_update_artifacts(ctx: OpContext, task_id: str, artifacts: Sequence[Mapping[str, Any]]) -> int:
    """Each artifact replaces the stored one of the same key and mode as a whole, or is added."""
    items = taskrow.require_items(artifacts, "artifacts")
    row = taskrow.load(ctx, task_id, ("execution",), force=True)
    new = artifacts_map(items, "artifacts")
    execution = dict(row.execution or {})
    execution["artifacts"] = {**(execution.get("artifacts") or {}), **new}
    taskrow.write(ctx, task_id, {"execution": execution, **taskrow.stamp(ctx)})
    return 1


def delete_artifacts(ctx: OpContext, task_id: str, ids: Sequence[Mapping[str, Any]]) -> int:
    """Remove the artifacts with these key and mode (default ``output``); missing ones are ignored."""
    items = taskrow.require_items(ids, "artifacts")
    row = taskrow.load(ctx, task_id, ("execution",), force=True)
    gone = {artifact_id(a["key"], a.get("mode") or "output") for a in items}
    execution = dict(row.execution or {})
    execution["artifacts"] = {k: a for k, a in (execution.get("artifacts") or {}).items() if k not in gone}
    taskrow.write(ctx, task_id, {"execution": execution, **taskrow.stamp(ctx)})
    return 1


# -- task models -----------------------------------------------------------------------------------------
def add_or_update_model(
    ctx: OpContext, task_id: str, *, name: str, model: str, kind: str, iteration: int | None = None
) -> int:
    """Replace the ``kind`` model item named ``name`` in place, or append it; ``iteration`` raises
    last_iteration.  The model id is not checked (as in the reference)."""
    row = taskrow.load(ctx, task_id, ("models", "last_iteration", "started"), force=True)
    item = {"name": name, "model": model, "updated": render_time(ctx.now)}
    models = dict(row.models or {})
    items = list(models.get(kind) or [])
    at = next((i for i, m in enumerate(items) if m.get("name") == name), None)
    if at is None:
        items.append(item)
    else:
        items[at] = item
    models[kind] = items
    values: dict[str, Any] = {"models": models, **taskrow.stamp(ctx)}
    if iteration is not None and iteration > (row.last_iteration or 0):
        values["last_iteration"] = iteration
    if row.status == S.in_progress and row.started is not None:
        values["active_duration"] = seconds_since(row.started, ctx.now)
    taskrow.write(ctx, task_id, values)
    return 1


def delete_models(ctx: OpContext, task_id: str, items: Sequence[Mapping[str, Any]]) -> int:
    """Remove model items by name and type; sets last_change only."""
    names: dict[str, set[str]] = {kind: set() for kind in MODEL_TYPES}
    for m in taskrow.require_items(items, "models"):  # name and type are checked by the request schema
        names[m["type"]].add(m["name"])
    row = taskrow.load(ctx, task_id, ("models",), force=True)
    models = dict(row.models or {})
    for kind, gone in names.items():
        if gone and models.get(kind):
            models[kind] = [m for m in models[kind] if m.get("name") not in gone]
    taskrow.write(ctx, task_id, {"models": models, **taskrow.stamp(ctx, content=False)})
    return 1
