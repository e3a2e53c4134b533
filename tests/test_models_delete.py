"""models.delete: refusals while tasks use the model or its creating task is published, and what
``force`` rewrites (the references become ``__DELETED__<id>``)."""

from __future__ import annotations

import pytest
from support import ISO_UTC, TIME, api_error, create_task, dump, get_task, set_status, times

from taskstore import TaskStore


def make_model(store: TaskStore, name: str = "m1", **fields: object) -> str:
    return str(store.call("models.create", {"name": name, "uri": f"s3://bucket/{name}", **fields})["id"])


def test_unused_model_is_deleted_and_its_url_returned(store: TaskStore) -> None:
    mid = make_model(store)
    kept = make_model(store, "m2")
    assert store.call("models.delete", {"model": mid}) == {"deleted": True, "url": "s3://bucket/m1"}
    with api_error(400, 201):
        store.call("models.get_by_id", {"model": mid})
    assert [m["id"] for m in store.call("models.get_all", {})["models"]] == [kept]
    with api_error(400, 201):
        store.call("models.delete", {"model": mid})


def test_missing_other_company_and_public_models(store: TaskStore, other: TaskStore) -> None:
    theirs = make_model(other, "theirs")
    public = make_model(other, "shared", public=True)
    before = dump(store)
    for model in (theirs, "f" * 32):
        with api_error(400, 201):
            store.call("models.delete", {"model": model, "force": True})
    for caller in (store, other):
        with api_error(403, 21):
            caller.call("models.delete", {"model": public, "force": True})
    with api_error(400, 12, "model"):
        store.call("models.delete", {})
    assert dump(store) == before


def test_model_used_as_input_needs_force_and_is_renamed_in_the_tasks(store: TaskStore) -> None:
    mid = make_model(store)
    other_model = make_model(store, "m2")
    users = [create_task(store, f"user {i}", models={"input": [{"name": "in", "model": mid}]}) for i in range(2)]
    bystander = create_task(store, "bystander", models={"input": [{"name": "in", "model": other_model}]})
    before = dump(store)
    with api_error(400, 205) as info:
        store.call("models.delete", {"model": mid})
    assert "use force=True" in info.value.message and info.value.data["num_tasks"] == 2
    assert dump(store) == before

    assert store.call("models.delete", {"model": mid, "force": True}) == {"deleted": True, "url": "s3://bucket/m1"}
    for tid in users:
        task = get_task(store, tid)
        assert [times(m, "updated") for m in task["models"]["input"]] == [
            {"name": "in", "model": f"__DELETED__{mid}", "updated": TIME}
        ]
        assert task["status"] == "created"
    assert [m["model"] for m in get_task(store, bystander)["models"]["input"]] == [other_model]


@pytest.mark.parametrize("status", ["created", "in_progress", "stopped", "completed", "failed"])
def test_creating_task_that_is_not_published_does_not_hold_the_model(store: TaskStore, status: str) -> None:
    tid = create_task(store)
    mid = make_model(store, task=tid)
    set_status(store, tid, status)
    assert store.call("models.delete", {"model": mid})["deleted"] is True


def test_published_creating_task_needs_force_and_records_the_deletion(store: TaskStore) -> None:
    tid = create_task(store)
    mid = make_model(store, task=tid)
    store.call("tasks.add_or_update_model", {"task": tid, "name": "out", "model": mid, "type": "output"})
    set_status(store, tid, "published")
    before = dump(store)
    with api_error(400, 206) as info:
        store.call("models.delete", {"model": mid})
    assert "use force=True" in info.value.message and info.value.data["task"] == tid
    assert dump(store) == before

    changed_before = get_task(store, tid)["last_change"]
    assert store.call("models.delete", {"model": mid, "force": True})["deleted"] is True
    task = get_task(store, tid)
    assert [m["model"] for m in task["models"]["output"]] == [f"__DELETED__{mid}"]
    assert task["output"]["error"].startswith("model deleted on ")
    assert task["status"] == "published"
    assert task["last_change"] > changed_before and ISO_UTC.match(task["last_change"])
