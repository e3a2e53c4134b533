"""SQL functions the query language needs, with one definition per backend.

SQLite gets Python functions registered on every connection (``register_sqlite_functions``, called
from the engine's connect hook):

* ``ts_regexp(pattern, value, ignore_case)`` - an unanchored regular-expression search run by RE2
  (google-re2): linear time, so a hostile pattern such as ``(a+)+$`` cannot stall the database.
  Compiled patterns are cached per process.
* ``ts_sortkey(json_text, natural)`` - the sort key of a JSON value (JSON text, as ``->`` gives it).
* ``ts_textkey(text)`` - the natural-mode sort key of a string column.
* ``ts_laxpath(fullkey)`` - a ``json_tree`` path without array indexes (for ``_any_`` / ``_all_``).

PostgreSQL has its own regex engine (``~`` / ``~*``) and gets ``taskstore_natkey(text)``, an
immutable SQL function identical in result to ``natural_key`` below (created by migration 0002 and
on fresh databases; see ``taskstore.db.search``).

Sort order, identical on both backends: missing/null lowest, then numbers (JSON numbers and - in
natural mode - strings that are a JSON number literal, compared as doubles), then strings (natural
mode: ASCII case ignored first, digit runs compared by value, then lowercase before uppercase;
otherwise code-point order), then objects, arrays, booleans (false before true).  On SQLite this is
one value per row, relying on SQLite's order of types (NULL < REAL < TEXT < BLOB); on PostgreSQL a
(rank, double, text) triple.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import Any

# A string that is a JSON number literal, with at most 4 exponent digits and 100 characters: what
# natural mode compares by value (as a double).  PostgreSQL tests it with this regular expression;
# the caps keep its numeric input from overflowing.
NUMBER_RE = r"^[ \t\n\r]*-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,4})?[ \t\n\r]*$"
NUMBER_MAX_LEN = 100
_NUMBER = re.compile(NUMBER_RE[:-1] + r"\Z")
_RUNS = re.compile(r"[0-9]+|[^0-9]+")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SWAP = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
MAX_PATTERN_LENGTH = 10_000

# ---------------------------------------------------------------------------------------------------
# Regular expressions (RE2)
# ---------------------------------------------------------------------------------------------------
_CACHE_SIZE = 256
_patterns: OrderedDict[tuple[str, bool], Any] = OrderedDict()
_patterns_lock = threading.Lock()


class PatternError(ValueError):
    """A pattern RE2 cannot compile (syntax error, or a construct RE2 does not support)."""


def compile_re2(pattern: str, ignore_case: bool = False) -> Any:
    """The compiled RE2 form of ``pattern`` (cached); PatternError when RE2 refuses it."""
    key = (pattern, ignore_case)
    with _patterns_lock:
        hit = _patterns.get(key)
        if hit is not None:
            _patterns.move_to_end(key)
            return hit
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.case_sensitive = not ignore_case
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = re2.compile(pattern, options)
    except Exception as exc:  # re2.error: a syntax error or an unsupported construct
        msg = exc.args[0] if exc.args else exc
        raise PatternError(msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)) from None
    with _patterns_lock:
        _patterns[key] = compiled
        while len(_patterns) > _CACHE_SIZE:
            _patterns.popitem(last=False)
    return compiled


def sqlite_regexp(pattern: str | None, value: Any, ignore_case: int | None) -> int:
    """``ts_regexp``: 1 when ``value`` is a string containing a match of ``pattern``."""
    if pattern is None or not isinstance(value, str):
        return 0
    try:
        compiled = compile_re2(pattern, bool(ignore_case))
    except PatternError:
        return 0  # patterns are checked before a query is built; never fail a query half-way
    return 1 if compiled.search(value) is not None else 0


# ---------------------------------------------------------------------------------------------------
# Sort keys
# ---------------------------------------------------------------------------------------------------
def natural_key(text: str) -> str:
    """Natural order: digit runs by value, ASCII case ignored first and then lowercase before uppercase.

    ``taskstore_natkey`` on PostgreSQL computes exactly this string.
    """
    parts = []
    for run in _RUNS.findall(text):
        if "0" <= run[0] <= "9":
            digits = run.lstrip("0") or "0"
            parts.append("0" + chr(0x21 + min(len(digits), 94)) + digits)
        else:
            parts.append(run.translate(_LOWER))
    return "".join(parts) + "\x01" + text.translate(_SWAP)


# BLOB keys sort after every TEXT key in SQLite: objects, arrays, then false and true.
OBJECT_KEY, ARRAY_KEY, FALSE_KEY, TRUE_KEY = b"\x03", b"\x04", b"\x05\x00", b"\x05\x01"


def string_key(text: str, natural: bool) -> float | str:
    """The key of a string: in natural mode a number literal is its value, else its natural key."""
    if not natural:
        return text
    if len(text) <= NUMBER_MAX_LEN and _NUMBER.match(text) is not None:
        return float(text)
    return natural_key(text)


def sqlite_sortkey(json_text: str | None, natural: int | None) -> float | str | bytes | None:
    """``ts_sortkey``: the key of a JSON value given as JSON text (what SQLite's ``->`` returns)."""
    if json_text is None or json_text == "null":
        return None
    first = json_text[:1]
    if first == '"':
        text = json_text[1:-1] if "\\" not in json_text else json.loads(json_text)
        return string_key(text, bool(natural))
    if first == "{":
        return OBJECT_KEY
    if first == "[":
        return ARRAY_KEY
    if json_text in ("true", "false"):
        return TRUE_KEY if json_text == "true" else FALSE_KEY
    return float(json_text)


def sqlite_textkey(value: Any) -> float | str | None:
    """``ts_textkey``: the natural-mode key of a string column value."""
    return None if value is None else string_key(str(value), True)


_FULLKEY_PART = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^.\[]+))|\[\d+\]')


