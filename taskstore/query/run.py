"""tasks.get_all, get_all_ex, get_by_id_ex and get_types: one query per call, built from the request.

The request is first brought into the reference's canonical form (query_edit §1.2): legacy tag split
below 2.3, legacy path names rewritten, ``only_fields`` -> ``projection``, subprojects expanded.  Then
filters, ordering, paging/scrolling and the projection are compiled (filters.py, ordering.py,
paging.py, projection.py) into one SELECT over ``tasks`` - the FTS5 hits joined in on SQLite when
searching text - which reads only the columns the projection needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, exists, func, select, true

from taskstore.api.schema import Version
from taskstore.db.records import ProjectRecord, TaskRecord
from taskstore.enums import TaskType
from taskstore.errors import error
from taskstore.ops.context import OpContext
from taskstore.query import sql, topk
from taskstore.query.filters import HIDDEN, TAGS, T, compile_filters
from taskstore.query.ordering import compile_order, natural_from_order, parse_order
from taskstore.query.paging import Window, after_condition, page_window, save_scroll, scroll_window
from taskstore.query.paths import rewrite
from taskstore.query.projection import parse_projection, resolve_joins, shape

Endpoint = Literal["get_all", "get_all_ex", "get_by_id_ex"]
_SYSTEM_TAG_NAMES = frozenset({"active", "archived", "development"})


def _is_system_tag(tag: str) -> bool:
    bare = tag[1:] if tag.startswith("-") else tag
    return bare in _SYSTEM_TAG_NAMES or bare.lower().startswith("annotat")


def normalize(req: Mapping[str, Any], version: Version) -> dict[str, Any]:
    """§1.2 steps 1, 2 and 4: the request as the reference's query builder sees it."""
    out: dict[str, Any] = {rewrite(k): v for k, v in req.items()}
    if version < (2, 3) and "tags" in out and "system_tags" not in out:
        tags = out["tags"] if isinstance(out["tags"], list) else [out["tags"]]
        out["system_tags"] = [t for t in tags if isinstance(t, str) and _is_system_tag(t)]
        out["tags"] = [t for t in tags if not (isinstance(t, str) and _is_system_tag(t))]
    projection = out.pop("only_fields", None)
    if "projection" in out:
        projection = out.pop("projection")
    if projection is not None:
        if not isinstance(projection, (str, list, tuple)):  # the undocumented ``projection`` key is not schema-checked
            raise error("validation_error", "projection: expected a list of field names", field="projection")
        items = [projection] if isinstance(projection, str) else list(projection)
        out["projection"] = [rewrite(p) if isinstance(p, str) else p for p in items]
    order = out.get("order_by")
    if order is not None:
        items = [order] if isinstance(order, str) else list(order)
        out["order_by"] = [rewrite(o) if isinstance(o, str) else o for o in items]
    return out


def descendants(ctx: OpContext, ids: list[str]) -> list[str]:
    """Projects below any of ``ids`` at any depth (every company, as the reference looks them up)."""
    if not ids:
        return []
    if ctx.dialect == "postgresql":
        cond: ColumnElement[bool] = ProjectRecord.path.op("?|", is_comparison=True)(sql.pg_array(ids))
    else:
        each = func.json_each(ProjectRecord.path).table_valued("value")
        cond = exists(select(1).select_from(each).where(sql.in_values(each.c.value, ids, ctx.dialect)))
    return list(ctx.conn.execute(select(ProjectRecord.id).where(cond).order_by(ProjectRecord.id)).scalars())


def _with_subprojects(ctx: OpContext, req: dict[str, Any]) -> None:
    """§1.2 step 6 (get_all_ex): ``project`` plus every descendant of the projects it names."""
    if not req.pop("include_subprojects", False) or req.get("project") is None:
        return
    given = req["project"] if isinstance(req["project"], list) else [req["project"]]
    plain = [p for p in given if isinstance(p, str) and not p.startswith("__$")]
    req["project"] = [*given, *(d for d in descendants(ctx, plain) if d not in given)]


def find_tasks(ctx: OpContext, request: Mapping[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    """The tasks matching ``request``, ordered, paged or scrolled, projected."""
    if endpoint == "get_by_id_ex" and "id" not in request:
        raise error("missing_required_fields", field="id")
    req = normalize(request, ctx.version)
    ex = endpoint != "get_all"
    if endpoint == "get_all_ex":
        _with_subprojects(ctx, req)
    proj = parse_projection(req.get("projection"), ex=ex)
    filters = compile_filters(ctx, req, hidden_rule=endpoint != "get_by_id_ex")
    keys = parse_order(req.get("order_by"))
    order = compile_order(
        keys, natural=filters.natural or natural_from_order(keys), text=filters.text, dialect=ctx.dialect
    )
    scrolling = "scroll_id" in req
    window = scroll_window(ctx, req, endpoint) if scrolling else page_window(req)

    sort_exprs = [e for k in order for e in k.exprs]
    columns: list[Any] = list(proj.columns())
    if scrolling:
        columns += [e.label(f"_sort{i}") for i, e in enumerate(sort_exprs)]
    stmt: Select[Any] = select(*columns)
    source: Any = T
    if filters.text is not None and filters.text.join is not None:
        source = T.join(filters.text.join, filters.text.join.c.tid == T.c.id)
    stmt = stmt.select_from(source).where(*filters.conditions)
    if window.after is not None:
        stmt = stmt.where(after_condition(order, window.after))
    stmt = stmt.order_by(*(c for k in order for c in k.clauses()))
    rows: list[Any] | None = [] if window.empty else None
    fast = topk.hyperparam_order(keys) if ctx.dialect == "sqlite" and not scrolling else None
    if rows is None and fast is not None:
        rows = topk.rows(ctx.conn, fast, filters, columns, window)
    if rows is None:
        rows = list(ctx.conn.execute(_limit(stmt, window)))

    docs = shape(rows, proj, ctx)
    if ex:
        resolve_joins(ctx, docs, "task", proj.joins)
    response: dict[str, Any] = {"tasks": docs}
    if scrolling:
        last = [rows[-1]._mapping[f"_sort{i}"] for i in range(len(sort_exprs))] if rows else None
        scroll_id = save_scroll(ctx, window, len(rows), last)
        if endpoint != "get_by_id_ex":
            response["scroll_id"] = scroll_id
    return response


def _limit(stmt: Select[Any], window: Window) -> Select[Any]:
    if window.offset:
        stmt = stmt.offset(window.offset)
    if window.limit is not None:
        stmt = stmt.limit(window.limit)
    return stmt


def task_types(ctx: OpContext, request: Mapping[str, Any]) -> dict[str, Any]:
    """§1.9: the known task types in use among visible tasks (of the given projects and their subprojects)."""
    projects = [p for p in request.get("projects") or [] if isinstance(p, str)]
    stmt = select(T.c.type).distinct().where(ctx.visible(TaskRecord), T.c.type.in_([t.value for t in TaskType]))
    if projects:
        ids = [*projects, *descendants(ctx, projects)]
        stmt = stmt.where(sql.in_values(T.c.project, ids, ctx.dialect))
    else:
        hidden = select(TAGS.c.task).where(TAGS.c.system == true(), TAGS.c.tag == HIDDEN)
        stmt = stmt.where(T.c.id.not_in(hidden))
    return {"types": sorted(ctx.conn.execute(stmt).scalars())}
