"""A local experiment runner: one queue, N worker processes, the best task found with get_all.

    python examples/local_runner.py --workers 3 --tasks 8 --db runner.db

The parent creates a training task per hyperparameter point and enqueues it.  Each worker process
opens the same store (a SQLite file shared through WAL, or PostgreSQL), pops tasks with
``queues.get_next_task`` (atomic: no task is ever handed to two workers), marks them started,
runs ``train()``, reports scalar metrics with ``events.add_batch`` and completes the task, or fails
it when training raises.  Finally the parent asks ``tasks.get_all`` for the completed task with the
highest validation accuracy (ordered by ``last_metrics.<md5 metric>.<md5 variant>.value``).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import os
import sys
import time
from typing import Any

from taskstore import APIError, TaskStore

QUEUE = "local runner"


def train(lr: float, depth: int, report: Any) -> float:
    """A stand-in for real training: a few epochs of a made-up curve; too large a rate diverges."""
    accuracy = 0.0
    for epoch in range(4):
        if lr > 0.5:
            raise FloatingPointError(f"loss is nan at epoch {epoch}")
        loss = 1 / (1 + lr * 10 * (epoch + 1)) + abs(depth - 4) * 0.02
        accuracy = round(1 - loss / 2, 5)
        time.sleep(0.05)  # the "work"
        report(epoch, {("loss", "train"): round(loss, 5), ("accuracy", "val"): accuracy})
    return accuracy


def worker(url: str, name: str, results: Any) -> None:
    """Pop and run tasks until the queue is empty."""
    with TaskStore(url, user=name) as store:
        queue = store.call("queues.get_all", {"name": f"^{QUEUE}$"})["queues"][0]["id"]
        while True:
            entry = store.call("queues.get_next_task", {"queue": queue}).get("entry")
            if not entry:
                return
            task_id = entry["task"]
            try:
                store.call("tasks.started", {"task": task_id, "status_message": name})
            except APIError as exc:  # e.g. stopped by someone meanwhile: 400/110
                results.put((name, task_id, f"skipped ({exc.code}/{exc.subcode})"))
                continue
            task = store.call("tasks.get_by_id", {"task": task_id})["task"]
            args = {k: v["value"] for k, v in task["hyperparams"]["Args"].items()}

            def report(epoch: int, values: dict[tuple[str, str], float], task_id: str = task_id) -> None:
                store.call(
                    "events.add_batch",
                    [{"task": task_id, "type": "training_stats_scalar", "metric": metric, "variant": variant,
                      "value": value, "iter": epoch} for (metric, variant), value in values.items()],
                )  # fmt: skip

            try:
                train(float(args["lr"]), int(args["depth"]), report)
            except Exception as exc:
                store.call("tasks.failed", {"task": task_id, "status_reason": type(exc).__name__,
                                            "status_message": f"{name}: {exc}"})  # fmt: skip
                results.put((name, task_id, "failed"))
                continue
            store.call("tasks.completed", {"task": task_id, "status_message": name})
            results.put((name, task_id, "completed"))


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def metric_order(metric: str, variant: str, descending: bool = True) -> str:
    """get_all's order_by key for a metric's last value: ``last_metrics.<md5 metric>.<md5 variant>.value``."""
    return f"{'-' if descending else ''}last_metrics.{md5(metric)}.{md5(variant)}.value"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("TASKSTORE_URL", "sqlite:///local_runner.db"))
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=8)
    args = parser.parse_args(argv)
    url = args.db if "://" in args.db else f"sqlite:///{args.db}"

    with TaskStore(url) as store:
        found = store.call("queues.get_all", {"name": f"^{QUEUE}$"})["queues"]
        queue = found[0]["id"] if found else store.call("queues.create", {"name": QUEUE})["id"]
        created = []
        for n in range(args.tasks):
            lr, depth = [0.01, 0.03, 0.1, 0.3, 0.9][n % 5], 2 + n % 4
            hyperparams = {"Args": {k: {"section": "Args", "name": k, "value": str(v)}
                                    for k, v in {"lr": lr, "depth": depth}.items()}}  # fmt: skip
            task = store.call(
                "tasks.create",
                {"name": f"run {n} lr={lr} depth={depth}", "type": "training", "hyperparams": hyperparams},
            )["id"]
            store.call("tasks.enqueue", {"task": task, "queue": queue})
            created.append(task)
        print(f"enqueued {len(created)} tasks on '{QUEUE}'; starting {args.workers} workers")

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    procs = [context.Process(target=worker, args=(url, f"worker-{i}", results)) for i in range(args.workers)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in created]
    for p in procs:
        p.join(timeout=60)
    if any(p.exitcode != 0 for p in procs):
        print("a worker failed", file=sys.stderr)
        return 1
    ran = [task for _, task, _ in outcomes]
    assert sorted(ran) == sorted(created) and len(set(ran)) == len(ran), "every task ran exactly once"
    per_worker = {name: sum(1 for w, _, _ in outcomes if w == name) for name, _, _ in outcomes}
    print("tasks per worker: " + ", ".join(f"{w}={n}" for w, n in sorted(per_worker.items())))
    completed = sum(o == "completed" for _, _, o in outcomes)
    print(f"completed {completed}, failed {sum(o == 'failed' for _, _, o in outcomes)}")

    with TaskStore(url) as store:
        best = store.call(
            "tasks.get_all",
            {"id": created, "status": ["completed"], "order_by": [metric_order("accuracy", "val")],
             "only_fields": ["id", "name", "last_metrics", "status_message"], "page": 0, "page_size": 1},
        )["tasks"]  # fmt: skip
        if not best:
            print("no task completed")
            return 1
        value = next(v for m in best[0]["last_metrics"].values() for v in m.values() if v["metric"] == "accuracy")
        print(f"best: {best[0]['name']} ({best[0]['id']}) accuracy/val={value['value']:.4f} "
              f"run by {best[0]['status_message']}")  # fmt: skip
    return 0 if not math.isnan(value["value"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
