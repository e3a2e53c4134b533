"""tasks.update and tasks.update_batch (spec: query_edit §2.5, §2.6, §0.3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import ISO_UTC, api_error, create_task, dump, get_task, set_status

from taskstore import TaskStore


def update(store: Any, task: str, **fields: Any) -> dict[str, Any]:
    return dict(store.call("tasks.update", {"task": task, **fields}))


# -- tasks.update --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["created", "in_progress", "published", "failed"])
def test_update_sets_user_fields_in_any_status(store: TaskStore, status: str) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    tid = create_task(store)
    set_status(store, tid, status)
    before = get_task(store, tid)
    result = update(store, tid, name=" renamed ", comment="c", tags=["z", "a"], system_tags=["s"], project=project,
                    status_message="msg", output__error="boom")  # fmt: skip
    assert result["updated"] == 1
    fields = dict(result["fields"])
    assert ISO_UTC.match(fields.pop("last_change"))
    assert fields == {"name": "renamed", "comment": "c", "tags": ["a", "z"], "system_tags": ["s"], "project": project,
                      "status_message": "msg", "output.error": "boom"}  # fmt: skip
    doc = get_task(store, tid)
    assert (doc["name"], doc["comment"], doc["tags"], doc["system_tags"], doc["project"]) == (
        "renamed", "c", ["a", "z"], ["s"], project)  # fmt: skip
    assert (doc["status_message"], doc["output"], doc["status"]) == ("msg", {"error": "boom"}, status)
    # last_change only, never last_update (§2.5)
    assert doc["last_change"] == result["fields"]["last_change"]
    assert doc["last_update"] == before["last_update"]
    assert store.call("projects.get_by_id", {"project": project})["project"]["last_update"] == doc["last_change"]


def test_update_ignores_everything_else(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    body = {"status": "published", "status_reason": "r", "created": "2001-01-01T00:00:00", "type": "testing",
            "execution": {"queue": "q"}, "method": "get", "comment": None, "name": None}  # fmt: skip
    assert update(store, tid, **body) == {"updated": 0, "fields": {}}
    assert update(store, tid) == {"updated": 0, "fields": {}}
    assert dump(store) == before


def test_update_checks_name_and_tags(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, 800, "name"):
        update(store, tid, name=" ab ")
    with api_error(400, 16):
        update(store, tid, tags=["__$x"])
    with api_error(400, 12, "comment"):
        update(store, tid, comment=["not", "a", "string"])
    with api_error(400, 12, "task"):
        store.call("tasks.update", {"name": "renamed"})
    assert dump(store) == before


def test_update_does_not_check_the_project(store: TaskStore) -> None:
    # §2.5 [Q]: no project existence check on tasks.update.
    tid = create_task(store)
    update(store, tid, project="f" * 32)
    assert get_task(store, tid)["project"] == "f" * 32
    update(store, tid, project="")
    assert "project" not in get_task(store, tid)


def test_update_of_public_other_company_and_missing_tasks(store: TaskStore, other: TaskStore) -> None:
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    theirs = create_task(other)
    before = dump(store)
    with api_error(403, 21):
        update(store, public, comment="x")
    for task in (theirs, "f" * 32):
        with api_error(400, 101):
            update(store, task, comment="x")
    assert dump(store) == before


# -- tasks.update_batch --------------------------------------------------------------------------------------


def batch(store: Any, body: Any) -> dict[str, Any]:
    return dict(store.call("tasks.update_batch", body))


def test_update_batch_with_a_list_of_items(store: TaskStore) -> None:
    a, b = create_task(store, name="task a"), create_task(store, name="task b")
    set_status(store, b, "published")
    before_b = get_task(store, b)
    assert batch(store, [{"task": a, "name": "renamed a"}, {"task": b, "comment": "c", "output__error": "e"}]) == {
        "updated": 2
    }
    doc_a, doc_b = get_task(store, a), get_task(store, b)
    assert (doc_a["name"], doc_b["comment"], doc_b["output"]) == ("renamed a", "c", {"error": "e"})
    assert doc_b["last_update"] == before_b["last_update"]
    assert doc_a["last_change"] == doc_b["last_change"]  # one clock per call


def test_update_batch_with_json_lines(store: TaskStore) -> None:
    a, b = create_task(store, name="task a"), create_task(store, name="task b")
    text = json.dumps({"task": a, "tags": ["x"]}) + "\n\n" + json.dumps({"task": b, "name": "renamed b"}) + "\n"
    assert batch(store, text) == {"updated": 2}
    assert (get_task(store, a)["tags"], get_task(store, b)["name"]) == (["x"], "renamed b")
    assert batch(store, text.encode()) == {"updated": 2}


def test_update_batch_with_a_single_object(store: TaskStore) -> None:
    a = create_task(store)
    assert batch(store, {"task": a, "comment": "one"}) == {"updated": 1}
    assert get_task(store, a)["comment"] == "one"


@pytest.mark.parametrize("body", [None, [], "", "\n\n"])
def test_update_batch_with_an_empty_body(store: TaskStore, body: Any) -> None:
    assert batch(store, body) == {"updated": 0}


def test_update_batch_counts_only_tasks_actually_modified(store: TaskStore) -> None:
    a, b = create_task(store, name="task a"), create_task(store, name="task b")
    assert batch(store, [{"task": a, "status": "published", "comment": None}, {"task": b, "name": "renamed"}]) == {
        "updated": 1
    }
    assert get_task(store, a)["status"] == "created"


def test_update_batch_duplicates_last_item_wins(store: TaskStore) -> None:
    a = create_task(store, name="task a")
    assert batch(store, [{"task": a, "name": "first name"}, {"task": a, "comment": "second"}]) == {"updated": 1}
    doc = get_task(store, a)
    assert (doc["name"], doc["comment"]) == ("task a", "second")


def test_update_batch_with_a_missing_id_writes_nothing(store: TaskStore, other: TaskStore) -> None:
    a = create_task(store)
    theirs = create_task(other)
    before = dump(store)
    with api_error(400, 101) as info:
        batch(store, [{"task": a, "name": "renamed"}, {"task": "f" * 32, "name": "x1x"}, {"task": theirs}])
    assert info.value.data == {"ids": sorted(["f" * 32, theirs])}
    assert dump(store) == before


def test_update_batch_with_a_public_task_writes_nothing(store: TaskStore) -> None:
    a = create_task(store)
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    before = dump(store)
    with api_error(403, 21):
        batch(store, [{"task": a, "name": "renamed"}, {"task": public, "comment": "x"}])
    assert dump(store) == before


@pytest.mark.parametrize(
    ("items", "codes", "field"),
    [
        ([{"name": "no task"}], (400, 12), "task"),
        ([{"task": 5}], (400, 12), "task"),
        ([5], (400, 12), "body"),
        ("{not json}\n", (400, 12), None),
        (7, (400, 12), "body"),
        ([{"task": "<a>", "name": "renamed"}, {"task": "<a>", "tags": ["__$x"]}], (400, 16), None),
        ([{"task": "<b>", "comment": "ok"}, {"task": "<a>", "name": "ab"}], (400, 800), "name"),
    ],
)
def test_update_batch_bad_items_write_nothing(
    store: TaskStore, items: Any, codes: tuple[int, int], field: str | None
) -> None:
    a, b = create_task(store, name="task a"), create_task(store, name="task b")
    if isinstance(items, list):
        ids = {"<a>": a, "<b>": b}
        items = [{**i, "task": ids.get(i["task"], i["task"])} if isinstance(i, dict) and "task" in i else i
                 for i in items]  # fmt: skip
    before = dump(store)
    with api_error(*codes, field):
        batch(store, items)
    assert dump(store) == before
