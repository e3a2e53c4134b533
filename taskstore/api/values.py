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
* only JSON data: dict with string keys, list/tuple, str, int, float, bool, None;
* on write endpoints, the text that lands in length-limited, indexed columns (names, tags, event
  metric/variant, model framework; top-level fields of the body or of each batch item): at most
  :data:`NAME_CHARS` characters and :data:`NAME_BYTES` bytes of UTF-8 (PostgreSQL refuses longer
  VARCHAR values and index entries over ~2.7 kB; SQLite would store them).

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
NAME_CHARS = 1024
NAME_BYTES = 2048
# Top-level request fields stored in limited columns: field -> its column's length in characters.
CAPPED_TEXT = {"name": NAME_CHARS, "display_name": NAME_CHARS, "new_task_name": NAME_CHARS,
               "project_name": NAME_CHARS, "new_project_name": NAME_CHARS, "metric": NAME_CHARS,
               "variant": NAME_CHARS, "framework": 256}  # fmt: skip
# Top-level request lists whose items are stored as indexed tag rows.
CAPPED_LISTS = ("tags", "system_tags", "new_task_tags", "new_task_system_tags")

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


def _walk(value: Any, depth: int, budget: _Budget, capped: bool = False) -> None:
    """Check a container at nesting level ``depth`` (the request body is level 0).

    The common cases (ASCII text without NUL, ints, floats, nested containers) are handled inline: this
    runs over every value of every request.  ``capped``: apply the name/tag caps to this body's fields.
    """
    if depth > MAX_DEPTH:
        raise _Violation(f"nested deeper than {MAX_DEPTH} levels")
    budget.values -= len(value)
    if budget.values < 0:
        raise _Violation(f"the request holds more than {MAX_VALUES} values (limit {MAX_VALUES})")
    key: Any = None
    try:
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if type(key) is not int:
                if type(key) is str and key.isascii() and "\x00" not in key:
                    budget.text -= len(key)
                elif isinstance(key, str):
                    _text(key, budget)
                else:
                    raise _Violation("object keys must be strings")
            kind = type(item)
            if kind is str:
                if item.isascii() and "\x00" not in item:
                    budget.text -= len(item)
                    if budget.text < 0:
                        raise _Violation(f"the request holds more than {MAX_TEXT} characters of text")
                else:
                    _text(item, budget)
            elif kind is dict or kind is list or kind is tuple:
                _walk(item, depth + 1, budget)
            elif kind is int:
                if not INT_MIN <= item <= INT_MAX:
                    raise _Violation("integers must fit in 64 bits (signed)")
            elif kind is float:
                if not math.isfinite(item):
                    raise _Violation(f"numbers must be finite (got {item!r})")
            elif kind is not bool and item is not None:
                if isinstance(item, (dict, list, tuple)):
                    _walk(item, depth + 1, budget)
                else:
                    _scalar(item, budget)
            if capped and key in _CAPPED and not (kind is str and len(item) <= _SHORT):
                _cap(key, item)
    except _Violation as exc:
        exc.parts.append(str(key))
        raise
    if budget.text < 0:  # reached by a key
        raise _Violation(f"the request holds more than {MAX_TEXT} characters of text")


_CAPPED = frozenset((*CAPPED_TEXT, *CAPPED_LISTS))
# Text this short is within every cap, in characters and in UTF-8 bytes (4 at most per character).
_SHORT = min(min(CAPPED_TEXT.values()), NAME_CHARS, NAME_BYTES // 4)


def _cap(key: str, value: Any) -> None:
    """A top-level field stored in a length-limited column (the path gets ``key`` from the caller)."""
    if key in CAPPED_TEXT:
        if isinstance(value, str):
            _length(value, CAPPED_TEXT[key])
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, str):
                try:
                    _length(item, NAME_CHARS)
                except _Violation as exc:
                    exc.parts.append(str(i))
                    raise


def _length(value: str, limit: int) -> None:
    if len(value) > limit:
        raise _Violation(f"at most {limit} characters")
    if len(value) * 4 > NAME_BYTES and len(value.encode("utf-8", "surrogatepass")) > NAME_BYTES:
        raise _Violation(f"at most {NAME_BYTES} bytes of UTF-8")


def check_values(body: Any, prefix: str = "", *, write: bool = False) -> None:
    """Refuse a request body holding a value outside the policy: 400/12 naming the field.

    ``write``: the call stores the body (the caps on names and tags apply).
    """
    if not isinstance(body, (dict, list, tuple)):
        return
    try:
        _walk(body, 0, _Budget(), write and isinstance(body, dict))
    except _Violation as exc:
        path = prefix + ".".join(reversed(exc.parts))
        raise error("validation_error", f"{path}: {exc.problem}", field=path) from None
