"""Scenario M, upgrades: the golden database of revision 0001 (tests/reliability/golden) upgrades to the
head revision with every value intact, on SQLite (the committed file) and PostgreSQL (the same rows loaded
at 0001); the new revisions' features work on the upgraded data; processes opening one old or fresh
database at once all succeed with one version row; an old database is refused without ``upgrade`` and a
newer one always, with a message saying what to do, and neither is changed by the refusal.

Fast variant (every CI run): the golden data as committed (and with 3 copies of every task), from 0001
and from 0002; 4 processes opening it at once; on SQLite, an open waiting for an upgrade held longer than
the (lowered) busy timeout.
Full variant (``pytest --soak``): the golden tasks replicated 200 times before the upgrade; 8 processes
opening one database at once, 5 rounds on the golden database and 10 on a fresh one; 4 processes opening
the golden database while an upgrade is held open for 35 s, longer than the backend's own lock wait.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from golden_support import (
    ACME_LISTED,
    EXPECTED_JSON,
    GOLDEN_DB,
    GOLDEN_REVISION,
    TABLES_0001,
    TASKS,
    differences,
    load_golden,
    open_golden,
    probe,
    replicate,
    reset_database,
)
from sqlalchemy import inspect, select, text
from support import api_error

from taskstore import TaskStore
from taskstore.cli import cli
from taskstore.db import engine, migrate
from taskstore.db.engine import Database
from taskstore.db.records import Base, EventRecord
from taskstore.db.search import include_object

pytestmark = pytest.mark.file_backends

HEAD = migrate.HEAD_REVISION
NAMES = {tid: name for name, tid in TASKS.items()}
EXPECTED: dict[str, Any] = json.loads(EXPECTED_JSON.read_text("utf-8"))
LOSS_TOTAL = ("81513effdf5790b79549208838404407", "fbb44b4487415b134bce9c790a27fe5e")  # md5("loss"), md5("total")
# Reads that do not change when tasks without tags are added (the concurrent-open workers create some).
STABLE_KEYS = [k for k in EXPECTED if k not in ("tasks.get_all_ex", "tasks.get_all search_hidden", "counts")]


@pytest.fixture
def golden_url(db_url: str) -> str:
    """The golden data at revision 0001 on the test's backend: a copy of the committed SQLite file, or
    the same rows loaded into the (emptied) PostgreSQL database by the project's migration to 0001."""
    if db_url.startswith("sqlite:///"):
        shutil.copyfile(GOLDEN_DB, db_url.removeprefix("sqlite:///"))
    else:
        reset_database(db_url)  # also what earlier tests of this module left besides taskstore's tables
        load_golden(db_url)
    return db_url


def versions(url: str) -> list[str]:
    """Every row of the version table (none if there is no such table)."""
    db = Database(url)
    try:
        with db.transaction(write=False) as conn:
            if migrate.VERSION_TABLE not in inspect(conn).get_table_names():
                return []
            return list(conn.execute(select(migrate.version_table.c.version_num)).scalars())
    finally:
        db.dispose()


def table_columns(url: str) -> dict[str, set[str]]:
    db = Database(url)
    try:
        with db.transaction(write=False) as conn:
            insp = inspect(conn)
            return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}
    finally:
        db.dispose()


def schema_diff(store: TaskStore) -> list[Any]:
    """alembic's comparison of the database with the records (empty: the upgraded schema is the head's)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store._db.transaction(write=False) as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True, "include_object": include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    foreign = (migrate.VERSION_TABLE, "'alembic_version'")
    return [d for d in diff if not any(name in repr(d) for name in foreign)]


def ids(store: TaskStore, **req: Any) -> list[str]:
    """get_all's answer as golden task names ("new" for a task made after the upgrade)."""
    req.setdefault("only_fields", ["id"])
    return [NAMES.get(t["id"], "new") for t in store.call("tasks.get_all", req)["tasks"]]


def cli_run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"TASKSTORE_URL": None}, catch_exceptions=False)


# -- the committed artefacts ------------------------------------------------------------------------------
def test_committed_golden_file_is_at_revision_0001_and_sound() -> None:
    """Nobody opened the committed file with taskstore (which would have upgraded it)."""
    raw = sqlite3.connect(f"file:{GOLDEN_DB}?mode=ro", uri=True)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert raw.execute(f"SELECT version_num FROM {migrate.VERSION_TABLE}").fetchall() == [(GOLDEN_REVISION,)]
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {*TABLES_0001, migrate.VERSION_TABLE}
        assert "seq" not in {r[1] for r in raw.execute("PRAGMA table_info(tasks)")}
        counts = {t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES_0001}
        assert counts == EXPECTED["counts"]
    finally:
        raw.close()
    assert not Path(f"{GOLDEN_DB}-wal").exists()


