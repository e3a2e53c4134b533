#!/usr/bin/env python3
"""taskstore query benchmark (issue 3/6): get_all at 10k and 100k tasks, SQLite file and PostgreSQL.

    .venv/bin/python bench/query_bench.py                          # SQLite file, 10k and 100k
    .venv/bin/python bench/query_bench.py --sizes 10000 --pg postgresql://postgres@127.0.0.1:5432/ts_bench
    .venv/bin/python bench/query_bench.py --json out.json

Data: the anchors' tasks (/work/shared/bench/anchors.py ``make_task``: 20 string hyperparameters in
section "Args" with a numeric ``lr``, 5 tags), statuses cycling completed, completed, in_progress,
created.  The database is built by inserting copies of a row ``tasks.create`` wrote (own id, name,
tags, hyperparams, status) in one transaction - what that many creates would store, FTS rows and tag
rows included - and then measured through ``store.call`` only:

  W3      tags [grp-k] + status [completed], order_by -hyperparams.Args.lr.value, page of 50,
          only_fields id/status/tags/hyperparams (the anchors' query): p50 over rotating k
  scroll  every visible task, ids only, scroll_id + size 500 until exhausted: total seconds
  page500 no filter, only_fields of 5 fields (id, name, status, last_update, tags), page_size 500,
          pages rotating: p50
  W3 raw  the same W3 page through stdlib sqlite3 on the same file (tag side table join, ORDER BY
          CAST(json_extract(...) AS REAL)): the floor

Each W3 result is checked: rows match the filter and lr is in numeric descending order.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from workload import clearml_hyperparams, make_task  # noqa: E402

STATUS_CYCLE = ("completed", "completed", "in_progress", "created")
PAGE = 50
TARGETS = {"W3 p50 ms": 40.0, "scroll 100k s": 5.0, "page500 p50 ms": 50.0}


def build(url: str, n: int) -> None:
    """A store of ``n`` tasks at ``url`` (which must be empty)."""
    from sqlalchemy import insert, select

    from taskstore import TaskStore
    from taskstore.db.records import TaskRecord, TaskTagRecord

    store = TaskStore(url)
    template_id = store.call("tasks.create", {"name": "template", "type": "training"})["id"]
    tasks_t, tags_t = TaskRecord.__table__, TaskTagRecord.__table__
    with store._db.transaction(write=True) as conn:
        template = dict(conn.execute(select(tasks_t).where(tasks_t.c.id == template_id)).mappings().one())
        conn.execute(tasks_t.delete().where(tasks_t.c.id == template_id))
        for lo in range(0, n, 5000):
            rows, tag_rows = [], []
            for i in range(lo, min(n, lo + 5000)):
                t = make_task(i)
                tid = uuid.uuid4().hex
                status = STATUS_CYCLE[i % len(STATUS_CYCLE)]
                rows.append({**template, "id": tid, "name": t.name, "tags": list(t.tags), "status": status,
                             "hyperparams": clearml_hyperparams(t), "seq": i + 1})  # fmt: skip
                tag_rows += [{"task": tid, "system": False, "tag": g} for g in sorted(set(t.tags))]
            conn.execute(insert(tasks_t), rows)
            conn.execute(insert(tags_t), tag_rows)
    if store.dialect == "sqlite":
        with store._db.transaction(write=True) as conn:
            conn.exec_driver_sql("ANALYZE")
        raw = sqlite3.connect(url.split("///", 1)[1])
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
    else:
        with store._db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    store.close()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def w3_request(k: int) -> dict[str, Any]:
    return {
        "tags": [f"grp-{k}"], "status": ["completed"], "order_by": ["-hyperparams.Args.lr.value"],
        "page": 0, "page_size": PAGE, "only_fields": ["id", "status", "tags", "hyperparams"],
    }  # fmt: skip


def check_w3(tasks: list[dict[str, Any]], k: int) -> None:
    lrs = [float(t["hyperparams"]["Args"]["lr"]["value"]) for t in tasks]
    assert len(tasks) == PAGE, len(tasks)
    assert all(t["status"] == "completed" and f"grp-{k}" in t["tags"] for t in tasks)
    assert lrs == sorted(lrs, reverse=True), "not in numeric order"


def measure(url: str, n: int, reps: int) -> dict[str, float]:
    from taskstore import TaskStore

    out: dict[str, float] = {}
    store = TaskStore(url)
    try:
        for k in range(3):
            check_w3(store.call("tasks.get_all", w3_request(k))["tasks"], k)
        lat = [timed(lambda k=k: store.call("tasks.get_all", w3_request(k % 10)))[0] for k in range(reps)]
        out["W3 p50 ms"] = statistics.median(lat) * 1e3

        fields = ["id", "name", "status", "last_update", "tags"]
        lat = []
        for k in range(reps):
            dt, got = timed(lambda k=k: store.call("tasks.get_all", {"only_fields": fields, "page": k % 20,
                                                                      "page_size": 500}))  # fmt: skip
            assert len(got["tasks"]) == min(500, n - (k % 20) * 500) or n < 10_000
            lat.append(dt)
        out["page500 p50 ms"] = statistics.median(lat) * 1e3

        t0 = time.perf_counter()
        seen, sid, calls = 0, "", 0
        while True:
            got = store.call("tasks.get_all", {"scroll_id": sid, "size": 500, "only_fields": ["id"]})
            calls += 1
            sid = got["scroll_id"]
            if not got["tasks"]:
                break
            seen += len(got["tasks"])
        out[f"scroll {n // 1000}k s"] = time.perf_counter() - t0
        assert seen == n, (seen, n)
    finally:
        store.close()
    if url.startswith("sqlite"):
        out["W3 raw p50 ms"] = raw_w3(url.split("///", 1)[1], reps)
    return out


def raw_w3(path: str, reps: int) -> float:
    """The floor: the same page through stdlib sqlite3 on the same file."""
    c = sqlite3.connect(path)
    sql = (
        "SELECT t.id, t.status, t.tags, t.hyperparams FROM task_tags g JOIN tasks t ON t.id = g.task "
        "WHERE g.system = 0 AND g.tag = ? AND t.status = ? "
        "ORDER BY CAST(json_extract(t.hyperparams, '$.Args.lr.value') AS REAL) DESC LIMIT ?"
    )
    lat = []
    for k in range(reps):
        t0 = time.perf_counter()
        rows = [(i, s, json.loads(tg), json.loads(hp)) for i, s, tg, hp in c.execute(sql, (f"grp-{k % 10}", "completed",
                                                                                      PAGE))]  # fmt: skip
        lat.append(time.perf_counter() - t0)
        assert len(rows) == PAGE
    c.close()
    return statistics.median(lat) * 1e3


def reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    from taskstore.db.records import Base

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        names = [t.name for t in Base.metadata.sorted_tables] + ["taskstore_alembic_version"]
        conn.execute(text("DROP TABLE IF EXISTS " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--pg", help="also run on this (emptied!) PostgreSQL database")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    work = tempfile.mkdtemp(prefix="taskstore-qbench-")
    for n in (int(s) for s in args.sizes.split(",")):
        if not args.no_sqlite:
            url = f"sqlite:///{os.path.join(work, f'q{n}.db')}"
            dt, _ = timed(lambda url=url, n=n: build(url, n))
            print(f"sqlite n={n}: built in {dt:.1f} s", flush=True)
            results[f"sqlite {n}"] = measure(url, n, args.reps)
            print(f"  {json.dumps({k: round(v, 2) for k, v in results[f'sqlite {n}'].items()})}", flush=True)
        if args.pg:
            reset_pg(args.pg)
            dt, _ = timed(lambda n=n: build(args.pg, n))
            print(f"postgres n={n}: built in {dt:.1f} s", flush=True)
            results[f"postgres {n}"] = measure(args.pg, n, args.reps)
            print(f"  {json.dumps({k: round(v, 2) for k, v in results[f'postgres {n}'].items()})}", flush=True)
    print("\n| backend, tasks | " + " | ".join(sorted({k for r in results.values() for k in r})) + " |")
    for name, r in results.items():
        print(
            f"| {name} | "
            + " | ".join(f"{r.get(k, float('nan')):.1f}" for k in sorted({k for r in results.values() for k in r}))
            + " |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
