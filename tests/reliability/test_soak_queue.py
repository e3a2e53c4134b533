"""C1, queue soak: worker processes pop, start, ping, complete, fail and re-enqueue while one chaos
process stops, resets, archives, dequeues and re-enqueues random tasks (reliability.md §5 C1).

Fast variant (every CI run, SQLite file and PostgreSQL): 4 workers + chaos over 80 tasks (in 2
projects) and 3 queues (one of them the default queue); the cycles are bounded by the chaos budget
(300 calls) and the workers' pop limit.
Full variant (``pytest --soak``): the issue's load, 600 tasks with 16 workers + chaos, and the same
workload with 1 and 4 workers to measure the throughput ratio (printed, not asserted: speed is
measured, never asserted, in this project; the issue's bound is 4 workers >= 0.3 x 1 worker).

Pass criteria, from the processes' call logs (soak_workers.py) and the database afterwards:
* every call ended in success or in an error listed for that operation in ``LEGAL`` below; nothing
  else: no 5xx (so no "database is locked", deadlock or lock timeout reached a caller), no
  exception that is not an APIError, no worker hitting its deadline; on PostgreSQL no deadlock
  happened at all, not even one the dispatcher retried internally;
* every enqueue cycle is handed out at most once: a cycle is identified by (task, instant), since
  the queue entry an enqueue makes carries the enqueue's own instant (``added`` = the response's
  ``status_changed``); every pop must name a cycle some successful enqueue made before it, no cycle
  is popped more often than it was made, no pop returns a cycle after a status change out of
  ``queued`` on that task returned (a ghost entry), and per task the successful ``tasks.started``
  calls after a pop never outnumber the successful enqueues;
* every successful call reports the status its operation moves to;
* afterwards every queue entry names a ``queued`` task whose ``execution.queue`` is that queue, every
  ``queued`` task has exactly one entry, every status is one the protocol can leave a task in (no
  task is left ``in_progress``: each worker follows every start it won with a completed / failed /
  reset call), the queue contents the API serves agree, and SQLite's integrity checks pass.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from soak_workers import (
    Record,
    all_entries,
    assert_no_orphans,
    chaos,
    join_all,
    latency_ms,
    make_queue,
    outcome_counts,
    queue_worker,
    read_logs,
    spawn,
    statuses,
    total_retries,
    unexpected,
)

from taskstore import TaskStore

# The codes each operation may legally meet in this race, and why.  Anything else fails the test.
LEGAL: dict[str, set[tuple[int, int]]] = {
    # queues.get_next_task on an existing queue of the caller: empty or an entry, never an error.
    "pop": set(),
    # tasks.started after a pop: 400/110 when the task was moved meanwhile to a status that may not go
    # to in_progress (failed: another worker started an older pop of it and failed it); 400/121 when
    # a concurrent status change won the compare-and-set.
    "started": {(400, 110), (400, 121)},
    # tasks.ping never fails for a task of the caller's company.
    "ping": set(),
    # completed / failed: 400/110 when the chaos process reset (created) or re-queued the running
    # task, or another worker already finished it the other way; 400/121 a lost compare-and-set.
    "completed": {(400, 110), (400, 121)},
    "failed": {(400, 110), (400, 121)},
    # tasks.reset refuses only published tasks (none here): a lost compare-and-set only.
    "reset": {(400, 121)},
    # tasks.enqueue (no force): 400/110 when the task is no longer created/stopped ("Task already in
    # requested status" when someone queued it first); 400/121 a lost compare-and-set.
    "enqueue": {(400, 110), (400, 121)},
    # tasks.stop: 400/110 for created / completed tasks without force; 400/121 a lost compare-and-set.
    "stop": {(400, 110), (400, 121)},
    "stop_force": {(400, 121)},
    # tasks.dequeue: 400/101 when the task is not queued (any more); 400/703 when it is queued but a
    # worker popped its entry and has not called started yet; 400/121 a lost compare-and-set.
    "dequeue": {(400, 101), (400, 703), (400, 121)},
    # tasks.archive_many as a whole never fails (its items are checked separately: none may fail).
    "archive": set(),
}
# What a successful call reports as the task's new status.
TARGET = {
    "started": {"in_progress"},
    "completed": {"completed"},
    "failed": {"failed"},
    "reset": {"created"},
    "enqueue": {"queued"},
    "stop": {"stopped"},
    "stop_force": {"stopped"},
    "dequeue": {"created", "stopped"},  # back to the status it was queued from
}
# Successful calls that leave a task in a status other than queued: its queue entries are gone after them.
LEAVES_QUEUED = {"started", "completed", "failed", "reset", "stop", "stop_force", "dequeue"}
# The statuses a task can rest in once every process is done.
FINAL_STATUSES = {"created", "queued", "stopped", "failed", "completed"}

FAST: dict[str, Any] = {"tasks": 80, "workers": [4]}
FULL: dict[str, Any] = {"tasks": 600, "workers": [1, 4, 16]}


def config(tasks: int, workers: int, full: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(worker cfg, chaos cfg).  Chaos pauses 20 ms between calls (5 ms in the fast variant, for more
    races in a short run) until the workers are done or its budget is spent."""
    worker = {
        "max_pops": 2 * tasks,
        "empty_rounds": 3,
        "work_ms": 2.0,
        "gap_ms": 2.0,
        "deadline_s": 900.0 if full else 240.0,
    }
    return worker, {"max_ops": 3000 if full else 300, "pause_s": 0.02 if full else 0.005}


