"""Where ``schema/`` and ``migrations/`` are: inside the installed wheel, or in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(packaged: str, checkout: str) -> Path:
    for candidate in (_PACKAGE / packaged, _PACKAGE.parent / checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"taskstore: cannot find its {checkout}/ folder (looked in {_PACKAGE})")


@cache
def schema_dir() -> Path:
    return _find("_schema", "schema")


@cache
def migrations_dir() -> Path:
    return _find("_migrations", "migrations")
