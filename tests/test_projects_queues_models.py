"""The supporting endpoints: projects, queues and models (create / read / edit), and company isolation."""

from __future__ import annotations

from typing import Any

import pytest
from support import HEX32, TIME, api_error, create_task, dump, times

from taskstore import TaskStore


def project(store: Any, pid: str) -> dict[str, Any]:
    return dict(store.call("projects.get_by_id", {"project": pid})["project"])


# -- projects -------------------------------------------------------------------------------------------------


def test_project_hierarchy_is_made_from_the_name(store: TaskStore) -> None:
    result = store.call("projects.create", {"name": "top/mid/leaf", "description": "deep", "tags": ["t"]})
    assert list(result) == ["id"] and HEX32.match(result["id"])
    projects = {p["name"]: p for p in store.call("projects.get_all", {})["projects"]}
    assert sorted(projects) == ["top", "top/mid", "top/mid/leaf"]
    top, mid, leaf = projects["top"], projects["top/mid"], projects["top/mid/leaf"]
    assert leaf["id"] == result["id"]
    assert times(leaf, "created", "last_update") == {
        "id": result["id"], "name": "top/mid/leaf", "basename": "leaf", "company": "acme", "user": "alice",
        "description": "deep", "tags": ["t"], "system_tags": [], "parent": mid["id"],
        "created": TIME, "last_update": TIME,
    }  # fmt: skip
    # parents are made on demand, with an empty description
    assert times(mid, "created", "last_update") == {
        "id": mid["id"], "name": "top/mid", "basename": "mid", "company": "acme", "user": "alice",
        "description": "", "tags": [], "system_tags": [], "parent": top["id"], "created": TIME, "last_update": TIME,
    }  # fmt: skip
    assert "parent" not in top and (top["basename"], top["description"]) == ("top", "")
    assert project(store, leaf["id"]) == leaf
    assert leaf["created"] == mid["created"] == top["created"]


def test_project_without_description_has_an_empty_one(store: TaskStore) -> None:
    pid = store.call("projects.create", {"name": "plain"})["id"]
    assert project(store, pid)["description"] == ""


def test_existing_parents_are_reused(store: TaskStore) -> None:
    first = store.call("projects.create", {"name": "top/mid", "description": ""})["id"]
    second = store.call("projects.create", {"name": "top/mid/d", "description": ""})["id"]
    names = sorted(p["name"] for p in store.call("projects.get_all", {})["projects"])
    assert names == ["top", "top/mid", "top/mid/d"]
    assert project(store, second)["parent"] == first


def test_project_name_is_normalised(store: TaskStore) -> None:
    pid = store.call("projects.create", {"name": "/xyz//y/", "description": ""})["id"]
    assert (project(store, pid)["name"], project(store, pid)["basename"]) == ("xyz/y", "y")


def test_duplicate_project_name_is_400_801(store: TaskStore) -> None:
    store.call("projects.create", {"name": "top/mid", "description": ""})
    before = dump(store)
    for name in ("top/mid", "top", "/top/"):
        with api_error(400, 801):
            store.call("projects.create", {"name": name, "description": ""})
    assert dump(store) == before


@pytest.mark.parametrize("name", ["//", "/", ""])
def test_invalid_project_name_is_400_407(store: TaskStore, name: str) -> None:
    before = dump(store)
    with api_error(400, 407):
        store.call("projects.create", {"name": name, "description": ""})
    assert dump(store) == before


@pytest.mark.parametrize("name", ["ab", "a/b/c", "ab/cdef"])
def test_project_name_or_a_parent_name_shorter_than_3_is_400_800(store: TaskStore, name: str) -> None:
    # The reference's Project.name has min_length 3; the parents it makes are saved the same way.
    before = dump(store)
    with api_error(400, 800):
        store.call("projects.create", {"name": name, "description": ""})
    assert dump(store) == before
    pid = store.call("projects.create", {"name": "abc/d"})["id"]
    assert project(store, pid)["basename"] == "d"


def test_project_deeper_than_10_levels_is_400_409(store: TaskStore) -> None:
    store.call("projects.create", {"name": "/".join(["p" * 3] * 10), "description": ""})
    with api_error(400, 409):
        store.call("projects.create", {"name": "/".join(["q" * 3] * 11), "description": ""})


def test_projects_get_all_by_name_is_a_pattern(store: TaskStore) -> None:
    store.call("projects.create", {"name": "alpha/beta", "description": ""})
    store.call("projects.create", {"name": "gamma", "description": ""})
    found = store.call("projects.get_all", {"name": "^alpha/beta$"})["projects"]
    assert [p["name"] for p in found] == ["alpha/beta"]
    assert sorted(p["name"] for p in store.call("projects.get_all", {"name": "a"})["projects"]) == [
        "alpha", "alpha/beta", "gamma"]  # fmt: skip
    with api_error(400, 21):
        store.call("projects.get_all", {"name": "(unclosed"})


