"""C2, overlapping batch writers: 6 processes each run reset_many / archive_many / enqueue_many /
delete_many over random, overlapping samples of one pool of task ids, in random order
(reliability.md §5 C2; an implementation that locks rows in request order deadlocks on PostgreSQL).

Fast variant (every CI run, SQLite file and PostgreSQL): 6 processes x 8 batches over 60 tasks.
Full variant (``pytest --soak``): 6 processes x 50 batches over 200 tasks.

Pass criteria:
* every call succeeds as a whole (no 5xx: no deadlock, lock timeout or "database is locked" reaches a
  caller; no exception that is not an APIError) and every process ends in time; on PostgreSQL no
  deadlock happens at all, not even one the dispatcher retried internally;
* each call's succeeded + failed ids are exactly its request ids (each once), each failure has a
  code ``LEGAL`` allows for that operation, and each success reports what its operation does;
* no task is deleted twice, and none is touched successfully after its deletion returned;
* afterwards: the tasks left are exactly the pool minus the deleted ones; every task a returned
  archive_many archived still carries ``archived`` (no operation removes it, so a missing tag is a lost
  update); queue entries and statuses agree (every entry names a queued task, every queued task has
  exactly one entry); SQLite's integrity checks pass.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from soak_workers import (
    Record,
    all_entries,
    assert_no_orphans,
    batch_writer,
    join_all,
    latency_ms,
    make_queue,
    outcome_counts,
    read_logs,
    spawn,
    statuses,
    total_retries,
    unexpected,
)

from taskstore import TaskStore

PROCESSES = 6
# scale: the batch sizes of soak_workers.BATCH_OPS (10-40 ids, deletes 1-4) times this.
FAST: dict[str, Any] = {"tasks": 60, "batches": 8, "scale": 0.5}
FULL: dict[str, Any] = {"tasks": 200, "batches": 50, "scale": 1.0}
TIMEOUT_S = 600

# A call as a whole never fails here (ids are never empty, the queue exists).
LEGAL_CALL: dict[str, set[tuple[int, int]]] = {
    "reset_many": set(),
    "archive_many": set(),
    "enqueue_many": set(),
    "delete_many": set(),
}
# The codes an id may fail with inside a call, and why.  Anything else fails the test.
LEGAL: dict[str, set[tuple[int, int]]] = {
    # 400/101: another process deleted the task.  reset refuses only published tasks (none here).
    "reset_many": {(400, 101)},
    # 400/101: deleted.  archive_many has no status rule.
    "archive_many": {(400, 101)},
    # 400/101: deleted; 400/110: already queued ("Task already in requested status").
    "enqueue_many": {(400, 101), (400, 110)},
    # 400/101: deleted (by another process); 400/123: not created and not archived (a queued task).
    "delete_many": {(400, 101), (400, 123)},
}
# What a succeeded item reports: the new status, or what was done to the task.
DONE = {"reset_many": "created", "archive_many": "archived", "enqueue_many": "queued", "delete_many": "deleted"}


def test_legal_table_covers_every_batch_endpoint() -> None:
    """The worker draws its endpoints from soak_workers.BATCH_OPS: each one must have a row here."""
    from soak_workers import BATCH_OPS

    assert {endpoint.split(".")[1] for _, endpoint, _, _ in BATCH_OPS} == set(LEGAL) == set(DONE) == set(LEGAL_CALL)


@pytest.mark.file_backends
def test_overlapping_batch_writers(db_url: str, make_store: Any, tmp_path: Path, soak: bool, backend: str) -> None:
    params = FULL if soak else FAST
    store: TaskStore = make_store(company="acme", user="alice")
    # Several queues and projects: a batch touches the queue and project rows of its tasks too, and
    # those must not be locked in request order either.
    queues = [make_queue(store, name) for name in ("gpu queue", "cpu queue", "tpu queue")]
    projects = [store.call("projects.create", {"name": f"project {p}", "description": ""})["id"] for p in range(3)]
    ids = [
        store.call("tasks.create", {"name": f"job {i}", "type": "training", "project": projects[i % 3]})["id"]
        for i in range(params["tasks"])
    ]

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    paths = [tmp_path / f"c2-{i}.jsonl" for i in range(PROCESSES)]
    procs = []
    for i, path in enumerate(paths):
        args = (db_url, "acme", ids, queues, str(path), barrier, i, params["batches"], params["scale"])
        procs.append(spawn(ctx, batch_writer, *args, name=f"b{i}"))
    hung = join_all(procs, TIMEOUT_S)
    assert hung == [], f"processes hung: {hung}"
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    log = read_logs(paths)
    calls = [r for r in log if r["op"] != "done"]
    done = [r for r in log if r["op"] == "done"]
    print(f"\n[{backend}] {summary(calls, done, params)}")

    assert len(calls) == PROCESSES * params["batches"]
    assert unexpected(calls, LEGAL_CALL) == []
    # Not even internally: rows are locked in one canonical order, so a deadlock (or serialization
    # failure) the dispatcher would retry means that order was broken somewhere.
    assert {code: n for code, n in total_retries(done).items() if code in ("40P01", "40001")} == {}
    wrong_ids = [
        r for r in calls if sorted([s[0] for s in r["succeeded"]] + [f[0] for f in r["failed"]]) != sorted(r["ids"])
    ]
    assert wrong_ids == [], wrong_ids[:3]
    bad_codes = [(r["op"], f) for r in calls for f in r["failed"] if (f[1], f[2]) not in LEGAL[r["op"]]]
    assert bad_codes == [], bad_codes[:10]
    bad_results = [(r["op"], s) for r in calls for s in r["succeeded"] if s[1] != DONE[r["op"]]]
    assert bad_results == [], bad_results[:10]

    # Deletions: each task at most once, and nothing succeeds on a task after its deletion returned.
    deleted_at: dict[str, float] = {}
    deletions = Counter(s[0] for r in calls if r["op"] == "delete_many" for s in r["succeeded"])
    assert {t: n for t, n in deletions.items() if n > 1} == {}
    for r in calls:
        if r["op"] == "delete_many":
            deleted_at.update((s[0], r["t1"]) for s in r["succeeded"])
    revived = [
        (r["op"], s[0]) for r in calls for s in r["succeeded"] if s[0] in deleted_at and r["t0"] > deleted_at[s[0]]
    ]
    assert revived == [], revived[:10]

    check_end_state(store, ids, set(deleted_at), calls)


def check_end_state(store: TaskStore, ids: list[str], deleted: set[str], calls: list[Record]) -> None:
    status = statuses(store)
    assert sorted(status) == sorted(set(ids) - deleted)  # no task lost, none deleted twice or revived
    assert set(status.values()) <= {"created", "queued"}, Counter(status.values())
    assert_no_orphans(store)  # every entry names a queued task, no task in a queue twice
    assert sorted(t for t, s in status.items() if s == "queued") == sorted(t for _, t in all_entries(store))
    archived = {s[0] for r in calls if r["op"] == "archive_many" for s in r["succeeded"]} - deleted
    tagged = {
        t["id"]
        for t in store.call("tasks.get_all", {"system_tags": ["archived"], "only_fields": ["id"], "page_size": 500})[
            "tasks"
        ]
    }
    assert sorted(archived - tagged) == []  # an archive that returned is never lost
    if store._db.dialect == "sqlite":
        with store._db.transaction(write=False) as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def summary(calls: list[Record], done: list[Record], params: dict[str, Any]) -> str:
    wall = max(r["t1"] for r in calls) - min(r["t0"] for r in calls)
    items: Counter[str] = Counter()
    for r in calls:
        items[f"{r['op']} ok"] += len(r.get("succeeded", []))
        for f in r.get("failed", []):
            items[f"{r['op']} {f[1]}/{f[2]}"] += 1
    counts = {op: dict(c) for op, c in sorted(outcome_counts(calls).items())}
    return (
        f"C2 {PROCESSES} processes x {params['batches']} batches over {params['tasks']} tasks: {wall:.2f} s; "
        f"p50/p99 batch {latency_ms(calls, 0.5):.0f}/{latency_ms(calls, 0.99):.0f} ms; "
        f"internal retries {dict(total_retries(done))}; calls {counts}; items {dict(sorted(items.items()))}"
    )
