"""stop (immediate and worker paths, lifecycle §4) and publish (lifecycle §6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle_support import entries_of, model_row, row, set_columns, set_extra, task_in
from support import TIME, api_error, create_task, get_task, times

from taskstore import TaskStore
from taskstore.db.types import utcnow

SCP_TIMES = ("status_changed", "last_update", "last_change")


def test_stop_immediate_path_response(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    res = store.call("tasks.stop", {"task": tid, "status_reason": "user", "status_message": "ignored"})
    assert times(res["fields"], *SCP_TIMES) == {
        "status": "stopped",
        "status_reason": "user",
        "status_message": "Stopped by alice",
        "status_changed": TIME,
        "last_update": TIME,
        "last_change": TIME,
    }
    assert res["updated"] == 1
    doc = get_task(store, tid)
    assert doc["status"] == "stopped"
    assert "completed" not in doc and "duration" not in doc  # unlike tasks.stopped


def test_stop_of_a_queued_task_dequeues_it(store: TaskStore) -> None:
    tid = task_in(store, "queued")
    assert len(entries_of(store)) == 1
    store.call("tasks.stop", {"task": tid})
    assert entries_of(store) == []
    doc = get_task(store, tid)
    assert doc["status"] == "stopped"
    assert doc["enqueue_status"] == "created"  # left stale, as the reference does


def _run_by_worker(store: TaskStore, tid: str, seconds_ago: float = 5) -> None:
    set_extra(store, tid, last_worker="worker-1")
    set_columns(store, tid, last_update=utcnow() - timedelta(seconds=seconds_ago))


def test_stop_worker_path_only_marks_stopping(store: TaskStore) -> None:
    for status in ("in_progress", "completed", "published", "created"):
        tid = task_in(store, status)
        _run_by_worker(store, tid)
        res = store.call("tasks.stop", {"task": tid})
        assert res["fields"]["status"] == status
        assert res["fields"]["status_message"] == "stopping"
        assert get_task(store, tid)["status"] == status


def test_stop_worker_path_needs_a_recent_update(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    _run_by_worker(store, tid, seconds_ago=601)
    assert store.call("tasks.stop", {"task": tid})["fields"]["status"] == "stopped"
    tid = task_in(store, "completed")
    _run_by_worker(store, tid, seconds_ago=601)
    with api_error(400, 110):
        store.call("tasks.stop", {"task": tid})


def test_stop_development_task_is_immediate(store: TaskStore) -> None:
    tid = task_in(store, "in_progress", system_tags=["development"])
    _run_by_worker(store, tid)
    res = store.call("tasks.stop", {"task": tid})
    assert (res["fields"]["status"], res["fields"]["status_message"]) == ("stopped", "Stopped by alice")


def _with_outputs(store: TaskStore, tid: str, *model_ids: str) -> None:
    items = [{"name": f"m{i}", "model": m} for i, m in enumerate(model_ids)]
    store.call("tasks.edit", {"task": tid, "force": True, "models": {"output": items}})


def _model(store: Any, ready: bool = False, **fields: Any) -> str:
    return str(store.call("models.create", {"name": "model", "uri": "file:///m", "ready": ready, **fields})["id"])


def test_publish_response_and_last_output_model(store: TaskStore, other: Any) -> None:
    tid = task_in(store, "stopped")
    first, last = _model(store), _model(store)
    _with_outputs(store, tid, first, last)
    store.call("tasks.update", {"task": tid, "output__error": "kept"})
    res = store.call("tasks.publish", {"task": tid, "status_message": "ok"})
    assert times(res["fields"], *SCP_TIMES, "published") == {
        "status": "published",
        "status_reason": "",
        "status_message": "ok",
        "status_changed": TIME,
        "last_update": TIME,
        "last_change": TIME,
        "published": TIME,
        "output": {"error": "kept"},
    }
    assert model_row(store, last)["ready"] is True  # type: ignore[index]
    assert model_row(store, first)["ready"] is False  # type: ignore[index]
    doc = get_task(store, tid)
    assert (doc["status"], doc["published"]) == ("published", res["fields"]["published"])


def test_publish_skips_ready_and_foreign_models_and_publish_model_false(store: TaskStore, other: Any) -> None:
    tid = task_in(store, "completed")
    foreign = _model(other)
    _with_outputs(store, tid, foreign)
    store.call("tasks.publish", {"task": tid})
    assert model_row(store, foreign)["ready"] is False  # type: ignore[index]
    tid = task_in(store, "failed")
    draft = _model(store)
    _with_outputs(store, tid, draft)
    store.call("tasks.publish", {"task": tid, "publish_model": False})
    assert model_row(store, draft)["ready"] is False  # type: ignore[index]
    assert get_task(store, tid)["status"] == "published"


def test_publish_has_no_same_state_exemption_but_force_republishes(store: TaskStore) -> None:
    tid = task_in(store, "stopped")
    first = store.call("tasks.publish", {"task": tid})["fields"]["published"]
    with api_error(400, 110) as info:
        store.call("tasks.publish", {"task": tid})
    assert info.value.data == {"current_status": "published", "new_status": "published"}
    assert "Invalid status change" in info.value.message
    second = store.call("tasks.publish", {"task": tid, "force": True})["fields"]["published"]
    assert second >= first
    assert get_task(store, tid)["published"] == second


def test_a_refused_publish_changes_nothing(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    draft = _model(store)
    _with_outputs(store, tid, draft)
    before = row(store, tid), model_row(store, draft)
    with api_error(400, 110):
        store.call("tasks.publish", {"task": tid})
    assert (row(store, tid), model_row(store, draft)) == before


def test_publish_many_in_request_order(store: TaskStore) -> None:
    ok1, bad, ok2 = task_in(store, "stopped"), task_in(store, "created"), task_in(store, "closed")
    res = store.call("tasks.publish_many", {"ids": [ok2, bad, "missing", ok1], "publish_model": False})
    assert [i["id"] for i in res["succeeded"]] == [ok2, ok1]
    assert all(set(i) == {"id", "updated", "fields"} and i["updated"] == 1 for i in res["succeeded"])
    assert [i["id"] for i in res["failed"]] == [bad, "missing"]
    assert res["failed"][0]["error"] == {
        "codes": [400, 110],
        "msg": "invalid task status (Invalid status change): current_status=created, new_status=published",
        "data": {"current_status": "created", "new_status": "published"},
    }
    assert res["failed"][1]["error"] == {
        "codes": [400, 101],
        "msg": "invalid task id: id=missing, company=acme",
        "data": {"id": "missing", "company": "acme"},
    }
    assert get_task(store, ok1)["status"] == get_task(store, ok2)["status"] == "published"


def test_stop_many_items(store: TaskStore) -> None:
    running, created = task_in(store, "in_progress"), create_task(store)
    res = store.call("tasks.stop_many", {"ids": [running, created], "status_reason": "bulk"})
    (item,) = res["succeeded"]
    assert item["id"] == running and item["updated"] == 1
    assert (item["fields"]["status"], item["fields"]["status_reason"]) == ("stopped", "bulk")
    assert [f["id"] for f in res["failed"]] == [created]
    assert res["failed"][0]["error"]["codes"] == [400, 110]
