"""Eight processes pop from one queue of 400 tasks and start what they get (reliability.md §5 C1/E2).

Every task must be popped and started exactly once, none lost, and no "database is locked",
deadlock, 500 or duplicate-pop symptom (400/110 or 400/121 on started) may reach a caller.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from mp_worker import enqueue_by_name, pop_and_start
from queue_support import all_entries, make_queue, statuses

from taskstore import TaskStore

WORKERS = 8
TASKS = 400


def run_workers(url: str, queue: str, tmp_path: Path, workers: int) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    procs = [
        ctx.Process(target=pop_and_start, args=(url, queue, str(tmp_path / f"w{i}.jsonl"), barrier))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive, "a worker hung"
    assert [p.exitcode for p in procs] == [0] * workers
    log: list[dict[str, Any]] = []
    for i in range(workers):
        log += [json.loads(line) for line in (tmp_path / f"w{i}.jsonl").read_text("utf-8").splitlines()]
    return log


@pytest.mark.file_backends
def test_eight_workers_start_every_task_exactly_once(db_url: str, make_store: Any, tmp_path: Path) -> None:
    store: TaskStore = make_store(company="acme", user="alice")
    queue = make_queue(store)
    ids = [store.call("tasks.create", {"name": f"job {i}", "type": "training"})["id"] for i in range(TASKS)]
    result = store.call("tasks.enqueue_many", {"ids": ids, "queue": queue})
    assert len(result["succeeded"]) == TASKS

    log = run_workers(db_url, queue, tmp_path, WORKERS)

    problems = [item for item in log if "error" in item or "exc" in item]
    assert problems == [], problems[:10]  # no locked / deadlock / 500 / 400/110 / 400/121
    popped = Counter(item["task"] for item in log if item["op"] == "pop")
    started = Counter(item["task"] for item in log if item["op"] == "started")
    assert [t for t, n in popped.items() if n > 1] == []  # no entry handed out twice
    assert set(popped) == set(ids)  # none lost
    assert started == Counter(ids)  # each started exactly once
    assert set(statuses(store).values()) == {"in_progress"}
    assert all_entries(store) == []
    assert store.call("queues.get_next_task", {"queue": queue}) == {}


@pytest.mark.file_backends
@pytest.mark.parametrize("name", ["shared", None], ids=["queue_name", "default"])
def test_concurrent_enqueues_create_one_queue(db_url: str, make_store: Any, tmp_path: Path, name: str | None) -> None:
    """Six processes enqueue by the same new queue name (or into a default queue that does not exist
    yet) at once: exactly one queue is made (on PostgreSQL an advisory lock serializes the check)."""
    store: TaskStore = make_store(company="acme", user="alice")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(6)
    procs = [
        ctx.Process(target=enqueue_by_name, args=(db_url, name, barrier, str(tmp_path / f"e{i}.jsonl")))
        for i in range(6)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 6
    results = [json.loads((tmp_path / f"e{i}.jsonl").read_text("utf-8")) for i in range(6)]
    assert [r for r in results if "error" in r] == []
    queues = store.call("queues.get_all", {})["queues"]
    assert len(queues) == 1
    assert {r["queue"] for r in results} == {queues[0]["id"]}
    assert sorted(e["task"] for e in queues[0]["entries"]) == sorted(r["task"] for r in results)
