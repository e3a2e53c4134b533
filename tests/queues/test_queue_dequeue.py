"""tasks.dequeue and tasks.dequeue_many (spec: lifecycle §9, §1.6 "remove" and DAR, §14)."""

from __future__ import annotations

from typing import Any

import pytest
from queue_support import all_entries, assert_no_orphans, entries, make_queue, queue_doc
from support import TIME, api_error, create_task, dump, get_task, set_status, times

from taskstore import TaskStore

STATUS_TIMES = ("status_changed", "last_update", "last_change")


def queued_task(store: Any, queue: str, status: str = "created", **fields: Any) -> str:
    tid = create_task(store, **fields)
    if status != "created":
        set_status(store, tid, status)
    store.call("tasks.enqueue", {"task": tid, "queue": queue, "force": status not in ("created", "stopped")})
    return tid


def dequeue(store: Any, task: str, **fields: Any) -> dict[str, Any]:
    return dict(store.call("tasks.dequeue", {"task": task, **fields}))


def test_dequeue_exact_response_and_side_effects(store: TaskStore) -> None:
    q = make_queue(store)
    other = queued_task(store, q)
    tid = queued_task(store, q)
    result = dequeue(store, tid, status_reason="why", status_message="msg")
    assert set(result) == {"dequeued", "updated", "fields"}
    assert (result["dequeued"], result["updated"]) == (1, 1)
    assert times(result["fields"], *STATUS_TIMES) == {
        "status": "created",
        "status_reason": "why",
        "status_message": "msg",
        "status_changed": TIME,
        "last_update": TIME,
        "last_change": TIME,
        "enqueue_status": None,
    }
    task = get_task(store, tid)
    assert (task["status"], task["status_reason"], task["status_message"]) == ("created", "why", "msg")
    assert "enqueue_status" not in task
    assert task["execution"]["queue"] == q  # not cleared by dequeue
    assert entries(store, q) == [other]
    assert queue_doc(store, q)["last_update"] == result["fields"]["last_update"]


def test_dequeue_reverts_to_the_status_before_enqueue(store: TaskStore) -> None:
    q = make_queue(store)
    tid = queued_task(store, q, status="stopped")
    assert dequeue(store, tid)["fields"]["status"] == "stopped"
    assert entries(store, q) == []


@pytest.mark.parametrize("status", ["created", "in_progress", "stopped", "failed", "completed", "published", "unknown"])
def test_dequeue_of_a_task_that_is_not_queued_is_400_101(store: TaskStore, status: str) -> None:
    tid = create_task(store)
    if status != "created":
        set_status(store, tid, status)
    before = dump(store)
    with api_error(400, 101) as info:
        dequeue(store, tid)
    assert info.value.data == {"status": status, "expected": "queued"}
    assert info.value.message == f"invalid task id: status={status}, expected=queued"
    assert dump(store) == before


def test_dequeue_ignores_force(store: TaskStore) -> None:
    tid = create_task(store)
    with api_error(400, 101):
        dequeue(store, tid, force=True)


def test_dequeue_of_a_popped_task_is_400_703(store: TaskStore) -> None:
    q = make_queue(store)
    tid = queued_task(store, q)
    assert store.call("queues.get_next_task", {"queue": q})["entry"]["task"] == tid
    before = dump(store)
    with api_error(400, 703) as info:
        dequeue(store, tid)
    assert info.value.data == {"task": tid, "id": q, "company": "acme"}
    assert dump(store) == before
    assert get_task(store, tid)["status"] == "queued"


def test_dequeue_of_a_queued_task_without_a_queue_value_is_400_11(store: TaskStore) -> None:
    tid = create_task(store)
    set_status(store, tid, "queued")
    with api_error(400, 11) as info:
        dequeue(store, tid)
    assert info.value.message == "missing required fields (task has no queue value): field=execution.queue"
    assert info.value.data == {"field": "execution.queue"}


def test_dequeue_whose_queue_was_deleted_is_400_703(store: TaskStore) -> None:
    q = make_queue(store)
    tid = queued_task(store, q)
    store.call("queues.delete", {"queue": q, "force": True})
    with api_error(400, 703):
        dequeue(store, tid)


def test_refused_revert_keeps_the_entry(store: TaskStore) -> None:
    # After a forced enqueue from failed, the revert queued -> failed is not in the table: 400/110.
    # The reference has already removed the entry by then (task stays queued, in no queue); here
    # the call is one transaction, so the entry is still there.
    q = make_queue(store)
    tid = queued_task(store, q, status="failed")
    before = dump(store)
    with api_error(400, 110) as info:
        dequeue(store, tid)
    assert info.value.data == {"current_status": "queued", "new_status": "failed"}
    assert dump(store) == before
    assert entries(store, q) == [tid]


