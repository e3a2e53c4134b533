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

``workload.py`` holds the pieces (``make_task``, ``create_body``, ``TaskstoreTarget``,
``RawSqlite``, ``clone_build``, ``has_endpoints``) that bench/anchors_slot.py uses to put taskstore
into the shared anchors table.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from measure import (
    Row,
    log,
    machine_info,
    pct,
    render,
    run_py,
    timed,
)
from workload import (
    N_HPARAMS,
    TAG_KEYS,
    RawPostgres,
    RawSqlite,
    Task,
    TaskstoreTarget,
    create_body,
    has_endpoints,
    libpq_url,
    make_task,
    raw_doc,
    rm_db,
)

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
