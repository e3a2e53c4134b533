"""Helpers shared by the tests: exact error assertions, time matching, a dump of every table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from taskstore import APIError, TaskStore
from taskstore.db.migrate import version_table
from taskstore.db.records import Base

# ISO-8601 UTC as the API renders it; the fraction is absent when the microseconds are 0.
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
TIME = "<time>"


@contextmanager
def api_error(code: int, subcode: int, field: str | None = None) -> Iterator[pytest.ExceptionInfo[APIError]]:
    """Expect an APIError with exactly (code, subcode); with ``field`` its message must name it."""
    with pytest.raises(APIError) as info:
        yield info
    err = info.value
    assert (err.code, err.subcode) == (code, subcode), f"got {err.code}/{err.subcode}: {err.message}"
    if field is not None:
        assert field in err.message, err.message
        if code == 400 and subcode == 12:
            assert err.data.get("field") == field, err.data


def times(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Check that ``keys`` of ``doc`` are ISO-8601 UTC strings and replace them by ``TIME``."""
    out = dict(doc)
    for key in keys:
        assert key in out, f"{key} missing"
        assert isinstance(out[key], str) and ISO_UTC.match(out[key]), (key, out[key])
        out[key] = TIME
    return out


def create_task(store: Any, name: str = "task one", type_: str = "training", **fields: Any) -> str:
    return str(store.call("tasks.create", {"name": name, "type": type_, **fields})["id"])


def get_task(store: Any, task_id: str, version: str | None = None) -> dict[str, Any]:
    return dict(store.call("tasks.get_by_id", {"task": task_id}, version=version)["task"])


def set_status(store: Any, task_id: str, status: str) -> None:
    """Put a task in ``status`` without the lifecycle endpoints (tasks.edit with force)."""
    store.call("tasks.edit", {"task": task_id, "status": status, "force": True})


def dump(store: TaskStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order (to show that a call changed nothing)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store._db.transaction(write=False) as conn:
        for table in [*Base.metadata.sorted_tables, version_table]:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out
