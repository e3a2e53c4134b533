"""Request filters -> SQL conditions (query_edit §1.3-§1.8), on both dialects; nothing runs in Python.

Each filter key has a kind: pattern (``name``, ``comment``), list (§1.4: ``id``, ``user``, ``tags``,
``system_tags``, ``type``, ``status``, ``project``, ``parent``, ``hyperparams.*``), range (``started``,
``active_duration``, ``last_iteration``, ``last_metrics.*``), datetime operator (``status_changed``,
``last_update``), multi-field pattern (``_any_``/``_or_``, ``_all_``/``_and_``) and full text
(``search_text``).  Every other key is ignored, as the reference ignores it.  All conditions are
AND-ed with the caller's visibility and, unless asked otherwise, "not hidden".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)

from taskstore.db.functions import PatternError, compile_re2, lax_path
from taskstore.db.records import TaskRecord, TaskTagRecord
from taskstore.errors import error
from taskstore.ops.context import OpContext
from taskstore.query import sql
from taskstore.query.dates import parse_datetime, split_operator
from taskstore.query.listfilter import ListFilter, parse_list
from taskstore.query.paths import FieldRef, Kind, field_path, lax_resolve
from taskstore.query.text import TextSearch, compile_search

T = TaskRecord.__table__
TAGS = TaskTagRecord.__table__
PATTERN_KEYS = ("name", "comment")
LIST_COLUMNS = ("id", "user", "type", "status", "project", "parent")
RANGE_KEYS = ("started", "active_duration", "last_iteration")
DATETIME_OP_KEYS = ("status_changed", "last_update")
MULTI_KEYS = {"_any_": False, "_or_": False, "_all_": True, "_and_": True}  # name -> all fields must match
HIDDEN = "hidden"
# Request keys that make the whole query use natural (numeric-aware) string ordering (§1.10 (a)).
NATURAL_PREFIXES = ("hyperparams.", "last_metrics.")


@dataclass
class Filters:
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    natural: bool = False
    text: TextSearch | None = None


def compile_filters(ctx: OpContext, req: Mapping[str, Any], *, hidden_rule: bool) -> Filters:
    """All filter conditions of a (normalized) request, visibility included."""
    dialect = ctx.dialect
    out = Filters(conditions=[ctx.visible(TaskRecord)])
    patterns: list[tuple[str, str, bool]] = []  # (field, pattern, ignore_case)
    for key, value in req.items():
        if key in PATTERN_KEYS:
            if value is not None and value != "":
                if not isinstance(value, str):
                    raise error("validation_error", f"{key}: expected a string", field=key)
                out.conditions.append(sql.regex(T.c[key], check_pattern(value, key, dialect), dialect))
                patterns.append((key, value, False))
        elif key in LIST_COLUMNS or key in ("tags", "system_tags") or key.startswith("hyperparams."):
            lf = parse_list(value, key)
            if not lf.empty:
                out.conditions.append(list_condition(lf, field_path(key), dialect))
        elif key in RANGE_KEYS or key.startswith("last_metrics."):
            out.conditions.append(range_condition(key, value, dialect))
        elif key in DATETIME_OP_KEYS:
            out.conditions.extend(datetime_conditions(key, value))
        elif key in MULTI_KEYS:
            cond = multi_condition(key, value, dialect)
            if cond is not None:
                out.conditions.append(cond)
                patterns.append((key, value["pattern"], True))
        elif key == "search_text" and value is not None:
            if not isinstance(value, str):
                raise error("validation_error", "search_text: expected a string", field="search_text")
            out.text = compile_search(value, T, dialect)
            if out.text is not None:
                out.conditions.append(out.text.condition)
        if key.startswith(NATURAL_PREFIXES):
            out.natural = True
    if dialect == "postgresql" and patterns:
        sql.precompile_patterns(ctx.conn, patterns)
    if hidden_rule and not req.get("search_hidden") and not _non_empty(req.get("id")):
        out.conditions.append(T.c.id.not_in(_tagged(True, TAGS.c.tag == HIDDEN)))
    return out


def _non_empty(value: Any) -> bool:
    return bool(value) if isinstance(value, (list, tuple, str)) else value is not None


# --------------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------------
def check_pattern(pattern: str, name: str, dialect: str, *, ignore_case: bool = False) -> str:
    """A pattern the database will run: valid Python syntax (and RE2 on SQLite), else 400/21."""
    try:
        if len(pattern) > 10_000:
            raise PatternError("pattern longer than 10000 characters")
        re.compile(pattern)
        if dialect != "postgresql":
            compile_re2(pattern, ignore_case)
    except (re.error, PatternError, OverflowError, RecursionError) as exc:
        raise error("invalid_regex_error", f"{name}: {exc}", pattern=pattern) from None
    return pattern


# --------------------------------------------------------------------------------------------------
# Lists (§1.4)
# --------------------------------------------------------------------------------------------------
def _tagged(system: bool, cond: ColumnElement[bool]) -> Any:
    """Ids of tasks having a tag (system tag) that satisfies ``cond``."""
    return select(TAGS.c.task).where(TAGS.c.system == (true() if system else false()), cond)


def list_condition(lf: ListFilter, ref: FieldRef, dialect: str) -> ColumnElement[bool]:
    """§1.4 steps 3-5 for one field."""
    kind = ref.field.kind
    parts: list[ColumnElement[bool]] = []
    if kind is Kind.TAGS:
        system = ref.field.system
        if lf.include:
            parts.append(T.c.id.in_(_tagged(system, sql.in_values(TAGS.c.tag, lf.include, dialect))))
        if lf.exclude:
            parts.append(T.c.id.not_in(_tagged(system, sql.in_values(TAGS.c.tag, lf.exclude, dialect))))
        if lf.all:  # one condition for the bucket: every value present
            parts.append(and_(*(T.c.id.in_(_tagged(system, TAGS.c.tag == v)) for v in lf.all)))
        empty: ColumnElement[bool] = T.c.id.not_in(_tagged(system, true()))
    else:
        if kind is Kind.DOC:
            doc = sql.Json(T.c[ref.field.column], ref.json_keys, dialect)
            value, empty = doc.string(), doc.is_empty(blank=False)
        else:
            value = T.c[ref.field.column]
            empty = value.is_(None)
        if lf.include:
            parts.append(sql.in_values(value, lf.include, dialect))
        if lf.exclude:
            parts.append(or_(value.is_(None), not_(sql.in_values(value, lf.exclude, dialect))))
        if lf.all:
            parts.append(value == lf.all[0] if len(lf.all) == 1 else false())
    if parts:
        cond = and_(*parts) if lf.conjunction else or_(*parts)
        return or_(cond, empty) if lf.allow_empty else cond
    return empty if lf.allow_empty else true()


# --------------------------------------------------------------------------------------------------
# Ranges (§1.5) and datetime operators (§1.6)
# --------------------------------------------------------------------------------------------------
def _range_bounds(key: str, value: Any) -> tuple[Any, Any]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise error("validation_error", f"Min and max values should be specified for range field {key}", field=key)
    low, high = value
    if low is None and high is None:
        raise error(
            "validation_error", f"At least one of min or max values should be specified for range field {key}",
            field=key,
        )  # fmt: skip
    return low, high


def _number(bound: Any, key: str) -> float | None:
    """A numeric bound; a non-numeric string is None (it matches nothing numeric, §1.5)."""
    if isinstance(bound, bool) or not isinstance(bound, (int, float, str)):
        raise error("validation_error", f"{key}: range bounds must be numbers", field=key)
    if isinstance(bound, str):
        try:
            return float(bound)
        except ValueError:
            return None
    return bound


def range_condition(key: str, value: Any, dialect: str) -> ColumnElement[bool]:
    low, high = _range_bounds(key, value)
    target: ColumnElement[Any]
    if key.startswith("last_metrics."):
        target = sql.Json(T.c.last_metrics, field_path(key).keys, dialect).number()
    else:
        target = T.c[key]
    parts: list[ColumnElement[bool]] = []
    for bound, is_low in ((low, True), (high, False)):
        if bound is None:
            continue
        b: float | datetime | None
        b = parse_datetime(bound, key) if key == "started" else _number(bound, key)
        if b is None or (isinstance(b, float) and b != b):  # non-numeric string or NaN: matches nothing
            parts.append(false())
        else:
            # Bound with its own type: PostgreSQL cast a bound to the column's INTEGER (2**31 was "integer
            # out of range", 0.5 became 1); a BIGINT or DOUBLE bound compares by value, as SQLite does.
            typed: Any = b if isinstance(b, datetime) else literal(b, BigInteger() if isinstance(b, int) else Float())
            parts.append(target >= typed if is_low else target <= typed)
    cond = and_(*parts)
    return or_(cond, target.is_(None)) if low is None else cond


def datetime_conditions(key: str, value: Any) -> list[ColumnElement[bool]]:
    """One condition per operator (a repeated operator overwrites), AND-ed."""
    items = value if isinstance(value, (list, tuple)) else [value]
    by_op: dict[str, datetime] = {}
    for item in items:
        if item is None:
            continue
        if isinstance(item, str):
            op, rest = split_operator(item)
            by_op[op] = parse_datetime(rest, key)
        else:
            by_op["="] = parse_datetime(item, key)
    column = T.c[key]
    ops = {">=": column.__ge__, ">": column.__gt__, "<=": column.__le__, "<": column.__lt__, "=": column.__eq__}
    return [ops[op](when) for op, when in by_op.items()]


# --------------------------------------------------------------------------------------------------
# _any_ / _all_ (§1.7)
# --------------------------------------------------------------------------------------------------
def multi_condition(key: str, value: Any, dialect: str) -> ColumnElement[bool] | None:
    if not isinstance(value, Mapping) or set(value) != {"pattern", "fields"}:
        raise error("validation_error", f"{key}: incorrect field format (expected pattern and fields)", field=key)
    pattern, fields = value["pattern"], value["fields"]
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(pattern, str) or not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise error("validation_error", f"{key}: incorrect field format", field=key)
    if not fields:
        return None
    check_pattern(pattern, key, dialect, ignore_case=True)
    raw = any("._" in f for f in fields)
    conds = []
    for name in fields:
        ref = lax_resolve(name) if raw else field_path(name)
        conds.append(false() if ref is None else field_matches(ref, pattern, dialect))
    return and_(*conds) if MULTI_KEYS[key] else or_(*conds)


def field_matches(ref: FieldRef, pattern: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive search in the string(s) at ``ref`` (a list matches when any element does)."""
    kind = ref.field.kind
    if kind is Kind.STRING:
        return sql.regex(T.c[ref.field.column], pattern, dialect, ignore_case=True)
    if kind is Kind.TAGS:
        return T.c.id.in_(_tagged(ref.field.system, sql.regex(TAGS.c.tag, pattern, dialect, ignore_case=True)))
    if kind is not Kind.DOC:
        return false()  # numbers and dates never match a pattern
    column, keys = T.c[ref.field.column], ref.json_keys
    if dialect == "postgresql":
        json_path = "lax $" + "".join("." + _jsonpath_key(k) for k in keys) + "[*]"
        from sqlalchemy.dialects.postgresql import JSONPATH

        found = func.jsonb_path_query(column, cast(bindparam(None, json_path, type_=Text()), JSONPATH))
        hits = found.table_valued("value").render_derived(name="hits")
        text_value = hits.c.value.op("#>>", return_type=Text())(literal_column("'{}'::text[]"))
        return exists(
            select(1)
            .select_from(hits)
            .where(
                func.jsonb_typeof(hits.c.value) == "string", sql.regex(text_value, pattern, dialect, ignore_case=True)
            )
        )
    root = sql.sqlite_path(keys[:1]) if keys else None
    args: list[Any] = [column] if root is None else [column, bindparam(None, root, type_=Text())]
    tree = func.json_tree(*args).table_valued("fullkey", "type", "atom").alias("nodes")
    return exists(
        select(1)
        .select_from(tree)
        .where(
            tree.c.type == "text",
            func.ts_laxpath(tree.c.fullkey) == lax_path(keys),
            sql.regex(tree.c.atom, pattern, dialect, ignore_case=True),
        )
    )


def _jsonpath_key(key: str) -> str:
    """A key as a jsonpath string literal (double quotes, JSON escapes)."""
    return json.dumps(key, ensure_ascii=False)
