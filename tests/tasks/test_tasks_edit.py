"""tasks.edit (spec: query_edit §2.4, §2.2, §1.13 for the ``fields`` echo, §0.3, §0.5)."""

from __future__ import annotations

from typing import Any

import pytest
from support import ISO_UTC, api_error, create_task, dump, get_task, set_status

from taskstore import TaskStore


def edit(store: Any, task: str, version: str | None = None, **fields: Any) -> dict[str, Any]:
    return dict(store.call("tasks.edit", {"task": task, **fields}, version=version))


def stamp(result: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``result["fields"]`` with its time ``keys`` checked and removed (they are compared separately)."""
    fields = dict(result["fields"])
    for key in keys:
        assert ISO_UTC.match(fields.pop(key)), key
    return fields


# -- the status rule --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "in_progress", "stopped", "completed", "failed", "published", "closed"])
def test_edit_of_a_task_not_in_created_is_400_110_unless_forced(store: TaskStore, status: str) -> None:
    tid = create_task(store)
    set_status(store, tid, status)
    before = dump(store)
    with api_error(400, 110) as info:
        edit(store, tid, comment="x")
    assert info.value.data == {"expected": "created", "status": status}
    assert dump(store) == before
    result = edit(store, tid, comment="forced", force=True)
    assert result["updated"] == 1
    assert get_task(store, tid)["comment"] == "forced"
    assert get_task(store, tid)["status"] == status


def test_status_of_a_created_task_is_editable_without_force(store: TaskStore) -> None:
    tid = create_task(store)
    result = edit(store, tid, status="in_progress")
    assert stamp(result, "last_change", "last_update") == {"status": "in_progress"}
    doc = get_task(store, tid)
    assert doc["status"] == "in_progress"
    # no status bookkeeping: status_changed stays unset (§2.4)
    assert "status_changed" not in doc
    assert doc["last_update"] == result["fields"]["last_update"]


def test_status_outside_the_enum_is_400_12(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, 12, "status"):
        edit(store, tid, status="sleeping")
    assert dump(store) == before


def test_type_outside_the_enum_is_400_12(store: TaskStore) -> None:
    # The reference does not check `type` on edit [Q]; we validate it as create does.
    tid = create_task(store)
    with api_error(400, 12, "type"):
        edit(store, tid, type="nope")
    assert stamp(edit(store, tid, type="testing"), "last_change", "last_update") == {"type": "testing"}


# -- merge rule ---------------------------------------------------------------------------------------------


def test_script_execution_models_are_merged_key_by_key(store: TaskStore) -> None:
    mid = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    tid = create_task(
        store,
        script={"repository": "r", "branch": "b", "requirements": {"pip": "x"}},
        execution={"queue": "q", "framework": "f", "artifacts": [{"key": "a", "type": "t"}]},
        models={"input": [{"name": "in", "model": mid}], "output": [{"name": "out", "model": "o1"}]},
    )
    edit(store, tid, script={"branch": "c"}, execution={"artifacts": [{"key": "z", "type": "t"}]},
         models={"input": []})  # fmt: skip
    doc = get_task(store, tid)
    assert doc["script"] == {"binary": "python", "repository": "r", "branch": "c", "entry_point": "",
                             "requirements": {"pip": "x"}}  # fmt: skip
    artifact = {"key": "z", "type": "t", "mode": "output", "display_data": []}
    assert doc["execution"] == {"test_split": 0, "parameters": {}, "model_desc": {}, "model_labels": {},
                                "queue": "q", "framework": "f", "artifacts": [artifact]}  # fmt: skip
    assert doc["models"]["input"] == []
    assert [m["model"] for m in doc["models"]["output"]] == ["o1"]


def test_other_documents_are_replaced_wholesale(store: TaskStore) -> None:
    tid = create_task(
        store,
        hyperparams={"A": {"x": {"section": "A", "name": "x", "value": "1"}},
                     "B": {"y": {"section": "B", "name": "y", "value": "2"}}},
        configuration={"c1": {"name": "c1", "value": "1"}, "c2": {"name": "c2", "value": "2"}},
        container={"image": "i", "arguments": "a"},
        runtime={"r1": 1, "r2": 2},
        tags=["t1", "t2"],
    )  # fmt: skip
    edit(
        store, tid,
        hyperparams={"B": {"z": {"section": "B", "name": "z", "value": "3"}}},
        configuration={"c3": {"name": "c3", "value": "3"}},
        container={"image": "j"},
        runtime={"r3": 3},
        tags=["t3"],
    )  # fmt: skip
    doc = get_task(store, tid)
    assert doc["hyperparams"] == {"B": {"z": {"section": "B", "name": "z", "value": "3"}}}
    assert doc["configuration"] == {"c3": {"name": "c3", "value": "3"}}
    assert (doc["container"], doc["runtime"], doc["tags"]) == ({"image": "j"}, {"r3": 3}, ["t3"])


def test_output_dest_keeps_the_rest_of_output(store: TaskStore) -> None:
    tid = create_task(store, output_dest="d1")
    store.call("tasks.update", {"task": tid, "output__error": "boom"})
    result = edit(store, tid, output_dest=" d2 ")
    assert stamp(result, "last_change", "last_update") == {"output": {"destination": "d2", "error": "boom"}}
    assert get_task(store, tid)["output"] == {"destination": "d2", "error": "boom"}


# -- the fields echo ------------------------------------------------------------------------------------------


def test_fields_echo_of_user_settable_fields_has_no_last_update(store: TaskStore) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    tid = create_task(store)
    created = get_task(store, tid)
    result = edit(store, tid, name=" new name ", comment="c", tags=["b", "a", "b"], system_tags=["s"],
                  project=project)  # fmt: skip
    assert result["updated"] == 1
    assert stamp(result, "last_change") == {
        "name": "new name", "comment": "c", "tags": ["a", "b", "b"], "system_tags": ["s"], "project": project,
    }  # fmt: skip
    doc = get_task(store, tid)
    assert doc["last_change"] == result["fields"]["last_change"]
    assert doc["last_update"] == created["last_update"]
    assert (doc["name"], doc["comment"], doc["tags"], doc["system_tags"], doc["project"]) == (
        "new name", "c", ["a", "b", "b"], ["s"], project)  # fmt: skip
    assert store.call("projects.get_by_id", {"project": project})["project"]["last_update"] == doc["last_change"]


def test_fields_echo_of_content_fields_has_dotted_paths_and_last_update(store: TaskStore) -> None:
    mid = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    tid = create_task(store)
    hyperparams = {"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1", "type": None}}}
    result = edit(
        store, tid,
        script={"branch": " dev ", "diff": " d "},
        execution={"queue": "q", "artifacts": [{"key": "b", "type": "t"}, {"key": "a", "type": "t"}]},
        models={"input": [{"name": "in", "model": mid}]},
        hyperparams=hyperparams,
        container={"image": "img"},
    )  # fmt: skip
    doc = get_task(store, tid)
    now = result["fields"]["last_update"]
    assert now == result["fields"]["last_change"] == doc["last_update"] == doc["last_change"]
    assert stamp(result, "last_change", "last_update") == {
        "script.branch": "dev",
        "script.diff": " d ",
        "execution.queue": "q",
        "execution.artifacts": [{"key": "a", "type": "t", "mode": "output", "display_data": []},
                                {"key": "b", "type": "t", "mode": "output", "display_data": []}],
        "models.input": [{"name": "in", "model": mid, "updated": now}],
        "hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}},
        "container": {"image": "img"},
    }  # fmt: skip


def test_nothing_to_set_is_updated_0_and_writes_nothing(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    for body in ({}, {"comment": None}, {"bogus": 1, "method": "get"}, {"execution": {"parameters": {}}},
                 {"execution": {"bogus": 1}},
                 {"id": "0" * 32, "user": "mallory", "company": "evil", "created": "2001-01-01T00:00:00",
                  "started": "2001-01-01T00:00:00", "status_reason": "r", "status_message": "m", "last_iteration": 9,
                  "output": {"error": "e"}, "active_duration": 5, "metric_stats": {}}):  # fmt: skip
        assert edit(store, tid, **body) == {"updated": 0, "fields": {}}, body
    assert dump(store) == before


def test_force_alone_changes_nothing(store: TaskStore) -> None:
    tid = create_task(store)
    set_status(store, tid, "completed")
    before = dump(store)
    assert edit(store, tid, force=True) == {"updated": 0, "fields": {}}
    assert dump(store) == before


# -- the create pipeline applies to edit ---------------------------------------------------------------------


def test_edit_checks_as_create_does(store: TaskStore, other: TaskStore) -> None:
    tid = create_task(store)
    theirs = create_task(other)
    public_project = store.call("projects.create", {"name": "shared", "description": ""}, company="")["id"]
    before = dump(store)
    cases: list[tuple[dict[str, Any], tuple[int, int]]] = [
        ({"name": "ab"}, (400, 800)),
        ({"tags": ["__$x"]}, (400, 16)),
        ({"parent": "f" * 32}, (400, 16)),
        ({"parent": theirs}, (400, 101)),
        ({"parent": "__DELETED__" + "a" * 32}, (400, 16)),
        ({"project": "f" * 32}, (400, 401)),
        ({"project": public_project}, (403, 21)),
        ({"models": {"input": [{"name": "x", "model": "f" * 32}]}}, (400, 201)),
        ({"script": {"bogus": 1}}, (400, 12)),
        ({"hyperparams": {"A": {"x": {"section": "A", "name": "x", "value": 1}}}}, (400, 800)),
        ({"name": 5}, (400, 12)),
    ]
    for body, codes in cases:
        with api_error(*codes):
            edit(store, tid, **body)
    assert dump(store) == before


def test_legacy_parameters_on_edit_replace_only_the_legacy_items(store: TaskStore) -> None:
    tid = create_task(
        store,
        hyperparams={"Custom": {"x": {"section": "Custom", "name": "x", "value": "1"}},
                     "Args": {"kept": {"section": "Args", "name": "kept", "value": "k"}}},
        execution={"parameters": {"old": 1, "TF_DEFINE/t": 2}},
    )  # fmt: skip
    result = edit(store, tid, execution={"parameters": {"new": "v"}})
    expected = {
        "Custom": {"x": {"section": "Custom", "name": "x", "value": "1"}},
        "Args": {"kept": {"section": "Args", "name": "kept", "value": "k"},
                 "new": {"section": "Args", "name": "new", "value": "v", "type": "legacy"}},
    }  # fmt: skip
    assert stamp(result, "last_change", "last_update") == {"hyperparams": expected}
    assert get_task(store, tid)["hyperparams"] == expected
    assert get_task(store, tid, version="2.8")["execution"]["parameters"] == {"new": "v"}
    # an empty legacy dict removes the legacy items (there are some now)
    edit(store, tid, execution={"parameters": {}})
    assert get_task(store, tid)["hyperparams"] == {
        "Custom": {"x": {"section": "Custom", "name": "x", "value": "1"}},
        "Args": {"kept": {"section": "Args", "name": "kept", "value": "k"}},
    }


def test_legacy_model_desc_on_edit(store: TaskStore) -> None:
    tid = create_task(store, configuration={"real": {"name": "real", "value": "r"}},
                      execution={"model_desc": {"old": "o"}})  # fmt: skip
    edit(store, tid, execution={"model_desc": {"new": 1}})
    assert get_task(store, tid)["configuration"] == {
        "real": {"name": "real", "value": "r"},
        "new": {"name": "new", "value": "1", "type": "legacy"},
    }


def test_execution_model_on_edit_below_2_13(store: TaskStore) -> None:
    mid = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    tid = create_task(store, models={"output": [{"name": "o", "model": "o1"}]})
    result = edit(store, tid, version="2.12", execution={"model": mid, "docker_cmd": "img a b"})
    now = result["fields"]["last_update"]
    assert stamp(result, "last_change", "last_update") == {
        "models.input": [{"name": "Input Model", "model": mid, "updated": now}],
        "container": {"image": "img", "arguments": "a b"},
        # the legacy views of the fields written (query_edit §1.13)
        "execution.model": mid,
        "execution.docker_cmd": "img a b",
    }
    doc = get_task(store, tid)
    assert [m["model"] for m in doc["models"]["output"]] == ["o1"]
    assert edit(store, tid, execution={"model": "f" * 32, "docker_cmd": "x"}) == {"updated": 0, "fields": {}}


# -- who may edit ---------------------------------------------------------------------------------------------


def test_edit_of_a_public_task_is_403_21(store: TaskStore, other: TaskStore) -> None:
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    before = dump(store)
    for caller in (store, other):
        with api_error(403, 21):
            edit(caller, public, comment="x")
    assert dump(store) == before


def test_edit_of_another_company_task_or_a_missing_one_is_400_101(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    before = dump(store)
    for task in (theirs, "f" * 32):
        with api_error(400, 101) as info:
            edit(store, task, comment="x")
        assert info.value.data["id"] == task
    assert dump(store) == before


def test_any_user_of_the_company_may_edit(store: TaskStore) -> None:
    tid = create_task(store)
    store.call("tasks.edit", {"task": tid, "comment": "by bob"}, user="bob")
    doc = get_task(store, tid)
    assert (doc["comment"], doc["user"]) == ("by bob", "alice")
