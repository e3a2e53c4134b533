"""Column types shared by every record: one JSON document type and the UTC clock.

Times are stored as naive UTC with millisecond precision (as the reference's Mongo does) and
rendered ISO-8601 with an explicit ``+00:00`` by the shaping layer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class JSONDoc(TypeDecorator[Any]):
    """JSON on SQLite (text checked by json1), JSONB on PostgreSQL (indexable, GIN).

    A decorator rather than ``JSON().with_variant(JSONB())`` so that opening a SQLite store does not
    import the PostgreSQL dialect (a third of the import time).
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


class NotJSONError(ValueError):
    """A document value JSON cannot hold (NaN, bytes, a set, ...): the caller's error, not ours."""


def dumps(value: Any) -> str:
    """The one JSON encoder used for every document column (NaN is refused, not stored).

    Floats that JSON would write in exponent form (``1e+20``) are written in plain decimal with a
    fraction (``100000000000000000000.0``): PostgreSQL's JSONB stores numbers as NUMERIC and prints
    ``1e+20`` back as an integer, so the float would come back as an int of another value.
    """
    if not value and isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"  # most documents of a new task are empty
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if "e+" in text:  # rare: only then look for such floats (a string holding "e+" costs a re-encode)
            text = _plain(value)
        return text
    except (TypeError, ValueError, RecursionError) as exc:
        raise NotJSONError(str(exc)) from None


def _plain(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)
        return format(Decimal(text), "f") + ".0" if "e+" in text else json.dumps(value, allow_nan=False)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_plain(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def utcnow() -> datetime:
    """Naive UTC now, truncated to milliseconds so that values read back compare equal."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def render_time(value: datetime | None) -> str | None:
    """ISO-8601 with ``+00:00``, e.g. ``2022-07-08T15:02:44.123000+00:00``."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "+00:00"