# -- the upgrade --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start", [GOLDEN_REVISION, "0002"])
def test_golden_database_upgrades_to_head_with_every_value_intact(golden_url: str, start: str) -> None:
    """From 0001 (the golden file as committed) and from 0002 (the golden file brought there by alembic)."""
    db = Database(golden_url)
    try:
        with db.transaction(write=True) as conn:
            if start != GOLDEN_REVISION:
                migrate.run_alembic_upgrade(conn, start)
        with db.transaction(write=True) as conn:
            # Another tool's alembic table in the same database (MLflow, Optuna...) is none of our business.
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('f00dcafe')"))
    finally:
        db.dispose()
    assert versions(golden_url) == [start]

    with TaskStore(golden_url, company="acme", user="alice") as store:
        assert store.revision == HEAD
        got = probe(store)
        assert differences(got, EXPECTED) == []
        assert schema_diff(store) == []
        with store._db.transaction(write=True) as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["f00dcafe"]
            if store.dialect == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
                conn.execute(text("INSERT INTO tasks_fts (tasks_fts) VALUES ('integrity-check')"))  # raises if not
            seqs = conn.execute(text("SELECT seq FROM tasks ORDER BY seq")).scalars().all()
            assert seqs == list(range(1, len(TASKS) + 1))  # numbered in insertion (= creation) order
    assert versions(golden_url) == [HEAD]
    # Opening again changes nothing.
    with TaskStore(golden_url, company="acme", user="alice") as store:
        assert store.revision == HEAD
        assert differences(probe(store), EXPECTED) == []
    assert versions(golden_url) == [HEAD]