def prepare(store: TaskStore, tasks: int) -> tuple[list[str], list[str], str, list[Record]]:
    """Three queues (the third is the default), ``tasks`` tasks enqueued round-robin; the log records
    of those first enqueues (same shape as the workers' ``enqueue`` records)."""
    queues = [
        make_queue(store, "gpu queue"),
        make_queue(store, "cpu queue"),
        make_queue(store, "default", system_tags=["default"]),
    ]
    # Tasks in two projects: every status change also touches its project's row.
    projects = [store.call("projects.create", {"name": f"project {p}", "description": ""})["id"] for p in range(2)]
    ids = [
        store.call("tasks.create", {"name": f"job {i}", "type": "training", "project": projects[i % 2]})["id"]
        for i in range(tasks)
    ]
    records: list[Record] = []
    for n, queue in enumerate(queues):
        part = ids[n :: len(queues)]
        body: dict[str, Any] = {"ids": part} if n == 2 else {"ids": part, "queue": queue}  # default: no queue
        t0 = time.monotonic()
        result = store.call("tasks.enqueue_many", body)
        t1 = time.monotonic()
        assert result["failed"] == []
        for item in result["succeeded"]:
            assert item["fields"]["execution.queue"] == queue
            fields = item["fields"]
            records.append(
                dict(
                    proc="setup",
                    op="enqueue",
                    task=item["id"],
                    ok=True,
                    t0=t0,
                    t1=t1,
                    added=fields["status_changed"],
                    status=fields["status"],
                )
            )
    return ids, queues, queues[2], records


def run(db_url: str, store: TaskStore, tmp_path: Path, workers: int, tasks: int, full: bool) -> dict[str, Any]:
    """One soak run in the company of ``store``; returns its log and measurements."""
    ids, queues, default, setup = prepare(store, tasks)
    worker_cfg, chaos_cfg = config(tasks, workers, full)
    ctx = multiprocessing.get_context("spawn")
    barrier, stop = ctx.Barrier(workers + 1), ctx.Event()
    tag = f"{store.company}-{workers}"
    paths = [tmp_path / f"c1-{tag}-w{i}.jsonl" for i in range(workers)]
    chaos_path = tmp_path / f"c1-{tag}-chaos.jsonl"
    chaos_args = (db_url, store.company, ids, queues, default, str(chaos_path), barrier, stop, 1000, chaos_cfg)
    chaos_proc = spawn(ctx, chaos, *chaos_args, name="chaos")
    procs = []
    for i, path in enumerate(paths):
        args = (db_url, store.company, queues, default, str(path), barrier, i, worker_cfg)
        procs.append(spawn(ctx, queue_worker, *args, name=f"worker-{i}"))
    hung = join_all(procs, worker_cfg["deadline_s"] + 120)
    stop.set()
    hung += join_all([chaos_proc], 120)
    assert hung == [], f"processes hung: {hung}"
    assert [p.exitcode for p in [*procs, chaos_proc]] == [0] * (workers + 1)
    worker_log = read_logs(paths)
    log = setup + worker_log + read_logs([chaos_path])
    done = [r for r in worker_log if r["op"] == "done"]
    wall = max(r["t1"] for r in done) - min(r["began"] for r in done)
    cycles = sum(1 for r in worker_log if r["op"] == "started" and r["ok"])
    ok_calls = sum(1 for r in log if r["op"] not in ("done", "pop") and r["ok"] and r["proc"] != "setup")
    return dict(
        company=store.company,
        workers=workers,
        tasks=tasks,
        ids=ids,
        queues=queues,
        log=log,
        done=done,
        wall=wall,
        cycles=cycles,
        rate=cycles / wall,
        ops_rate=ok_calls / wall,
    )


