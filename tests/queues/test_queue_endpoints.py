"""queues.get_next_task, add_task, remove_task, delete, get_by_id entries (the reference's queue BLL)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from queue_support import all_entries, assert_no_orphans, entries, make_queue, queue_doc, statuses
from support import ISO_UTC, api_error, create_task, dump, get_task, set_status

from taskstore import APIError, TaskStore


def enqueue(store: Any, task: str, queue: str) -> dict[str, Any]:
    return dict(store.call("tasks.enqueue", {"task": task, "queue": queue}))


def pop(store: Any, queue: str, **fields: Any) -> dict[str, Any]:
    return dict(store.call("queues.get_next_task", {"queue": queue, **fields}))


def queue_entry_time(store: Any, task: str) -> str:
    return str(store.call("tasks.get_by_id", {"task": task})["task"]["status_changed"])


# -- get_next_task -------------------------------------------------------------------------------------


def test_get_next_task_pops_in_fifo_order(store: TaskStore) -> None:
    q = make_queue(store)
    ids = [create_task(store, f"task {i}") for i in range(6)]
    added = [enqueue(store, t, q)["fields"]["last_update"] for t in ids]
    for tid, when in zip(ids, added, strict=True):
        assert pop(store, q) == {"entry": {"task": tid, "added": when}}
    assert pop(store, q) == {}
    assert pop(store, q) == {}


def test_popped_task_stays_queued_with_its_queue(store: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    fields = enqueue(store, tid, q)["fields"]
    before = get_task(store, tid)
    pop(store, q)
    task = get_task(store, tid)
    assert task == before  # the task document is not touched at all
    assert (task["status"], task["execution"]["queue"], task["enqueue_status"]) == ("queued", q, "created")
    assert task["status_changed"] == fields["status_changed"]


def test_pop_bumps_queue_last_update_only_when_it_pops(store: TaskStore) -> None:
    q = make_queue(store)
    created = queue_doc(store, q)["last_update"]
    assert pop(store, q) == {}
    assert queue_doc(store, q)["last_update"] == created
    enqueue(store, create_task(store), q)
    enqueued = queue_doc(store, q)["last_update"]
    pop(store, q)
    assert queue_doc(store, q)["last_update"] >= enqueued


def test_get_next_task_of_an_unknown_or_foreign_queue_is_400_701(store: TaskStore, other: TaskStore) -> None:
    theirs = make_queue(other, "their queue")
    enqueue(other, create_task(other), theirs)
    for q in ("nope", theirs):
        with api_error(400, 701) as info:
            pop(store, q)
        assert info.value.data == {"id": q, "company": "acme"}
    assert len(entries(other, theirs)) == 1


def test_get_task_info_returns_owner(store: TaskStore) -> None:
    q = make_queue(store)
    first, second = create_task(store), create_task(store)
    enqueue(store, first, q)
    enqueue(store, second, q)
    assert pop(store, q, get_task_info=True) == {
        "entry": {"task": first, "added": queue_entry_time(store, first)},
        "task_info": {"company": "acme", "user": "alice"},
    }
    assert set(pop(store, q, get_task_info=False)) == {"entry"}
    assert pop(store, q, get_task_info=True) == {}


def test_get_task_info_at_2_14_and_entry_at_2_4(store: TaskStore) -> None:
    q = make_queue(store)
    for _ in range(2):
        enqueue(store, create_task(store), q)
    assert set(store.call("queues.get_next_task", {"queue": q}, version="2.4")) == {"entry"}
    result = store.call("queues.get_next_task", {"queue": q, "get_task_info": True}, version="2.14")
    assert set(result) == {"entry", "task_info"}
    assert ISO_UTC.match(result["entry"]["added"])


# -- add_task / remove_task -----------------------------------------------------------------------------


def test_add_task_appends_without_touching_the_task(store: TaskStore) -> None:
    q = make_queue(store)
    first = create_task(store)
    enqueue(store, first, q)
    tid = create_task(store)
    before = get_task(store, tid)
    assert store.call("queues.add_task", {"queue": q, "task": tid}) == {"added": 1}
    assert entries(store, q) == [first, tid]
    assert get_task(store, tid) == before
    with api_error(400, 706) as info:
        store.call("queues.add_task", {"queue": q, "task": tid})
    assert info.value.data == {"task": tid}
    assert info.value.message == f"failed adding task to queue since task is already queued: task={tid}"


def test_add_task_errors(store: TaskStore, other: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    theirs_q = make_queue(other, "their queue")
    theirs_t = create_task(other)
    with api_error(400, 701) as info:
        store.call("queues.add_task", {"queue": "nope", "task": "nope"})  # the queue is checked first
    assert info.value.data == {"id": "nope", "company": "acme"}
    with api_error(400, 701):
        store.call("queues.add_task", {"queue": theirs_q, "task": tid})
    # Deliberate difference: the reference does not check the task at all.
    for bad in ("nope", theirs_t):
        with api_error(400, 101) as info:
            store.call("queues.add_task", {"queue": q, "task": bad})
        assert info.value.data == {"id": bad, "company": "acme"}
    assert all_entries(store) == []


def test_remove_task_removes_without_touching_the_task(store: TaskStore) -> None:
    q = make_queue(store)
    a, b = create_task(store), create_task(store)
    enqueue(store, a, q)
    enqueue(store, b, q)
    before = get_task(store, a)
    assert store.call("queues.remove_task", {"queue": q, "task": a}) == {"removed": 1}
    assert entries(store, q) == [b]
    assert get_task(store, a) == before  # still "queued", as in the reference


def test_remove_task_errors_are_400_703(store: TaskStore, other: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    theirs = make_queue(other, "their queue")
    other_task = create_task(other)
    enqueue(other, other_task, theirs)
    for queue, task in ((q, tid), ("nope", tid), (theirs, other_task)):
        before = dump(store)
        with api_error(400, 703) as info:
            store.call("queues.remove_task", {"queue": queue, "task": task})
        assert info.value.data == {"task": task, "id": queue, "company": "acme"}
        assert dump(store) == before


# -- delete ----------------------------------------------------------------------------------------------


def test_delete_empty_queue(store: TaskStore) -> None:
    q = make_queue(store)
    assert store.call("queues.delete", {"queue": q}) == {"deleted": 1}
    with api_error(400, 701):
        queue_doc(store, q)


def test_delete_non_empty_queue_needs_force(store: TaskStore) -> None:
    q = make_queue(store)
    tid = create_task(store)
    enqueue(store, tid, q)
    before = dump(store)
    with api_error(400, 702) as info:
        store.call("queues.delete", {"queue": q})
    assert info.value.message == f"queue is not empty (use force=true to delete): id={q}"
    assert info.value.data == {"id": q}
    assert dump(store) == before
    assert store.call("queues.delete", {"queue": q, "force": True}) == {"deleted": 1}
    assert all_entries(store) == []
    assert get_task(store, tid)["status"] == "queued"  # as in the reference: tasks are not touched


def test_delete_unknown_or_foreign_queue_is_400_701(store: TaskStore, other: TaskStore) -> None:
    theirs = make_queue(other, "their queue")
    for q in ("nope", theirs):
        with api_error(400, 701) as info:
            store.call("queues.delete", {"queue": q, "force": True})
        assert info.value.data == {"id": q, "company": "acme"}
    assert queue_doc(other, theirs)["id"] == theirs


# -- get_by_id ----------------------------------------------------------------------------------------------


def test_get_by_id_shows_entries_in_order(store: TaskStore) -> None:
    q = make_queue(store)
    ids = [create_task(store, f"task {i}") for i in range(5)]
    for tid in ids:
        enqueue(store, tid, q)
    store.call("tasks.dequeue", {"task": ids[1]})
    enqueue(store, ids[1], q)
    pop(store, q)
    doc = queue_doc(store, q)
    assert [e["task"] for e in doc["entries"]] == [ids[2], ids[3], ids[4], ids[1]]
    assert all(set(e) == {"task", "added"} and ISO_UTC.match(e["added"]) for e in doc["entries"])
    limited = store.call("queues.get_by_id", {"queue": q, "max_task_entries": 2})["queue"]
    assert [e["task"] for e in limited["entries"]] == [ids[2], ids[3]]


# -- invariant under a random walk -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_random_walk_leaves_no_orphaned_entries(store: TaskStore, seed: int) -> None:
    """Random enqueue / dequeue / pop / status writes over 6 tasks and 2 queues keep the invariant:
    every entry names a queued task, no task is in two queues, and FIFO order is kept."""
    rng = random.Random(seed)
    queues = [make_queue(store, "alpha"), make_queue(store, "beta")]
    tasks = [create_task(store, f"task {i}") for i in range(6)]
    model: dict[str, list[str]] = {q: [] for q in queues}
    for _ in range(120):
        tid, q = rng.choice(tasks), rng.choice(queues)
        action = rng.choice(["enqueue", "force", "dequeue", "pop", "status", "remove"])
        try:
            if action == "enqueue":
                enqueue(store, tid, q)
            elif action == "force":
                store.call("tasks.enqueue", {"task": tid, "queue": q, "force": True})
            elif action == "dequeue":
                store.call("tasks.dequeue", {"task": tid})
            elif action == "pop":
                got = pop(store, q)
                assert got.get("entry", {}).get("task") == (model[q][0] if model[q] else None)
            elif action == "status":
                set_status(store, tid, rng.choice(["created", "in_progress", "stopped", "queued"]))
            else:
                store.call("queues.remove_task", {"queue": q, "task": tid})
        except APIError as exc:
            assert exc.code == 400, exc
        model = {qq: entries(store, qq) for qq in queues}
        found = all_entries(store)
        assert_no_orphans(store)
        assert sorted(found) == sorted((qq, t) for qq in queues for t in model[qq])
    assert set(statuses(store)) == set(tasks)
