"""The value policy: what any request may hold, checked once per call before anything else runs.

SQLite and PostgreSQL disagree about values JSON allows or Python produces (reliability anchors
§0 item 4, §5 B): PostgreSQL refuses NUL characters in text and NUL, lone surrogates and NaN in
JSONB; SQLite stores all of them, and a NaN inside a JSON document makes every later JSON query on
that row fail.  So one policy is applied to every request body, on both backends, before validation
and before any SQL (``Dispatcher.call`` runs :func:`check_values` on the body, and on each item of
a batch body):

* text (string values and object keys): no NUL (U+0000) and no surrogate code points
  (U+D800-U+DFFF: a lone surrogate is not Unicode text; a correctly paired one never appears in a
  Python ``str`` decoded from JSON);
* numbers: finite (no NaN, +Inf, -Inf); integers within signed 64 bits;
* nesting: containers at most :data:`MAX_DEPTH` levels below the request body;
* size: at most :data:`MAX_TEXT` characters of text and :data:`MAX_VALUES` values in one request;
* only JSON data: dict with string keys, list/tuple, str, int, float, bool, None.

A violation is APIError 400/12 whose ``field`` is the dotted path of the offending value (list
items by index), and nothing is written.  docs/compatibility-values.md is the user-facing text.
"""

from __future__ import annotations

import math
import re
from typing import Any

from taskstore.errors import error

MAX_DEPTH = 100
MAX_TEXT = 16 * 1024 * 1024
MAX_VALUES = 1_000_000
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_SCALARS = (bool, type(None))


class _Violation(Exception):
    """A value outside the policy; ``parts`` is the path to it, innermost first."""

    def __init__(self, problem: str, *parts: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.parts = list(parts)


def text_problem(text: str) -> str | None:
    """Why ``text`` is not allowed (None: it is)."""
    if text.isascii():
        return "text may not contain NUL characters" if "\x00" in text else None
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text may not contain NUL characters"
    return f"text may not contain surrogate code points (U+{ord(found.group()):04X})"


def number_problem(value: int | float) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else f"numbers must be finite (got {value!r})"
    return None if INT_MIN <= value <= INT_MAX else "integers must fit in 64 bits (signed)"


class _Budget:
    __slots__ = ("text", "values")

    def __init__(self) -> None:
        self.text = MAX_TEXT
        self.values = MAX_VALUES


def _text(value: str, budget: _Budget) -> None:
    budget.text -= len(value)
    if budget.text < 0:
        raise _Violation(f"the request holds more than {MAX_TEXT} characters of text (limit {MAX_TEXT})")
    problem = text_problem(value)
    if problem is not None:
        raise _Violation(problem)


def _scalar(value: Any, budget: _Budget) -> None:
    """A value that is not a container (``type(value)`` is not dict/list/tuple)."""
    if isinstance(value, str):
        _text(value, budget)
    elif isinstance(value, _SCALARS):
        return
    elif isinstance(value, (int, float)):
        problem = number_problem(value)
        if problem is not None:
            raise _Violation(problem)
    else:
        raise _Violation(f"not JSON data (a {type(value).__name__})")


def _walk(value: Any, depth: int, budget: _Budget) -> None:
    """Check a container at nesting level ``depth`` (the request body is level 0)."""
    if depth > MAX_DEPTH:
        raise _Violation(f"nested deeper than {MAX_DEPTH} levels")
    budget.values -= len(value)
    if budget.values < 0:
        raise _Violation(f"the request holds more than {MAX_VALUES} values (limit {MAX_VALUES})")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        try:
            if type(key) is not int:
                if not isinstance(key, str):
                    raise _Violation("object keys must be strings")
                _text(key, budget)
            kind = type(item)
            if kind is dict or kind is list or kind is tuple:
                _walk(item, depth + 1, budget)
            elif kind is str:
                budget.text -= len(item)
                if budget.text < 0 or not (item.isascii() and "\x00" not in item):
                    budget.text += len(item)
                    _text(item, budget)
            elif kind is not int and kind is not bool and item is not None:
                if isinstance(item, (dict, list, tuple)):
                    _walk(item, depth + 1, budget)
                else:
                    _scalar(item, budget)
            elif kind is int and not INT_MIN <= item <= INT_MAX:
                raise _Violation("integers must fit in 64 bits (signed)")
        except _Violation as exc:
            exc.parts.append(str(key))
            raise


def check_values(body: Any, prefix: str = "") -> None:
    """Refuse a request body holding a value outside the policy: 400/12 naming the field."""
    if not isinstance(body, (dict, list, tuple)):
        return
    try:
        _walk(body, 0, _Budget())
    except _Violation as exc:
        path = prefix + ".".join(reversed(exc.parts))
        raise error("validation_error", f"{path}: {exc.problem}", field=path) from None