def test_project_of_another_company_looks_missing(store: TaskStore, other: TaskStore) -> None:
    theirs = other.call("projects.create", {"name": "theirs", "description": ""})["id"]
    with api_error(400, 401) as info:
        store.call("projects.get_by_id", {"project": theirs})
    assert info.value.data["id"] == theirs
    with api_error(400, 401):
        store.call("projects.get_by_id", {"project": "f" * 32})
    assert store.call("projects.get_all", {})["projects"] == []
    # the same name is free in every company
    mine = store.call("projects.create", {"name": "theirs", "description": ""})["id"]
    assert mine != theirs


def test_public_project_is_readable_by_all(store: TaskStore, other: TaskStore) -> None:
    public = store.call("projects.create", {"name": "shared", "description": ""}, company="")["id"]
    assert project(other, public)["company"] == ""
    assert [p["id"] for p in other.call("projects.get_all", {})["projects"]] == [public]
    # a task of another company may not be put into it (403/21, see tests/tasks)
    with api_error(403, 21):
        create_task(other, project=public)


# -- queues -----------------------------------------------------------------------------------------------------


def test_queue_create_and_get_by_id(store: TaskStore) -> None:
    result = store.call("queues.create", {"name": "gpu", "tags": ["b", "a"], "system_tags": ["s"]})
    assert list(result) == ["id"] and HEX32.match(result["id"])
    queue = store.call("queues.get_by_id", {"queue": result["id"]})["queue"]
    assert times(queue, "created", "last_update") == {
        "id": result["id"], "name": "gpu", "company": "acme", "user": "alice", "created": TIME,
        "last_update": TIME, "tags": ["a", "b"], "system_tags": ["s"], "entries": [], "metadata": {},
    }  # fmt: skip


def test_queue_name_rules(store: TaskStore) -> None:
    store.call("queues.create", {"name": "gpu"})
    before = dump(store)
    with api_error(400, 801):
        store.call("queues.create", {"name": " gpu "})
    with api_error(400, 800, "name"):
        store.call("queues.create", {"name": "ab"})
    with api_error(400, 12, "name"):
        store.call("queues.create", {})
    assert dump(store) == before


def test_queues_get_all(store: TaskStore, other: TaskStore) -> None:
    q1 = store.call("queues.create", {"name": "first"})["id"]
    q2 = store.call("queues.create", {"name": "second"})["id"]
    other.call("queues.create", {"name": "theirs"})
    # (listing order between records made in the same millisecond is not pinned: compare sorted)
    assert sorted(q["id"] for q in store.call("queues.get_all", {})["queues"]) == sorted([q1, q2])
    assert [q["id"] for q in store.call("queues.get_all", {"name": "^sec"})["queues"]] == [q2]
    assert [q["name"] for q in other.call("queues.get_all", {})["queues"]] == ["theirs"]


def test_default_queue_is_made_on_first_need(store: TaskStore, other: TaskStore) -> None:
    before = [q["name"] for q in store.call("queues.get_all", {})["queues"]]
    first = store.call("queues.get_default", {})
    assert before == []
    assert first["name"] == "default" and HEX32.match(first["id"])
    assert store.call("queues.get_default", {}) == first
    queue = store.call("queues.get_by_id", {"queue": first["id"]})["queue"]
    assert (queue["name"], queue["system_tags"], queue["company"]) == ("default", ["default"], "acme")
    assert len(store.call("queues.get_all", {})["queues"]) == 1
    theirs = other.call("queues.get_default", {})
    assert theirs["id"] != first["id"]


def test_queue_of_another_company_looks_missing(store: TaskStore, other: TaskStore) -> None:
    theirs = other.call("queues.create", {"name": "theirs"})["id"]
    for queue in (theirs, "f" * 32):
        with api_error(400, 701):
            store.call("queues.get_by_id", {"queue": queue})


# -- models -----------------------------------------------------------------------------------------------------


def test_model_create_and_get_by_id(store: TaskStore) -> None:
    tid = create_task(store)
    pid = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    result = store.call("models.create", {"name": "m1", "uri": "s3://b/m1", "task": tid, "project": pid,
                                          "framework": "pytorch", "tags": ["z", "a"], "labels": {"cat": 1},
                                          "design": {"x": 1}, "comment": "c"})  # fmt: skip
    assert result["created"] is True and HEX32.match(result["id"])
    model = store.call("models.get_by_id", {"model": result["id"]})["model"]
    assert times(model, "created", "last_update") == {
        "id": result["id"], "name": "m1", "uri": "s3://b/m1", "company": "acme", "user": "alice", "ready": True,
        "task": tid, "project": pid, "framework": "pytorch", "comment": "c", "tags": ["a", "z"], "system_tags": [],
        "labels": {"cat": 1}, "design": {"x": 1}, "created": TIME, "last_update": TIME,
    }  # fmt: skip


