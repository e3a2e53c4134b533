"""Migrations: alembic's result equals the records, the head is pinned, opening is safe under
concurrency, and an unknown revision is refused with a message that says what to do."""

from __future__ import annotations

import multiprocessing
import queue
from typing import Any

import pytest
from mp_open import open_and_create
from sqlalchemy import select, text

from taskstore import TaskStore
from taskstore.db import migrate
from taskstore.db.engine import Database
from taskstore.db.records import Base
from taskstore.db.search import include_object

N_PROCESSES = 8


def _diff(db: Database) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    opts: dict[str, Any] = {"compare_type": True, "compare_server_default": True}
    try:  # the objects the records do not describe (full-text search), as migrations/env.py leaves them out
        from taskstore.db.search import include_object

        opts["include_object"] = include_object
    except ImportError:
        pass
    with db.transaction(write=False) as conn:
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    return [d for d in diff if migrate.VERSION_TABLE not in repr(d)]


@pytest.mark.file_backends
def test_alembic_migrated_database_matches_the_records(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.transaction(write=True) as conn:
            migrate.run_alembic_upgrade(conn, "head")
        assert _diff(db) == []
        with db.transaction(write=False) as conn:
            tables = {t for t in conn.dialect.get_table_names(conn) if include_object(None, t, "table", True, None)}
            assert migrate.current_revision(conn) == migrate.HEAD_REVISION
        assert {t.name for t in Base.metadata.sorted_tables} | {migrate.VERSION_TABLE} <= tables
        assert "alembic_version" not in tables
    finally:
        db.dispose()
    # and taskstore opens it as current and works on it
    with TaskStore(db_url, company="acme", user="alice") as store:
        assert store.revision == migrate.HEAD_REVISION
        tid = store.call("tasks.create", {"name": "after alembic", "type": "training", "tags": ["x"]})["id"]
        assert store.call("tasks.get_by_id", {"task": tid})["task"]["tags"] == ["x"]


@pytest.mark.file_backends
def test_fast_path_database_matches_the_records_and_has_one_version_row(db_url: str) -> None:
    TaskStore(db_url).close()
    db = Database(db_url)
    try:
        assert _diff(db) == []
        with db.transaction(write=False) as conn:
            rows = conn.execute(select(migrate.version_table.c.version_num)).scalars().all()
        assert rows == [migrate.HEAD_REVISION]
    finally:
        db.dispose()


def test_head_revision_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert scripts.get_heads() == [migrate.HEAD_REVISION]
    revisions = [r.revision for r in reversed(list(scripts.walk_revisions()))]
    assert tuple(revisions) == migrate.KNOWN_REVISIONS
    assert migrate.KNOWN_REVISIONS[-1] == migrate.HEAD_REVISION


@pytest.mark.file_backends
def test_many_processes_opening_one_fresh_database_at_once(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(N_PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=open_and_create, args=(db_url, barrier, results, n)) for n in range(N_PROCESSES)]
    for p in procs:
        p.start()
    got = []
    try:
        for _ in procs:
            got.append(results.get(timeout=120))
    except queue.Empty:
        pass
    for p in procs:
        p.join(timeout=60)
    assert [g[3] for g in got] == [None] * N_PROCESSES, got
    assert {g[1] for g in got} == {migrate.HEAD_REVISION}
    assert all(p.exitcode == 0 for p in procs)
    with TaskStore(db_url, company="acme") as store:
        with store._db.transaction(write=False) as conn:
            versions = conn.execute(select(migrate.version_table.c.version_num)).scalars().all()
            users = sorted(conn.execute(text('SELECT "user" FROM tasks')).scalars().all())
        assert versions == [migrate.HEAD_REVISION]
        assert users == sorted(f"proc{n}" for n in range(N_PROCESSES))
        for _, _, tid, _ in got:
            assert store.call("tasks.get_by_id", {"task": tid})["task"]["status"] == "created"


def _set_version(url: str, value: str | None) -> None:
    db = Database(url)
    try:
        with db.transaction(write=True) as conn:
            if value is None:
                conn.execute(migrate.version_table.delete())
            else:
                conn.execute(migrate.version_table.update().values(version_num=value))
    finally:
        db.dispose()


@pytest.mark.file_backends
def test_newer_or_unknown_revision_is_refused_with_the_fix(db_url: str) -> None:
    with TaskStore(db_url, company="acme") as store:
        tid = store.call("tasks.create", {"name": "kept safe", "type": "training"})["id"]
    _set_version(db_url, "9999")
    with pytest.raises(migrate.SchemaVersionError) as info:
        TaskStore(db_url)
    message = str(info.value)
    assert "'9999'" in message and "newer taskstore" in message and "pip install -U taskstore" in message
    assert isinstance(info.value, RuntimeError)
    # nothing was changed by the refused open
    _set_version(db_url, migrate.HEAD_REVISION)
    with TaskStore(db_url, company="acme") as store:
        assert store.call("tasks.get_by_id", {"task": tid})["task"]["name"] == "kept safe"


@pytest.mark.file_backends
def test_tables_without_a_version_row_are_refused(db_url: str) -> None:
    TaskStore(db_url).close()
    _set_version(db_url, None)
    with pytest.raises(migrate.SchemaVersionError) as info:
        TaskStore(db_url)
    assert "no taskstore_alembic_version row" in str(info.value) and "new database" in str(info.value)


def test_fresh_memory_store_is_created_at_head() -> None:
    with TaskStore("sqlite://") as store:
        assert store.revision == migrate.HEAD_REVISION
        with store._db.transaction(write=False) as conn:
            assert migrate.current_revision(conn) == migrate.HEAD_REVISION
