"""reset and delete with the cleanup procedure (lifecycle §5, §7, §8)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lifecycle_support import entries_of, model_row, row, set_columns, set_extra, task_in
from sqlalchemy import func, insert, select
from support import TIME, api_error, create_task, dump, get_task, times

from taskstore import TaskStore
from taskstore.db.records import EventRecord, TaskTagRecord
from taskstore.db.types import utcnow

SCP_TIMES = ("status_changed", "last_update", "last_change")


def add_events(store: TaskStore, task_id: str) -> None:
    plot = {"data": [{"source": "s3://bucket/plot.png"}], "layout": {"images": [{"source": "https://x/y.jpg"}]}}
    rows = [
        {"task": task_id, "type": "training_debug_image", "url": "s3://bucket/a.png", "company": "acme"},
        {"task": task_id, "type": "training_debug_image", "url": "s3://bucket/a.png", "company": "acme"},
        {"task": task_id, "type": "plot", "data": {"plot_str": json.dumps(plot)}, "company": "acme"},
        {"task": task_id, "type": "training_stats_scalar", "value": 1.0, "company": "acme"},
    ]
    with store._db.transaction() as conn:
        conn.execute(insert(EventRecord), [{"data": {}, "url": None, "value": None, **r} for r in rows])


def event_count(store: TaskStore, task_id: str) -> int:
    with store._db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).where(EventRecord.task == task_id)).scalar_one())


def model(store: Any, ready: bool = False, **fields: Any) -> str:
    return str(store.call("models.create", {"name": "model", "uri": f"file:///{len(str(fields))}", "ready": ready,
                                            **fields})["id"])  # fmt: skip


ARTIFACTS = [
    {"key": "in", "type": "t", "mode": "input", "uri": "s3://art/in"},
    {"key": "out", "type": "t", "mode": "output", "uri": "s3://art/out"},
]


def ran_task(store: TaskStore, status: str = "completed") -> str:
    """A task with everything a run leaves behind."""
    tid = create_task(
        store,
        "ran task",
        comment="c",
        tags=["t"],
        system_tags=["development"],
        output_dest="s3://dest",
        execution={"artifacts": ARTIFACTS, "framework": "torch"},
        hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}},
        script={"repository": "repo", "requirements": {"pip": "a"}},
    )
    store.call("tasks.started", {"task": tid})
    store.call("tasks.update", {"task": tid, "output__error": "boom"})
    set_columns(store, tid, last_iteration=7, last_metrics={"m": {"v": {"value": 1}}}, runtime={"gpu": "1"},
                active_duration=12)  # fmt: skip
    set_extra(store, tid, last_worker="w1")
    if status != "in_progress":
        store.call("tasks.edit", {"task": tid, "status": status, "force": True})
    return tid


RESET_FIELDS = {
    "status": "created",
    "status_reason": "reset",
    "status_message": "reset",
    "status_changed": TIME,
    "last_update": TIME,
    "last_change": TIME,
    "started": None,
    "completed": None,
    "published": None,
    "active_duration": None,
    "enqueue_status": None,
    "last_iteration": 0,
    "last_metrics": {},
    "metric_stats": {},
    "models.output": [],
    "runtime": {},
    "output.result": None,
    "output.error": None,
    "last_worker": None,
    "last_worker_report": None,
    "execution.queue": None,
}


def test_reset_response_and_what_it_clears(store: TaskStore) -> None:
    tid = ran_task(store)
    res = store.call("tasks.reset", {"task": tid, "status_reason": "ignored", "status_message": "ignored"})
    assert list(res) == ["updated", "fields", "dequeued", "deleted_models", "urls", "events"]
    assert times(res["fields"], *SCP_TIMES) == RESET_FIELDS
    assert (res["updated"], res["dequeued"], res["events"], res["deleted_models"], res["urls"]) == (1, {}, {}, 0, {})
    doc = get_task(store, tid)
    for key in ("started", "completed", "published", "active_duration", "last_worker", "enqueue_status"):
        assert key not in doc, key
    assert (doc["status"], doc["last_iteration"], doc["last_metrics"], doc["runtime"]) == ("created", 0, {}, {})
    assert doc["output"] == {"destination": "s3://dest"}
    assert [a["key"] for a in doc["execution"]["artifacts"]] == ["in"]  # output artifacts dropped
    assert doc["execution"]["framework"] == "torch"
    assert doc["script"]["repository"] == "repo"
    assert doc["hyperparams"]["Args"]["lr"]["value"] == "0.1"
    assert (doc["tags"], doc["system_tags"], doc["comment"]) == (["t"], ["development"], "c")


def test_reset_clear_all_replaces_execution_and_removes_script(store: TaskStore) -> None:
    tid = ran_task(store)
    res = store.call("tasks.reset", {"task": tid, "clear_all": True})
    fields = times(res["fields"], *SCP_TIMES)
    want = {k: v for k, v in RESET_FIELDS.items() if k != "execution.queue"}
    assert fields == {**want, "execution": {"test_split": 0}, "script": None}
    doc = get_task(store, tid)
    assert doc["execution"]["artifacts"] == [] and "framework" not in doc["execution"]
    assert doc["script"] == {"binary": "python", "repository": "", "entry_point": "", "requirements": {}}
    assert doc["hyperparams"]["Args"]["lr"]["value"] == "0.1"  # never cleared


def test_reset_of_a_queued_task(store: TaskStore) -> None:
    tid = task_in(store, "queued")
    res = store.call("tasks.reset", {"task": tid})
    assert res["dequeued"] == {"removed": 1}
    assert entries_of(store) == []
    assert "queue" not in get_task(store, tid)["execution"]
    many = task_in(store, "queued")
    item = store.call("tasks.reset_many", {"ids": [many]})["succeeded"][0]
    assert item["dequeued"] is True
    assert set(item) == {"id", "updated", "fields", "dequeued", "deleted_models", "urls"}


def test_reset_deletes_draft_outputs_unless_in_use_and_returns_urls(store: TaskStore) -> None:
    tid = ran_task(store, "in_progress")
    linked = model(store, task=tid, uri="s3://m/linked")
    listed = model(store, uri="s3://m/listed")
    used = model(store, task=tid, uri="s3://m/used")
    store.call("tasks.edit", {"task": tid, "force": True, "models": {"output": [{"name": "o", "model": listed}]}})
    create_task(store, "consumer", models={"input": [{"name": "i", "model": used}]})
    add_events(store, tid)
    res = store.call("tasks.reset", {"task": tid, "return_file_urls": True})
    assert res["deleted_models"] == 2
    assert model_row(store, linked) is None and model_row(store, listed) is None
    assert model_row(store, used)["task"] is None  # type: ignore[index]
    urls = res["urls"]
    assert sorted(urls) == ["artifact_urls", "event_urls", "model_urls"]
    assert sorted(urls["model_urls"]) == ["s3://m/linked", "s3://m/listed"]
    assert sorted(urls["event_urls"]) == ["https://x/y.jpg", "s3://bucket/a.png", "s3://bucket/plot.png"]
    assert urls["artifact_urls"] == ["s3://art/out"]
    assert event_count(store, tid) == 0


def test_reset_keep_output_models(store: TaskStore) -> None:
    tid = ran_task(store, "stopped")
    draft = model(store, task=tid, uri="s3://m/draft")
    res = store.call("tasks.reset_many", {"ids": [tid], "delete_output_models": False, "return_file_urls": True})
    item = res["succeeded"][0]
    assert item["deleted_models"] == 0 and item["urls"]["model_urls"] == ["s3://m/draft"]
    assert model_row(store, draft)["task"] is None  # type: ignore[index]


def test_reset_refuses_published_models_and_children_without_force(store: TaskStore) -> None:
    tid = ran_task(store, "stopped")
    ready = model(store, ready=True, task=tid)
    before = dump(store)
    with api_error(400, 123) as info:
        store.call("tasks.reset", {"task": tid})
    assert info.value.data == {"task": tid, "models": 1}
    assert "has output models, use force=True" in info.value.message
    assert dump(store) == before
    store.call("tasks.reset", {"task": tid, "force": True})
    assert model_row(store, ready)["task"] is None  # type: ignore[index]

    parent = ran_task(store, "stopped")
    child = create_task(store, "child", parent=parent)
    store.call("tasks.edit", {"task": child, "status": "published", "force": True})
    with api_error(400, 123) as info:
        store.call("tasks.reset", {"task": parent})
    assert info.value.data == {"task": parent, "children": 1}
    store.call("tasks.reset", {"task": parent, "force": True})
    assert get_task(store, child)["parent"] == parent  # reset does not touch children


def test_reset_refusal_of_a_listed_ready_output_model(store: TaskStore) -> None:
    tid = ran_task(store, "stopped")
    ready = model(store, ready=True)
    store.call("tasks.edit", {"task": tid, "force": True, "models": {"output": [{"name": "o", "model": ready}]}})
    with api_error(400, 123) as info:
        store.call("tasks.reset", {"task": tid})
    assert info.value.data == {"task": tid, "model": ready}


def test_reset_publishing_fails_on_the_events_lock_and_changes_nothing(store: TaskStore) -> None:
    tid = ran_task(store, "publishing")
    draft = model(store, task=tid)
    add_events(store, tid)
    before = dump(store)
    with api_error(400, 101) as info:
        store.call("tasks.reset", {"task": tid})
    assert info.value.data == {"company": "acme", "id": tid}
    assert "or task published" in info.value.message
    assert dump(store) == before  # the reference has deleted the draft model by then
    assert model_row(store, draft) is not None


def test_delete_response_and_cleanup(store: TaskStore) -> None:
    project = store.call("projects.create", {"name": "project one", "description": ""})["id"]
    tid = create_task(store, tags=["a"], project=project)
    res = store.call("tasks.delete", {"task": tid})
    assert res == {"deleted": True, "updated_children": 0, "updated_models": 0, "deleted_models": 0, "urls": None}
    assert row(store, tid) is None
    with store._db.transaction(write=False) as conn:
        assert conn.execute(select(TaskTagRecord).where(TaskTagRecord.task == tid)).first() is None
    with api_error(400, 101):
        get_task(store, tid)


def test_delete_refuses_a_non_created_task(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    with api_error(400, 123) as info:
        store.call("tasks.delete", {"task": tid})
    assert info.value.data == {"task": tid, "expected": "created", "current": "in_progress"}
    assert "due to status, use force=True" in info.value.message


def test_delete_with_force_repoints_children_and_published_models(store: TaskStore, other: Any) -> None:
    tid = task_in(store, "published")
    child = create_task(store, "child", parent=tid)
    store.call("tasks.edit", {"task": child, "status": "published", "force": True})
    ready, draft = model(store, ready=True, task=tid), model(store, task=tid, uri="s3://d")
    add_events(store, tid)
    with api_error(400, 123):
        store.call("tasks.delete", {"task": tid, "force": False})
    res = store.call("tasks.delete", {"task": tid, "force": True, "return_file_urls": True})
    assert (res["updated_children"], res["updated_models"], res["deleted_models"]) == (1, 1, 1)
    assert res["urls"]["model_urls"] == ["s3://d"]
    assert get_task(store, child)["parent"] == f"__DELETED__{tid}"
    assert model_row(store, ready)["task"] == f"__DELETED__{tid}"  # type: ignore[index]
    assert model_row(store, draft) is None
    assert event_count(store, tid) == 0
    # a child with a deleted parent can still be cloned and validated
    clone = store.call("tasks.clone", {"task": child})["id"]
    assert "parent" not in get_task(store, clone)


def test_delete_without_deleting_output_models_repoints_drafts(store: TaskStore) -> None:
    tid = create_task(store)
    draft = model(store, task=tid)
    res = store.call("tasks.delete", {"task": tid, "delete_output_models": False})
    assert (res["updated_models"], res["deleted_models"]) == (1, 0)
    assert model_row(store, draft)["task"] == f"__DELETED__{tid}"  # type: ignore[index]


@pytest.mark.parametrize("status", ["queued", "in_progress", "published"])
def test_delete_of_an_archived_task(store: TaskStore, status: str) -> None:
    tid = task_in(store, status)
    store.call("tasks.update", {"task": tid, "system_tags": ["archived"]})
    if status == "published":  # the events lock still applies
        before = dump(store)
        with api_error(400, 101):
            store.call("tasks.delete", {"task": tid})
        assert dump(store) == before
        return
    assert store.call("tasks.delete", {"task": tid})["deleted"] is True
    assert row(store, tid) is None
    assert entries_of(store) == []


def test_delete_many_order_duplicates_and_isolation(store: TaskStore) -> None:
    a, b = create_task(store), create_task(store)
    running = task_in(store, "in_progress")
    res = store.call("tasks.delete_many", {"ids": [b, running, a, b]})
    assert [i["id"] for i in res["succeeded"]] == [b, a]
    assert res["succeeded"][0] == {
        "id": b, "deleted": True, "updated_children": 0, "updated_models": 0, "deleted_models": 0, "urls": None,
    }  # fmt: skip
    assert [(i["id"], i["error"]["codes"]) for i in res["failed"]] == [(running, [400, 123]), (b, [400, 101])]
    assert row(store, a) is None and row(store, b) is None and row(store, running) is not None


def test_delete_clears_the_project_time(store: TaskStore) -> None:
    project = store.call("projects.create", {"name": "project two", "description": ""})["id"]
    tid = create_task(store, project=project)
    before = store.call("projects.get_by_id", {"project": project})["project"]["last_update"]
    set_columns(store, tid, created=utcnow())
    store.call("tasks.delete", {"task": tid})
    assert store.call("projects.get_by_id", {"project": project})["project"]["last_update"] >= before


def test_reset_many_rolls_back_only_the_failing_id(store: TaskStore) -> None:
    ok, locked = ran_task(store, "stopped"), ran_task(store, "publishing")
    ok_model, locked_model = model(store, task=ok), model(store, task=locked)
    add_events(store, locked)
    res = store.call("tasks.reset_many", {"ids": [locked, ok]})
    assert [i["id"] for i in res["succeeded"]] == [ok]
    assert res["succeeded"][0]["deleted_models"] == 1
    assert [(f["id"], f["error"]["codes"]) for f in res["failed"]] == [(locked, [400, 101])]
    # the failing id had already deleted its draft model when the events lock refused: undone
    assert model_row(store, locked_model) is not None and model_row(store, ok_model) is None
    assert event_count(store, locked) == 4
    assert (get_task(store, locked)["status"], get_task(store, ok)["status"]) == ("publishing", "created")
