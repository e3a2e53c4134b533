#!/usr/bin/env python3
"""taskstore benchmark: the workloads of issue 2 item 11, with raw sqlite3 (and raw psycopg) as the floor.

    python bench/bench.py                      # SQLite file in a temp dir: W0, W1 (10k), W2, W4 (100k)
    python bench/bench.py --quick              # W1 2k, W4 10k (about 30 s)
    python bench/bench.py --pg postgresql://postgres@127.0.0.1:5432/test   # also PostgreSQL
    python bench/bench.py --json out.json      # also write the numbers

Workloads (same logical data as /work/shared/bench/anchors.py: 20 string hyperparameters in section
"Args", 5 tags per task, made by ``make_task``):

  W0  opening a store: ``import taskstore`` and first store + first call in a fresh process (warm
      schema cache), each further in-memory store (median of 50), a fresh file, an existing file
  W1  create N1 tasks, one ``store.call("tasks.create", ...)`` each (one transaction each)
  W2  ``tasks.started`` then ``tasks.completed`` for every W1 task, one call each (only when both
      endpoints exist)
  W4  ``tasks.get_by_id`` p50/p95 on a database of N4 tasks

The floor ("raw") does the same work with the same data in the same run: stdlib sqlite3 in WAL with
``synchronous=NORMAL``, one row per task with one JSON document plus a (tag, task_id) side table,
``BEGIN IMMEDIATE`` ... ``COMMIT`` per create; on PostgreSQL the same schema (JSONB) through psycopg 3.
The ratio column is taskstore's time per operation divided by raw's (1.0 = as fast as raw; for a rate
that is raw/taskstore).

The W4 database is the W1 database grown to N4 tasks.  By default (``--build clone``) the extra tasks
are inserted in one transaction as copies of a row that ``tasks.create`` wrote (new id, name, tags,
hyperparams; the tag side table too), which is what N4 creates would have stored; ``--build calls``
makes them with ``tasks.create`` instead (slower, contract only).

``bench.py`` also exposes the pieces (``make_task``, ``create_body``, ``TaskstoreTarget``,
``RawSqlite``, ``clone_build``, ``has_endpoints``) that bench/anchors_slot.py uses to put taskstore
into the shared anchors table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import gc
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

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


class RawSqlite:
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

    def start(self, tid: str) -> None:
        self._transition(tid, "created", "in_progress", "started")

    def complete(self, tid: str) -> None:
        self._transition(tid, "in_progress", "completed", "completed")

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


class RawPostgres:
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

    def start(self, tid: str) -> None:
        self._transition(tid, "created", "in_progress", "started")

    def complete(self, tid: str) -> None:
        self._transition(tid, "in_progress", "completed", "completed")

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


# ---------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------
def timed(fn: Callable[..., Any], *a: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    r = fn(*a)
    return time.perf_counter() - t0, r


def pct(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def run_py(code: str, *args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    if r.returncode != 0:
        raise RuntimeError(f"subprocess failed ({r.returncode}): {r.stderr.strip()[-800:]}")
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


IMPORT_CODE = """
import json, time
t0 = time.perf_counter()
import {mod}
print(json.dumps({{"s": time.perf_counter() - t0}}))
"""

FIRST_CALL_CODE = """
import json, sys, time
t0 = time.perf_counter()
import taskstore
t1 = time.perf_counter()
TaskStore = taskstore.TaskStore  # the lazy import: SQLAlchemy, records, dispatch
t1b = time.perf_counter()
store = TaskStore(sys.argv[1])
t2 = time.perf_counter()
tid = store.call("tasks.create", json.loads(sys.argv[2]))["id"]
t3 = time.perf_counter()
assert store.call("tasks.get_by_id", {"task": tid})["task"]["name"]
store.close()
print(json.dumps({"import": t1 - t0, "lazy": t1b - t1, "open": t2 - t1b, "call": t3 - t2}))
"""

RAW_FIRST_CALL_CODE = """
import json, sys, time
t0 = time.perf_counter()
import sqlite3
t1 = time.perf_counter()
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30.0)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=NORMAL")
c.executescript(sys.argv[3])
t2 = time.perf_counter()
t = json.loads(sys.argv[2])
c.execute("BEGIN IMMEDIATE")
c.execute("INSERT INTO tasks (id, name, status, created, doc) VALUES (?,?,?,?,?)",
          (t["id"], t["name"], "created", "2024-01-01T00:00:00", json.dumps(t["doc"], separators=(",", ":"))))