def lax_path(keys: list[str] | tuple[str, ...]) -> str:
    """The canonical form of an object-key path (what ``ts_laxpath`` returns)."""
    return json.dumps(list(keys), ensure_ascii=False)


def sqlite_lax_path(fullkey: str | None) -> str | None:
    """``ts_laxpath``: a json_tree ``fullkey`` (``$.a."b c"[2].d``) without its array indexes, canonical."""
    if fullkey is None or not fullkey.startswith("$"):
        return None
    keys = []
    for quoted, plain in _FULLKEY_PART.findall(fullkey[1:]):
        if quoted:
            keys.append(json.loads(f'"{quoted}"'))
        elif plain:
            keys.append(plain)
    return lax_path(keys)


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Register the query functions on one SQLite DBAPI connection."""
    dbapi_conn.create_function("ts_regexp", 3, sqlite_regexp, deterministic=True)
    dbapi_conn.create_function("ts_laxpath", 1, sqlite_lax_path, deterministic=True)
    dbapi_conn.create_function("ts_sortkey", 2, sqlite_sortkey, deterministic=True)
    dbapi_conn.create_function("ts_textkey", 1, sqlite_textkey, deterministic=True)


# ---------------------------------------------------------------------------------------------------
# PostgreSQL twins
# ---------------------------------------------------------------------------------------------------
PG_NATKEY_FUNCTION = r"""
CREATE OR REPLACE FUNCTION taskstore_natkey(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT coalesce(string_agg(
         CASE WHEN r.m[1] ~ '^[0-9]'
              THEN '0' || chr(33 + least(length(coalesce(nullif(ltrim(r.m[1], '0'), ''), '0')), 94))
                   || coalesce(nullif(ltrim(r.m[1], '0'), ''), '0')
              ELSE translate(r.m[1], 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
         END, '' ORDER BY r.n), '')
       || chr(1)
       || translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
                       'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')
FROM regexp_matches(s, '[0-9]+|[^0-9]+', 'g') WITH ORDINALITY AS r(m, n)
$$
"""
PG_DROP_NATKEY_FUNCTION = "DROP FUNCTION IF EXISTS taskstore_natkey(text)"
