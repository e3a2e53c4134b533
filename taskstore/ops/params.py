"""Hyperparameters and configuration of a task: get / edit / delete (spec: query_edit §3.1-§3.4).

Stored shapes are those of create/edit (taskstore.ops.taskdoc): ``hyperparams`` is
``{section: {name: {section, name, value[, type][, description]}}}`` and ``configuration`` is
``{name: {name, value[, type][, description]}}``, keyed by the trimmed names (§0.6: the reference
escapes keys; escaping is invisible in responses, so raw trimmed keys are kept).  The item itself
keeps the names as sent, as the reference does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import select

from taskstore.db.records import TaskRecord
from taskstore.errors import error
from taskstore.ops import taskrow
from taskstore.ops.context import OpContext, chunks
from taskstore.ops.taskdoc import map_key

PROPERTIES = "properties"
REPLACE_MODES = ("none", "section", "all")
PARAM_ATTRS = ("section", "name", "value", "type", "description")
CONFIG_ATTRS = ("name", "value", "type", "description")


# -- reading ---------------------------------------------------------------------------------------------
def _visible_rows(ctx: OpContext, ids: Sequence[str], column: str, *, strict: bool) -> list[tuple[str, Any]]:
    """``(id, document)`` of the visible tasks among ``ids``, in storage order.

    ``strict``: every id must be visible, else 400/101 with the request's ids (as the reference's
    ``assert_exists`` words it).
    """
    wanted = sorted(set(ids))
    found: list[tuple[int, str, Any]] = []
    col = getattr(TaskRecord, column)
    for chunk in chunks(wanted):
        stmt = select(TaskRecord.seq, TaskRecord.id, col).where(TaskRecord.id.in_(chunk), ctx.visible(TaskRecord))
        found.extend((seq or 0, tid, doc) for seq, tid, doc in ctx.conn.execute(stmt))
    if strict and len(found) != len(wanted):
        raise error("invalid_task_id", ids=list(ids))
    found.sort(key=lambda r: (r[0], r[1]))
    return [(tid, doc or {}) for _, tid, doc in found]


def _orders(attrs: Sequence[str], required: int) -> frozenset[tuple[str, ...]]:
    """Every key tuple of an item already in the reference's attribute order."""
    optional = attrs[required:]
    out = set()
    for mask in range(1 << len(optional)):
        out.add((*attrs[:required], *(k for i, k in enumerate(optional) if mask >> i & 1)))
    return frozenset(out)


_PARAM_ORDERS = _orders(PARAM_ATTRS, 3)
_CONFIG_ORDERS = _orders(CONFIG_ATTRS, 2)
_param_order = itemgetter("section", "name")
_name_order = itemgetter("name")


def _ordered(item: dict[str, Any], attrs: Sequence[str], orders: frozenset[tuple[str, ...]]) -> dict[str, Any]:
    """An item with its attributes in the reference's order (JSONB does not keep key order)."""
    if tuple(item) in orders:
        return item
    out = {k: item[k] for k in attrs if k in item}
    if len(out) != len(item):
        out.update((k, v) for k, v in item.items() if k not in out)
    return out


def get_hyper_params(ctx: OpContext, ids: Sequence[str]) -> list[dict[str, Any]]:
    """§3.2: every task's params flattened and sorted by (section, name) of the items."""
    taskrow.require_items(ids, "tasks")
    out = []
    for tid, doc in _visible_rows(ctx, ids, "hyperparams", strict=True):
        items = [_ordered(p, PARAM_ATTRS, _PARAM_ORDERS) for params in doc.values() for p in params.values()]
        items.sort(key=_param_order)
        out.append({"task": tid, "hyperparams": items})
    return out


def get_configurations(ctx: OpContext, ids: Sequence[str], names: Sequence[str] | None) -> list[dict[str, Any]]:
    """§3.4: configuration items sorted by name; with ``names`` only those (missing ones skipped)."""
    taskrow.require_items(ids, "tasks")
    keys = {str(n).strip() for n in names} if names else None
    out = []
    for tid, doc in _visible_rows(ctx, ids, "configuration", strict=True):
        items = [_ordered(i, CONFIG_ATTRS, _CONFIG_ORDERS) for k, i in doc.items() if keys is None or k in keys]
        items.sort(key=_name_order)
        out.append({"task": tid, "configuration": items})
    return out


def get_configuration_names(ctx: OpContext, ids: Sequence[str], *, skip_empty: bool) -> list[dict[str, Any]]:
    """§3.4: unknown ids are left out silently, and so are tasks without a name to list."""
    taskrow.require_items(ids, "tasks")
    out = []
    for tid, doc in _visible_rows(ctx, ids, "configuration", strict=False):
        names = sorted(k for k, item in doc.items() if not skip_empty or item.get("value") not in (None, ""))
        if names:
            out.append({"task": tid, "names": names})
    return out


