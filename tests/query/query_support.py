"""Helpers for the query-language tests: making tasks with given fields, and reading results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from support import create_task


def make(store: Any, name: str = "task one", **fields: Any) -> str:
    """A task with ``fields`` (hyperparams given as {"Sec": {"name": "value"}})."""
    hp = fields.pop("hp", None)
    if hp is not None:
        fields["hyperparams"] = {
            sec: {n: {"section": sec, "name": n, "value": v} for n, v in params.items()} for sec, params in hp.items()
        }
    type_ = fields.pop("type", "training")
    return create_task(store, name, type_, **fields)


def ids(store: Any, endpoint: str = "tasks.get_all", **req: Any) -> list[str]:
    """The ids get_all returns for ``req`` (only_fields id added)."""
    req.setdefault("only_fields", ["id"])
    return [t["id"] for t in store.call(endpoint, req)["tasks"]]


def id_set(store: Any, **req: Any) -> set[str]:
    return set(ids(store, **req))


def names(store: Any, **req: Any) -> list[str]:
    req.setdefault("only_fields", ["name"])
    return [t["name"] for t in store.call("tasks.get_all", req)["tasks"]]


def by_name(store: Any, wanted: Sequence[str]) -> list[str]:
    """The ids of the tasks named ``wanted``, in that order."""
    got = {t["name"]: t["id"] for t in store.call("tasks.get_all", {"only_fields": ["id", "name"]})["tasks"]}
    return [got[n] for n in wanted]


def set_fields(store: Any, task_id: str, **values: Any) -> None:
    """Write columns of a task directly (fields no endpoint of this issue sets: started, last_metrics...)."""
    from sqlalchemy import update

    from taskstore.db.records import TaskRecord

    with store._db.transaction(write=True) as conn:
        conn.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(**values))
