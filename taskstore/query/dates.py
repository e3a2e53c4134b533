"""Dates in filters: one strict, documented parser (no dateutil guessing), always naive UTC out.

Accepted: ISO 8601 (``2022-07-08``, ``2022-07-08T15:02:44.123Z``, ``...+02:00``), ``2022/07/08[ 15:02[:44]]``,
US ``07/08/2022[ 15:02[:44]]``, ``July 8 2022`` / ``Jul 8, 2022`` / ``8 July 2022``, and epoch seconds
(a number, or a string of digits with an optional fraction and sign).  Offsets are converted to UTC; a
naive time is UTC.  Anything else is 400/12 naming the field (the reference silently ignores what its
parser cannot read - a deliberate difference, see docs/compatibility-query.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from taskstore.errors import error

_EPOCH = re.compile(r"[-+]?\d+(\.\d+)?")
_FORMATS = (
    "%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%B %d %Y", "%b %d %Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y",
)  # fmt: skip
OPERATORS = (">=", "<=", ">", "<")


def bad_date(field: str, value: Any) -> Exception:
    return error("validation_error", f"{field}: cannot parse date/time value {value!r}", field=field)


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_datetime(value: Any, field: str) -> datetime:
    """A request value (string or epoch number) as naive UTC; 400/12 naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad_date(field, value)
    try:
        if not isinstance(value, str):
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
        text = value.strip()
        if _EPOCH.fullmatch(text):
            return datetime.fromtimestamp(float(text), UTC).replace(tzinfo=None)
        try:
            return to_utc(datetime.fromisoformat(text))
        except ValueError:
            pass
        for fmt in _FORMATS:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
    except (ValueError, OverflowError, OSError):
        pass
    raise bad_date(field, value)


def split_operator(text: str) -> tuple[str, str]:
    """``">=2022-01-01"`` -> (">=", "2022-01-01"); no operator -> ("=", text)."""
    text = text.strip()
    for op in OPERATORS:
        if text.startswith(op):
            return op, text[len(op) :]
    return "=", text