def test_model_create_checks(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    before = dump(store)
    with api_error(400, 12, "uri"):
        store.call("models.create", {"name": "m"})
    with api_error(400, 12, "name"):
        store.call("models.create", {"uri": "u"})
    with api_error(400, 101):
        store.call("models.create", {"name": "m", "uri": "u", "task": theirs})
    with api_error(400, 401):
        store.call("models.create", {"name": "m", "uri": "u", "project": "f" * 32})
    with api_error(400, 16):
        store.call("models.create", {"name": "m", "uri": "u", "tags": ["__$x"]})
    assert dump(store) == before


def test_models_get_all(store: TaskStore, other: TaskStore) -> None:
    m1 = store.call("models.create", {"name": "first", "uri": "u1"})["id"]
    m2 = store.call("models.create", {"name": "second", "uri": "u2", "ready": False})["id"]
    other.call("models.create", {"name": "theirs", "uri": "u3"})
    public = other.call("models.create", {"name": "shared", "uri": "u4", "public": True})["id"]
    assert sorted(m["id"] for m in store.call("models.get_all", {})["models"]) == sorted([m1, m2, public])
    assert [m["id"] for m in store.call("models.get_all", {"name": "^sec"})["models"]] == [m2]
    assert [m["id"] for m in store.call("models.get_all", {"ready": False})["models"]] == [m2]
    assert sorted(m["id"] for m in store.call("models.get_all", {"id": [m2, public]})["models"]) == sorted([m2, public])


def test_model_edit(store: TaskStore) -> None:
    mid = store.call("models.create", {"name": "m1", "uri": "u1"})["id"]
    created = store.call("models.get_by_id", {"model": mid})["model"]
    # name and comment are not content: no last_update
    assert store.call("models.edit", {"model": mid, "name": "renamed", "comment": "c"}) == {
        "updated": 1, "fields": {"name": "renamed", "comment": "c"}}  # fmt: skip
    assert store.call("models.get_by_id", {"model": mid})["model"]["last_update"] == created["last_update"]
    result = store.call("models.edit", {"model": mid, "uri": "u2", "ready": False, "labels": {"a": 1}})
    fields = dict(result["fields"])
    stamp = fields.pop("last_update")
    assert (result["updated"], fields) == (1, {"uri": "u2", "ready": False, "labels": {"a": 1}})
    model = store.call("models.get_by_id", {"model": mid})["model"]
    assert (model["name"], model["comment"], model["uri"], model["ready"], model["labels"], model["last_update"]) == (
        "renamed", "c", "u2", False, {"a": 1}, stamp)  # fmt: skip
    before = dump(store)
    assert store.call("models.edit", {"model": mid})["updated"] == 0
    assert dump(store) == before


def test_model_of_another_company_looks_missing_and_public_refuses_writes(store: TaskStore, other: TaskStore) -> None:
    theirs = other.call("models.create", {"name": "theirs", "uri": "u"})["id"]
    public = other.call("models.create", {"name": "shared", "uri": "u", "public": True})["id"]
    before = dump(store)
    for model in (theirs, "f" * 32):
        with api_error(400, 201):
            store.call("models.get_by_id", {"model": model})
        with api_error(400, 201):
            store.call("models.edit", {"model": model, "name": "x"})
    assert store.call("models.get_by_id", {"model": public})["model"]["company"] == ""
    for caller in (store, other):
        with api_error(403, 21):
            caller.call("models.edit", {"model": public, "name": "x"})
    assert dump(store) == before


# -- tasks across companies -------------------------------------------------------------------------------------


def test_public_task_is_readable_and_refuses_writes(store: TaskStore, other: TaskStore) -> None:
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    before = dump(store)
    for caller in (store, other):
        assert caller.call("tasks.get_by_id", {"task": public})["task"]["id"] == public
        for endpoint, body in (("tasks.edit", {"comment": "x"}), ("tasks.update", {"comment": "x"})):
            with api_error(403, 21):
                caller.call(endpoint, {"task": public, **body})
        with api_error(403, 21):
            caller.call("tasks.update_batch", [{"task": public, "comment": "x"}])
    assert dump(store) == before


def test_private_task_of_another_company_looks_missing(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    before = dump(store)
    for endpoint, body in (("tasks.get_by_id", {}), ("tasks.edit", {"comment": "x"}),
                           ("tasks.update", {"comment": "x"})):  # fmt: skip
        with api_error(400, 101):
            store.call(endpoint, {"task": theirs, **body})
    with api_error(400, 101):
        store.call("tasks.update_batch", [{"task": theirs, "comment": "x"}])
    assert dump(store) == before
