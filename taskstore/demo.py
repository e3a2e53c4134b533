"""The README's main job: track a small hyperparameter sweep in a store and print it."""

from __future__ import annotations

from typing import Any, TextIO

from taskstore.store import TaskStore

SWEEP = [{"lr": "0.1", "batch": "32"}, {"lr": "0.01", "batch": "32"}, {"lr": "0.01", "batch": "64"}]


def run_demo(store: TaskStore, out: TextIO) -> list[str]:
    """Create a project and one task per sweep point, edit them, and print what the store holds."""
    found = store.call("projects.get_all", {"name": "^demo/sweep$"})["projects"]
    project = found[0]["id"] if found else store.call("projects.create", {"name": "demo/sweep"})["id"]
    ids = []
    for n, params in enumerate(SWEEP, 1):
        hyperparams = {"Args": {k: {"section": "Args", "name": k, "value": v} for k, v in params.items()}}
        task_id = store.call(
            "tasks.create",
            {"name": f"train #{n}", "type": "training", "project": project, "tags": ["demo"],
             "hyperparams": hyperparams, "script": {"entry_point": "train.py"}},
        )["id"]  # fmt: skip
        store.call("tasks.edit", {"task": task_id, "comment": f"sweep point {n}: lr={params['lr']}"})
        ids.append(task_id)
    print(f"{store.url}: {len(ids)} new tasks in project demo/sweep", file=out)
    for task_id in ids:
        task: dict[str, Any] = store.call("tasks.get_by_id", {"task": task_id})["task"]
        args = task["hyperparams"]["Args"]
        print(
            f"  {task['id']}  {task['name']:<9} {task['status']:<8} lr={args['lr']['value']:<5} "
            f"batch={args['batch']['value']:<3} {task['comment']}",
            file=out,
        )
    return ids
