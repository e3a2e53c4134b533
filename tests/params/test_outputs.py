"""Artifacts (query_edit §3.5, §2.2 step 7, lifecycle clone/reset) and task models (§2.7, §2.2 step 12)."""

from __future__ import annotations

from typing import Any

import pytest
from params_support import STATUSES, age, stamps, task_in
from support import ISO_UTC, api_error, create_task, dump, get_task

from taskstore import TaskStore


def art(key: str, mode: str | None = None, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"key": key, "type": "t", **fields}
    if mode is not None:
        item["mode"] = mode
    return item


def stored(key: str, mode: str = "output", **fields: Any) -> dict[str, Any]:
    """An artifact as returned: defaults materialised."""
    return {"key": key, "type": "t", "mode": mode, "display_data": [], **fields}


def add(store: Any, task: str, artifacts: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return dict(store.call("tasks.add_or_update_artifacts", {"task": task, "artifacts": artifacts, **kw}))


def remove(store: Any, task: str, artifacts: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return dict(store.call("tasks.delete_artifacts", {"task": task, "artifacts": artifacts, **kw}))


def artifacts_of(store: Any, task: str) -> list[dict[str, Any]]:
    return list(get_task(store, task)["execution"]["artifacts"])


# -- add_or_update_artifacts / delete_artifacts ----------------------------------------------------------------


def test_add_then_replace_whole_object_by_key_and_mode(store: TaskStore) -> None:
    tid = create_task(store, execution={"artifacts": [art("b", uri="s3://b", content_size=5)]})
    age(store, tid)
    assert add(store, tid, [art("b", "output", hash="h"), art("b", "input", uri="in"), art("a", timestamp=7)]) == {
        "updated": 1
    }
    assert artifacts_of(store, tid) == [
        stored("a", timestamp=7),
        stored("b", "input", uri="in"),
        stored("b", hash="h"),  # no field merge: uri and content_size are gone
    ]
    assert stamps(store, tid) == (True, True)


def test_full_artifact_round_trips(store: TaskStore) -> None:
    full = art("k", "input", uri="u", hash="h", content_size=2**40, timestamp=1657000000,
               type_data={"preview": "p", "content_type": "c", "data_hash": "d"},
               display_data=[["a", "1"], ["b", "2"]])  # fmt: skip
    tid = create_task(store)
    add(store, tid, [full])
    assert artifacts_of(store, tid) == [full]


def test_delete_by_key_and_mode(store: TaskStore) -> None:
    tid = create_task(store, execution={"artifacts": [art("a"), art("a", "input"), art("b")]})
    age(store, tid)
    assert remove(store, tid, [{"key": "a"}, {"key": "b", "mode": "input"}, {"key": "zz"}]) == {"deleted": 1}
    assert artifacts_of(store, tid) == [stored("a", "input"), stored("b")]
    assert stamps(store, tid) == (True, True)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"artifacts": []}, 12, "artifacts"),
        ({"artifacts": [{"type": "t"}]}, 12, "artifacts.0.key"),
        ({"artifacts": [{"key": "k"}]}, 12, "artifacts.0.type"),
        ({"artifacts": [art("k", "sideways")]}, 12, "artifacts.0.mode"),
        ({"artifacts": [art("k", bogus=1)]}, 12, "artifacts.0.bogus"),
        ({"artifacts": [art("k", content_size="big")]}, 12, "artifacts.0.content_size"),
    ],
)
def test_add_bad_requests(store: TaskStore, body: dict[str, Any], code: int, field: str) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, code, field):
        store.call("tasks.add_or_update_artifacts", {"task": tid, **body})
    assert dump(store) == before


def test_delete_bad_requests(store: TaskStore) -> None:
    tid = create_task(store)
    with api_error(400, 12, "artifacts"):
        remove(store, tid, [])
    with api_error(400, 12, "artifacts.0.key"):
        remove(store, tid, [{"mode": "input"}])