def check_log(r: dict[str, Any]) -> None:
    log: list[Record] = r["log"]
    assert [d["proc"] for d in r["done"] if d["reason"] not in ("empty", "max_pops")] == [], r["done"]
    bad = unexpected(log, LEGAL)
    assert bad == [], bad[:10]
    # Every call takes its rows in one order (tasks, queues, projects): not even a deadlock the
    # dispatcher retried internally may happen on PostgreSQL.
    assert {code: n for code, n in total_retries(log).items() if code in ("40P01", "40001")} == {}
    archive_failures = [f for x in log if x["op"] == "archive" and x["ok"] for f in x["failed"]]
    assert archive_failures == []
    wrong = [x for x in log if x["op"] in TARGET and x["ok"] and x["status"] not in TARGET[x["op"]]]
    assert wrong == [], wrong[:10]

    # Enqueue cycles: (task, instant) of each successful enqueue; each pop must name one made before it.
    made: Counter[tuple[str, str]] = Counter()
    began: dict[tuple[str, str], float] = {}  # the earliest start of an enqueue that made the cycle
    ended: dict[tuple[str, str], float] = {}  # the latest return of one
    for x in log:
        if x["op"] == "enqueue" and x["ok"]:
            key = (x["task"], x["added"])
            made[key] += 1
            began[key] = min(began.get(key, x["t0"]), x["t0"])
            ended[key] = max(ended.get(key, x["t1"]), x["t1"])
    pops = [x for x in log if x["op"] == "pop" and x.get("task")]
    popped = Counter((x["task"], x["added"]) for x in pops)
    assert {k: (n, made[k]) for k, n in popped.items() if n > made[k]} == {}  # none handed out twice
    assert [x for x in pops if x["t1"] < began[(x["task"], x["added"])]] == []  # none before it was made
    # No ghost entries: once a status change out of queued (or on a task that is no longer queued)
    # succeeded after the cycle was made, that cycle's entry is gone, so no later pop may return it.
    leaving: dict[str, list[Record]] = {}
    for x in log:
        if x["op"] in LEAVES_QUEUED and x["ok"]:
            leaving.setdefault(x["task"], []).append(x)
    ghosts = [
        (p, x)
        for p in pops
        for x in leaving.get(p["task"], [])
        if ended[(p["task"], p["added"])] < x["t0"] and x["t1"] < p["t0"]
    ]
    assert ghosts == [], ghosts[:5]
    started = Counter(x["task"] for x in log if x["op"] == "started" and x["ok"])
    per_task = Counter(task for task, _ in made.elements())
    assert {t: (n, per_task[t]) for t, n in started.items() if n > per_task[t]} == {}
    assert set(r["ids"]) <= set(per_task)  # every task went through at least the first cycle


def check_database(store: TaskStore, runs: list[dict[str, Any]], make_store: Any) -> None:
    """Queue entries and task statuses agree, in the tables and through the API."""
    assert_no_orphans(store)  # every entry names a queued task; no task in a queue twice or in two queues
    status = statuses(store)
    entries = all_entries(store)
    assert sorted(t for t, s in status.items() if s == "queued") == sorted(t for _, t in entries)
    assert set(status.values()) <= FINAL_STATUSES, Counter(status.values())
    assert sorted(status) == sorted(t for r in runs for t in r["ids"])  # no task lost or made
    for r in runs:
        view = make_store(company=r["company"], user="auditor")
        served = {q["id"]: [e["task"] for e in q["entries"]] for q in view.call("queues.get_all", {})["queues"]}
        assert set(served) == set(r["queues"])
        in_queue = {t: q for q, ts in served.items() for t in ts}
        queued = queued_tasks(view)
        assert in_queue == queued, "queue entries served differ from the queued tasks' execution.queue"
    if store._db.dialect == "sqlite":
        with store._db.transaction(write=False) as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def queued_tasks(store: TaskStore) -> dict[str, str]:
    """task id -> execution.queue of every queued task of the store's company, through tasks.get_all."""
    out: dict[str, str] = {}
    page = 0
    while True:
        got = store.call(
            "tasks.get_all",
            {"status": ["queued"], "only_fields": ["id", "execution.queue"], "page": page, "page_size": 500},
        )["tasks"]
        out.update((t["id"], t["execution"]["queue"]) for t in got)
        if len(got) < 500:
            return out
        page += 1


def summary(r: dict[str, Any]) -> str:
    log = [x for x in r["log"] if x["proc"] != "setup"]
    counts = {op: dict(c) for op, c in sorted(outcome_counts(log).items())}
    return (
        f"C1 {r['workers']:>2} workers + chaos, {r['tasks']} tasks: {r['cycles']} started cycles in "
        f"{r['wall']:.2f} s = {r['rate']:.1f} cycles/s, {r['ops_rate']:.1f} successful calls/s; "
        f"p50/p99 call {latency_ms(log, 0.5):.1f}/{latency_ms(log, 0.99):.1f} ms; "
        f"internal retries {dict(total_retries(log))}; outcomes {counts}"
    )


@pytest.mark.file_backends
def test_queue_soak(db_url: str, make_store: Any, tmp_path: Path, soak: bool, backend: str) -> None:
    params = FULL if soak else FAST
    runs = []
    for workers in params["workers"]:
        # One company per run: its own queues (and default queue), so runs never see each other's entries.
        store: TaskStore = make_store(company=f"acme{workers}", user="alice")
        r = run(db_url, store, tmp_path, workers, params["tasks"], soak)
        print(f"\n[{backend}] {summary(r)}")
        check_log(r)
        runs.append(r)
    check_database(make_store(company="acme", user="alice"), runs, make_store)
    if soak:
        rates = {r["workers"]: r["rate"] for r in runs}
        # Measured and reported, deliberately not asserted (project rule: speed is measured in bench/).
        print(f"[{backend}] C1 throughput ratio 4 workers / 1 worker = {rates[4] / rates[1]:.2f} (issue bound: >= 0.3)")
