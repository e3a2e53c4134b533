"""Offline experiment tracking: record a small hyperparameter sweep, then query and compare it.

    python examples/offline_tracking.py --db sweep.db
    taskstore --db sweep.db tasks compare <id> <id>      # the same comparison from the command line

No queue and no workers: each run is tracked as it happens (hyperparameters, a configuration
document, scalar metrics per epoch, an output artifact, completed).  Then the sweep is read back
with the get_all query language (filters on hyperparameters and metric ranges, ordering by a
metric) and the typed facade, and the runs are compared side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
from typing import Any

from sqlalchemy.engine import make_url

from taskstore import TaskStore

GRID: dict[str, list[Any]] = {"optimizer": ["sgd", "adam"], "lr": [0.1, 0.01], "dropout": [0.0, 0.3]}


def fake_training(optimizer: str, lr: float, dropout: float, epoch: int) -> dict[str, float]:
    base = {"sgd": 0.30, "adam": 0.22}[optimizer] + abs(lr - 0.01) * 0.8 + dropout * 0.1
    loss = base + 1.5 / (epoch + 1)
    return {"loss": round(loss, 4), "accuracy": round(1 - loss / 3, 4)}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def metric_key(metric: str, variant: str, field: str = "value") -> str:
    """get_all's key for a metric summary: ``last_metrics.<md5 metric>.<md5 variant>.<field>``."""
    return f"last_metrics.{md5(metric)}.{md5(variant)}.{field}"


def track(store: TaskStore, project: str, point: dict[str, Any], epochs: int = 5) -> str:
    """Record one run as it happens: parameters, configuration, metrics per epoch, an artifact."""
    name = "sweep " + " ".join(f"{k}={v}" for k, v in point.items())
    task = store.call("tasks.create", {"name": name, "type": "training", "project": project, "tags": ["sweep"]})["id"]
    params = [{"section": "Args", "name": k, "value": str(v), "type": type(v).__name__} for k, v in point.items()]
    store.call("tasks.edit_hyper_params", {"task": task, "hyperparams": params})
    augmentation = {"name": "augmentation", "type": "json", "value": json.dumps({"flip": True, "crop": 224})}
    store.call("tasks.edit_configuration", {"task": task, "configuration": [augmentation]})
    store.call("tasks.started", {"task": task, "force": True})
    for epoch in range(epochs):
        values = fake_training(point["optimizer"], point["lr"], point["dropout"], epoch)
        events = [
            {"task": task, "type": "training_stats_scalar", "metric": m, "variant": "val", "value": v, "iter": epoch}
            for m, v in values.items()
        ]
        store.call("events.add_batch", events)
    artifact = {"key": "model", "type": "model", "mode": "output", "uri": f"file:///tmp/sweep/{task}.pt"}
    store.call("tasks.add_or_update_artifacts", {"task": task, "artifacts": [artifact]})
    store.call("tasks.completed", {"task": task})
    return str(task)


def compare(store: TaskStore, ids: list[str]) -> list[str]:
    """A side-by-side table of hyperparameters and final metrics; '*' marks rows that differ."""
    params = {p["task"]: {h["name"]: h["value"] for h in p["hyperparams"]}
              for p in store.call("tasks.get_hyper_params", {"tasks": ids})["params"]}  # fmt: skip
    tasks = {
        t["id"]: t for t in store.call("tasks.get_all", {"id": ids, "only_fields": ["id", "last_metrics"]})["tasks"]
    }
    metrics = {i: {f"{v['metric']}/{v['variant']}": v["value"] for m in tasks[i]["last_metrics"].values()
                   for v in m.values()} for i in ids}  # fmt: skip
    rows = [(k, [params[i].get(k, "") for i in ids]) for k in sorted({k for p in params.values() for k in p})]
    rows += [(k, [str(metrics[i].get(k, "")) for i in ids]) for k in sorted({k for m in metrics.values() for k in m})]
    width = max(len(k) for k, _ in rows)
    out = ["  " + "".ljust(width) + "".join(f"  {i[:8]:>10}" for i in ids)]
    for key, values in rows:
        mark = "*" if len(set(values)) > 1 else " "
        out.append(f"{mark} {key.ljust(width)}" + "".join(f"  {v:>10}" for v in values))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("TASKSTORE_URL", "sqlite:///offline_tracking.db"))
    args = parser.parse_args(argv)
    url = args.db if "://" in args.db else f"sqlite:///{args.db}"
    with TaskStore(url) as store:
        project = store.call("projects.create", {"name": f"sweep {os.getpid()}"})["id"]
        keys = list(GRID)
        ids = [
            track(store, project, dict(zip(keys, values, strict=True))) for values in itertools.product(*GRID.values())
        ]
        print(f"tracked {len(ids)} runs in {make_url(store.url).render_as_string(hide_password=True)}")

        # The query language: Adam runs only, ordered by final validation loss (lowest first).
        adam = store.call("tasks.get_all", {
            "project": [project], "hyperparams.Args.optimizer.value": ["adam"],
            "order_by": [metric_key("loss", "val")], "only_fields": ["id", "name"]})["tasks"]  # fmt: skip
        print("adam runs by val loss: " + ", ".join(t["name"].removeprefix("sweep ") for t in adam))
        # A range filter on a metric summary: runs whose accuracy ended at 0.81 or better.
        good = store.call("tasks.get_all", {"project": [project], metric_key("accuracy", "val"): [0.81, None],
                                            "only_fields": ["id"]})["tasks"]  # fmt: skip
        print(f"runs with accuracy/val >= 0.81: {len(good)}")
        # The typed facade: the same engine, pydantic models out.
        response: Any = store.tasks.get_all(
            project=[project], order_by=["-" + metric_key("accuracy", "val")], page=0, page_size=2,
            only_fields=["id", "name"],
        )  # fmt: skip
        best = response.tasks
        print(f"best: {best[0].name} ({best[0].id})")
        print("comparison of the two best runs:")
        for line in compare(store, [t.id for t in best]):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
