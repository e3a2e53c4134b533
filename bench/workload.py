"""The benchmark's data (the same generator as /work/shared/bench/anchors.py) and the systems under
test: taskstore through its contract, and the raw sqlite3 / psycopg floors."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import random
import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

from measure import log

# ---------------------------------------------------------------------------------------------------
# Data: the same generator as /work/shared/bench/anchors.py (make_task), so numbers are comparable.
# ---------------------------------------------------------------------------------------------------
N_HPARAMS = 20
TAG_KEYS = ("grp", "model", "ds", "user", "t")
TAG_MODS = (10, 7, 13, 5, 100)
CHOICES = tuple(f"opt{k}" for k in range(8))


class Task:
    __slots__ = ("hp", "i", "id", "name", "tags")

    def __init__(self, i: int, id_: str, name: str, tags: list[str], hp: dict[str, str]) -> None:
        self.i, self.id, self.name, self.tags, self.hp = i, id_, name, tags, hp


def make_task(i: int, seed: int = 7) -> Task:
    rng = random.Random(seed * 1_000_003 + i)
    hp = {"lr": "%.6g" % (10 ** rng.uniform(-5, -1))}
    for j in range(1, N_HPARAMS):
        hp[f"p{j:02d}"] = CHOICES[rng.randrange(len(CHOICES))]
    tags = [f"{k}-{i % m}" for k, m in zip(TAG_KEYS, TAG_MODS, strict=True)]
    return Task(i, f"{rng.getrandbits(128):032x}", f"task-{i}", tags, hp)


def clearml_hyperparams(t: Task) -> dict[str, Any]:
    return {
        "Args": {
            k: {"section": "Args", "name": k, "value": v, "type": "float" if k == "lr" else "str"}
            for k, v in t.hp.items()
        }
    }


def create_body(t: Task) -> dict[str, Any]:
    """The tasks.create request of one task (what anchors.py's taskstore slot sends)."""
    return {"name": t.name, "type": "training", "tags": list(t.tags), "hyperparams": clearml_hyperparams(t)}


def raw_doc(t: Task) -> dict[str, Any]:
    """The JSON document the raw floor keeps next to its scalar columns (anchors.py task_doc)."""
    return {
        "name": t.name,
        "type": "training",
        "tags": t.tags,
        "system_tags": [],
        "comment": "",
        "hyperparams": clearml_hyperparams(t),
    }


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def rm_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


def has_endpoints(*names: str) -> bool:
    """True when taskstore serves every one of ``names`` (checked in its endpoint registry)."""
    from taskstore.api.registry import handlers

    registered = handlers()
    return all(n in registered for n in names)


# ---------------------------------------------------------------------------------------------------
# Systems under test
# ---------------------------------------------------------------------------------------------------
class TaskstoreTarget:
    """taskstore through its public contract: TaskStore(url), store.call(...), close()."""

    label = "taskstore"

    def __init__(self, url: str) -> None:
        self.url = url
        self.store: Any = None

    def open(self) -> None:
        from taskstore import TaskStore

        self.store = TaskStore(self.url)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def create(self, t: Task) -> str:
        return str(self.store.call("tasks.create", create_body(t))["id"])

    def start(self, tid: str) -> None:
        self.store.call("tasks.started", {"task": tid})

    def complete(self, tid: str) -> None:
        self.store.call("tasks.completed", {"task": tid})

    def get(self, tid: str) -> dict[str, Any]:
        return dict(self.store.call("tasks.get_by_id", {"task": tid})["task"])

    def extend(self, tasks: Sequence[Task], template_id: str, how: str) -> list[str]:
        if how == "clone":
            try:
                return clone_build(self.url, template_id, tasks)
            except Exception as exc:  # internals moved on: the contract still works
                log(f"  clone build failed ({type(exc).__name__}: {exc}); growing with tasks.create calls")
        return [self.create(t) for t in tasks]


def clone_build(url: str, template_id: str, tasks: Sequence[Task]) -> list[str]:
    """Insert ``tasks`` in one transaction as copies of the row ``tasks.create`` wrote for
    ``template_id`` (own id, name, tags, hyperparams; tag side-table rows too).  Returns the new ids.

    Uses taskstore's table definitions (taskstore.db.records) and its engine setup, nothing else."""
    from sqlalchemy import insert, select

    from taskstore.db.engine import Database
    from taskstore.db.records import TaskRecord, TaskTagRecord

    tasks_t: Any = TaskRecord.__table__
    tags_t: Any = TaskTagRecord.__table__
    db = Database(url)
    try:
        with db.transaction(write=True) as conn:
            template = dict(conn.execute(select(tasks_t).where(tasks_t.c.id == template_id)).mappings().one())
            tag_cols = {c.name for c in tags_t.columns}
            if tag_cols != {"task", "system", "tag"}:
                raise RuntimeError(f"clone_build: unexpected task_tags columns {sorted(tag_cols)}")
            ids: list[str] = []
            for lo in range(0, len(tasks), 5000):
                chunk = tasks[lo : lo + 5000]
                rows, tag_rows = [], []
                for t in chunk:
                    tid = uuid.uuid4().hex
                    rows.append(
                        {
                            **template,
                            "id": tid,
                            "name": t.name,
                            "tags": list(t.tags),
                            "hyperparams": clearml_hyperparams(t),
                        }
                    )
                    tag_rows += [{"task": tid, "system": False, "tag": g} for g in sorted(set(t.tags))]
                    ids.append(tid)
                conn.execute(insert(tasks_t), rows)
                conn.execute(insert(tags_t), tag_rows)
    finally:
        db.dispose()
    return ids


class _RawTransitions:
    """W2's two status changes, each one compare-and-set UPDATE (``_transition``) of the raw floor."""

    def _transition(self, tid: str, src: str, dst: str, col: str) -> None:
        raise NotImplementedError

    def start(self, tid: str) -> None:
        self._transition(tid, "created", "in_progress", "started")

    def complete(self, tid: str) -> None:
        self._transition(tid, "in_progress", "completed", "completed")


class RawSqlite(_RawTransitions):
    """The floor: stdlib sqlite3, WAL + synchronous=NORMAL, one JSON document per task + a tag side
    table, one BEGIN IMMEDIATE transaction per create (anchors.py's sqlite-jsontag-wal)."""

    label = "raw sqlite3"
    DDL = (
        "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, "
        "created TEXT NOT NULL, started TEXT, completed TEXT, doc TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS ix_tasks_status ON tasks(status);"
        "CREATE INDEX IF NOT EXISTS ix_tasks_name ON tasks(name);"
        "CREATE TABLE IF NOT EXISTS task_tags (tag TEXT NOT NULL, task_id TEXT NOT NULL, "
        "PRIMARY KEY (tag, task_id)) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS ix_task_tags_task ON task_tags(task_id);"
    )
    INS = "INSERT INTO tasks (id, name, status, created, started, completed, doc) VALUES (?,?,?,?,?,?,?)"

    def __init__(self, path: str) -> None:
        self.path = path
        self.c: sqlite3.Connection | None = None

    def open(self) -> None:
        memory = self.path == ":memory:"
        c = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        if not memory:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
        c.executescript(self.DDL)
        self.c = c

    def close(self) -> None:
        if self.c is not None:
            self.c.close()
            self.c = None

    def _insert(self, tasks: Sequence[Task]) -> None:
        assert self.c is not None
        ts = utcnow().isoformat()
        self.c.executemany(
            self.INS,
            [(t.id, t.name, "created", ts, None, None, json.dumps(raw_doc(t), separators=(",", ":"))) for t in tasks],
        )
        self.c.executemany(
            "INSERT INTO task_tags (tag, task_id) VALUES (?,?)", [(g, t.id) for t in tasks for g in t.tags]
        )

    def create(self, t: Task) -> str:
        assert self.c is not None
        self.c.execute("BEGIN IMMEDIATE")
        try:
            self._insert([t])
            self.c.execute("COMMIT")
        except BaseException:
            self.c.execute("ROLLBACK")
            raise
        return t.id

    def _transition(self, tid: str, src: str, dst: str, col: str) -> None:
        assert self.c is not None
        self.c.execute("BEGIN IMMEDIATE")
        cur = self.c.execute(
            f"UPDATE tasks SET status=?, {col}=? WHERE id=? AND status=?", (dst, utcnow().isoformat(), tid, src)
        )
        self.c.execute("COMMIT")
        if cur.rowcount != 1:
            raise RuntimeError(f"transition {src}->{dst} failed for {tid}")

    def get(self, tid: str) -> dict[str, Any]:
        assert self.c is not None
        row = self.c.execute(
            "SELECT id, name, status, created, started, completed, doc FROM tasks WHERE id = ?", (tid,)
        ).fetchone()
        doc: dict[str, Any] = json.loads(row[6])
        doc.update(id=row[0], status=row[2], created=row[3], started=row[4], completed=row[5])
        return doc

    def extend(self, tasks: Sequence[Task], template_id: str, how: str) -> list[str]:
        assert self.c is not None
        self.c.execute("BEGIN IMMEDIATE")
        for lo in range(0, len(tasks), 10_000):
            self._insert(tasks[lo : lo + 10_000])
        self.c.execute("COMMIT")
        return [t.id for t in tasks]


class RawPostgres(_RawTransitions):
    """The floor on PostgreSQL: psycopg 3, the same one-document-per-task schema (JSONB) plus a tag
    side table, one transaction per create."""

    label = "raw psycopg"
    DDL = (
        "CREATE TABLE IF NOT EXISTS raw_tasks (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, "
        "created TIMESTAMP NOT NULL, started TIMESTAMP, completed TIMESTAMP, doc JSONB NOT NULL);"
        "CREATE INDEX IF NOT EXISTS ix_raw_tasks_status ON raw_tasks(status);"
        "CREATE INDEX IF NOT EXISTS ix_raw_tasks_name ON raw_tasks(name);"
        "CREATE TABLE IF NOT EXISTS raw_task_tags (tag TEXT NOT NULL, task_id TEXT NOT NULL, "
        "PRIMARY KEY (tag, task_id));"
        "CREATE INDEX IF NOT EXISTS ix_raw_task_tags_task ON raw_task_tags(task_id);"
    )
    INS = "INSERT INTO raw_tasks (id, name, status, created, started, completed, doc) VALUES (%s,%s,%s,%s,%s,%s,%s)"

    def __init__(self, url: str) -> None:
        self.url = url
        self.c: Any = None

    def open(self) -> None:
        import psycopg

        self.c = psycopg.connect(libpq_url(self.url), options="-c timezone=UTC")
        with self.c.transaction():
            self.c.execute(self.DDL)

    def close(self) -> None:
        if self.c is not None:
            self.c.close()
            self.c = None

    def _insert(self, tasks: Sequence[Task]) -> None:
        ts = utcnow()
        with self.c.cursor() as cur:
            cur.executemany(
                self.INS,
                [
                    (t.id, t.name, "created", ts, None, None, json.dumps(raw_doc(t), separators=(",", ":")))
                    for t in tasks
                ],
            )
            cur.executemany(
                "INSERT INTO raw_task_tags (tag, task_id) VALUES (%s,%s)", [(g, t.id) for t in tasks for g in t.tags]
            )

    def create(self, t: Task) -> str:
        with self.c.transaction():
            self._insert([t])
        return t.id

    def _transition(self, tid: str, src: str, dst: str, col: str) -> None:
        with self.c.transaction():
            cur = self.c.execute(
                f"UPDATE raw_tasks SET status=%s, {col}=%s WHERE id=%s AND status=%s", (dst, utcnow(), tid, src)
            )
        if cur.rowcount != 1:
            raise RuntimeError(f"transition {src}->{dst} failed for {tid}")

    def get(self, tid: str) -> dict[str, Any]:
        with self.c.transaction():
            row = self.c.execute(
                "SELECT id, name, status, created, started, completed, doc::text FROM raw_tasks WHERE id = %s", (tid,)
            ).fetchone()
        doc: dict[str, Any] = json.loads(row[6])
        doc.update(id=row[0], status=row[2], created=row[3].isoformat(), started=row[4], completed=row[5])
        return doc

    def extend(self, tasks: Sequence[Task], template_id: str, how: str) -> list[str]:
        with self.c.transaction():
            for lo in range(0, len(tasks), 10_000):
                self._insert(tasks[lo : lo + 10_000])
        return [t.id for t in tasks]


def libpq_url(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL -> a libpq URI (drops a ``+driver``)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url
