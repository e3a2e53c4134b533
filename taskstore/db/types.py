"""Column types shared by every record: one JSON document type and the UTC clock.

Times are stored as naive UTC with millisecond precision (as the reference's Mongo does) and
rendered ISO-8601 with an explicit ``+00:00`` by the shaping layer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
    """The one JSON encoder used for every document column (NaN is refused, not stored)."""
    if not value and isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"  # most documents of a new task are empty
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise NotJSONError(str(exc)) from None


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