@pytest.mark.parametrize("status", STATUSES)
def test_artifacts_are_editable_in_created_and_in_progress_force_or_not(store: TaskStore, status: str) -> None:
    tid = task_in(store, status)
    for force in (False, True):
        for call, items in ((add, [art("a")]), (remove, [{"key": "a"}])):
            if status in ("created", "in_progress"):
                call(store, tid, items, force=force)
                continue
            before = dump(store)
            with api_error(400, 110) as info:
                call(store, tid, items, force=force)
            assert info.value.data == {"expected": "created", "status": status}
            assert dump(store) == before


def test_artifact_endpoints_need_2_10(store: TaskStore, other: TaskStore) -> None:
    tid = create_task(store)
    for endpoint, items in (("tasks.add_or_update_artifacts", [art("a")]), ("tasks.delete_artifacts", [{"key": "a"}])):
        with api_error(404, 0):
            store.call(endpoint, {"task": tid, "artifacts": items}, version="2.9")
        store.call(endpoint, {"task": tid, "artifacts": items}, version="2.10")


def test_artifacts_of_missing_foreign_or_public_task(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    for tid in ("f" * 32, theirs):
        with api_error(400, 101):
            add(store, tid, [art("a")])
    with api_error(403, 21):
        remove(store, public, [{"key": "a"}])


# -- artifacts through create / edit / clone / reset -----------------------------------------------------------


def test_edit_replaces_the_artifact_list_and_echoes_it_sorted(store: TaskStore) -> None:
    tid = create_task(store, execution={"artifacts": [art("old")], "framework": "torch"})
    result = store.call("tasks.edit", {"task": tid, "execution": {"artifacts": [art("z"), art("m", "input")]}})
    assert result["fields"]["execution.artifacts"] == [stored("m", "input"), stored("z")]
    doc = get_task(store, tid)
    assert doc["execution"]["artifacts"] == [stored("m", "input"), stored("z")]
    assert doc["execution"]["framework"] == "torch"


def test_clone_keeps_only_input_artifacts_and_reset_keeps_only_inputs(store: TaskStore) -> None:
    arts = [art("in", "input", uri="s3://in"), art("out", uri="s3://out"), art("out2", "output")]
    tid = create_task(store, execution={"artifacts": arts})
    clone = store.call("tasks.clone", {"task": tid})["id"]
    assert artifacts_of(store, clone) == [stored("in", "input", uri="s3://in")]
    # overrides given as a list are keyed like create's, then output ones are dropped as well
    overrides = {"artifacts": [art("x", "input"), art("y")]}
    clone2 = store.call("tasks.clone", {"task": tid, "execution_overrides": overrides})["id"]
    assert artifacts_of(store, clone2) == [stored("x", "input")]
    store.call("tasks.started", {"task": tid})
    add(store, tid, [art("late", uri="s3://late")])
    res = store.call("tasks.reset", {"task": tid, "force": True, "return_file_urls": True})
    assert res["urls"]["artifact_urls"] == ["s3://late", "s3://out"]
    assert "execution.artifacts" not in res["fields"]
    assert artifacts_of(store, tid) == [stored("in", "input", uri="s3://in")]
    store.call("tasks.reset", {"task": tid, "clear_all": True})
    assert artifacts_of(store, tid) == []


# -- task models (2.13+) ---------------------------------------------------------------------------------------


def model_add(store: Any, task: str, name: str, model: str, kind: str = "output", **kw: Any) -> dict[str, Any]:
    return dict(store.call("tasks.add_or_update_model", {"task": task, "name": name, "model": model, "type": kind,
                                                         **kw}))  # fmt: skip


def test_add_or_update_model_appends_or_replaces_in_place(store: TaskStore) -> None:
    tid = create_task(store, models={"output": [{"name": "a", "model": "m1"}, {"name": "b", "model": "m2"}]})
    age(store, tid)
    assert model_add(store, tid, "a", "m9") == {"updated": 1}
    assert model_add(store, tid, "c", "m3") == {"updated": 1}
    assert model_add(store, tid, "i", "not-a-model-id", "input") == {"updated": 1}  # not validated
    doc = get_task(store, tid)
    assert [(m["name"], m["model"]) for m in doc["models"]["output"]] == [("a", "m9"), ("b", "m2"), ("c", "m3")]
    assert [(m["name"], m["model"]) for m in doc["models"]["input"]] == [("i", "not-a-model-id")]
    assert doc["models"]["input"][0]["updated"] == doc["last_update"]
    assert ISO_UTC.match(doc["models"]["output"][0]["updated"])
    assert stamps(store, tid) == (True, True)


def test_add_or_update_model_iteration_raises_last_iteration(store: TaskStore) -> None:
    tid = create_task(store)
    model_add(store, tid, "a", "m", iteration=7)
    assert get_task(store, tid)["last_iteration"] == 7
    model_add(store, tid, "a", "m", iteration=3)
    assert get_task(store, tid)["last_iteration"] == 7
    model_add(store, tid, "a", "m", iteration=2**40)
    assert get_task(store, tid)["last_iteration"] == 2**40


def test_add_or_update_model_on_a_running_task_sets_active_duration(store: TaskStore) -> None:
    tid = create_task(store)
    store.call("tasks.started", {"task": tid})
    model_add(store, tid, "a", "m")
    assert get_task(store, tid)["active_duration"] == 0


def test_delete_models_by_name_and_type(store: TaskStore) -> None:
    mid = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    outputs = [{"name": "a", "model": "o"}, {"name": "b", "model": "o2"}]
    tid = create_task(store, models={"input": [{"name": "a", "model": mid}], "output": outputs})
    age(store, tid)
    body = {"task": tid, "models": [{"name": "a", "type": "output"}, {"name": "zz", "type": "input"}]}
    assert store.call("tasks.delete_models", body) == {"updated": 1}
    doc = get_task(store, tid)
    assert [m["name"] for m in doc["models"]["input"]] == ["a"]
    assert [m["name"] for m in doc["models"]["output"]] == ["b"]
    assert stamps(store, tid) == (False, True)  # last_change only


@pytest.mark.parametrize("status", STATUSES)
def test_task_model_endpoints_status_rule(store: TaskStore, status: str) -> None:
    tid = task_in(store, status)
    delete_body = {"task": tid, "models": [{"name": "a", "type": "output"}]}
    if status in ("created", "in_progress"):
        model_add(store, tid, "a", "m")
        store.call("tasks.delete_models", delete_body)
        return
    before = dump(store)
    with api_error(400, 110):
        model_add(store, tid, "a", "m")
    with api_error(400, 110):
        store.call("tasks.delete_models", delete_body)
    assert dump(store) == before


def test_task_model_endpoints_requests(store: TaskStore) -> None:
    tid = create_task(store)
    with api_error(404, 0):
        store.call("tasks.add_or_update_model", {"task": tid, "name": "a", "model": "m", "type": "output"},
                   version="2.12")  # fmt: skip
    with api_error(404, 0):
        store.call("tasks.delete_models", {"task": tid, "models": [{"name": "a", "type": "input"}]}, version="2.12")
    for body, field in (
        ({"task": tid, "name": "a", "model": "m", "type": "sideways"}, "type"),
        ({"task": tid, "name": "a", "type": "input"}, "model"),
        ({"task": tid, "name": "a", "model": "m", "type": "input", "iteration": "x"}, "iteration"),
    ):
        with api_error(400, 12, field):
            store.call("tasks.add_or_update_model", body)
    for models, field in (([], "models"), ([{"name": "a"}], "models.0.type"), ([{"type": "input"}], "models.0.name")):
        with api_error(400, 12, field):
            store.call("tasks.delete_models", {"task": tid, "models": models})


def test_input_models_are_checked_on_create_and_edit(store: TaskStore, other: TaskStore) -> None:
    mine = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    theirs = other.call("models.create", {"name": "t", "uri": "file:///t"})["id"]
    with api_error(400, 201) as info:
        create_task(store, models={"input": [{"name": "a", "model": mine}, {"name": "b", "model": theirs}]})
    assert info.value.data == {"models": [theirs]}
    tid = create_task(store, models={"input": [{"name": "a", "model": mine}], "output": [{"name": "o", "model": "x"}]})
    before = dump(store)
    with api_error(400, 201):
        store.call("tasks.edit", {"task": tid, "models": {"input": [{"name": "b", "model": "f" * 32}]}})
    assert dump(store) == before
