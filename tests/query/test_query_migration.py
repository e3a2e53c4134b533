"""Migration 0002 (query language): a database written at revision 0001 upgrades with its data intact,
and the new structures (insertion order, full-text index, hyperparameter keys, scroll states) are filled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from query_support import ids
from sqlalchemy import MetaData, Table, insert, select

from taskstore import TaskStore
from taskstore.db import migrate
from taskstore.db.engine import Database

pytestmark = pytest.mark.file_backends


def _hp(value: str) -> dict[str, Any]:
    return {"Args": {"lr": {"section": "Args", "name": "lr", "value": value}}}


def test_upgrade_from_0001_keeps_data_and_fills_the_new_structures(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.transaction(write=True) as conn:
            migrate.run_alembic_upgrade(conn, "0001")
        with db.transaction(write=True) as conn:
            meta = MetaData()
            tasks = Table("tasks", meta, autoload_with=conn)
            tags = Table("task_tags", meta, autoload_with=conn)
            assert "seq" not in tasks.c
            docs: dict[str, Any] = {k: {} for k in ("execution", "script", "output", "container", "runtime", "models",
                                                    "configuration", "last_metrics", "extra")}  # fmt: skip
            rows = [
                {**docs, "id": f"{n:032x}", "company": "acme", "user": "alice", "name": name, "type": "training",
                 "status": "created", "created": datetime(2022, 1, n), "last_update": datetime(2022, 1, n),
                 "last_iteration": 0, "tags": tg, "system_tags": [], "hyperparams": _hp(lr), "comment": comment}
                for n, name, tg, lr, comment in (
                    (1, "first task", ["x"], "10", "uses resnet"),
                    (2, "second task", [], "9", None),
                    (3, "third task", ["x", "y"], "0.5", "plain"),
                )
            ]  # fmt: skip
            conn.execute(insert(tasks), rows)
            conn.execute(insert(tags), [{"task": r["id"], "system": False, "tag": t} for r in rows for t in r["tags"]])
        with db.transaction(write=False) as conn:
            before = [dict(r) for r in conn.execute(select(tasks).order_by(tasks.c.id)).mappings()]
    finally:
        db.dispose()

    with TaskStore(db_url, company="acme", user="alice") as store:
        assert store.revision == migrate.HEAD_REVISION and "0002" in migrate.KNOWN_REVISIONS
        one, two, three = (f"{n:032x}" for n in (1, 2, 3))
        assert ids(store) == [one, two, three]  # insertion order kept
        assert set(ids(store, tags=["x"])) == {one, three}
        assert ids(store, search_text="resnet") == [one]
        assert ids(store, order_by=["-hyperparams.Args.lr.value"], page=0, page_size=2) == [one, two]
        assert ids(store, order_by=["hyperparams.Args.lr.value"]) == [three, two, one]
        got, sid = store.call("tasks.get_all", {"scroll_id": "", "size": 2, "only_fields": ["id"]}).values()
        assert [t["id"] for t in got] == [one, two] and sid
        task = store.call("tasks.get_by_id", {"task": one})["task"]
        assert (task["name"], task["tags"], task["comment"]) == ("first task", ["x"], "uses resnet")
        assert task["hyperparams"] == _hp("10")
        new = store.call("tasks.create", {"name": "after upgrade", "type": "testing", "comment": "resnet again"})["id"]
        assert ids(store)[-1] == new and set(ids(store, search_text="resnet")) == {one, new}
        with store._db.transaction(write=False) as conn:
            after = Table("tasks", MetaData(), autoload_with=conn)
            rows_after = [
                dict(r) for r in conn.execute(select(after).where(after.c.id != new).order_by(after.c.id)).mappings()
            ]
        for old, now in zip(before, rows_after, strict=True):
            assert {k: now[k] for k in old} == old and now["seq"] is not None
