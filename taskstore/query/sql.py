"""The dialect layer of the query compiler: JSON access, sort keys, regexes and long IN lists.

Everything a filter or an order key needs from the database is built here as SQLAlchemy expressions,
once per dialect.  JSON keys always travel as bound parameters: a PostgreSQL ``text[]`` for ``#>`` /
``#>>``, an SQLite path string built from quoted keys (keys SQLite's path syntax cannot quote - those
with ``"``, ``\\`` or control characters - are looked up with ``json_each`` instead).  Identical results
on both backends are the point; ``taskstore.db.functions`` holds the two halves of the sort key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Numeric,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from taskstore.db.functions import NUMBER_MAX_LEN, NUMBER_RE
from taskstore.errors import error

SMALL_IN = 64  # longer value lists travel as one bound array (PostgreSQL allows 65,535 parameters)
_PATH_SAFE_EXCLUDED = frozenset('"\\') | frozenset(chr(c) for c in range(0x20))


def pg_array(values: Sequence[Any]) -> Any:
    from sqlalchemy.dialects.postgresql import ARRAY

    return bindparam(None, list(values), type_=ARRAY(Text()))


def jsonb_type() -> TypeEngine[Any]:
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB()


def in_values(expr: ColumnElement[Any], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """``expr IN values`` for any number of values (one bound parameter when there are many)."""
    values = list(values)
    if not values:
        return false()
    if len(values) <= SMALL_IN:
        return expr.in_(values)
    if dialect == "postgresql":
        return expr == any_(pg_array(values))
    each = func.json_each(bindparam(None, json.dumps(values), type_=Text())).table_valued("value")
    return expr.in_(select(each.c.value))


def regex(expr: ColumnElement[Any], pattern: str, dialect: str, *, ignore_case: bool = False) -> ColumnElement[bool]:
    """An unanchored regular-expression search (RE2 on SQLite, the server's engine on PostgreSQL)."""
    if dialect == "postgresql":
        return expr.op("~*" if ignore_case else "~", is_comparison=True)(bindparam(None, pattern, type_=Text()))
    return func.ts_regexp(bindparam(None, pattern, type_=Text()), expr, int(ignore_case)) == 1


# PostgreSQL compiles a pattern on first use in a session (and keeps the last few compiled): a long or
# heavily repeated pattern can take seconds there (case-insensitive ``"a" * 10000`` about 1 s,
# ``"a{1,255}" * 1400`` 6 s before "too complex").  Compiling each one first under this statement timeout
# bounds that; the query then finds it compiled.  Refused patterns are 400/21.
PATTERN_COMPILE_MS = 300
_CANCELED, _BAD_REGEX = "57014", "2201B"


def precompile_patterns(conn: Connection, patterns: Sequence[tuple[str, str, bool]]) -> None:
    """PostgreSQL: compile every (field, pattern, ignore_case) within PATTERN_COMPILE_MS, else 400/21."""
    for name, pattern, ignore_case in patterns:
        savepoint = conn.begin_nested()
        try:
            conn.execute(text(f"SET LOCAL statement_timeout = {PATTERN_COMPILE_MS}"))
            conn.execute(select(regex(literal("", Text()), pattern, "postgresql", ignore_case=ignore_case)))
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code not in (_CANCELED, _BAD_REGEX):
                raise
            problem = "too complex to compile in time" if code == _CANCELED else str(exc.orig)
            raise error("invalid_regex_error", f"{name}: {problem}", pattern=pattern) from None
        finally:
            savepoint.rollback()  # also ends the SET LOCAL


def definitely(cond: ColumnElement[bool]) -> ColumnElement[bool]:
    """``cond`` with NULL read as false (safe to negate)."""
    return func.coalesce(case((cond, 1), else_=0), 0) == 1


def sqlite_path(keys: Sequence[str]) -> str | None:
    """The SQLite JSON path of ``keys``, or None when a key cannot be written in one."""
    if any(_PATH_SAFE_EXCLUDED.intersection(k) for k in keys):
        return None
    return "$" + "".join(f'."{k}"' for k in keys)


class Json:
    """The value at ``keys`` inside the JSON column ``column`` (missing when any key is absent)."""

    def __init__(self, column: ColumnElement[Any], keys: Sequence[str], dialect: str) -> None:
        self.column = column
        self.keys = tuple(keys)
        self.dialect = dialect
        self.pg = dialect == "postgresql"
        self.path = None if self.pg else sqlite_path(self.keys)

    # -- the raw pieces ------------------------------------------------------------------------------
    def _pg_value(self) -> ColumnElement[Any]:
        if not self.keys:
            return self.column
        return self.column.op("#>", return_type=jsonb_type())(pg_array(self.keys))

    def _pg_text(self) -> ColumnElement[Any]:
        if not self.keys:
            return self.column.op("#>>", return_type=Text())(literal_column("'{}'::text[]"))
        return self.column.op("#>>", return_type=Text())(pg_array(self.keys))

    def _sqlite_parent(self) -> ColumnElement[Any]:
        """The JSON text of the parent of the last key (json_each lookups, one level at a time)."""
        doc: ColumnElement[Any] = self.column
        for key in self.keys[:-1]:
            each = func.json_each(doc).table_valued("key", "value")
            doc = select(each.c.value).where(each.c.key == key).scalar_subquery()
        return doc

    def _sqlite_each(self, column: str) -> ColumnElement[Any]:
        each = func.json_each(self._sqlite_parent()).table_valued("key", "value", "type")
        return select(each.c[column]).where(each.c.key == self.keys[-1]).scalar_subquery()

    # -- what filters and orderings use ------------------------------------------------------------------
    def typeof(self) -> ColumnElement[Any]:
        """SQLite json_type names (null, true, false, integer, real, text, array, object); NULL = missing."""
        if self.pg:
            return func.jsonb_typeof(self._pg_value())
        if not self.keys:
            return func.json_type(self.column)
        if self.path is not None:
            return func.json_type(self.column, bindparam(None, self.path, type_=Text()))
        return self._sqlite_each("type")

    def _sqlite_value(self) -> ColumnElement[Any]:
        if not self.keys:
            return self.column
        if self.path is not None:
            return func.json_extract(self.column, bindparam(None, self.path, type_=Text()))
        return self._sqlite_each("value")

    def string(self) -> ColumnElement[Any]:
        """The value when it is a JSON string, else NULL."""
        if self.pg:
            return case((func.jsonb_typeof(self._pg_value()) == "string", self._pg_text()), else_=null())
        return case((self.typeof() == "text", self._sqlite_value()), else_=null())

    def number(self) -> ColumnElement[Any]:
        """The value when it is a JSON number, else NULL."""
        if self.pg:
            return case((func.jsonb_typeof(self._pg_value()) == "number", cast(self._pg_text(), Float)), else_=null())
        return case((self.typeof().in_(("integer", "real")), self._sqlite_value()), else_=null())

    def is_empty(self, *, blank: bool = True) -> ColumnElement[bool]:
        """Missing, null or [] - and "" unless ``blank`` is false (list filters do not count "" as empty)."""
        t = self.typeof()
        if self.pg:
            parts = [t.is_(None), t == "null", and_(t == "array", func.jsonb_array_length(self._pg_value()) == 0)]
            if blank:
                parts.append(and_(t == "string", self._pg_text() == ""))
            return or_(*parts)
        parts = [t.is_(None), t == "null", and_(t == "array", func.json_array_length(self._sqlite_value()) == 0)]
        if blank:
            parts.append(and_(t == "text", self._sqlite_value() == ""))
        return or_(*parts)

    def json_text(self) -> ColumnElement[Any]:
        """SQLite: the value as JSON text (for ``ts_sortkey``)."""
        if self.path is not None:
            return self.column.op("->", return_type=Text())(bindparam(None, self.path, type_=Text()))
        t = self._sqlite_each("type")
        v = self._sqlite_each("value")
        return case(
            (t == "text", func.json_quote(v)),
            (t.in_(("null", "true", "false")), t),
            else_=cast(v, Text()),
        )

    def sort_keys(self, natural: bool) -> list[ColumnElement[Any]]:
        """The sort key expressions of the value (see taskstore.db.functions for the order)."""
        if self.pg:
            return pg_sort_keys(func.jsonb_typeof(self._pg_value()), self._pg_text(), natural, json=True)
        t, v = self.typeof(), self._sqlite_value()  # one parse of the document per row (SQLite's JSON cache)
        whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
            (t.is_(None), null()),
            (t.in_(("integer", "real")), cast(v, Float())),
        ]
        if natural:
            whens.append((and_(t == "text", sqlite_number_test(v)), cast(v, Float())))
        return [case(*whens, else_=func.ts_sortkey(self.json_text(), int(natural)))]


