"""``taskstore tasks list | show | compare`` and ``queues list`` on every backend that another process
(here: the CLI's own store) can open: a SQLite file and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from cli_support import column, lines, run, small_store, untimed

from taskstore import TaskStore
from taskstore.cli.render import metric_path

pytestmark = pytest.mark.file_backends

T = "<time>".ljust(19)


@pytest.fixture
def ids(make_store: Callable[..., TaskStore]) -> dict[str, str]:
    return small_store(make_store())


def test_list_table_is_plain_and_exact(db_url: str, ids: dict[str, str]) -> None:
    result = run("--db", db_url, "tasks", "list", "--order", "name")
    assert result.exit_code == 0, result.output
    a, b, d = ids["train a"], ids["train b"], ids["draft"]
    assert lines(untimed(result.stdout)) == [
        f"id{' ' * 32}status     name        project  last update          loss/val",
        f"{d}  created    draft task           {T}",
        f"{a}  completed  train a     vision   {T}       0.5",
        f"{b}  completed  train b     vision   {T}      0.25",
    ]
    assert result.stderr == ""


def test_list_filters(db_url: str, ids: dict[str, str]) -> None:
    def names(*args: str) -> list[str]:
        result = run("--db", db_url, "tasks", "list", "--order", "name", *args)
        assert result.exit_code == 0, result.output
        return list(column(result.stdout, "name")) if result.stdout else []

    assert names("--status", "completed") == ["train a", "train b"]
    assert names("--status", "created,queued") == ["draft task"]
    assert names("--status", "-completed") == ["draft task"]
    assert names("--tag", "sweep") == ["train a", "train b"]
    assert names("--project", "vision") == ["train a", "train b"]
    assert names("--project", ids["project"]) == ["train a", "train b"]
    assert names("--type", "testing") == ["draft task"]
    assert names("--name", "^train") == ["train a", "train b"]
    assert names("--name", "b$") == ["train b"]
    assert names("--limit", "1") == ["draft task"]
    assert names("--status", "failed") == []


def test_list_orders_by_metric(db_url: str, ids: dict[str, str]) -> None:
    def order(*args: str) -> list[str]:
        result = run("--db", db_url, "tasks", "list", "--status", "completed", *args)
        return list(column(result.stdout, "name"))

    assert order("--order", "loss/val") == ["train b", "train a"]
    assert order("--order", "-loss/val") == ["train a", "train b"]
    assert order("--order", "-loss/val:max") == ["train a", "train b"]
    assert order("--order", "-" + metric_path("loss", "val")) == ["train a", "train b"]
    assert order("--order", "hyperparams.Args.lr.value") == ["train b", "train a"]


def test_list_errors(db_url: str, ids: dict[str, str]) -> None:
    unknown_project = run("--db", db_url, "tasks", "list", "--project", "nope")
    assert (unknown_project.exit_code, unknown_project.stderr) == (1, "Error: no project named 'nope'\n")
    typo = run("--db", db_url, "tasks", "list", "--status", "done")
    assert typo.exit_code == 2
    assert "Invalid value for --status: 'done' is not one of created, queued, in_progress" in typo.stderr
    none = run("--db", db_url, "tasks", "list", "--status", "failed")
    assert (none.exit_code, none.stdout, none.stderr) == (0, "", "no tasks match\n")


def test_list_json(db_url: str, ids: dict[str, str]) -> None:
    result = run("--db", db_url, "tasks", "list", "--json", "--status", "completed", "--order", "name")
    found = json.loads(result.stdout)
    assert [(t["id"], t["name"], t["status"], t["project_name"]) for t in found] == [
        (ids["train a"], "train a", "completed", "vision"),
        (ids["train b"], "train b", "completed", "vision"),
    ]
    assert next(iter(found[0]["last_metrics"].values())).popitem()[1] == {
        "metric": "loss", "variant": "val", "value": 0.5, "min_value": 0.5, "max_value": 1.0
    }  # fmt: skip


def test_show(db_url: str, ids: dict[str, str]) -> None:
    a = ids["train a"]
    result = run("--db", db_url, "tasks", "show", a[:6])
    assert result.exit_code == 0, result.output
    assert lines(untimed(result.stdout)) == [
        f"id              {a}",
        "name            train a",
        "type            training",
        "status          completed",
        "project         vision",
        "tags            sweep",
        f"created         {T}",
        f"started         {T}",
        f"completed       {T}",
        f"last update     {T}",
        "last iteration  1",
        "",
        "Hyperparameters:",
        "parameter   value",
        "Args/batch  32",
        "Args/lr     0.1",
        "",
        "Configuration:",
        "  (none)",
        "",
        "Artifacts:",
        "  (none)",
        "",
        "Models:",
        "  (none)",
        "",
        "Last metrics:",
        "metric  variant  last  min  max",
        "loss    val       0.5  0.5    1",
    ]


def test_show_json_artifacts_configuration_models(db_url: str, make_store: Callable[..., TaskStore]) -> None:
    store = make_store()
    model = store.call("models.create", {"name": "resnet", "uri": "file:///m.pt"})["id"]
    task = store.call(
        "tasks.create",
        {"name": "with outputs", "type": "training", "models": {"input": [{"name": "init", "model": model}]},
         "configuration": {"net": {"name": "net", "value": "{}"}, "data": {"name": "data", "value": "x"}}},
    )["id"]  # fmt: skip
    store.call(
        "tasks.add_or_update_artifacts",
        {"task": task, "artifacts": [{"key": "weights", "type": "model", "mode": "output", "uri": "file:///w"}]},
    )
    info = json.loads(run("--db", db_url, "--json", "tasks", "show", task).stdout)
    assert info["configuration"] == ["data", "net"]
    assert info["artifacts"] == [{"key": "weights", "type": "model", "mode": "output", "uri": "file:///w"}]
    assert info["models"] == [{"kind": "input", "name": "init", "model": model, "model_name": "resnet"}]
    assert (info["status"], info["project"], info["last_metrics"]) == ("created", None, [])


def test_show_resolves_prefixes(db_url: str, ids: dict[str, str]) -> None:
    too_short = run("--db", db_url, "tasks", "show", "ab")
    assert too_short.exit_code == 2
    assert "'ab': give a task id or at least 4 of its first characters" in too_short.stderr
    unknown = run("--db", db_url, "tasks", "show", "zzzz")
    assert unknown.exit_code == 2  # not hexadecimal
    missing = "0000" if not any(i.startswith("0000") for i in ids.values()) else "ffff"
    assert run("--db", db_url, "tasks", "show", missing).stderr == f"Error: no task id starts with '{missing}'\n"
    full_but_unknown = run("--db", db_url, "tasks", "show", "0" * 32)
    assert full_but_unknown.exit_code == 4
    assert full_but_unknown.stderr.startswith("error 400/101 (invalid_task_id): invalid task id")


def test_compare_marks_differences(db_url: str, ids: dict[str, str]) -> None:
    a, b = ids["train a"], ids["train b"]
    result = run("--db", db_url, "tasks", "compare", a, b)
    assert result.exit_code == 0, result.output
    width = len(f"train a ({a})") + 2
    assert lines(result.stdout) == [
        f"   group        key         train a ({a})  train b ({b})",
        "   task         status      " + "completed".ljust(width) + "completed",
        "   task         type        " + "training".ljust(width) + "training",
        "   hyperparams  Args/batch  " + "32".ljust(width) + "32",
        "*  hyperparams  Args/lr     " + "0.1".ljust(width) + "0.01",
        "*  metrics      loss/val    " + "0.5".ljust(width) + "0.25",
    ]
    only = run("--db", db_url, "tasks", "compare", "--diff", a[:5], b[:5], "--json")
    rows = json.loads(only.stdout)["rows"]
    assert rows == [
        {"group": "hyperparams", "key": "Args/lr", "values": ["0.1", "0.01"], "different": True},
        {"group": "metrics", "key": "loss/val", "values": ["0.5", "0.25"], "different": True},
    ]
    with_draft = json.loads(run("--db", db_url, "--json", "tasks", "compare", a, ids["draft"]).stdout)["rows"]
    assert {"group": "metrics", "key": "loss/val", "values": ["0.5", None], "different": True} in with_draft
    assert run("--db", db_url, "tasks", "compare", a).exit_code == 2


def test_queues_list(db_url: str, make_store: Callable[..., TaskStore]) -> None:
    store = make_store()
    first = store.call("tasks.create", {"name": "first", "type": "training"})["id"]
    second = store.call("tasks.create", {"name": "second", "type": "training"})["id"]
    gpu = store.call("queues.create", {"name": "gpu queue", "tags": ["fast"]})["id"]
    cpu = store.call("queues.create", {"name": "cpu queue"})["id"]
    for task in (first, second):
        store.call("tasks.enqueue", {"task": task, "queue": gpu})
    result = run("--db", db_url, "queues", "list")
    assert lines(untimed(result.stdout)) == [
        f"id{' ' * 32}name       length  {'next task'.ljust(34)}tags  last update",
        f"{cpu}  cpu queue       0{' ' * 42}{T}",
        f"{gpu}  gpu queue       2  {first}  fast  {T}",
    ]
    data = json.loads(run("--db", db_url, "queues", "list", "--json").stdout)
    assert [(q["name"], q["length"], q["next"]) for q in data] == [("cpu queue", 0, None), ("gpu queue", 2, first)]


def test_on_a_terminal_tables_have_short_ids_and_fit_the_width(db_url: str, ids: dict[str, str]) -> None:
    a = ids["train a"]
    env: dict[str, str | None] = {"FORCE_COLOR": "1", "COLUMNS": "80", "NO_COLOR": None}
    listed = run("--db", db_url, "tasks", "list", "--order", "name", env=env)
    assert listed.exit_code == 0
    plain = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout)
    assert plain != listed.stdout  # coloured
    assert a[:8] in plain and a not in plain
    assert max(len(line) for line in plain.splitlines()) <= 80
    assert "─" in plain  # a rule under the header
    compared = re.sub(r"\x1b\[[0-9;]*m", "", run("--db", db_url, "tasks", "compare", a, ids["train b"], env=env).stdout)
    assert f"train a ({a[:8]})" in compared


def test_an_ambiguous_prefix_names_the_candidates(db_url: str, make_store: Callable[..., TaskStore]) -> None:
    # ids cannot be chosen through the API: import two tasks whose ids share a prefix
    from taskstore import transfer

    store = make_store()
    header = json.loads(next(transfer.export_lines(store._db)))
    task = {"kind": "task", "company": "local", "user": "local", "type": "training", "status": "created"}
    docs = [header, {**task, "id": "abcd" + "0" * 28, "name": "zero"}, {**task, "id": "abcd" + "1" * 28, "name": "one"}]
    transfer.import_(store._db, [json.dumps(d) for d in docs])
    result = run("--db", db_url, "tasks", "show", "abcd")
    assert result.exit_code == 1
    assert result.stderr == f"Error: 'abcd' is ambiguous: {'abcd' + '0' * 28} (zero), {'abcd' + '1' * 28} (one)\n"
    assert lines(run("--db", db_url, "tasks", "show", "abcd1").stdout)[:2] == [
        f"id              {'abcd' + '1' * 28}",
        "name            one",
    ]