c.executemany("INSERT INTO task_tags (tag, task_id) VALUES (?,?)", [(g, t["id"]) for g in t["doc"]["tags"]])
c.execute("COMMIT")
t3 = time.perf_counter()
c.close()
print(json.dumps({"import": t1 - t0, "lazy": 0.0, "open": t2 - t1, "call": t3 - t2}))
"""


class Row:
    """One line of the table: a workload's number for taskstore and for the raw floor."""

    def __init__(
        self,
        backend: str,
        workload: str,
        unit: str,
        ts: float | None,
        raw: float | None,
        target: tuple[str, float] | None = None,
        note: str = "",
    ) -> None:
        self.backend, self.workload, self.unit, self.ts, self.raw = backend, workload, unit, ts, raw
        self.target, self.note = target, note

    @property
    def ratio(self) -> float | None:
        """taskstore time per operation / raw time per operation."""
        if self.ts is None or self.raw is None or not self.ts or not self.raw:
            return None
        return self.raw / self.ts if self.unit == "/s" else self.ts / self.raw

    @property
    def ok(self) -> bool | None:
        if self.target is None or self.ts is None:
            return None
        op, val = self.target
        return self.ts >= val if op == ">=" else self.ts <= val

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "workload": self.workload,
            "unit": self.unit,
            "taskstore": self.ts,
            "raw": self.raw,
            "ratio": self.ratio,
            "target": list(self.target) if self.target else None,
            "meets_target": self.ok,
            "note": self.note,
        }


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "/s":
        return f"{v:,.0f}/s"
    if unit == "ms":
        digits = 0 if v >= 100 else 1 if v >= 10 else 2 if v >= 0.1 else 3
        return f"{v:,.{digits}f} ms"
    return f"{v:g} {unit}"


def fmt_target(t: tuple[str, float] | None, unit: str) -> str:
    if t is None:
        return ""
    op, val = t
    return ("≥ " if op == ">=" else "≤ ") + fmt(val, unit)


def render(rows: Iterable[Row]) -> str:
    head = ("backend", "workload", "taskstore", "raw", "ts/raw", "target", "")
    lines = []
    for r in rows:
        ts = r.note if r.ts is None and r.note else fmt(r.ts, r.unit)
        ratio = "" if r.ratio is None else f"{r.ratio:.1f}x"
        ok = "" if r.ok is None else ("ok" if r.ok else "MISS")
        note = r.note if r.ts is not None and r.note else ""
        lines.append(
            (
                r.backend,
                r.workload,
                ts,
                fmt(r.raw, r.unit),
                ratio,
                fmt_target(r.target, r.unit),
                (ok + ("  " + note if note else "")).strip(),
            )
        )
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]
    right = {2, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(x) for x in lines]
    return "\n".join(out)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------------