def test_new_revisions_work_on_upgraded_data(golden_url: str) -> None:
    """What 0002 (insertion order, covering tag index, scroll states, full-text search, hyperparameter sort
    keys) and 0003 (64-bit iterations on PostgreSQL) add, used on the upgraded rows."""
    with TaskStore(golden_url, company="acme", user="alice") as store:
        # insertion order and the tag index
        assert ids(store) == ACME_LISTED
        assert ids(store, tags=["Alpha"]) == ["sink", "draft_child"]
        assert ids(store, system_tags=["archived"]) == ["archived"]
        assert ids(store, system_tags=["hidden"], search_hidden=True) == ["hidden"]
        # full-text search filled from the existing rows (name, comment, model ids, script repository)
        assert ids(store, search_text="resnet") == ["sink", "queued_head", "draft_child"]
        assert ids(store, search_text="backbone") == ["queued_head", "draft_child"]
        assert ids(store, search_text="ünïcødé") == ["sink"]
        assert ids(store, search_text="tools") == ["sink"]
        # hyperparameter order: number literals by value (ties by insertion order), then text, then missing
        no_lr = ["published", "archived", "public", "minimal", "long_name"]
        assert ids(store, order_by=["hyperparams.Args.lr.value"]) == [
            "queued_second", "legacy", "sink", "draft_child", "running", "queued_head", "failed", *no_lr,
        ]  # fmt: skip
        assert ids(store, order_by=["-hyperparams.Args.lr.value"], page=0, page_size=3) == [
            "failed", "queued_head", "running",
        ]  # fmt: skip
        # scroll positions kept in the database (task_scrolls)
        scrolled: list[str] = []
        scroll_id = ""
        for _ in range(10):
            page = store.call("tasks.get_all_ex", {"scroll_id": scroll_id, "size": 5, "only_fields": ["id"]})
            if not page["tasks"]:
                break
            scrolled += [NAMES[t["id"]] for t in page["tasks"]]
            scroll_id = page["scroll_id"]
        assert scrolled == ACME_LISTED

        # the triggers keep search and sort keys current for edits of upgraded rows
        draft = TASKS["draft_child"]
        store.call("tasks.edit_hyper_params", {"task": draft, "hyperparams": [
            {"section": "Args", "name": "lr", "value": "100"}]})  # fmt: skip
        store.call("tasks.edit", {"task": draft, "comment": "now about transformers"})
        assert ids(store, order_by=["hyperparams.Args.lr.value"]) == [
            "queued_second", "legacy", "sink", "running", "queued_head", "draft_child", "failed", *no_lr,
        ]  # fmt: skip
        assert ids(store, search_text="backbone") == ["queued_head"]
        assert ids(store, search_text="transformers") == ["draft_child"]
        new = store.call("tasks.create", {"name": "after upgrade", "type": "training", "comment": "resnet again"})["id"]
        assert ids(store)[-1] == "new"
        assert ids(store, search_text="resnet") == ["sink", "queued_head", "new"]

        # 0003: an iteration beyond 32 bits (PostgreSQL refused it in INTEGER columns)
        running = TASKS["running"]
        store.call("events.add", {"task": running, "type": "training_stats_scalar", "metric": "loss",
                                  "variant": "total", "iter": 2**40, "value": 5.0})  # fmt: skip
        task = store.call("tasks.get_by_id", {"task": running})["task"]
        assert task["last_iteration"] == 2**40
        assert task["last_metrics"][LOSS_TOTAL[0]][LOSS_TOTAL[1]] == {
            "metric": "loss", "variant": "total", "value": 5.0, "min_value": -1.5e-10, "max_value": 5.0,
        }  # fmt: skip
        assert ids(store, order_by=["-last_iteration"], page=0, page_size=2) == ["running", "sink"]
        with store._db.transaction(write=False) as conn:
            iters = (
                conn.execute(select(EventRecord.iter).where(EventRecord.task == running).order_by(EventRecord.seq))
                .scalars()
                .all()
            )
        assert iters == [7, None, 2**40]

        # the golden queue keeps its order; new entries go after it
        default = EXPECTED["queues.get_by_id"]["default"]["id"]
        head = store.call("queues.get_next_task", {"queue": default})
        assert head == {"entry": {"task": TASKS["queued_head"], "added": "2024-03-01T12:04:00+00:00"}}
        store.call("tasks.enqueue", {"task": new, "queue": default})
        entries = store.call("queues.get_by_id", {"queue": default})["queue"]["entries"]
        assert [e["task"] for e in entries] == [TASKS["queued_second"], new]
        assert entries[0]["added"] == "2024-03-01T12:04:00.001000+00:00"
        started = store.call("tasks.started", {"task": TASKS["queued_head"]})
        assert started["started"] == 1 and started["fields"]["status"] == "in_progress"

        # company isolation holds on upgraded rows
        with api_error(400, 101):
            store.call("tasks.get_by_id", {"task": TASKS["sink"]}, company="globex", user="bob")
        assert store.call("tasks.get_by_id", {"task": TASKS["public"]}, company="globex")["task"]["company"] == ""
    assert versions(golden_url) == [HEAD]


def test_replicated_golden_database_upgrades_intact(golden_url: str, soak: bool) -> None:
    """More rows of every kind at revision 0001 (fast: 3 copies of each golden task; full: 200)."""
    copies = 200 if soak else 3
    made = replicate(golden_url, copies)  # {copy id: original name}
    with TaskStore(golden_url, company="acme", user="alice") as store:
        assert store.revision == HEAD
        for tid, name in made.items():
            doc = store.call("tasks.get_by_id", {"task": tid}, company="globex" if name == "globex" else None)["task"]
            assert differences(doc, {**_golden_task(name), "id": tid}) == [], name
        total = len(TASKS) * (copies + 1)
        with store._db.transaction(write=False) as conn:
            row = conn.execute(text("SELECT count(*), count(seq), count(DISTINCT seq) FROM tasks")).one()
        assert tuple(row) == (total, total, total)
        assert len(ids(store, search_text="backbone")) == 2 * (copies + 1)
        top = ids(store, order_by=["hyperparams.Args.lr.value"], page=0, page_size=copies + 1)
        assert set(top) == {"queued_second", "new"} and top[0] == "queued_second"
    assert versions(golden_url) == [HEAD]


