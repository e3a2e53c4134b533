#!/usr/bin/env python3
"""Queue throughput: K worker processes pop from one queue and start what they get (issue 3 target).

    python bench/queue_throughput.py                      # SQLite file, 4 workers, 4,000 tasks
    python bench/queue_throughput.py --workers 8 --tasks 2000
    python bench/queue_throughput.py --pg postgresql://postgres@127.0.0.1:5432/ts_bench
    python bench/queue_throughput.py --profile            # cProfile of one worker, top functions

Each worker loops ``queues.get_next_task`` -> ``tasks.started`` (two write transactions per task)
until the queue stays empty.  Reported: tasks/s over the wall time from the start barrier to the last
worker's end, duplicates (a task popped twice), errors, the same loop's single-process rate, and per
call the time spent waiting for the write lock (connect + BEGIN) and holding it (handler + COMMIT).
Not a test: nothing is asserted.  Target (issue 3): >= 1,000 tasks/s with 4 workers on SQLite, zero
duplicates.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import tempfile
import time
from collections import Counter
from typing import Any

from taskstore import APIError, TaskStore

EMPTY_POLLS = 3


def flock_writes(url: str) -> None:
    """Experiment (``--flock``): serialize SQLite write transactions on an OS file lock taken before
    ``BEGIN IMMEDIATE``.  A waiter then sleeps in the kernel and wakes the moment the lock is free,
    instead of SQLite's busy handler polling with sleeps of 1, 2, 5, 10 ... ms."""
    import fcntl
    from collections.abc import Iterator
    from contextlib import contextmanager

    from sqlalchemy import Connection
    from sqlalchemy.engine import make_url

    from taskstore.db.engine import Database

    fd = os.open(f"{make_url(url).database}.lock", os.O_CREAT | os.O_RDWR)
    plain = Database.transaction

    @contextmanager
    def transaction(self: Database, *, write: bool = True) -> Iterator[Connection]:
        if not write:
            with plain(self, write=False) as conn:
                yield conn
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with plain(self, write=True) as conn:
                yield conn
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    Database.transaction = transaction  # type: ignore[method-assign]


# Seconds a worker spent: waiting for the write lock (connect + BEGIN IMMEDIATE), holding it (the handler
# and COMMIT), and in calls overall.  Filled by time_transactions().
TIMES = {"wait": 0.0, "hold": 0.0, "calls": 0.0, "n": 0}


def time_transactions() -> None:
    """Wrap Database.transaction to measure lock wait and lock hold per call."""
    from collections.abc import Iterator
    from contextlib import contextmanager

    from sqlalchemy import Connection

    from taskstore.db.engine import Database

    plain = Database.transaction

    @contextmanager
    def transaction(self: Database, *, write: bool = True) -> Iterator[Connection]:
        asked = time.perf_counter()
        with plain(self, write=write) as conn:
            got = time.perf_counter()
            TIMES["wait"] += got - asked
            try:
                yield conn
            finally:
                TIMES["n"] += 1
        TIMES["hold"] += time.perf_counter() - got

    Database.transaction = transaction  # type: ignore[method-assign]


def worker(url: str, queue: str, barrier: Any, results: Any, profile: bool, flock: bool = False) -> None:
    try:
        _worker(url, queue, barrier, results, profile, flock)
    except BaseException as exc:  # never leave the parent waiting
        barrier.abort()
        results.put({"popped": [], "errors": [f"worker died: {exc!r}"], "began": 0.0, "ended": 0.0, "profile": ""})
        raise


def _worker(url: str, queue: str, barrier: Any, results: Any, profile: bool, flock: bool) -> None:
    if flock:
        flock_writes(url)
    time_transactions()
    store = TaskStore(url, company="bench", user="worker")
    store.call("queues.get_by_id", {"queue": queue})  # warm: schema, engine, first connection
    popped: list[str] = []
    errors: list[str] = []
    prof = cProfile.Profile() if profile else None
    barrier.wait()
    TIMES.update(wait=0.0, hold=0.0, n=0)
    began = time.perf_counter()
    if prof:
        prof.enable()
    empties = 0
    while empties < EMPTY_POLLS:
        try:
            entry = store.call("queues.get_next_task", {"queue": queue}).get("entry")
        except APIError as exc:
            errors.append(f"pop {exc.code}/{exc.subcode} {exc.message}")
            continue
        if not entry:
            empties += 1
            time.sleep(0.002)
            continue
        empties = 0
        popped.append(entry["task"])
        try:
            store.call("tasks.started", {"task": entry["task"]})
        except APIError as exc:
            errors.append(f"started {exc.code}/{exc.subcode} {exc.message}")
    ended = time.perf_counter()
    text = ""
    if prof:
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(35)
        text = buf.getvalue()
    store.close()
    results.put({"popped": popped, "errors": errors, "began": began, "ended": ended, "profile": text, **TIMES})


