"""Engine settings and the one-transaction-per-call rule."""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from support import api_error, create_task, dump, get_task

from taskstore import TaskStore
from taskstore.db import engine
from taskstore.db.engine import BUSY_TIMEOUT_MS
from taskstore.ops import tasks as task_ops


@pytest.mark.sqlite_only
@pytest.mark.file_backends
def test_sqlite_file_pragmas(store: TaskStore) -> None:
    with store._db.engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in
                   ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}  # fmt: skip
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] == BUSY_TIMEOUT_MS and BUSY_TIMEOUT_MS >= 20_000
    assert pragmas["synchronous"] == 1  # NORMAL


@pytest.mark.sqlite_only
def test_sqlite_writes_begin_immediate_and_reads_deferred(store: TaskStore) -> None:
    tid = create_task(store)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(store._db.engine, "before_cursor_execute", record)
    try:
        get_task(store, tid)
        reads = list(seen)
        seen.clear()
        store.call("tasks.update", {"task": tid, "comment": "c"})
        writes = list(seen)
    finally:
        event.remove(store._db.engine, "before_cursor_execute", record)
    assert (reads, writes) == (["BEGIN"], ["BEGIN IMMEDIATE"])


@pytest.mark.sqlite_only
@pytest.mark.file_backends
def test_sqlite_file_writers_pass_the_gate_and_readers_do_not(store: TaskStore, db_url: str) -> None:
    gate = store._db.gate
    assert gate is not None and gate.path == db_url.removeprefix("sqlite:///") + "-wlock"
    tid = create_task(store)
    probe = os.open(gate.path, os.O_RDWR)  # another open file: flock excludes it like another process
    try:
        with store._db.transaction(write=True), pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with store._db.transaction(write=False):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a read does not hold it
            fcntl.flock(probe, fcntl.LOCK_UN)
        # A writer that finds the gate held past the busy timeout goes on to SQLite's own lock.
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(engine, "BUSY_TIMEOUT_MS", 50)
            store.call("tasks.update", {"task": tid, "comment": "past the gate"})
        assert get_task(store, tid)["comment"] == "past the gate"
    finally:
        os.close(probe)


def test_memory_and_postgres_stores_have_no_gate(store: TaskStore, db_url: str) -> None:
    assert (store._db.gate is None) == (not db_url.startswith("sqlite:///"))


@pytest.mark.postgres_only
def test_postgres_session_time_zone_is_utc(store: TaskStore) -> None:
    with store._db.transaction(write=False) as conn:
        assert conn.execute(text("SHOW timezone")).scalar() == "UTC"


def test_one_store_is_shared_across_threads(store: TaskStore) -> None:
    # (on sqlite:// all threads share the one in-memory connection)
    made: list[str] = []
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            for i in range(10):
                made.append(create_task(store, name=f"thread {n} task {i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(made)) == 40
    seen: dict[str, str] = {}
    reader = threading.Thread(target=lambda: seen.update({t: get_task(store, t)["name"] for t in made}))
    reader.start()
    reader.join()
    assert sorted(seen) == sorted(made)


def test_store_from_another_thread_sees_a_task(store: TaskStore) -> None:
    result: dict[str, Any] = {}
    writer = threading.Thread(target=lambda: result.update(id=create_task(store, name="made in a thread")))
    writer.start()
    writer.join()
    assert get_task(store, result["id"])["name"] == "made in a thread"


def test_failing_call_changes_nothing(store: TaskStore) -> None:
    a, b = create_task(store, name="task a"), create_task(store, name="task b")
    before = dump(store)
    # the first item is applied before the second fails: the whole call is rolled back
    with api_error(400, 800):
        store.call("tasks.update_batch", [{"task": a, "name": "renamed"}, {"task": b, "name": "no"}])
    with api_error(400, 101):
        store.call("tasks.update_batch", [{"task": a, "name": "renamed"}, {"task": "f" * 32, "name": "other"}])
    assert dump(store) == before


def test_unexpected_exception_after_a_write_is_500_1_and_rolled_back(
    store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    before = dump(store)

    def boom(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(task_ops, "touch_project", boom)  # runs after the task row is written
    with api_error(500, 1) as info:
        create_task(store, project=project, tags=["t"])
    assert "boom" in info.value.message
    assert dump(store) == before


def test_database_errors_are_translated(store: TaskStore, monkeypatch: pytest.MonkeyPatch) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    before = dump(store)

    def broken(*_: Any) -> None:
        raise OperationalError("UPDATE projects", {}, Exception("disk I/O error"))

    monkeypatch.setattr(task_ops, "touch_project", broken)
    with api_error(500, 100):
        create_task(store, project=project)
    assert dump(store) == before


def test_lock_contention_is_retried_with_a_clean_transaction(store: TaskStore, monkeypatch: pytest.MonkeyPatch) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    real = task_ops.touch_project
    calls: list[int] = []

    def locked_once(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE projects", {}, Exception("database is locked"))
        real(*args)

    monkeypatch.setattr(task_ops, "touch_project", locked_once)
    tid = create_task(store, project=project, name="made on retry")
    assert len(calls) == 2
    with store._db.transaction(write=False) as conn:
        names = conn.execute(text("SELECT name FROM tasks")).scalars().all()
    assert names == ["made on retry"]  # the first attempt's row was rolled back
    assert get_task(store, tid)["project"] == project


def test_lock_contention_that_persists_is_500_102(store: TaskStore, monkeypatch: pytest.MonkeyPatch) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    before = dump(store)

    def always_locked(*_: Any) -> None:
        raise OperationalError("UPDATE projects", {}, Exception("database is locked"))

    monkeypatch.setattr(task_ops, "touch_project", always_locked)
    with api_error(500, 102):
        create_task(store, project=project)
    assert dump(store) == before
