"""archive / archive_many / unarchive_many (§10), ping (§11), set_requirements, make_public/private and
move (§13)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle_support import entries_of, row, set_columns, task_in
from support import api_error, create_task, dump, get_task

from taskstore import TaskStore
from taskstore.db.types import utcnow


def test_archive_tags_and_overwrites_the_status_texts(store: TaskStore) -> None:
    a = task_in(store, "in_progress")
    b = task_in(store, "published", system_tags=["archived"])
    store.call("tasks.started", {"task": a, "status_reason": "r", "status_message": "m"})
    before = get_task(store, a)
    assert store.call("tasks.archive", {"tasks": [a, b, a]}) == {"archived": 2}
    doc = get_task(store, a)
    assert doc["system_tags"] == ["archived"]
    assert (doc["status"], doc["status_reason"], doc["status_message"]) == ("in_progress", "", "")
    assert doc["last_update"] == before["last_update"] and doc["last_change"] >= before["last_change"]
    assert get_task(store, b)["system_tags"] == ["archived"]  # no duplicate


def test_archive_is_all_or_nothing_and_ignores_public_tasks(store: TaskStore) -> None:
    a, public = create_task(store), create_task(store)
    store.call("tasks.make_public", {"ids": [public]})
    before = dump(store)
    with api_error(400, 101) as info:
        store.call("tasks.archive", {"tasks": [a, public]})
    assert info.value.data == {"ids": [a, public]}
    assert dump(store) == before
    with api_error(400, 12):
        store.call("tasks.archive", {"tasks": []})


def test_archive_dequeues_a_queued_task(store: TaskStore) -> None:
    tid = task_in(store, "queued")
    store.call("tasks.archive", {"tasks": [tid], "status_reason": "r", "status_message": "m"})
    doc = get_task(store, tid)
    assert (doc["status"], doc["status_reason"], doc["status_message"]) == ("created", "r", "m")
    assert "enqueue_status" not in doc
    assert entries_of(store) == []


def test_archive_many_and_unarchive_many(store: TaskStore) -> None:
    a, b = create_task(store), create_task(store)
    public = create_task(store)
    store.call("tasks.make_public", {"ids": [public]})
    res = store.call("tasks.archive_many", {"ids": [a, public, "nope", b]})
    assert res["succeeded"] == [{"id": a, "archived": True}, {"id": b, "archived": True}]
    assert [(f["id"], f["error"]["codes"]) for f in res["failed"]] == [(public, [403, 21]), ("nope", [400, 101])]
    assert res["failed"][0]["error"]["data"] == {}
    res = store.call("tasks.unarchive_many", {"ids": [b, a, b], "status_message": "back"})
    assert res == {"succeeded": [{"id": i, "unarchived": True} for i in (b, a, b)], "failed": []}
    doc = get_task(store, a)
    assert (doc["system_tags"], doc["status_message"], doc["status"]) == ([], "back", "created")


def test_batch_endpoints_need_2_13_and_ids(store: TaskStore) -> None:
    tid = create_task(store)
    for endpoint in ("stop", "publish", "reset", "delete", "archive", "unarchive"):
        with api_error(404, 0):
            store.call(f"tasks.{endpoint}_many", {"ids": [tid]}, version="2.12")
        with api_error(400, 12):
            store.call(f"tasks.{endpoint}_many", {"ids": []})
        with api_error(400, 12):
            store.call(f"tasks.{endpoint}_many", {})


def test_ping(store: TaskStore, other: Any) -> None:
    tid = task_in(store, "in_progress")
    set_columns(store, tid, started=utcnow() - timedelta(seconds=50), last_update=utcnow() - timedelta(hours=1))
    stale = get_task(store, tid)["last_update"]
    assert store.call("tasks.ping", {"task": tid}) == {}
    doc = get_task(store, tid)
    assert 50 <= doc["active_duration"] <= 60
    assert doc["last_update"] == doc["last_change"] > stale
    stopped = task_in(store, "stopped")
    store.call("tasks.ping", {"task": stopped})
    assert "active_duration" not in get_task(store, stopped)
    before = dump(store)
    assert store.call("tasks.ping", {"task": "no such task"}) == {}
    foreign = create_task(other)
    store.call("tasks.ping", {"task": foreign})  # another company's: silently nothing
    assert {k: v for k, v in dump(store).items() if k != "tasks"} == {k: v for k, v in before.items() if k != "tasks"}
    assert row(store, foreign)["last_update"] == row(store, foreign)["created"]  # type: ignore[index]


def test_set_requirements(store: TaskStore) -> None:
    tid = task_in(store, "published")
    res = store.call("tasks.set_requirements", {"task": tid, "requirements": {"pip": "torch==2"}})
    assert res == {"updated": 1, "fields": {"script.requirements": {"pip": "torch==2"}}}
    doc = get_task(store, tid)
    assert doc["script"]["requirements"] == {"pip": "torch==2"}
    assert doc["last_update"] == doc["last_change"]
    with api_error(400, 12):
        store.call("tasks.set_requirements", {"task": tid})


def test_make_public_and_private(store: TaskStore, other: Any) -> None:
    tid = task_in(store, "in_progress")
    assert store.call("tasks.make_public", {"ids": [tid]}) == {"updated": 1}
    assert get_task(other, tid)["company"] == ""  # readable by everyone
    with api_error(403, 21):
        store.call("tasks.stopped", {"task": tid})
    with api_error(400, 101) as info:
        other.call("tasks.make_private", {"ids": [tid]})  # not its origin
    assert info.value.data == {"ids": [tid]}
    assert store.call("tasks.make_private", {"ids": [tid]}) == {"updated": 1}
    assert get_task(store, tid)["company"] == "acme"
    assert "company_origin" not in get_task(store, tid)
    store.call("tasks.stopped", {"task": tid})
    with api_error(400, 101):
        store.call("tasks.make_private", {"ids": [tid]})  # a private task
    mine = create_task(store)
    before = dump(store)
    with api_error(400, 101) as info:
        store.call("tasks.make_public", {"ids": [mine, "missing"]})
    assert info.value.data == {"ids": ["missing"]}
    assert dump(store) == before


def test_move(store: TaskStore, other: Any) -> None:
    a, b = create_task(store), create_task(store)
    foreign = create_task(other)
    res = store.call("tasks.move", {"ids": [a, b, foreign, "missing"], "project_name": "team/exp"})
    project = res["project_id"]
    assert list(res) == ["project_id"]
    assert store.call("projects.get_by_id", {"project": project})["project"]["name"] == "team/exp"
    assert get_task(store, a)["project"] == get_task(store, b)["project"] == project
    assert "project" not in get_task(other, foreign)
    other_project = store.call("projects.create", {"name": "second", "description": ""})["id"]
    assert store.call("tasks.move", {"ids": [a], "project": other_project}) == {"project_id": other_project}
    assert get_task(store, a)["project"] == other_project
    with api_error(400, 11):
        store.call("tasks.move", {"ids": [a]})
    with api_error(400, 401):
        store.call("tasks.move", {"ids": [a], "project": "nope"})
    with api_error(400, 12):
        store.call("tasks.move", {"ids": [], "project": other_project})