def fill(url: str, n: int) -> str:
    store = TaskStore(url, company="bench", user="bench")
    queue = str(store.call("queues.create", {"name": "bench queue"})["id"])
    for start in range(0, n, 500):
        ids = [
            store.call("tasks.create", {"name": f"job {i}", "type": "training"})["id"]
            for i in range(start, min(n, start + 500))
        ]
        store.call("tasks.enqueue_many", {"ids": ids, "queue": queue})
    store.close()
    return queue


def run(url: str, workers: int, tasks: int, profile: bool = False, flock: bool = False) -> dict[str, Any]:
    queue = fill(url, tasks)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(url, queue, barrier, results, profile and i == 0, flock))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    outs = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    popped = Counter(t for o in outs for t in o["popped"])
    wall = max(o["ended"] for o in outs) - min(o["began"] for o in outs)
    # The last EMPTY_POLLS empty pops of each worker are not work; they cost a few ms at most.
    return {
        "workers": workers,
        "tasks": tasks,
        "wall_s": wall,
        "tasks_per_s": len(popped) / wall,
        "started": sum(popped.values()),
        "distinct": len(popped),
        "duplicates": sum(n - 1 for n in popped.values() if n > 1),
        "errors": [e for o in outs for e in o["errors"]],
        "per_worker": [len(o["popped"]) for o in outs],
        # Per call, averaged over workers: ms waiting for the write lock, ms holding it.
        "wait_ms": 1000 * sum(o.get("wait", 0.0) for o in outs) / max(1, sum(o.get("n", 0) for o in outs)),
        "hold_ms": 1000 * sum(o.get("hold", 0.0) for o in outs) / max(1, sum(o.get("n", 0) for o in outs)),
        "profile": next((o["profile"] for o in outs if o["profile"]), ""),
    }


def fresh_sqlite(work: str, name: str) -> str:
    path = os.path.join(work, name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return f"sqlite:///{path}"


def fresh_pg(url: str) -> str:
    from sqlalchemy import create_engine, text

    from taskstore.db.engine import normalize_url
    from taskstore.db.records import Base

    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        names = [t.name for t in Base.metadata.sorted_tables] + ["taskstore_alembic_version"]
        conn.execute(text("DROP TABLE IF EXISTS " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
    engine.dispose()
    return url


def show(label: str, r: dict[str, Any]) -> None:
    print(
        f"{label:<22} workers={r['workers']:<2} tasks={r['tasks']:<6} wall={r['wall_s']:.2f}s "
        f"rate={r['tasks_per_s']:,.0f} tasks/s  started={r['started']} distinct={r['distinct']} "
        f"duplicates={r['duplicates']} errors={len(r['errors'])} per-worker={r['per_worker']} "
        f"lock wait/hold per call={r['wait_ms']:.2f}/{r['hold_ms']:.2f} ms"
    )
    for e in r["errors"][:5]:
        print("   ", e)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=4000)
    ap.add_argument(
        "--pg", metavar="URL", help="also run on this PostgreSQL database (its taskstore tables are dropped)"
    )
    ap.add_argument("--profile", action="store_true", help="cProfile worker 0 and print its top functions")
    ap.add_argument("--flock", action="store_true", help="also run SQLite with writes serialized on a file lock")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        show("sqlite file, 1 worker", run(fresh_sqlite(work, "q1.db"), 1, args.tasks))
        r = run(fresh_sqlite(work, "qk.db"), args.workers, args.tasks, args.profile)
        show(f"sqlite file, {args.workers} workers", r)
        if args.flock:
            show(
                f"sqlite+flock, {args.workers} w",
                run(fresh_sqlite(work, "qf.db"), args.workers, args.tasks, flock=True),
            )
        if args.pg:
            show("postgresql, 1 worker", run(fresh_pg(args.pg), 1, args.tasks))
            show(f"postgresql, {args.workers} workers", run(fresh_pg(args.pg), args.workers, args.tasks))
        if r["profile"]:
            print(r["profile"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
