"""tasks.enqueue and tasks.enqueue_many (spec: lifecycle §9, §1.6, §14)."""

from __future__ import annotations

from typing import Any

import pytest
from queue_support import all_entries, assert_no_orphans, entries, make_queue, queue_doc, set_columns
from support import TIME, api_error, create_task, dump, get_task, set_status, times

from taskstore import TaskStore

STATUS_TIMES = ("status_changed", "last_update", "last_change")


def enqueue(store: Any, task: str, version: str | None = None, **fields: Any) -> dict[str, Any]:
    return dict(store.call("tasks.enqueue", {"task": task, **fields}, version=version))


def expected_fields(queue: str, enqueue_status: str = "created", reason: str = "", message: str = "") -> dict[str, Any]:
    return {
        "status": "queued",
        "status_reason": reason,
        "status_message": message,
        "status_changed": TIME,
        "last_update": TIME,
        "last_change": TIME,
        "enqueue_status": enqueue_status,
        "execution.queue": queue,
    }


# -- the single endpoint ------------------------------------------------------------------------------


def test_enqueue_created_task_exact_response_and_side_effects(store: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store, system_tags=["development", "keep"])
    result = enqueue(store, tid, queue=q, status_reason="go", status_message="now")
    assert set(result) == {"queued", "updated", "fields"}
    assert (result["queued"], result["updated"]) == (1, 1)
    fields = result["fields"]
    assert times(fields, *STATUS_TIMES) == expected_fields(q, reason="go", message="now")
    assert list(fields) == list(expected_fields(q))  # the reference's order
    assert fields["status_changed"] == fields["last_update"] == fields["last_change"]

    task = get_task(store, tid)
    assert task["status"] == "queued"
    assert task["status_reason"] == "go" and task["status_message"] == "now"
    assert task["execution"]["queue"] == q
    assert task["enqueue_status"] == "created"
    assert task["system_tags"] == ["keep"]  # the development tag is dropped
    assert task["last_update"] == fields["last_update"]
    queue = queue_doc(store, q)
    assert queue["entries"] == [{"task": tid, "added": fields["last_update"]}]
    assert queue["last_update"] == fields["last_update"]