def test_dequeue_of_missing_foreign_and_public_tasks(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    for tid in ("nope", theirs):
        with api_error(400, 101) as info:
            dequeue(store, tid)
        assert info.value.data == {"id": tid, "company": "acme"}
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    with api_error(403, 21):
        dequeue(store, public)


def test_dequeue_then_enqueue_again_goes_to_the_back(store: TaskStore) -> None:
    q = make_queue(store)
    a, b = queued_task(store, q), queued_task(store, q)
    dequeue(store, a)
    store.call("tasks.enqueue", {"task": a, "queue": q})
    assert entries(store, q) == [b, a]
    assert_no_orphans(store)


# -- dequeue_many -----------------------------------------------------------------------------------------


def test_dequeue_many_reports_each_id(store: TaskStore) -> None:
    q = make_queue(store)
    t1, t2 = queued_task(store, q), queued_task(store, q, status="stopped")
    idle = create_task(store)
    result = store.call("tasks.dequeue_many", {"ids": [t2, "nope", idle, t1], "status_message": "m"})
    assert [s["id"] for s in result["succeeded"]] == [t2, t1]
    for item, status in zip(result["succeeded"], ["stopped", "created"], strict=True):
        assert set(item) == {"id", "dequeued", "updated", "fields"}
        assert item["dequeued"] is True and item["updated"] == 1
        assert times(item["fields"], *STATUS_TIMES) == {
            "status": status,
            "status_reason": "",
            "status_message": "m",
            "status_changed": TIME,
            "last_update": TIME,
            "last_change": TIME,
            "enqueue_status": None,
        }
    assert result["failed"] == [
        {
            "id": "nope",
            "error": {
                "codes": [400, 101],
                "msg": "invalid task id: id=nope, company=acme",
                "data": {"id": "nope", "company": "acme"},
            },
        },
        {
            "id": idle,
            "error": {
                "codes": [400, 101],
                "msg": "invalid task id: status=created, expected=queued",
                "data": {"status": "created", "expected": "queued"},
            },
        },
    ]
    assert all_entries(store) == []


def test_dequeue_many_needs_2_13_and_non_empty_ids(store: TaskStore) -> None:
    with api_error(404, 0):
        store.call("tasks.dequeue_many", {"ids": ["x"]}, version="2.12")
    with api_error(400, 12, field="ids"):
        store.call("tasks.dequeue_many", {"ids": []})


def test_dequeue_many_refused_revert_keeps_that_entry_only(store: TaskStore) -> None:
    q = make_queue(store)
    ok = queued_task(store, q)
    stuck = queued_task(store, q, status="completed")
    result = store.call("tasks.dequeue_many", {"ids": [stuck, ok]})
    assert [s["id"] for s in result["succeeded"]] == [ok]
    assert result["failed"][0]["error"]["codes"] == [400, 110]
    assert entries(store, q) == [stuck]
    assert_no_orphans(store)


def test_archive_that_swallows_a_refused_revert_keeps_the_entry(store: TaskStore) -> None:
    # archive runs DAR and swallows its errors; the refused revert must not leave a half-done dequeue.
    q = make_queue(store)
    tid = queued_task(store, q, status="failed")
    assert store.call("tasks.archive_many", {"ids": [tid]})["succeeded"] == [{"id": tid, "archived": True}]
    task = get_task(store, tid)
    assert (task["status"], task["system_tags"]) == ("queued", ["archived"])
    assert entries(store, q) == [tid]
    assert_no_orphans(store)


def test_archive_of_a_queued_task_dequeues_it(store: TaskStore) -> None:
    q = make_queue(store)
    tid = queued_task(store, q, status="stopped")
    store.call("tasks.archive_many", {"ids": [tid]})
    assert get_task(store, tid)["status"] == "stopped"
    assert entries(store, q) == []


def test_strict_store_accepts_force_on_enqueue_and_dequeue(make_store: Any) -> None:
    strict = make_store(company="acme", user="alice", strict=True)
    q = make_queue(strict)
    tid = create_task(strict)
    strict.call("tasks.enqueue", {"task": tid, "queue": q, "force": False})
    assert strict.call("tasks.dequeue", {"task": tid, "force": True})["fields"]["status"] == "created"
    with api_error(400, 12, field="bogus"):
        strict.call("tasks.dequeue", {"task": tid, "bogus": 1})