# -- hyperparams -----------------------------------------------------------------------------------------
def _param_items(items: Iterable[Mapping[str, Any]], field: str, *, named: bool = True) -> list[dict[str, Any]]:
    """Request items in stored form: ``properties`` normalised, null attributes dropped, required
    attributes checked (400/12 naming the item's field)."""
    out = []
    for i, item in enumerate(items):
        at = f"{field}.{i}"
        section = item.get("section")
        if not section:
            raise error("validation_error", f"{at}.section: a non-empty section is required", field=f"{at}.section")
        if str(section).lower() == PROPERTIES:
            section = PROPERTIES
        stored = {"section": section}
        if named:
            for key in ("name", "value"):
                if item.get(key) is None or (key == "name" and not item[key]):
                    raise error("validation_error", f"{at}.{key}: field is required", field=f"{at}.{key}")
            stored.update((k, item[k]) for k in PARAM_ATTRS[1:] if item.get(k) is not None)
        elif item.get("name"):
            stored["name"] = item["name"]
        out.append(stored)
    return out


def _grouped(items: Iterable[dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    """``{section key: {name key: item}}``; within a request the last item of a key wins."""
    out: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        section = map_key(item["section"], f"{field}.{i}.section", "section")
        name = map_key(item["name"], f"{field}.{i}.name", "parameter")
        out.setdefault(section, {})[name] = item
    return out


def edit_hyper_params(
    ctx: OpContext, task_id: str, items: Sequence[Mapping[str, Any]], *, replace: str = "none", force: bool = False
) -> int:
    """§3.3 edit: upsert params (``none``), replace the sections sent (``section``) or everything (``all``)."""
    params = _param_items(taskrow.require_items(items, "hyperparams"), "hyperparams")
    properties_only = all(p["section"] == PROPERTIES for p in params)
    row = taskrow.load(ctx, task_id, ("hyperparams",), force=force, any_status=properties_only)
    grouped = _grouped(params, "hyperparams")
    current: dict[str, Any] = row.hyperparams or {}
    if replace == "all":
        new = grouped
    elif replace == "section":
        new = {**current, **grouped}
    else:
        new = dict(current)
        for section, named in grouped.items():
            new[section] = {**(current.get(section) or {}), **named}
    taskrow.write(ctx, task_id, {"hyperparams": new, **taskrow.stamp(ctx, content=not properties_only)})
    return 1


def delete_hyper_params(
    ctx: OpContext, task_id: str, items: Sequence[Mapping[str, Any]], *, force: bool = False
) -> int:
    """§3.3 delete: an item without a name deletes its whole section; a named item of a section being
    deleted whole in the same request is 400/15.  Missing keys are no error."""
    keys = _param_items(taskrow.require_items(items, "hyperparams"), "hyperparams", named=False)
    properties_only = all(k["section"] == PROPERTIES for k in keys)
    row = taskrow.load(ctx, task_id, ("hyperparams",), force=force, any_status=properties_only)
    whole = {k["section"] for k in keys if not k.get("name")}
    new = dict(row.hyperparams or {})
    for section in whole:
        new.pop(str(section).strip(), None)
    for k in keys:
        if not k.get("name"):
            continue
        if k["section"] in whole:
            raise error(
                "fields_conflict", "Cannot delete section field if the whole section was scheduled for deletion"
            )
        section, name = str(k["section"]).strip(), str(k["name"]).strip()
        if name in (new.get(section) or {}):
            new[section] = {n: p for n, p in new[section].items() if n != name}
    taskrow.write(ctx, task_id, {"hyperparams": new, **taskrow.stamp(ctx, content=not properties_only)})
    return 1


# -- configuration ---------------------------------------------------------------------------------------
def edit_configuration(
    ctx: OpContext, task_id: str, items: Sequence[Mapping[str, Any]], *, replace: bool = False, force: bool = False
) -> int:
    """§3.4 edit: per-name upsert, or replace the whole map.  No properties exemption."""
    checked = taskrow.require_items(items, "configuration")
    for i, item in enumerate(checked):
        for key in ("name", "value"):
            if item.get(key) is None or (key == "name" and not item[key]):
                at = f"configuration.{i}.{key}"
                raise error("validation_error", f"{at}: field is required", field=at)
    row = taskrow.load(ctx, task_id, ("configuration",), force=force)
    new_items = {
        map_key(item["name"], f"configuration.{i}.name", "configuration"): {
            k: item[k] for k in CONFIG_ATTRS if item.get(k) is not None
        }
        for i, item in enumerate(checked)
    }
    new = new_items if replace else {**(row.configuration or {}), **new_items}
    taskrow.write(ctx, task_id, {"configuration": new, **taskrow.stamp(ctx)})
    return 1


def delete_configuration(ctx: OpContext, task_id: str, names: Sequence[str], *, force: bool = False) -> int:
    """§3.4 delete: remove the named items; missing ones are ignored."""
    gone = {str(n).strip() for n in taskrow.require_items(names, "configuration")}
    row = taskrow.load(ctx, task_id, ("configuration",), force=force)
    new = {k: v for k, v in (row.configuration or {}).items() if k not in gone}
    taskrow.write(ctx, task_id, {"configuration": new, **taskrow.stamp(ctx)})
    return 1