def w0_process(work: str, reps: int) -> list[Row]:
    """import time and first store + first call, each in a fresh process (SQLite file)."""
    env = dict(os.environ, TASKSTORE_CACHE_DIR=os.path.join(work, "schema-cache"))
    body = json.dumps(create_body(make_task(0)))
    imp = [run_py(IMPORT_CODE.format(mod="taskstore"), env=env, cwd=work)["s"] for _ in range(reps)]
    imp_raw = [run_py(IMPORT_CODE.format(mod="sqlite3"), env=env, cwd=work)["s"] for _ in range(reps)]
    cold = run_py(FIRST_CALL_CODE, f"sqlite:///{work}/w0-cold.db", body, env=env, cwd=work)
    warm = [run_py(FIRST_CALL_CODE, f"sqlite:///{work}/w0-proc-{k}.db", body, env=env, cwd=work) for k in range(reps)]
    t0 = make_task(0)
    raw_task = json.dumps({"id": t0.id, "name": t0.name, "doc": raw_doc(t0)})
    raw = [
        run_py(RAW_FIRST_CALL_CODE, f"{work}/w0-raw-{k}.db", raw_task, RawSqlite.DDL, env=env, cwd=work)
        for k in range(reps)
    ]
    for k in range(reps):
        rm_db(f"{work}/w0-proc-{k}.db")
        rm_db(f"{work}/w0-raw-{k}.db")
    rm_db(f"{work}/w0-cold.db")
    ms = 1e3

    def first(x: dict[str, float]) -> float:
        return x["lazy"] + x["open"] + x["call"]

    def part(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(x[key] for x in runs) * ms

    return [
        Row(
            "sqlite",
            "W0 import taskstore (fresh process)",
            "ms",
            statistics.median(imp) * ms,
            statistics.median(imp_raw) * ms,
            (("<=", 150.0)),
            "raw = import sqlite3",
        ),
        Row(
            "sqlite",
            "W0 first store + first call (warm schema cache)",
            "ms",
            statistics.median(first(x) for x in warm) * ms,
            statistics.median(first(x) for x in raw) * ms,
            ("<=", 300.0),
            "after `import taskstore`",
        ),
        Row(
            "sqlite",
            "W0   of which `taskstore.TaskStore` (lazy import)",
            "ms",
            part(warm, "lazy"),
            None,
            note="SQLAlchemy, records, dispatch",
        ),
        Row("sqlite", "W0   of which TaskStore(fresh file)", "ms", part(warm, "open"), part(raw, "open")),
        Row("sqlite", "W0   of which first tasks.create", "ms", part(warm, "call"), part(raw, "call")),
        Row(
            "sqlite",
            "W0 first store + first call (cold schema cache)",
            "ms",
            first(cold) * ms,
            None,
            note="one run: parses the HOCON",
        ),
    ]


def w0_in_process(work: str, n_memory: int, n_file: int) -> list[Row]:
    from taskstore import TaskStore

    TaskStore("sqlite://").close()  # the first: imports, schema load
    mem = []
    for _ in range(n_memory):
        dt, s = timed(TaskStore, "sqlite://")
        mem.append(dt)
        s.close()
    mem_raw = []
    for _ in range(n_memory):
        r = RawSqlite(":memory:")
        dt, _ = timed(r.open)
        mem_raw.append(dt)
        r.close()
    fresh, fresh_raw, reopen, reopen_raw = [], [], [], []
    for k in range(n_file):
        p = os.path.join(work, f"w0-file-{k}.db")
        dt, s = timed(TaskStore, f"sqlite:///{p}")
        fresh.append(dt)
        s.close()
        dt, s = timed(TaskStore, f"sqlite:///{p}")
        reopen.append(dt)
        s.close()
        rm_db(p)
        r = RawSqlite(p)
        fresh_raw.append(timed(r.open)[0])
        r.close()
        r = RawSqlite(p)
        reopen_raw.append(timed(r.open)[0])
        r.close()
        rm_db(p)
    ms = 1e3
    return [
        Row(
            "sqlite",
            f"W0 each further TaskStore('sqlite://') (median of {n_memory})",
            "ms",
            statistics.median(mem) * ms,
            statistics.median(mem_raw) * ms,
            ("<=", 10.0),
            "in memory",
        ),
        Row(
            "sqlite",
            f"W0 open a fresh file (median of {n_file})",
            "ms",
            statistics.median(fresh) * ms,
            statistics.median(fresh_raw) * ms,
        ),
        Row(
            "sqlite",
            f"W0 open an existing file (median of {n_file})",
            "ms",
            statistics.median(reopen) * ms,
            statistics.median(reopen_raw) * ms,
        ),
    ]


BLOCK = 500  # W1/W2 alternate between taskstore and raw every BLOCK operations (same noise for both)


def w1_pair(a: Any, b: Any, tasks: Sequence[Task]) -> tuple[float, list[str], float, list[str]]:
    """Create ``tasks`` on ``a`` and on ``b``, one call each, alternating in blocks; (rate, ids) for each."""
    gc.collect()
    ids_a: list[str] = []
    ids_b: list[str] = []
    ta = tb = 0.0
    for lo in range(0, len(tasks), BLOCK):
        chunk = tasks[lo : lo + BLOCK]
        t0 = time.perf_counter()
        ids_a += [a.create(t) for t in chunk]
        t1 = time.perf_counter()
        ids_b += [b.create(t) for t in chunk]
        t2 = time.perf_counter()
        ta, tb = ta + t1 - t0, tb + t2 - t1
    return len(tasks) / ta, ids_a, len(tasks) / tb, ids_b


def w2_pair(a: Any | None, ids_a: Sequence[str], b: Any, ids_b: Sequence[str]) -> tuple[float | None, float]:
    """started then completed for every id, one call each, alternating in blocks (``a`` may be None)."""
    gc.collect()
    ta = tb = 0.0
    for lo in range(0, len(ids_b), BLOCK):
        t0 = time.perf_counter()
        if a is not None:
            for tid in ids_a[lo : lo + BLOCK]:
                a.start(tid)
                a.complete(tid)
        t1 = time.perf_counter()
        for tid in ids_b[lo : lo + BLOCK]:
            b.start(tid)
            b.complete(tid)
        t2 = time.perf_counter()
        ta, tb = ta + t1 - t0, tb + t2 - t1
    return (2 * len(ids_a) / ta if a is not None else None), 2 * len(ids_b) / tb


def get_pair(
    a: Any, ids_a: Sequence[str], b: Any, ids_b: Sequence[str], warmup: int = 200
) -> tuple[list[float], list[float]]:
    """get latencies of the same tasks on both, alternating call by call."""
    for k in range(min(warmup, len(ids_a))):
        a.get(ids_a[k])
        b.get(ids_b[k])
    la, lb = [], []
    for x, y in zip(ids_a, ids_b, strict=True):
        t0 = time.perf_counter()
        a.get(x)
        t1 = time.perf_counter()
        b.get(y)
        t2 = time.perf_counter()
        la.append(t1 - t0)
        lb.append(t2 - t1)
    return la, lb


def check_same(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    """A cloned task must come back like a created one (same fields, 20 params, 5 tags)."""
    if set(a) != set(b):
        raise RuntimeError(f"{what}: cloned task has fields {sorted(set(a) ^ set(b))} different from a created one")
    for d in (a, b):
        if len(d["hyperparams"]["Args"]) != N_HPARAMS or len(d["tags"]) != len(TAG_KEYS):
            raise RuntimeError(f"{what}: incomplete task {d['id']}")


def run_backend(
    backend: str, ts: TaskstoreTarget, raw: Any, n1: int, n4: int, build: str, n_get: int, do_w2: bool
) -> list[Row]:
    rows: list[Row] = []
    tasks = [make_task(i) for i in range(max(n1, n4))]
    first = tasks[:n1]

    # W1 on both, each on its own fresh database, alternating in blocks.
    ts.open()
    raw.open()
    rate_ts, ids_ts, rate_raw, ids_raw = w1_pair(ts, raw, first)
    log(f"  {backend} W1: taskstore {rate_ts:,.0f} creates/s, raw {rate_raw:,.0f} creates/s")
    rows.append(
        Row(
            backend,
            f"W1 create {n1:,} tasks, one call each",
            "/s",
            rate_ts,
            rate_raw,
            (">=", 2500.0) if backend == "sqlite" else None,
        )
    )

    # W4 database: the W1 tasks plus the rest up to n4 (created status; W2 runs after W4).
    rest = tasks[n1:n4]
    t0 = time.perf_counter()
    more_ts = ts.extend(rest, ids_ts[0], build) if rest else []
    build_ts = time.perf_counter() - t0
    t0 = time.perf_counter()
    more_raw = raw.extend(rest, ids_raw[0], build) if rest else []
    build_raw = time.perf_counter() - t0
    log(f"  {backend} W4 build to {n4:,}: taskstore {build_ts:.1f}s ({build}), raw {build_raw:.1f}s")
    all_ts, all_raw = ids_ts + more_ts, ids_raw + more_raw
    rng = random.Random(3)
    pick = [rng.randrange(n4) for _ in range(n_get)]
    ts.close()
    ts.open()  # as a fresh process would see it (cold Python objects, warm OS cache)
    if more_ts:
        check_same(ts.get(ids_ts[0]), ts.get(more_ts[-1]), "W4 build")
    raw.close()
    raw.open()
    lat_ts, lat_raw = get_pair(ts, [all_ts[i] for i in pick], raw, [all_raw[i] for i in pick])
    ms = 1e3
    rows.append(
        Row(
            backend,
            f"W4 get_by_id p50 @ {n4:,} tasks",
            "ms",
            pct(lat_ts, 0.5) * ms,
            pct(lat_raw, 0.5) * ms,
            ("<=", 0.5) if backend == "sqlite" else None,
        )
    )
    rows.append(Row(backend, f"W4 get_by_id p95 @ {n4:,} tasks", "ms", pct(lat_ts, 0.95) * ms, pct(lat_raw, 0.95) * ms))
    log(f"  {backend} W4 p50: taskstore {pct(lat_ts, 0.5) * ms:.3f} ms, raw {pct(lat_raw, 0.5) * ms:.3f} ms")

    # W2 on the W1 tasks (they are still "created").
    rate2_ts, rate2_raw = w2_pair(ts if do_w2 else None, ids_ts, raw, ids_raw)
    if rate2_ts is not None:
        rows.append(Row(backend, f"W2 started + completed, {n1:,} tasks (one call each)", "/s", rate2_ts, rate2_raw))
    else:
        rows.append(
            Row(
                backend,
                f"W2 started + completed, {n1:,} tasks (one call each)",
                "/s",
                None,
                rate2_raw,
                note="n/a (not yet)",
            )
        )
    ts.close()
    raw.close()
    return rows


# ---------------------------------------------------------------------------------------------------
# PostgreSQL: a fresh database for the run
# ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def pg_database(url: str) -> Any:
    """Create ``taskstore_bench_<pid>`` next to the database of ``url``; yield its URL; drop it after."""
    import psycopg

    name = f"taskstore_bench_{os.getpid()}"
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    rest = libpq_url(url).split("://", 1)[1]
    base = rest.split("?", 1)[0].rsplit("/", 1)[0] if "/" in rest else rest
    new_url = f"postgresql://{base}/{name}"
    try:
        yield new_url
    finally:
        with psycopg.connect(libpq_url(url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_reset(url: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as c:
        c.execute("DROP SCHEMA public CASCADE")
        c.execute("CREATE SCHEMA public")


def w0_postgres(url: str, reps: int) -> list[Row]:
    from taskstore import TaskStore

    fresh, reopen, fresh_raw = [], [], []
    for _ in range(reps):
        pg_reset(url)
        dt, s = timed(TaskStore, url)
        fresh.append(dt)
        s.close()
        dt, s = timed(TaskStore, url)
        reopen.append(dt)
        s.close()
        pg_reset(url)
        r = RawPostgres(url)
        fresh_raw.append(timed(r.open)[0])
        r.close()
    reopen_raw = []
    for _ in range(reps):
        r = RawPostgres(url)
        reopen_raw.append(timed(r.open)[0])
        r.close()
    pg_reset(url)
    ms = 1e3
    return [
        Row(
            "postgres",
            f"W0 open a fresh database (median of {reps})",
            "ms",
            statistics.median(fresh) * ms,
            statistics.median(fresh_raw) * ms,
            note="raw: connect + CREATE TABLE",
        ),
        Row(
            "postgres",
            f"W0 open an existing database (median of {reps})",
            "ms",
            statistics.median(reopen) * ms,
            statistics.median(reopen_raw) * ms,
        ),
    ]


# ---------------------------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": "",
    }
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    for pkg in ("taskstore", "sqlalchemy", "psycopg"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            info[pkg] = None
    return info


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="W4: tasks in the database (default 100,000)")
    ap.add_argument("--n1", type=int, default=10_000, help="W1/W2: tasks created one call each (default 10,000)")
    ap.add_argument("--gets", type=int, default=3000, help="W4: timed get_by_id calls (default 3,000)")
    ap.add_argument("--quick", action="store_true", help="W1 2,000, W4 10,000, fewer repeats (~30 s)")
    ap.add_argument("--build", choices=("clone", "calls"), default="clone", help="how the W4 database grows (see top)")
    ap.add_argument("--pg", metavar="URL", help="also run on PostgreSQL (a fresh database is created next to URL)")
    ap.add_argument("--no-sqlite", action="store_true", help="skip the SQLite runs (with --pg)")
    ap.add_argument("--json", metavar="PATH", help="write the numbers here")
    ap.add_argument("--workdir", help="where SQLite files go (default: a temp dir, removed after)")
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.n1, a.gets = min(a.n, 10_000), min(a.n1, 2000), min(a.gets, 1000)
    a.n = max(a.n, a.n1)
    reps = 3 if a.quick else 5

    work = a.workdir or tempfile.mkdtemp(prefix="taskstore-bench-")
    os.makedirs(work, exist_ok=True)
    info = machine_info()
    do_w2 = has_endpoints("tasks.started", "tasks.completed")
    started = time.time()
    rows: list[Row] = []
    try:
        if not a.no_sqlite:
            log("== SQLite W0")
            rows += w0_process(work, reps)
            rows += w0_in_process(work, 50, 10 if not a.quick else 5)
            log("== SQLite W1/W4/W2")
            db = os.path.join(work, "bench.db")
            raw_db = os.path.join(work, "raw.db")
            rows += run_backend(
                "sqlite", TaskstoreTarget(f"sqlite:///{db}"), RawSqlite(raw_db), a.n1, a.n, a.build, a.gets, do_w2
            )
            rm_db(db)
            rm_db(raw_db)
        if a.pg:
            log("== PostgreSQL")
            with pg_database(a.pg) as url:
                rows += w0_postgres(url, reps)
                rows += run_backend(
                    "postgres", TaskstoreTarget(url), RawPostgres(url), a.n1, a.n, a.build, a.gets, do_w2
                )
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.time() - started

    print(
        f"taskstore {info['taskstore']} bench — Python {info['python']}, SQLite {info['sqlite']}, "
        f"SQLAlchemy {info['sqlalchemy']}, psycopg {info['psycopg']}, {info['cpus']} CPUs ({info['cpu']})"
    )
    print(
        f"W1 n={a.n1:,}; W4 n={a.n:,} (grown by {a.build}), {a.gets:,} timed gets; ts/raw = taskstore time per "
        f"operation ÷ raw's; run took {elapsed:.0f} s\n"
    )
    print(render(rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "params": vars(a),
                    "elapsed_s": elapsed,
                    "w2_available": do_w2,
                    "rows": [r.as_dict() for r in rows],
                },
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
