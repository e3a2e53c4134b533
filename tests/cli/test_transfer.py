"""taskstore.transfer: export every entity as JSON lines, import into another store, on every backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import params, scalar
from support import dump

from taskstore import TaskStore, transfer


def fill(store: TaskStore) -> dict[str, str]:
    """Something of every kind, two companies, nested projects, queue entries, tags, events."""
    ids: dict[str, str] = {}
    ids["project"] = store.call("projects.create", {"name": "vision"})["id"]
    ids["child"] = store.call("projects.create", {"name": "vision/detection"})["id"]
    ids["model"] = store.call("models.create", {"name": "resnet", "uri": "file:///r.pt", "project": ids["project"]})[
        "id"
    ]
    ids["queue"] = store.call("queues.create", {"name": "gpu queue", "tags": ["fast"]})["id"]
    for n in range(3):
        tid = store.call(
            "tasks.create",
            {"name": f"train {n}", "type": "training", "project": ids["child"], "tags": ["b", "a", "a"],
             "system_tags": ["x"], "comment": f"the {n}th sweep point", "hyperparams": params(lr=10 ** -n),
             "models": {"input": [{"name": "init", "model": ids["model"]}]}},
        )["id"]  # fmt: skip
        ids[f"task{n}"] = tid
    scalar(store, ids["task0"], "loss", "val", 0.5, 3)
    store.call("tasks.enqueue", {"task": ids["task1"], "queue": ids["queue"]})
    store.call("tasks.enqueue", {"task": ids["task2"], "queue": ids["queue"]})
    ids["other"] = store.call("tasks.create", {"name": "theirs", "type": "testing"}, company="globex")["id"]
    return ids


@pytest.fixture
def source(tmp_path: Path) -> Any:
    with TaskStore(f"sqlite:///{tmp_path}/source.db", company="acme", user="alice") as src:
        yield src


def lines_of(store: TaskStore) -> list[str]:
    return list(transfer.export_lines(store._db))


def test_export_format(source: TaskStore) -> None:
    ids = fill(source)
    docs = [json.loads(line) for line in lines_of(source)]
    header = docs[0]
    assert {k: header[k] for k in ("kind", "format", "version", "revision", "dialect")} == {
        "kind": "header", "format": "taskstore-export", "version": 1, "revision": source.revision, "dialect": "sqlite"
    }  # fmt: skip
    assert [d["kind"] for d in docs[1:]] == ["project"] * 2 + ["model"] + ["task"] * 4 + ["queue", "event"]
    queue = next(d for d in docs if d["kind"] == "queue")
    assert [e["task"] for e in queue["entries"]] == [ids["task1"], ids["task2"]]
    task0 = next(d for d in docs if d.get("id") == ids["task0"])
    assert (task0["company"], task0["tags"], task0["system_tags"], task0["seq"]) == ("acme", ["b", "a", "a"], ["x"], 1)
    assert task0["created"].endswith("+00:00")
    assert next(d for d in docs if d.get("id") == ids["other"])["company"] == "globex"
    assert "seq" not in docs[-1] and docs[-1]["value"] == 0.5


def test_import_reproduces_every_row(store: TaskStore, source: TaskStore) -> None:
    ids = fill(source)
    result = transfer.import_(store._db, lines_of(source))
    assert dict(result.counts) == {"project": 2, "model": 1, "task": 4, "queue": 1, "event": 1}
    assert not result.replaced
    assert dump(store) == dump(source)
    # derived structures work on the target: tag index, text search, hyperparameter order, queue pops
    acme = {"company": "acme"}
    found = store.call("tasks.get_all", {"tags": ["a"], "only_fields": ["id"], "order_by": ["name"]}, **acme)
    assert [t["id"] for t in found["tasks"]] == [ids["task0"], ids["task1"], ids["task2"]]
    assert store.call("tasks.get_all", {"search_text": "1th", "only_fields": ["id"]}, **acme)["tasks"] == [
        {"id": ids["task1"]}
    ]
    ordered = store.call("tasks.get_all", {"order_by": ["hyperparams.Args.lr.value"], "only_fields": ["id"]}, **acme)
    assert [t["id"] for t in ordered["tasks"]] == [ids["task2"], ids["task1"], ids["task0"]]
    assert store.call("queues.get_next_task", {"queue": ids["queue"]}, **acme)["entry"]["task"] == ids["task1"]


def test_import_refuses_existing_ids_and_changes_nothing(store: TaskStore, source: TaskStore) -> None:
    fill(source)
    exported = lines_of(source)
    transfer.import_(store._db, exported)
    before = dump(store)
    with pytest.raises(transfer.ImportConflict) as info:
        transfer.import_(store._db, exported)
    assert (info.value.kind, len(info.value.ids)) == ("project", 2)
    assert str(info.value).startswith("the target already has 2 projects with the same id (")
    assert dump(store) == before


def test_merge_replaces_and_keeps_the_rest(store: TaskStore, source: TaskStore) -> None:
    ids = fill(source)
    mine = store.call("tasks.create", {"name": "already here", "type": "training"}, company="acme")["id"]
    transfer.import_(store._db, lines_of(source))
    source.call("tasks.edit", {"task": ids["task0"], "name": "renamed"})
    source.call("tasks.dequeue", {"task": ids["task1"]})
    scalar(source, ids["task0"], "loss", "val", 0.25, 4)
    result = transfer.import_(store._db, lines_of(source), merge=True)
    assert dict(result.replaced) == {"project": 2, "model": 1, "task": 4, "queue": 1}
    rows = store.call("tasks.get_all", {"only_fields": ["id", "name", "status"]}, company="acme")["tasks"]
    # insertion order: what was there first, then the imported tasks in their own order
    assert [t["id"] for t in rows] == [mine, ids["task0"], ids["task1"], ids["task2"]]
    assert rows[1]["name"] == "renamed"
    queue = store.call("queues.get_by_id", {"queue": ids["queue"]}, company="acme")["queue"]
    assert [e["task"] for e in queue["entries"]] == [ids["task2"]]
    after = dump(store)
    assert len(after["events"]) == 2  # the replaced task's old event went, both of the new came
    assert len(after["queue_entries"]) == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda docs: docs[1:], "line 1: not a taskstore-export file"),
        (lambda docs: [{**docs[0], "version": 99}, *docs[1:]], "line 1: export format version 99"),
        (lambda docs: [{**docs[0], "revision": "9999"}, *docs[1:]], "line 1: exported at schema revision '9999'"),
        (lambda docs: [*docs, {"kind": "user", "id": "x"}], "unknown kind 'user'"),
        (lambda docs: [*docs[:2], {**docs[1], "colour": "red"}], "unknown project field(s) colour"),
        (lambda docs: [*docs[:2], docs[1]], "more than once"),
        (lambda docs: [*docs[:2], {**docs[2], "created": "yesterday"}], "created: not an ISO-8601 time: 'yesterday'"),
        (lambda docs: [*docs[:2], {k: v for k, v in docs[2].items() if k != "id"}], "project without an id"),
        (lambda docs: [], "empty input"),
    ],
)  # fmt: skip
def test_bad_input_imports_nothing(store: TaskStore, source: TaskStore, edit: Any, message: str) -> None:
    fill(source)
    docs = [json.loads(line) for line in lines_of(source)]
    before = dump(store)
    with pytest.raises(transfer.TransferError, match=None) as info:
        transfer.import_(store._db, [json.dumps(d) for d in edit(docs)])
    assert message in str(info.value)
    assert dump(store) == before


def test_not_json_lines(store: TaskStore) -> None:
    with pytest.raises(transfer.TransferError, match="line 1: not JSON"):
        transfer.import_(store._db, ["{nope"])
    with pytest.raises(transfer.TransferError, match="line 1: not a JSON object"):
        transfer.import_(store._db, ["[1]"])


def test_every_table_is_exported_or_derived() -> None:
    # A new table must be exported (a kind) or listed in transfer.DERIVED with the reason.
    assert transfer.all_tables() <= transfer.covered_tables()