def test_enqueue_of_stopped_task_records_stopped_as_enqueue_status(store: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    set_status(store, tid, "stopped")
    result = enqueue(store, tid, queue=q)
    assert result["fields"]["enqueue_status"] == "stopped"
    assert get_task(store, tid)["status"] == "queued"


@pytest.mark.parametrize("status", ["in_progress", "failed", "closed", "completed", "publishing", "published"])
def test_enqueue_from_a_status_outside_the_table_is_400_110_and_changes_nothing(store: TaskStore, status: str) -> None:
    q = make_queue(store)
    tid = create_task(store)
    set_status(store, tid, status)
    before = dump(store)
    with api_error(400, 110) as info:
        enqueue(store, tid, queue=q)
    assert info.value.data == {"current_status": status, "new_status": "queued"}
    assert "Invalid status change" in info.value.message
    assert dump(store) == before


def test_enqueue_of_a_queued_task_is_400_110_already_in_requested_status(store: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    enqueue(store, tid, queue=q)
    before = dump(store)
    with api_error(400, 110) as info:
        enqueue(store, tid, queue=q)
    assert info.value.message == (
        "invalid task status (Task already in requested status): current_status=queued, new_status=queued"
    )
    assert dump(store) == before


def test_enqueue_of_unknown_status_is_500_1(store: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    set_status(store, tid, "unknown")
    with api_error(500, 1) as info:
        enqueue(store, tid, queue=q)
    assert "Current status unknown not supported by state machine" in info.value.message


@pytest.mark.parametrize("status", ["in_progress", "failed", "completed", "published", "unknown"])
def test_forced_enqueue_takes_any_status(store: TaskStore, status: str) -> None:
    q = make_queue(store)
    tid = create_task(store)
    set_status(store, tid, status)
    result = enqueue(store, tid, queue=q, force=True)
    assert result["fields"]["enqueue_status"] == status
    assert entries(store, q) == [tid]


def test_forced_enqueue_of_a_queued_task_moves_it_and_keeps_its_enqueue_status(store: TaskStore) -> None:
    # Deliberate difference: the reference leaves the old entry behind and records enqueue_status "queued".
    q1, q2 = make_queue(store, "first"), make_queue(store, "second")
    tid = create_task(store)
    set_status(store, tid, "stopped")
    enqueue(store, tid, queue=q1)
    result = enqueue(store, tid, queue=q2, force=True)
    assert result["fields"]["enqueue_status"] == "stopped"
    assert result["fields"]["execution.queue"] == q2
    assert (entries(store, q1), entries(store, q2)) == ([], [tid])
    assert store.call("tasks.dequeue", {"task": tid})["fields"]["status"] == "stopped"
    assert all_entries(store) == []


def test_forced_enqueue_into_the_queue_that_holds_it_is_400_706(store: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    enqueue(store, tid, queue=q)
    before = dump(store)
    with api_error(400, 706) as info:
        enqueue(store, tid, queue=q, force=True)
    assert info.value.data == {"task": tid}
    assert dump(store) == before


def test_enqueue_to_an_unknown_queue_is_400_701_and_leaves_the_task_unchanged(store: TaskStore) -> None:
    # The reference changes the status first and reverts it by hand ("failed enqueueing", development
    # tag lost); here the call is one transaction and nothing changes.
    tid = create_task(store, system_tags=["development"])
    before = dump(store)
    with api_error(400, 701) as info:
        enqueue(store, tid, queue="nope")
    assert info.value.data == {"id": "nope", "company": "acme"}
    assert info.value.message == "invalid queue id: id=nope, company=acme"
    assert dump(store) == before
    task = get_task(store, tid)
    assert (task["status"], task["system_tags"]) == ("created", ["development"])
    assert "enqueue_status" not in task and "queue" not in task["execution"]


def test_enqueue_to_another_companys_queue_is_400_701(store: TaskStore, other: TaskStore) -> None:
    theirs = make_queue(other, "their queue")
    tid = create_task(store)
    with api_error(400, 701) as info:
        enqueue(store, tid, queue=theirs)
    assert info.value.data == {"id": theirs, "company": "acme"}
    assert entries(other, theirs) == []


def test_enqueue_of_a_missing_or_foreign_task_is_400_101(store: TaskStore, other: TaskStore) -> None:
    q = make_queue(store)
    theirs = create_task(other)
    for tid in ("nope", theirs):
        with api_error(400, 101) as info:
            enqueue(store, tid, queue=q)
        assert info.value.data == {"id": tid, "company": "acme"}
        assert info.value.message == f"invalid task id: id={tid}, company=acme"
    assert get_task(other, theirs)["status"] == "created"


def test_enqueue_of_a_public_task_is_403_21_even_with_force(store: TaskStore) -> None:
    q = make_queue(store)
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    for force in (False, True):
        with api_error(403, 21) as info:
            enqueue(store, public, queue=q, force=force)
        assert (
            info.value.message
            == f"forbidden (modification not allowed) (cannot modify public task(s), ids=('{public}',))"
        )
    assert entries(store, q) == []


def test_force_is_validated_as_a_boolean(store: TaskStore) -> None:
    tid = create_task(store)
    with api_error(400, 12, field="force"):
        enqueue(store, tid, queue=make_queue(store), force="yes")


# -- queue_name and the default queue -------------------------------------------------------------------


def test_queue_name_creates_the_queue_once_and_reuses_it(store: TaskStore) -> None:
    t1, t2 = create_task(store), create_task(store)
    q = enqueue(store, t1, queue_name="cpu")["fields"]["execution.queue"]
    assert enqueue(store, t2, queue_name="cpu")["fields"]["execution.queue"] == q
    queue = queue_doc(store, q)
    assert (queue["name"], queue["tags"], queue["system_tags"]) == ("cpu", [], [])
    assert [e["task"] for e in queue["entries"]] == [t1, t2]
    assert [x["id"] for x in store.call("queues.get_all", {})["queues"]] == [q]


def test_queue_name_is_accepted_before_2_19_as_the_reference_code_does(store: TaskStore) -> None:
    tid = create_task(store)
    q = enqueue(store, tid, version="2.13", queue_name="older")["fields"]["execution.queue"]
    assert queue_doc(store, q)["name"] == "older"


def test_queue_name_shorter_than_3_is_400_800(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, 800) as info:
        enqueue(store, tid, queue_name="ab")
    assert info.value.data == {"field": "name"}
    assert dump(store) == before


def test_queue_and_queue_name_together_are_400_12(store: TaskStore) -> None:
    tid = create_task(store)
    with api_error(400, 12) as info:
        enqueue(store, tid, queue=make_queue(store), queue_name="cpu")
    assert info.value.message == "validation error (Either queue id or queue name should be provided)"


def test_a_failed_enqueue_by_name_creates_no_queue(store: TaskStore) -> None:
    # Deliberate difference: the reference creates the queue before it looks the task up.
    before = dump(store)
    with api_error(400, 101):
        enqueue(store, "nope", queue_name="cpu")
    assert dump(store) == before


def test_no_queue_means_the_default_queue_made_on_first_need(store: TaskStore) -> None:
    t1, t2 = create_task(store), create_task(store)
    q = enqueue(store, t1)["fields"]["execution.queue"]
    assert enqueue(store, t2)["fields"]["execution.queue"] == q
    queue = queue_doc(store, q)
    assert (queue["name"], queue["system_tags"]) == ("default", ["default"])
    assert store.call("queues.get_default", {}) == {"id": q, "name": "default"}
    assert entries(store, q) == [t1, t2]


def test_an_existing_default_queue_is_used(store: TaskStore) -> None:
    q = make_queue(store, "main", system_tags=["default"])
    tid = create_task(store)
    assert enqueue(store, tid)["fields"]["execution.queue"] == q


def test_two_default_queues_are_400_708(store: TaskStore) -> None:
    q1 = make_queue(store, "main", system_tags=["default"])
    q2 = make_queue(store, "backup", system_tags=["default"])
    tid = create_task(store)
    with api_error(400, 708) as info:
        enqueue(store, tid)
    assert info.value.data == {"queues": [q1, q2]}
    assert get_task(store, tid)["status"] == "created"


# -- enqueue_many -------------------------------------------------------------------------------------------


def enqueue_many(store: Any, ids: list[str], version: str | None = None, **fields: Any) -> dict[str, Any]:
    return dict(store.call("tasks.enqueue_many", {"ids": ids, **fields}, version=version))


def test_enqueue_many_reports_each_id_in_request_order(store: TaskStore) -> None:
    t1, t2 = create_task(store), create_task(store)
    result = enqueue_many(store, [t2, "nope", t1], queue_name="batch", status_reason="r")
    entries_queue = result["succeeded"][0]["fields"]["execution.queue"]
    assert queue_doc(store, entries_queue)["name"] == "batch"
    assert [s["id"] for s in result["succeeded"]] == [t2, t1]
    for item in result["succeeded"]:
        assert set(item) == {"id", "queued", "updated", "fields"}
        assert item["queued"] is True and item["updated"] == 1
        assert times(item["fields"], *STATUS_TIMES) == expected_fields(entries_queue, reason="r")
    assert result["failed"] == [
        {
            "id": "nope",
            "error": {
                "codes": [400, 101],
                "msg": "invalid task id: id=nope, company=acme",
                "data": {"id": "nope", "company": "acme"},
            },
        }
    ]
    assert entries(store, entries_queue) == [t2, t1]


def test_enqueue_many_one_failure_does_not_undo_another_success(store: TaskStore) -> None:
    q = make_queue(store)
    ok, running = create_task(store), create_task(store)
    set_status(store, running, "in_progress")
    result = enqueue_many(store, [ok, running], queue=q)
    assert [s["id"] for s in result["succeeded"]] == [ok]
    assert result["failed"][0]["id"] == running
    assert result["failed"][0]["error"]["codes"] == [400, 110]
    assert result["failed"][0]["error"]["data"] == {"current_status": "in_progress", "new_status": "queued"}
    assert entries(store, q) == [ok]
    assert get_task(store, running)["status"] == "in_progress"


def test_enqueue_many_to_an_unknown_queue_fails_every_id_and_changes_nothing(store: TaskStore) -> None:
    t1, t2 = create_task(store), create_task(store)
    before = dump(store)
    result = enqueue_many(store, [t1, t2], queue="nope")
    assert result["succeeded"] == []
    assert [(f["id"], f["error"]["codes"]) for f in result["failed"]] == [(t1, [400, 701]), (t2, [400, 701])]
    assert dump(store) == before


@pytest.mark.parametrize(
    ("fields", "codes"), [({"queue_name": "ab"}, [400, 800]), ({"queue_name": "abc", "queue": "q"}, [400, 12])]
)
def test_enqueue_many_queue_errors_fail_every_id_separately(
    store: TaskStore, fields: dict[str, str], codes: list[int]
) -> None:
    t1 = create_task(store)
    result = enqueue_many(store, [t1, "nope"], **fields)
    assert result["succeeded"] == []
    assert [(f["id"], f["error"]["codes"]) for f in result["failed"]] == [(t1, codes), ("nope", codes)]


def test_enqueue_many_duplicate_id_second_is_400_110(store: TaskStore) -> None:
    tid = create_task(store)
    result = enqueue_many(store, [tid, tid], queue=make_queue(store))
    assert [s["id"] for s in result["succeeded"]] == [tid]
    assert result["failed"][0]["error"]["codes"] == [400, 110]


def test_enqueue_many_has_no_force(store: TaskStore) -> None:
    tid = create_task(store)
    set_status(store, tid, "failed")
    result = enqueue_many(store, [tid], queue=make_queue(store), force=True)
    assert result["failed"][0]["error"]["codes"] == [400, 110]


def test_enqueue_many_needs_2_13_and_ids(store: TaskStore) -> None:
    tid = create_task(store)
    with api_error(404, 0):
        enqueue_many(store, [tid], version="2.12")
    with api_error(400, 12, field="ids"):
        enqueue_many(store, [])
    with api_error(400, 12, field="ids"):
        store.call("tasks.enqueue_many", {})
    assert enqueue_many(store, [tid], version="2.13")["succeeded"][0]["id"] == tid


def test_enqueue_many_validate_tasks_checks_parent_project_and_input_models(store: TaskStore) -> None:
    q = make_queue(store)
    bad_parent, bad_project, bad_model, deleted_parent = (create_task(store) for _ in range(4))
    set_columns(store, bad_parent, parent="gone")
    set_columns(store, bad_project, project="gone")
    set_columns(store, bad_model, models={"input": [{"name": "in", "model": "gone"}], "output": []})
    set_columns(store, deleted_parent, parent="__DELETED__abc")
    ids = [bad_parent, bad_project, bad_model, deleted_parent]
    result = enqueue_many(store, ids, queue=q, validate_tasks=True)
    assert [s["id"] for s in result["succeeded"]] == [deleted_parent]
    assert [f["error"] for f in result["failed"]] == [
        {"codes": [400, 101], "msg": "invalid task id (invalid parent): parent=gone", "data": {"parent": "gone"}},
        {"codes": [400, 401], "msg": "invalid project id: id=gone", "data": {"id": "gone"}},
        {"codes": [400, 201], "msg": "invalid model id: models=(gone)", "data": {"models": ["gone"]}},
    ]
    assert [get_task(store, t)["status"] for t in ids] == ["created", "created", "created", "queued"]
    # Without validate_tasks nothing is checked.
    result = enqueue_many(store, ids[:3], queue=q)
    assert [s["id"] for s in result["succeeded"]] == ids[:3]


def test_enqueue_many_validate_tasks_public_project_is_403_21(store: TaskStore) -> None:
    public = store.call("projects.create", {"name": "shared", "description": ""}, company="")["id"]
    tid = create_task(store)
    set_columns(store, tid, project=public)
    result = enqueue_many(store, [tid], queue=make_queue(store), validate_tasks=True)
    assert result["failed"][0]["error"]["codes"] == [403, 21]


def test_enqueue_never_leaves_orphans(store: TaskStore) -> None:
    q = make_queue(store)
    ids = [create_task(store) for _ in range(3)]
    enqueue_many(store, ids, queue=q)
    set_status(store, ids[0], "in_progress")  # any status change out of queued leaves the queue
    assert entries(store, q) == ids[1:]
    assert_no_orphans(store)


@pytest.mark.parametrize("endpoint", ["tasks.started", "tasks.stopped"])
def test_a_signal_on_a_queued_task_takes_it_out_of_its_queue(store: TaskStore, endpoint: str) -> None:
    # Deliberate difference: the reference leaves the entry, so a worker could pop a running task.
    q = make_queue(store)
    tid, other = create_task(store), create_task(store)
    enqueue_many(store, [tid, other], queue=q)
    store.call(endpoint, {"task": tid})
    assert entries(store, q) == [other]
    assert_no_orphans(store)
