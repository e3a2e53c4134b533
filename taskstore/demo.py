"""The README's main job: a small hyperparameter sweep, run through a queue by an in-process worker.

A project and a queue named ``demo``; one training task per sweep point with its hyperparameters
and configuration; every task enqueued; a worker pops them in order with ``queues.get_next_task``,
marks each started, "trains" (a deterministic stand-in that reports loss and accuracy per epoch
through ``events.add_batch``), records an artifact and completes it, or fails it when the loss
diverges.  Running it again adds another sweep to the same project.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from taskstore.api.registry import handlers
from taskstore.store import TaskStore

SWEEP: list[dict[str, Any]] = [{"lr": lr, "batch_size": b} for lr in (0.3, 0.1, 0.03) for b in (32, 64)]
EPOCHS = 5
PROJECT = "demo"
QUEUE = "demo"


class Diverged(RuntimeError):
    """The stand-in training blew up (too large a learning rate for a small batch)."""


def train_epoch(lr: float, batch_size: int, epoch: int) -> dict[str, float]:
    """Deterministic loss and accuracy after ``epoch`` (0-based) for one sweep point."""
    if lr >= 0.3 and batch_size <= 32 and epoch >= 1:
        raise Diverged(f"loss diverged at epoch {epoch} (lr={lr}, batch_size={batch_size})")
    speed = lr * 12 / math.sqrt(batch_size / 32)
    floor = 0.08 + 0.25 * abs(math.log10(lr) + 1.4)  # lr near 0.04 is the sweet spot
    val = floor + 2.2 * math.exp(-speed * (epoch + 1))
    return {"train_loss": round(val * 0.9, 5), "val_loss": round(val, 5), "accuracy": round(max(0.0, 1 - val / 2.5), 5)}


@dataclass
class DemoRun:
    project: str
    queue: str
    tasks: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    metrics_reported: bool = True


def _find_or_create(store: TaskStore, service: str, name: str) -> str:
    found = store.call(f"{service}.get_all", {"name": f"^{name}$", "only_fields": ["id"]})[
        "projects" if service == "projects" else "queues"
    ]
    return str(found[0]["id"]) if found else str(store.call(f"{service}.create", {"name": name})["id"])


def _report(store: TaskStore, task: str, epoch: int, values: dict[str, float]) -> bool:
    events = [
        {"task": task, "type": "training_stats_scalar", "metric": metric, "variant": variant, "value": values[key],
         "iter": epoch}
        for metric, variant, key in (("loss", "train", "train_loss"), ("loss", "val", "val_loss"),
                                     ("accuracy", "val", "accuracy"))
    ]  # fmt: skip
    registered = handlers()
    if "events.add_batch" in registered:
        store.call("events.add_batch", events)
    elif "events.add" in registered:
        for event in events:
            store.call("events.add", event)
    else:
        return False
    return True


def run_demo(store: TaskStore, *, epochs: int = EPOCHS, on_event: Callable[[str, str], None] | None = None) -> DemoRun:
    """Run the sweep; ``on_event(task_id, what)`` is told each step (``queued``, ``started``, ...)."""
    note = on_event or (lambda _task, _what: None)
    run = DemoRun(_find_or_create(store, "projects", PROJECT), _find_or_create(store, "queues", QUEUE))
    for point in SWEEP:
        hyperparams = {
            "Args": {
                k: {"section": "Args", "name": k, "value": str(v), "type": type(v).__name__}
                for k, v in {**point, "epochs": epochs}.items()
            }
        }
        task = store.call(
            "tasks.create",
            {"name": f"train lr={point['lr']} batch={point['batch_size']}", "type": "training",
             "project": run.project, "tags": ["demo"], "hyperparams": hyperparams,
             "configuration": {"model": {"name": "model", "type": "json",
                                         "value": '{"layers": [64, 32], "dropout": 0.1}'}},
             "script": {"entry_point": "train.py"}},
        )["id"]  # fmt: skip
        store.call("tasks.enqueue", {"task": task, "queue": run.queue})
        run.tasks.append(task)
        note(task, "queued")
    while len(run.completed) + len(run.failed) < len(run.tasks):
        entry = store.call("queues.get_next_task", {"queue": run.queue}).get("entry")
        if not entry:
            break
        task = entry["task"]
        if task not in run.tasks:  # left in the demo queue by an earlier, interrupted run: back to the tail
            store.call("queues.add_task", {"queue": run.queue, "task": task})
            continue
        store.call("tasks.started", {"task": task})
        note(task, "started")
        point = SWEEP[run.tasks.index(task)]
        try:
            for epoch in range(epochs):
                values = train_epoch(point["lr"], point["batch_size"], epoch)
                run.metrics_reported = _report(store, task, epoch, values) and run.metrics_reported
        except Diverged as exc:
            store.call("tasks.failed", {"task": task, "status_reason": "diverged", "status_message": str(exc)})
            run.failed.append(task)
            note(task, "failed")
            continue
        store.call(
            "tasks.add_or_update_artifacts",
            {"task": task, "artifacts": [{"key": "weights", "type": "model", "mode": "output",
                                          "uri": f"file:///tmp/demo/{task}/weights.bin"}]},
        )  # fmt: skip
        store.call("tasks.completed", {"task": task})
        run.completed.append(task)
        note(task, "completed")
    return run
