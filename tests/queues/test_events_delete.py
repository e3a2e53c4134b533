"""events.delete_for_task (reference: services/events.py delete_for_task, EventBLL.delete_task_events)."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from support import api_error, create_task, dump, set_status

from taskstore import TaskStore
from taskstore.db.records import EventRecord


def add_events(store: TaskStore, task: str, n: int, company: str = "acme") -> None:
    """Insert ``n`` log events of ``task`` straight into the database (events.add is not served yet)."""
    rows = [{"company": company, "task": task, "type": "log", "iter": i, "data": {"msg": str(i)}} for i in range(n)]
    with store._db.transaction() as conn:
        conn.execute(insert(EventRecord), rows)


def count(store: TaskStore, task: str) -> int:
    with store._db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).where(EventRecord.task == task)).scalar_one())


def test_delete_for_task_deletes_that_tasks_events_and_returns_the_count(store: TaskStore) -> None:
    a, b = create_task(store), create_task(store)
    add_events(store, a, 3)
    add_events(store, b, 2)
    assert store.call("events.delete_for_task", {"task": a}) == {"deleted": 3}
    assert (count(store, a), count(store, b)) == (0, 2)
    assert store.call("events.delete_for_task", {"task": a}) == {"deleted": 0}


def test_delete_for_task_of_a_locked_task_needs_allow_locked(store: TaskStore) -> None:
    for status in ("published", "publishing"):
        tid = create_task(store)
        set_status(store, tid, status)
        add_events(store, tid, 2)
        before = dump(store)
        with api_error(400, 101) as info:
            store.call("events.delete_for_task", {"task": tid})
        assert info.value.message == f"invalid task id (or task published): company=acme, id={tid}"
        assert info.value.data == {"company": "acme", "id": tid}
        assert dump(store) == before
        assert store.call("events.delete_for_task", {"task": tid, "allow_locked": True}) == {"deleted": 2}


def test_delete_for_task_of_missing_foreign_or_public_task_is_400_101_ids(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    add_events(store, theirs, 1, company="globex")
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    for tid in ("nope", theirs, public):
        with api_error(400, 101) as info:
            store.call("events.delete_for_task", {"task": tid})
        assert info.value.data == {"ids": [tid]}
        assert info.value.message == f"invalid task id: ids=({tid})"
    assert count(store, theirs) == 1


def test_delete_for_task_requires_task(store: TaskStore) -> None:
    with api_error(400, 12, field="task"):
        store.call("events.delete_for_task", {})
