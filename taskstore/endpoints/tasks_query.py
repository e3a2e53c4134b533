"""Reading tasks: get_by_id, and the query language of get_all / get_all_ex / get_by_id_ex / get_types
(taskstore.query; spec: query_edit §1)."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.db.records import TaskRecord
from taskstore.ops.context import OpContext
from taskstore.query import run

# List filters take operator tokens, "-x" exclusions and nulls the schema's item types would refuse;
# status_changed takes epoch numbers; _any_/_all_ are checked by the query compiler (400/12 naming them).
_LOOSE = ("id", "user", "tags", "system_tags", "type", "status", "project", "parent", "status_changed", "_any_",
          "_all_")  # fmt: skip
# Filter and paging keys the reference reads that the schema does not list (checked by the compiler).
_EXTRA_KEYS = "comment started last_update active_duration last_iteration _or_ _and_ projection start"
_EXTRA_KEYS += " include_subprojects"
_EXTRA: dict[str, dict[str, Any]] = {key: {} for key in _EXTRA_KEYS.split()}
_PREFIXES = ("hyperparams.", "last_metrics.", "execution.parameters.")


def _scrolls(req: dict[str, Any]) -> bool:
    """A scroll call writes its state."""
    return "scroll_id" in req


@endpoint("tasks.get_by_id", write=False)
def get_by_id(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """One task, hidden or not, own company or public; 400/101 otherwise."""
    return {"task": shaping.task_document(ctx.get(TaskRecord, req["task"]), ctx.version)}


@endpoint("tasks.get_all", write=False, loose=_LOOSE, extra=_EXTRA, writes_when=_scrolls, key_prefixes=_PREFIXES)
def get_all(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Tasks matching the filters; the projection is applied verbatim."""
    return run.find_tasks(ctx, req, "get_all")


@endpoint("tasks.get_all_ex", write=False, loose=_LOOSE, extra=_EXTRA, writes_when=_scrolls, key_prefixes=_PREFIXES)
def get_all_ex(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """get_all with subprojects, references expanded and joined."""
    return run.find_tasks(ctx, req, "get_all_ex")


@endpoint("tasks.get_by_id_ex", write=False, loose=_LOOSE, extra=_EXTRA, writes_when=_scrolls, key_prefixes=_PREFIXES)
def get_by_id_ex(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """get_all_ex without the hidden rule; ``id`` is required."""
    return run.find_tasks(ctx, req, "get_by_id_ex")


@endpoint("tasks.get_types", write=False)
def get_types(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """The task types in use (in the given projects and their subprojects)."""
    return run.task_types(ctx, req)
