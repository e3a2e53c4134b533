"""``order_by`` -> ORDER BY (query_edit §1.10), identical on both dialects.

* ``-`` descending, ``+`` or nothing ascending (on every key); ``__`` inside a path reads as ``.``;
  a scalar string is one key; ``@text_score`` is relevance, highest first (400/16 without
  ``search_text``).
* Empties last: when the first key that is not ``@text_score`` is ascending, rows where it is missing,
  null, ``""`` or ``[]`` come after all others (an outermost partition key).  Descending keys put
  missing/null last naturally (null is the lowest value).
* Natural order (§1.10 (a)/(b)) - when a filter key or the first order key is a ``hyperparams.`` /
  ``last_metrics.`` path - compares strings with digit runs by value, in both directions; values that
  are entirely a decimal number compare by value (see taskstore.db.functions).
* Ties are broken by insertion order (``seq``), then id: every ordering is total, which is what lets a
  scroll continue after its last row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, false, func, select, true

from taskstore.db.records import TaskRecord, TaskTagRecord
from taskstore.errors import error
from taskstore.query import sql
from taskstore.query.paths import FieldRef, Kind, field_path
from taskstore.query.text import TextSearch

T = TaskRecord.__table__
TAGS = TaskTagRecord.__table__
TEXT_SCORE = "@text_score"
NATURAL_PREFIXES = ("hyperparams.", "last_metrics.")


@dataclass(frozen=True)
class SortKey:
    exprs: tuple[ColumnElement[Any], ...]
    desc: bool
    # Where NULLs go; None: the values are never NULL (no NULLS clause, so that plain indexes serve
    # the ordering on both dialects, whose default NULL placement differs).
    nulls_first: bool | None

    def clauses(self) -> list[ColumnElement[Any]]:
        out: list[ColumnElement[Any]] = []
        for e in self.exprs:
            c = e.desc() if self.desc else e.asc()
            if self.nulls_first is not None:
                c = c.nulls_first() if self.nulls_first else c.nulls_last()
            out.append(c)
        return out


def parse_order(order_by: Any) -> list[tuple[str, bool]]:
    """(path, descending) pairs; a scalar string is one key (the reference iterates its characters)."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise error("validation_error", "order_by: expected strings", field="order_by")
        text = item.strip()
        desc = text.startswith("-")
        if text[:1] in ("-", "+"):
            text = text[1:].strip()
        out.append((text, desc))
    return out


def natural_from_order(keys: list[tuple[str, bool]]) -> bool:
    """§1.10 (b): the first non-@text_score key is a hyperparams / last_metrics path (either direction)."""
    first = next((k for k, _ in keys if k != TEXT_SCORE), None)
    return first is not None and first.replace("__", ".").startswith(NATURAL_PREFIXES)


def compile_order(
    keys: list[tuple[str, bool]], *, natural: bool, text: TextSearch | None, dialect: str
) -> list[SortKey]:
    """The sort keys, partition and tie-break included."""
    out: list[SortKey] = []
    first = True
    for path, desc in keys:
        if path == TEXT_SCORE:
            if text is None:
                raise error("fields_value_error", "text score cannot be used in order_by when search text is not used")
            out.append(SortKey((text.score,), True, False))
            continue
        ref = field_path(path, order=True)
        key = SortKey(tuple(value_keys(ref, desc, natural, dialect)), desc, not desc)
        if first and not desc:
            out.insert(0, SortKey((case((is_empty(ref, dialect), 1), else_=0),), False, True))
        first = False
        out.append(key)
    out.append(SortKey((T.c.seq,), False, None))  # set by every insert
    out.append(SortKey((T.c.id,), False, None))
    return out


def _tag_bound(ref: FieldRef, desc: bool) -> ColumnElement[Any]:
    agg = func.max if desc else func.min
    system = true() if ref.field.system else false()
    return select(agg(TAGS.c.tag)).where(TAGS.c.task == T.c.id, TAGS.c.system == system).scalar_subquery()


def value_keys(ref: FieldRef, desc: bool, natural: bool, dialect: str) -> list[ColumnElement[Any]]:
    """What a value sorts by (arrays by their smallest element ascending, largest descending)."""
    kind = ref.field.kind
    if kind is Kind.DOC:
        return sql.Json(T.c[ref.field.column], ref.json_keys, dialect).sort_keys(natural)
    if kind is Kind.TAGS:
        return sql.text_sort_keys(_tag_bound(ref, desc), dialect, natural)
    column = T.c[ref.field.column]
    if kind is Kind.STRING:
        return sql.text_sort_keys(column, dialect, natural)
    return [column]


def is_empty(ref: FieldRef, dialect: str) -> ColumnElement[bool]:
    kind = ref.field.kind
    if kind is Kind.DOC:
        return sql.Json(T.c[ref.field.column], ref.json_keys, dialect).is_empty()
    if kind is Kind.TAGS:
        system = true() if ref.field.system else false()
        return T.c.id.not_in(select(TAGS.c.task).where(TAGS.c.system == system))
    column = T.c[ref.field.column]
    if kind is Kind.STRING:
        return (column.is_(None)) | (column == "")
    return column.is_(None)
