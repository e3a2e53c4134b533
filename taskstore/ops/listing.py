"""Listing projects, queues and models: the small get_all that the tasks API leans on.

Supports ``id``, ``name`` (a regular expression, searched unanchored with RE2: linear time, no
ReDoS), ``tags``/``system_tags`` (any of; ``-x`` excludes), ``order_by`` over real columns,
``page``/``page_size`` and top-level ``only_fields``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select

from taskstore.db.records import ModelRecord, ProjectRecord, QueueRecord
from taskstore.errors import error
from taskstore.ops.context import OpContext, chunks

R = TypeVar("R", ProjectRecord, QueueRecord, ModelRecord)
MAX_PAGE_SIZE = 500


def compile_pattern(pattern: str, field: str) -> Callable[[str], bool]:
    import re2

    try:
        compiled = re2.compile(pattern)
    except Exception as exc:  # re2.error is not an Exception subclass we can import portably
        raise error("invalid_regex_error", f"{field}: {exc}", pattern=pattern) from None
    return lambda text: compiled.search(text or "") is not None


def _tag_match(have: list[str], wanted: list[str]) -> bool:
    include = [t for t in wanted if not t.startswith("-")]
    exclude = [t[1:] for t in wanted if t.startswith("-")]
    return (not include or any(t in have for t in include)) and not any(t in have for t in exclude)


def list_records(
    ctx: OpContext, record: type[R], request: Mapping[str, Any], *, visible: bool = True
) -> list[R]:
    cond = ctx.visible(record) if visible else ctx.own(record)
    ids = request.get("id")
    stmt = select(record).where(cond)
    columns = record.__table__.columns
    order = []
    for key in request.get("order_by") or []:
        name = key.lstrip("-")
        if name not in columns:
            raise error("invalid_fields", f"order_by: {name}", fields=[name])
        order.append(columns[name].desc() if key.startswith("-") else columns[name].asc())
    stmt = stmt.order_by(*order, record.created, record.id)
    rows: list[R] = []
    for chunk in chunks(list(ids)) if ids else [None]:
        rows.extend(ctx.session.scalars(stmt.where(record.id.in_(chunk)) if chunk is not None else stmt))
    if request.get("name"):
        match = compile_pattern(request["name"], "name")
        rows = [r for r in rows if match(r.name)]
    for key in ("tags", "system_tags"):
        if request.get(key):
            rows = [r for r in rows if _tag_match(getattr(r, key) or [], list(request[key]))]
    for key in ("task", "project", "framework", "uri", "user", "ready", "basename"):
        if key in request and key in columns and request[key] is not None:
            wanted = request[key] if isinstance(request[key], list) else [request[key]]
            rows = [r for r in rows if getattr(r, key) in wanted]
    page, size = request.get("page"), request.get("page_size")
    if page is not None or size is not None:
        size = min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        rows = rows[(page or 0) * size : (page or 0) * size + size]
    return rows


def project(doc: dict[str, Any], only_fields: list[str] | None) -> dict[str, Any]:
    """Keep only the requested top-level fields (``-x`` drops x)."""
    if not only_fields:
        return doc
    include = [f for f in only_fields if not f.startswith("-")]
    exclude = {f[1:] for f in only_fields if f.startswith("-")}
    if include:
        doc = {k: v for k, v in doc.items() if k in {f.split(".")[0] for f in include}}
    return {k: v for k, v in doc.items() if k not in exclude}