def _golden_task(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = EXPECTED["tasks.get_by_id globex"] if name == "globex" else EXPECTED["tasks.get_by_id"][name]
    return doc


# -- refusals -------------------------------------------------------------------------------------------------
def test_old_database_is_refused_without_upgrade_and_the_advice_works(golden_url: str) -> None:
    before = table_columns(golden_url)
    with pytest.raises(migrate.SchemaVersionError) as info:
        TaskStore(golden_url, upgrade=False)
    message = str(info.value)
    assert f"'{GOLDEN_REVISION}'" in message and f"'{HEAD}'" in message
    assert "run `taskstore db upgrade`" in message and "upgrade=True" in message
    # nothing was changed by the refused open
    assert versions(golden_url) == [GOLDEN_REVISION]
    assert table_columns(golden_url) == before and "task_scrolls" not in before

    # what the message says to do
    check = cli_run("--db", golden_url, "db", "check")
    assert check.exit_code == 1 and "older than this taskstore's schema" in check.output
    result = cli_run("--db", golden_url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded from revision {GOLDEN_REVISION} to {HEAD}" in result.output
    assert cli_run("--db", golden_url, "db", "check").exit_code == 0
    with TaskStore(golden_url, company="acme", user="alice", upgrade=False) as store:
        assert store.revision == HEAD
        assert differences(probe(store), EXPECTED) == []
    assert versions(golden_url) == [HEAD]


def test_database_of_a_newer_taskstore_is_refused_and_left_alone(golden_url: str) -> None:
    """The golden data as a newer taskstore would leave it: upgraded past our head, with a column and a table
    we do not know.  Refused on every path (upgrade or not, library or command line), nothing touched."""
    TaskStore(golden_url).close()
    db = Database(golden_url)
    try:
        with db.transaction(write=True) as conn:
            conn.execute(text("ALTER TABLE tasks ADD COLUMN future_field TEXT"))
            conn.execute(text("CREATE TABLE taskstore_future (id VARCHAR(32) PRIMARY KEY)"))
            conn.execute(migrate.version_table.update().values(version_num="0004"))
    finally:
        db.dispose()
    before = table_columns(golden_url)
    for upgrade in (True, False):
        with pytest.raises(migrate.SchemaVersionError) as info:
            TaskStore(golden_url, upgrade=upgrade)
        message = str(info.value)
        assert "'0004'" in message and f"its newest is '{HEAD}'" in message, message
        assert "written by a newer taskstore" in message and "pip install -U taskstore" in message, message
    for command in ("upgrade", "check"):
        result = cli_run("--db", golden_url, "db", command)
        assert result.exit_code == 1 and "revision 0004" in result.output and "newer taskstore" in result.output
    assert versions(golden_url) == ["0004"]
    assert table_columns(golden_url) == before and "future_field" in before["tasks"]
    # once this taskstore "knows" it again (the newer one rolled back), the data is all there
    db = Database(golden_url)
    try:
        with db.transaction(write=True) as conn:
            conn.execute(migrate.version_table.update().values(version_num=HEAD))
    finally:
        db.dispose()
    with TaskStore(golden_url, company="acme", user="alice") as store:
        assert differences(probe(store), EXPECTED) == []


# -- opening at once ----------------------------------------------------------------------------------------
def _start_openers(url: str, processes: int, *, golden: bool, parties: int = 0) -> tuple[list[Any], Any, Any]:
    """``processes`` spawned openers of ``url``, released together by a barrier of ``processes + parties``."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes + parties)
    results = ctx.Queue()
    procs = [ctx.Process(target=open_golden, args=(url, barrier, results, n, golden)) for n in range(processes)]
    for p in procs:
        p.start()
    return procs, barrier, results


def _collect(procs: list[Any], results: Any) -> list[tuple[Any, ...]]:
    """Every opener's report; none left running; each must have succeeded."""
    got: list[tuple[Any, ...]] = []
    try:
        for _ in procs:
            got.append(results.get(timeout=300))
    except queue.Empty:
        pass
    finally:
        _reap(procs)
    assert sorted(g[0] for g in got) == list(range(len(procs))), got
    assert [g[4] for g in got] == [None] * len(procs), got
    assert [p.exitcode for p in procs] == [0] * len(procs)
    return got


def _reap(procs: list[Any]) -> None:
    for p in procs:
        p.join(timeout=60)
        if p.is_alive():
            p.kill()
            p.join(timeout=10)


def _open_at_once(url: str, processes: int, *, golden: bool) -> list[tuple[Any, ...]]:
    procs, _, results = _start_openers(url, processes, golden=golden)
    return _collect(procs, results)


def _fresh_round(backend_url: str, tmp_path: Path, n: int) -> str:
    if backend_url.startswith("sqlite:///"):
        return f"sqlite:///{tmp_path}/round{n}.db"
    reset_database(backend_url)
    return backend_url


def test_processes_opening_the_old_database_at_once_upgrade_it_once(db_url: str, tmp_path: Path, soak: bool) -> None:
    processes, rounds = (8, 5) if soak else (4, 1)
    for n in range(rounds):
        url = _fresh_round(db_url, tmp_path, n)
        if url.startswith("sqlite:///"):
            shutil.copyfile(GOLDEN_DB, url.removeprefix("sqlite:///"))
        else:
            load_golden(url)
        got = _open_at_once(url, processes, golden=True)
        assert {g[1] for g in got} == {HEAD}
        assert {g[2] for g in got} == {EXPECTED["tasks.get_by_id"]["sink"]["name"]}
        assert versions(url) == [HEAD]
        with TaskStore(url, company="acme", user="alice") as store:
            got_probe = probe(store)
            assert differences({k: got_probe[k] for k in STABLE_KEYS}, {k: EXPECTED[k] for k in STABLE_KEYS}) == []
            assert got_probe["counts"] == {**EXPECTED["counts"], "tasks": len(TASKS) + processes}
            assert ids(store)[: len(ACME_LISTED)] == ACME_LISTED
            made = {t["id"]: t["user"] for t in store.call("tasks.get_all", {"id": [g[3] for g in got]})["tasks"]}
            assert sorted(made.values()) == sorted(f"opener{g[0]}" for g in got)


def test_processes_opening_a_fresh_database_at_once_full(db_url: str, tmp_path: Path, soak: bool) -> None:
    """The full variant of tests/db/test_migrations.py's 8-process fresh open: 10 rounds."""
    if not soak:
        pytest.skip("full variant: runs under --soak (the fast one is tests/db/test_migrations.py)")
    processes = 8
    for n in range(10):
        url = _fresh_round(db_url, tmp_path, n)
        got = _open_at_once(url, processes, golden=False)
        assert {g[1] for g in got} == {HEAD}
        assert versions(url) == [HEAD]
        with TaskStore(url, company="acme") as store:
            users = [t["user"] for t in store.call("tasks.get_all", {"only_fields": ["user"]})["tasks"]]
        assert sorted(users) == sorted(f"opener{k}" for k in range(processes))


@pytest.mark.sqlite_only
def test_open_waits_for_an_upgrade_longer_than_the_lock_wait(golden_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast variant of the next test, in one process: the busy timeout lowered to 0.3 s, an upgrade held
    open for 2 s by another connection; the open waits for it (several lock waits) instead of failing."""
    holding, release = threading.Event(), threading.Event()
    upgrader = Database(golden_url)

    def upgrade_slowly() -> None:
        with upgrader.transaction(write=True) as conn:
            migrate.run_alembic_upgrade(conn, "head")
            holding.set()
            release.wait(timeout=2.0)

    thread = threading.Thread(target=upgrade_slowly)
    thread.start()
    try:
        assert holding.wait(timeout=60)
        monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 300)
        with TaskStore(golden_url, company="acme", user="alice") as store:
            assert store.revision == HEAD
            name = store.call("tasks.get_by_id", {"task": TASKS["sink"]})["task"]["name"]
            assert name == EXPECTED["tasks.get_by_id"]["sink"]["name"]
    finally:
        release.set()
        thread.join(timeout=60)
        upgrader.dispose()
    assert versions(golden_url) == [HEAD]


def test_processes_waiting_for_a_long_upgrade_all_succeed(golden_url: str, soak: bool) -> None:
    """An upgrade that outlasts the backend's lock wait (SQLite busy_timeout 30 s, PostgreSQL lock_timeout
    20 s), as one of a large database does: the processes opening the database meanwhile wait for it and
    succeed.  Simulated by upgrading in this process and holding the transaction open for 35 s."""
    if not soak:
        pytest.skip("full variant: runs under --soak (holds an upgrade open for 35 s)")
    processes, hold_s = 4, 35.0  # hold_s: longer than both lock waits (a duration, not a speed bound)
    procs: list[Any] = []
    db = Database(golden_url)
    try:
        with db.transaction(write=True) as conn:
            if db.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": migrate._ADVISORY_LOCK_KEY})
            migrate.run_alembic_upgrade(conn, "head")
            procs, barrier, results = _start_openers(golden_url, processes, golden=True, parties=1)
            barrier.wait(timeout=120)
            time.sleep(hold_s)  # the openers are waiting for this transaction meanwhile
    except BaseException:
        _reap(procs)
        raise
    finally:
        db.dispose()
    got = _collect(procs, results)
    assert {g[1] for g in got} == {HEAD}
    assert versions(golden_url) == [HEAD]
