#!/usr/bin/env python3
"""Benchmark of issue 4/6: hyperparameters and metric summaries, with raw sqlite3 as the floor.

    python bench/params_bench.py                    # SQLite file in a temp dir
    python bench/params_bench.py --quick            # fewer calls (about 10 s)
    python bench/params_bench.py --pg postgresql://postgres@127.0.0.1:5432/test   # also PostgreSQL
    python bench/params_bench.py --json out.json

Workloads (targets from the issue, SQLite file):

  P1  ``tasks.edit_hyper_params`` upserting one param per call on a task with 20 params: calls/s
      (target >= 2,000/s).  Floor: BEGIN IMMEDIATE; read the task's status and hyperparams JSON;
      set one param; UPDATE; COMMIT.
  P2  ``events.add_batch`` of 100 scalar events (5 metrics x 20 iterations) for one task: events/s
      (target >= 50,000/s).  Floor: BEGIN IMMEDIATE; INSERT the 100 event rows (executemany); read the
      task's last_metrics; fold; UPDATE; COMMIT.
  P3  ``tasks.get_hyper_params`` for 1,000 tasks with 20 params each: ms per call, median of 10
      (target <= 100 ms).  Floor: SELECT id, hyperparams of the 1,000 ids; json.loads; flatten and sort.

Raw SQLite runs in WAL with synchronous=NORMAL on the same kind of rows (one JSON document per task),
without taskstore's indexes and triggers.  With ``--pg URL`` taskstore also runs on a fresh database
``taskstore_params_bench_<pid>`` next to URL's (dropped afterwards); there is no raw PostgreSQL floor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from taskstore import TaskStore

N_PARAMS = 20
METRICS = ("loss", "acc", "lr", "grad_norm", "throughput")


def hyperparams(i: int) -> dict[str, Any]:
    return {
        "Args": {f"p{j:02d}": {"section": "Args", "name": f"p{j:02d}", "value": f"{i}.{j}"} for j in range(N_PARAMS)}
    }


def events(task: str, batch: int) -> list[dict[str, Any]]:
    base = batch * 20
    return [
        {"task": task, "type": "training_stats_scalar", "metric": m, "variant": "train", "iter": base + it,
         "value": (base + it) * 0.001 + k, "timestamp": 1_700_000_000_000 + base + it}
        for it in range(20)
        for k, m in enumerate(METRICS)
    ]  # fmt: skip


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


# -- taskstore ------------------------------------------------------------------------------------------------
def ts_edit(store: TaskStore, calls: int) -> float:
    tid = store.call("tasks.create", {"name": "edit bench", "type": "training", "hyperparams": hyperparams(0)})["id"]
    bodies = [
        {"task": tid, "hyperparams": [{"section": "Args", "name": f"p{i % N_PARAMS:02d}", "value": str(i)}]}
        for i in range(calls)
    ]
    start = time.perf_counter()
    for body in bodies:
        store.call("tasks.edit_hyper_params", body)
    return rate(calls, time.perf_counter() - start)


def ts_events(store: TaskStore, batches: int) -> float:
    tid = store.call("tasks.create", {"name": "events bench", "type": "training"})["id"]
    store.call("tasks.started", {"task": tid})
    bodies = [events(tid, b) for b in range(batches)]
    start = time.perf_counter()
    for body in bodies:
        store.call("events.add_batch", body)
    return rate(batches * 100, time.perf_counter() - start)


def ts_get(store: TaskStore, n_tasks: int, reps: int) -> float:
    ids = [store.call("tasks.create", {"name": f"task {i}", "type": "training", "hyperparams": hyperparams(i)})["id"]
           for i in range(n_tasks)]  # fmt: skip
    got = store.call("tasks.get_hyper_params", {"tasks": ids})["params"]
    assert len(got) == n_tasks and all(len(p["hyperparams"]) == N_PARAMS for p in got)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        store.call("tasks.get_hyper_params", {"tasks": ids})
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


# -- raw sqlite3 ----------------------------------------------------------------------------------------------
RAW_DDL = (
    "CREATE TABLE tasks (id TEXT PRIMARY KEY, company TEXT, status TEXT, last_update TEXT, last_iteration INTEGER,"
    " hyperparams TEXT, last_metrics TEXT);"
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, task TEXT, type TEXT, metric TEXT, variant TEXT, iter INTEGER,"
    " timestamp TEXT, value REAL, data TEXT);"
    "CREATE INDEX ix_events_task_type ON events(task, type);"
)


def raw_open(path: str) -> sqlite3.Connection:
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    c.executescript(RAW_DDL)
    return c


def raw_insert(c: sqlite3.Connection, i: int) -> str:
    tid = uuid.uuid4().hex
    c.execute("INSERT INTO tasks VALUES (?, 'acme', 'created', '', 0, ?, '{}')", (tid, json.dumps(hyperparams(i))))
    return tid


def raw_edit(c: sqlite3.Connection, calls: int) -> float:
    tid = raw_insert(c, 0)
    start = time.perf_counter()
    for i in range(calls):
        c.execute("BEGIN IMMEDIATE")
        status, doc = c.execute("SELECT status, hyperparams FROM tasks WHERE id = ?", (tid,)).fetchone()
        assert status == "created"
        hp = json.loads(doc)
        name = f"p{i % N_PARAMS:02d}"
        hp.setdefault("Args", {})[name] = {"section": "Args", "name": name, "value": str(i)}
        c.execute("UPDATE tasks SET hyperparams = ?, last_update = ? WHERE id = ?", (json.dumps(hp), str(i), tid))
        c.execute("COMMIT")
    return rate(calls, time.perf_counter() - start)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def raw_events(c: sqlite3.Connection, batches: int) -> float:
    tid = raw_insert(c, 0)
    bodies = [events(tid, b) for b in range(batches)]
    start = time.perf_counter()
    for body in bodies:
        c.execute("BEGIN IMMEDIATE")
        c.executemany(
            "INSERT INTO events (task, type, metric, variant, iter, timestamp, value, data) "
            "VALUES (?,?,?,?,?,?,?,'{}')",
            [
                (e["task"], e["type"], e["metric"], e["variant"], e["iter"], str(e["timestamp"]), e["value"])
                for e in body
            ],
        )
        (doc,) = c.execute("SELECT last_metrics FROM tasks WHERE id = ?", (tid,)).fetchone()
        lm = json.loads(doc)
        for e in body:
            entry = lm.setdefault(md5(e["metric"]), {}).setdefault(md5(e["variant"]), {})
            entry.update(metric=e["metric"], variant=e["variant"], value=e["value"])
            entry["min_value"] = min(entry.get("min_value", e["value"]), e["value"])
            entry["max_value"] = max(entry.get("max_value", e["value"]), e["value"])
        it = max(e["iter"] for e in body)
        c.execute("UPDATE tasks SET last_metrics = ?, last_iteration = max(last_iteration, ?) WHERE id = ?",
                  (json.dumps(lm), it, tid))  # fmt: skip
        c.execute("COMMIT")
    return rate(batches * 100, time.perf_counter() - start)


def raw_get(c: sqlite3.Connection, n_tasks: int, reps: int) -> float:
    c.execute("BEGIN")
    ids = [raw_insert(c, i) for i in range(n_tasks)]
    c.execute("COMMIT")
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        marks = ",".join("?" * len(ids))
        rows = c.execute(f"SELECT id, hyperparams FROM tasks WHERE id IN ({marks})", ids).fetchall()
        out = []
        for tid, doc in rows:
            items = [p for sec in json.loads(doc).values() for p in sec.values()]
            items.sort(key=lambda p: (p["section"], p["name"]))
            out.append({"task": tid, "hyperparams": items})
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


# -- driver ---------------------------------------------------------------------------------------------------
def run_taskstore(url: str, sizes: dict[str, int]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, fn, n in (
        ("P1 edit_hyper_params calls/s", ts_edit, sizes["edit"]),
        ("P2 add_batch events/s", ts_events, sizes["batches"]),
    ):
        with TaskStore(url, company="acme", user="bench") as store:
            fn(store, max(10, n // 10))  # warm-up: compiled statements, schema, caches
            out[key] = fn(store, n)
    with TaskStore(url, company="acme", user="bench") as store:
        out["P3 get_hyper_params 1000x20 ms"] = ts_get(store, sizes["tasks"], sizes["reps"])
    return out


def run_raw(work: str, sizes: dict[str, int]) -> dict[str, float]:
    out: dict[str, float] = {}
    fns: tuple[tuple[str, Callable[..., float], tuple[int, ...]], ...] = (
        ("P1 edit_hyper_params calls/s", raw_edit, (sizes["edit"],)),
        ("P2 add_batch events/s", raw_events, (sizes["batches"],)),
        ("P3 get_hyper_params 1000x20 ms", raw_get, (sizes["tasks"], sizes["reps"])),
    )
    for n, (key, fn, args) in enumerate(fns):
        c = raw_open(os.path.join(work, f"raw{n}.db"))
        out[key] = fn(c, *args)
        c.close()
    return out


TARGETS = {
    "P1 edit_hyper_params calls/s": (">=", 2000.0),
    "P2 add_batch events/s": (">=", 50000.0),
    "P3 get_hyper_params 1000x20 ms": ("<=", 100.0),
}


def render(results: dict[str, dict[str, float]]) -> str:
    names = list(results)
    lines = ["| workload | " + " | ".join(names) + " | target | ts/raw (SQLite) |", "|---" * (len(names) + 3) + "|"]
    for key, (op, target) in TARGETS.items():
        cells = [f"{results[n][key]:,.1f}" if key in results[n] else "-" for n in names]
        ts, raw = results.get("taskstore sqlite", {}).get(key), results.get("raw sqlite3", {}).get(key)
        ratio = "-"
        if ts and raw:
            ratio = f"{raw / ts:.2f}x" if op == ">=" else f"{ts / raw:.2f}x"
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {op} {target:,.0f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", help="PostgreSQL URL whose server gets a temporary database")
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args(argv)
    sizes = {"edit": 2000, "batches": 100, "tasks": 1000, "reps": 5} if args.quick else {
        "edit": 10000, "batches": 500, "tasks": 1000, "reps": 10}  # fmt: skip
    work = tempfile.mkdtemp(prefix="params_bench_")
    results: dict[str, dict[str, float]] = {}
    try:
        results["taskstore sqlite"] = run_taskstore(f"sqlite:///{work}/ts.db", sizes)
        results["raw sqlite3"] = run_raw(work, sizes)
        if args.pg:
            results["taskstore postgres"] = run_pg(args.pg, sizes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(render(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"sizes": sizes, "results": results}, f, indent=2)
    return 0


def run_pg(url: str, sizes: dict[str, int]) -> dict[str, float]:
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"taskstore_params_bench_{os.getpid()}"
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return run_taskstore(base.rsplit("/", 1)[0] + "/" + name, sizes)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    raise SystemExit(main())
