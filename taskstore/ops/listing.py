"""Listing projects, queues and models: the small get_all that the tasks API leans on.

Supports ``id``, the pattern filters the schema documents (``name``, ``basename``, ``description``,
``comment``: regular expressions searched unanchored with RE2, linear time, no ReDoS; ``_any_`` /
``_all_``: one case-insensitive pattern over listed fields), ``tags``/``system_tags`` (any of; ``-x``
excludes), ``order_by`` over real columns, ``page``/``page_size`` and top-level ``only_fields``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select

from taskstore.api.schema import get_schema
from taskstore.db.functions import PatternError, compile_re2
from taskstore.db.records import ModelRecord, ProjectRecord, QueueRecord
from taskstore.errors import error
from taskstore.ops.context import OpContext, chunks

R = TypeVar("R", ProjectRecord, QueueRecord, ModelRecord)
MAX_PAGE_SIZE = 500


PATTERN_FIELDS = ("name", "basename", "description", "comment")  # those a record kind has
_NOT_SEARCHED = frozenset({"extra"})


def compile_pattern(pattern: str, field: str, *, ignore_case: bool = False) -> Callable[[Any], bool]:
    """A filter matching text that contains ``pattern`` (RE2); 400/21 when RE2 refuses the pattern."""
    try:
        compiled = compile_re2(pattern, ignore_case)
    except PatternError as exc:
        raise error("invalid_regex_error", f"{field}: {exc}", pattern=pattern) from None
    return lambda text: isinstance(text, str) and compiled.search(text) is not None


_SERVICES: dict[type[Any], str] = {ProjectRecord: "projects", QueueRecord: "queues", ModelRecord: "models"}


def _document_fields(record: type[R]) -> frozenset[str]:
    """The top-level fields a listed document may have: its response schema's, and its record's columns."""
    service = _SERVICES[record]
    response = get_schema().endpoints[f"{service}.get_all"].versions[-1].response
    listed = response.get("properties", {}).get(service, {}).get("items", {}).get("properties") or {}
    return frozenset(listed) | (frozenset(record.__table__.columns.keys()) - _NOT_SEARCHED)


def _multi(rows: list[R], key: str, value: Any, columns: Any) -> list[R]:
    """``_any_`` / ``_all_``: {pattern, fields}; a list field matches when one of its items does."""
    if not isinstance(value, Mapping) or set(value) != {"pattern", "fields"}:
        raise error("validation_error", f"{key}: incorrect field format (expected pattern and fields)", field=key)
    pattern, fields = value["pattern"], value["fields"]
    fields = [fields] if isinstance(fields, str) else fields
    if not isinstance(pattern, str) or not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise error("validation_error", f"{key}: incorrect field format", field=key)
    unknown = [f for f in fields if f not in columns or f in _NOT_SEARCHED]
    if unknown:
        raise error("invalid_fields", f"{key}: {unknown[0]}", fields=unknown)
    if not fields:
        return rows
    match = compile_pattern(pattern, key, ignore_case=True)

    def hit(value: Any) -> bool:
        return any(match(v) for v in value) if isinstance(value, list) else match(value)

    test = all if key == "_all_" else any
    return [r for r in rows if test(hit(getattr(r, f)) for f in fields)]


def _tag_match(have: list[str], wanted: list[str]) -> bool:
    include = [t for t in wanted if not t.startswith("-")]
    exclude = [t[1:] for t in wanted if t.startswith("-")]
    return (not include or any(t in have for t in include)) and not any(t in have for t in exclude)


def list_records(
    ctx: OpContext, record: type[R], request: Mapping[str, Any], *, visible: bool = True
) -> list[R]:
    known = _document_fields(record)
    for raw in request.get("only_fields") or ():  # as the reference's projection: unknown fields are 400/14
        if raw.lstrip("-").split(".", 1)[0] not in known:
            raise error("invalid_fields", f"only_fields: {raw}", fields=[raw])
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
    for key in PATTERN_FIELDS:
        if key in columns and request.get(key):
            match = compile_pattern(request[key], key)
            rows = [r for r in rows if match(getattr(r, key))]
    for key in ("_any_", "_all_"):
        if request.get(key) is not None:
            rows = _multi(rows, key, request[key], columns)
    for key in ("tags", "system_tags"):
        if request.get(key):
            rows = [r for r in rows if _tag_match(getattr(r, key) or [], list(request[key]))]
    for key in ("task", "project", "framework", "uri", "user", "ready"):
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