def sqlite_number_test(v: ColumnElement[Any]) -> ColumnElement[bool]:
    """NUMBER_RE in SQLite terms (the same test as taskstore.db.paramkeys.NUMBER_TEST)."""

    def glob(pattern: str) -> ColumnElement[bool]:
        return v.op("GLOB", is_comparison=True)(literal(pattern, Text()))

    return and_(
        ~glob("*[^0-9eE.+ \t\n\r-]*"),
        func.length(v) <= NUMBER_MAX_LEN,
        case((func.json_valid(v) == 1, func.json_type(v)), else_=null()).in_(("integer", "real")),
        ~glob("*[eE][0-9][0-9][0-9][0-9][0-9]*"),
        ~glob("*[eE][+-][0-9][0-9][0-9][0-9][0-9]*"),
    )


_DOUBLE_MAX = "1.7976931348623157e308"


def pg_double(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """A number's text as a double, out-of-range values clamped (infinities, zero) instead of failing."""
    n = cast(text, Numeric())
    return case(
        (n > literal_column(_DOUBLE_MAX), literal_column("'Infinity'::float8")),
        (n < literal_column("-" + _DOUBLE_MAX), literal_column("'-Infinity'::float8")),
        (func.abs(n) < literal_column("1e-320"), literal_column("0::float8")),
        else_=cast(n, Float()),
    )


def pg_sort_keys(
    typeof: ColumnElement[Any], text: ColumnElement[Any], natural: bool, *, json: bool
) -> list[ColumnElement[Any]]:
    """PostgreSQL's (rank, double, string) triple, ordered like SQLite's one key per row."""
    is_string = typeof == "string" if json else text.is_not(None)
    number_text = and_(
        func.length(text) <= NUMBER_MAX_LEN, text.op("~", is_comparison=True)(literal(NUMBER_RE, Text()))
    )
    numeric_string = and_(is_string, number_text) if natural else false()
    plain_string = and_(is_string, ~numeric_string) if natural else is_string
    if json:
        rank = case(
            (typeof == "number", 1), (numeric_string, 1), (typeof == "string", 2), (typeof == "object", 3),
            (typeof == "array", 4), (typeof == "boolean", 5), else_=null(),
        )  # fmt: skip
        number = case((or_(typeof == "number", numeric_string), pg_double(text)), else_=null())
        string = case(
            (plain_string, collate_c(natural_text(text, natural))),
            (typeof == "boolean", collate_c(text)),
            else_=null(),
        )
    else:
        rank = case((text.is_(None), null()), (numeric_string, 1), else_=2)
        number = case((numeric_string, pg_double(text)), else_=null())
        string = case((plain_string, collate_c(natural_text(text, natural))), else_=null())
    return [rank, number, string]


def natural_text(text: ColumnElement[Any], natural: bool) -> ColumnElement[Any]:
    return func.taskstore_natkey(text) if natural else text


def collate_c(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """Byte order on PostgreSQL (what SQLite's BINARY collation and the reference do)."""
    return expr.collate("C")


def text_sort_keys(expr: ColumnElement[Any], dialect: str, natural: bool) -> list[ColumnElement[Any]]:
    """Sort keys of a string column."""
    if dialect == "postgresql":
        return pg_sort_keys(literal("string"), expr, natural, json=False) if natural else [collate_c(expr)]
    if not natural:
        return [expr]
    number = (sqlite_number_test(expr), cast(expr, Float()))
    return [case((expr.is_(None), null()), number, else_=func.ts_textkey(expr))]
