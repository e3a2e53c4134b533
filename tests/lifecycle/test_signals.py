"""started / stopped / failed / close / completed: fields written and response shapes (lifecycle §3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from lifecycle_support import entries_of, row, set_columns, task_in
from support import TIME, api_error, create_task, get_task, set_status, times

from taskstore import TaskStore
from taskstore.db.types import utcnow

SCP_TIMES = ("status_changed", "last_update", "last_change")


def scp_fields(status: str, reason: str = "", message: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "status_reason": reason,
        "status_message": message,
        "status_changed": TIME,
        "last_update": TIME,
        "last_change": TIME,
        **extra,
    }


def test_started_response_and_start_time(store: TaskStore) -> None:
    tid = create_task(store)
    res = store.call("tasks.started", {"task": tid, "status_reason": "why", "status_message": "go"})
    assert list(res) == ["updated", "fields", "started"]
    assert res["updated"] == 1 and res["started"] == 1  # a count, not a time
    assert times(res["fields"], *SCP_TIMES, "started") == scp_fields("in_progress", "why", "go", started=TIME)
    doc = get_task(store, tid)
    assert doc["status"] == "in_progress"
    assert doc["started"] == res["fields"]["started"] == doc["status_changed"]
    assert (doc["status_reason"], doc["status_message"]) == ("why", "go")


def test_started_again_keeps_the_first_start_and_reports_min_started(store: TaskStore) -> None:
    tid = create_task(store)
    first = store.call("tasks.started", {"task": tid})["fields"]["started"]
    res = store.call("tasks.started", {"task": tid})  # same-state: accepted
    assert "started" not in res["fields"]
    assert times(res["fields"], *SCP_TIMES, "min.started") == scp_fields("in_progress", **{"min.started": TIME})
    assert get_task(store, tid)["started"] == first
    # reason and message are overwritten with "" when not given
    assert get_task(store, tid)["status_message"] == ""


def test_stopped_writes_completed_and_a_positive_duration(store: TaskStore) -> None:
    tid = create_task(store)
    store.call("tasks.started", {"task": tid})
    set_columns(store, tid, started=utcnow() - timedelta(seconds=100))
    res = store.call("tasks.stopped", {"task": tid, "status_message": "done"})
    fields = times(res["fields"], *SCP_TIMES, "completed")
    assert 100 <= fields.pop("duration") <= 110  # the reference stores started - now (negative)
    assert fields == scp_fields("stopped", message="done", completed=TIME)
    doc = get_task(store, tid)
    assert doc["completed"] == res["fields"]["completed"]
    assert doc["duration"] == res["fields"]["duration"]


def test_failed_writes_duration_but_no_completed_time(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    res = store.call("tasks.failed", {"task": tid})
    assert times(res["fields"], *SCP_TIMES) == scp_fields("failed", duration=0)  # never started: 0
    assert "completed" not in get_task(store, tid)


def test_close_writes_only_the_status_fields(store: TaskStore) -> None:
    tid = task_in(store, "stopped")
    res = store.call("tasks.close", {"task": tid, "status_reason": "r"})
    assert list(res) == ["updated", "fields"]
    assert times(res["fields"], *SCP_TIMES) == scp_fields("closed", "r")


def test_completed_without_publish(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    res = store.call("tasks.completed", {"task": tid})
    assert res["published"] == 0
    fields = times(res["fields"], *SCP_TIMES, "completed")
    assert fields == scp_fields("completed", completed=TIME, duration=0)
    assert get_task(store, tid)["status"] == "completed"


@pytest.mark.parametrize("version", ["2.2", "2.20", None])
def test_completed_with_publish_publishes_task_and_last_output_model(store: TaskStore, version: str | None) -> None:
    tid = task_in(store, "in_progress")
    model = store.call("models.create", {"name": "out", "uri": "s3://m", "ready": False})["id"]
    store.call("tasks.edit", {"task": tid, "force": True, "models": {"output": [{"name": "o", "model": model}]}})
    res = store.call("tasks.completed", {"task": tid, "publish": True}, version=version)
    assert res["published"] == 1
    assert res["fields"]["status"] == "published"  # the completed step's fields, status overwritten
    assert "completed" in res["fields"] and "published" not in res["fields"]
    doc = get_task(store, tid)
    assert doc["status"] == "published" and "published" in doc and "completed" in doc
    assert store.call("models.get_by_id", {"model": model})["model"]["ready"] is True


def test_completed_is_not_served_before_2_2(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    with api_error(404, 0):
        store.call("tasks.completed", {"task": tid}, version="2.1")


def test_signal_bumps_the_project_time(store: TaskStore) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    tid = create_task(store, project=project)
    before = store.call("projects.get_by_id", {"project": project})["project"]["last_update"]
    res = store.call("tasks.started", {"task": tid})
    after = store.call("projects.get_by_id", {"project": project})["project"]["last_update"]
    assert after == res["fields"]["last_update"] and after >= before


def test_signals_leave_enqueue_status_and_queue_but_not_the_queue_entry(store: TaskStore) -> None:
    tid = task_in(store, "queued")
    queue = get_task(store, tid)["execution"]["queue"]
    assert entries_of(store) == [(queue, tid)]
    store.call("tasks.stopped", {"task": tid})  # the reference leaves an orphaned entry here; we do not
    assert entries_of(store) == []
    doc = get_task(store, tid)
    assert doc["execution"]["queue"] == queue and doc["enqueue_status"] == "created"


def test_started_on_a_queued_task_takes_it_out_of_the_queue(store: TaskStore) -> None:
    tid = task_in(store, "queued")
    store.call("tasks.started", {"task": tid})
    assert entries_of(store) == []


@pytest.mark.parametrize("endpoint", ["started", "stopped", "failed", "close", "completed"])
def test_public_tasks_are_read_only_even_with_force(store: TaskStore, endpoint: str) -> None:
    tid = task_in(store, "in_progress")
    store.call("tasks.make_public", {"ids": [tid]})
    before = row(store, tid)
    with api_error(403, 21) as info:
        store.call(f"tasks.{endpoint}", {"task": tid, "force": True})
    assert tid in info.value.message
    assert row(store, tid) == before


def test_another_companys_task_is_missing(store: TaskStore, other: Any) -> None:
    tid = create_task(other)
    with api_error(400, 101) as info:
        store.call("tasks.started", {"task": tid})
    assert info.value.data == {"id": tid, "company": "acme"}
    assert info.value.message == f"invalid task id: id={tid}, company=acme"


def test_refusals_carry_the_reference_data(store: TaskStore) -> None:
    tid = task_in(store, "published")
    with api_error(400, 110) as info:
        store.call("tasks.started", {"task": tid})
    assert info.value.data == {"current_status": "published", "new_status": "in_progress"}
    assert info.value.message == (
        "invalid task status (Invalid status change): current_status=published, new_status=in_progress"
    )
    set_status(store, tid, "unknown")
    with api_error(500, 1) as info:
        store.call("tasks.stopped", {"task": tid})
    assert "Current status unknown not supported by state machine" in info.value.message


def test_force_unpublishes(store: TaskStore) -> None:
    tid = task_in(store, "published")
    store.call("tasks.started", {"task": tid, "force": True})
    assert get_task(store, tid)["status"] == "in_progress"
