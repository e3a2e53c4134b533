"""``taskstore demo`` (the README's main job) and the sweep behind it (taskstore.demo)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import column, lines, run

from taskstore import TaskStore
from taskstore.cli.render import metric_values
from taskstore.demo import SWEEP, run_demo, train_epoch


def test_run_demo_goes_through_the_whole_lifecycle(store: TaskStore) -> None:
    seen: list[tuple[str, str]] = []
    run_ = run_demo(store, epochs=3, on_event=lambda task, what: seen.append((task, what)))
    assert len(run_.tasks) == len(SWEEP) == 6
    assert (len(run_.completed), len(run_.failed)) == (5, 1)
    assert [what for _, what in seen[:6]] == ["queued"] * 6
    assert [what for task, what in seen[6:] if task == run_.failed[0]] == ["started", "failed"]
    tasks = {t["id"]: t for t in store.call("tasks.get_all", {"id": run_.tasks})["tasks"]}
    failed = tasks[run_.failed[0]]
    assert (failed["status"], failed["status_reason"]) == ("failed", "diverged")
    assert failed["hyperparams"]["Args"]["lr"]["value"] == "0.3"
    for task_id in run_.completed:
        task = tasks[task_id]
        assert task["status"] == "completed"
        assert task["last_iteration"] == 2
        lr, batch = (
            float(task["hyperparams"]["Args"]["lr"]["value"]),
            int(task["hyperparams"]["Args"]["batch_size"]["value"]),
        )
        assert metric_values(task) == {
            "accuracy/val": train_epoch(lr, batch, 2)["accuracy"],
            "loss/train": train_epoch(lr, batch, 2)["train_loss"],
            "loss/val": train_epoch(lr, batch, 2)["val_loss"],
        }
        assert [a["key"] for a in task["execution"]["artifacts"]] == ["weights"]
    queue = store.call("queues.get_by_id", {"queue": run_.queue})["queue"]
    assert queue["entries"] == []
    again = run_demo(store, epochs=2)
    assert (again.project, again.queue) == (run_.project, run_.queue)
    assert len(store.call("tasks.get_all", {"project": [run_.project], "only_fields": ["id"]})["tasks"]) == 12


def test_demo_leaves_a_foreign_task_in_its_queue(store: TaskStore) -> None:
    first = run_demo(store, epochs=2)
    stranger = store.call("tasks.create", {"name": "not the demo's", "type": "training"})["id"]
    store.call("tasks.enqueue", {"task": stranger, "queue": first.queue})
    second = run_demo(store, epochs=2)
    assert len(second.completed) + len(second.failed) == 6
    entries = store.call("queues.get_by_id", {"queue": first.queue})["queue"]["entries"]
    assert [e["task"] for e in entries] == [stranger]


def test_demo_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("demo")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "taskstore.db").exists()
    out = lines(result.stdout)
    assert out[0].split() == ["id", "status", "name", "project", "last", "update", "loss/val", "accuracy/val"]
    table = "\n".join(out[:7])
    assert sorted(column(table, "status")) == ["completed"] * 5 + ["failed"]
    assert column(table, "name") == [f"train lr={p['lr']} batch={p['batch_size']}" for p in SWEEP]
    assert len(out) == 9 and out[7] == "5 completed, 1 failed"
    assert out[8].startswith("best: train lr=0.1 batch=32 (") and out[8].endswith("), loss/val = 0.1855")
    assert result.stderr.startswith(
        "Tracking a sweep of 6 training tasks in ./taskstore.db (project 'demo', queue 'demo'):"
    )
    assert "\nNext:\n  taskstore tasks list --project demo --order loss/val\n" in result.stderr
    # the hints work as printed
    for hint in [line.strip() for line in result.stderr.splitlines() if line.startswith("  taskstore ")]:
        args = hint.split()[1:]
        if args[0] == "export":
            args = ["export", "-o", str(tmp_path / "demo.jsonl")]
        assert run(*args).exit_code == 0, hint
    listed = run("tasks", "list", "--project", "demo", "--order", "loss/val", "--status", "completed")
    assert column(listed.stdout, "name")[0] == "train lr=0.1 batch=32"


def test_demo_json(tmp_path: Path) -> None:
    result = run("--db", str(tmp_path / "d.db"), "--json", "demo", "--epochs", "2")
    data = json.loads(result.stdout)
    assert len(data["tasks"]) == 6 and len(data["completed"]) == 5 and len(data["failed"]) == 1
    assert data["best"] in data["completed"]
    assert result.stderr == ""


@pytest.mark.file_backends
def test_demo_on_every_backend(db_url: str) -> None:
    result = run("--db", db_url, "demo", "--epochs", "2")
    assert result.exit_code == 0, result.output
    with TaskStore(db_url) as store:
        statuses = sorted(t["status"] for t in store.call("tasks.get_all", {"only_fields": ["status"]})["tasks"])
    assert statuses == ["completed"] * 5 + ["failed"]
