"""tasks.create and tasks.validate (spec: query_edit §2.1-2.3, §1.13, §0.3-0.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support import HEX32, TIME, api_error, create_task, dump, get_task, times

from taskstore import TaskStore

TASK_TIMES = ("created", "last_update", "last_change")


def fresh(task_id: str, **overrides: Any) -> dict[str, Any]:
    """The spec's "fresh task as returned by get_by_id" (§1.13) for company acme, user alice."""
    doc: dict[str, Any] = {
        "id": task_id,
        "name": "task one",
        "type": "training",
        "status": "created",
        "company": "acme",
        "user": "alice",
        "created": TIME,
        "last_update": TIME,
        "last_change": TIME,
        "last_iteration": 0,
        "tags": [],
        "system_tags": [],
        "output": {},
        "execution": {"test_split": 0, "parameters": {}, "model_desc": {}, "model_labels": {}, "artifacts": []},
        "script": {"binary": "python", "repository": "", "entry_point": "", "requirements": {}},
        "hyperparams": {},
        "configuration": {},
        "container": {},
        "runtime": {},
        "models": {"input": [], "output": []},
        "last_metrics": {},
        "metric_stats": {},
    }
    doc.update(overrides)
    return doc


# -- the fresh document -------------------------------------------------------------------------------


def test_create_returns_only_a_32_hex_id(store: TaskStore) -> None:
    result = store.call("tasks.create", {"name": "task one", "type": "training"})
    assert list(result) == ["id"]
    assert HEX32.match(result["id"])


def test_fresh_task_document_is_exactly_the_spec_default(store: TaskStore) -> None:
    tid = create_task(store)
    doc = get_task(store, tid)
    assert times(doc, *TASK_TIMES) == fresh(tid)
    assert doc["created"] == doc["last_update"] == doc["last_change"]
    # stored with millisecond precision (§0.5): the microseconds end in 000
    fraction = doc["created"][len("2022-07-08T15:02:44") : -len("+00:00")]
    assert fraction == "" or (fraction[0] == "." and fraction[4:] == "000"), doc["created"]


def test_fresh_task_with_comment_project_parent_and_output_dest(store: TaskStore) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    parent = create_task(store, name="the parent")
    tid = create_task(
        store, comment="a comment", project=project, parent=parent, output_dest=" s3://bucket/x ",
        tags=["b", "a", "b"], system_tags=["sys"],
    )  # fmt: skip
    doc = times(get_task(store, tid), *TASK_TIMES)
    assert doc == fresh(
        tid,
        comment="a comment",
        project=project,
        parent=parent,
        output={"destination": "s3://bucket/x"},
        tags=["a", "b", "b"],
        system_tags=["sys"],
    )


def test_ids_are_distinct_and_names_are_not_unique(store: TaskStore) -> None:
    ids = {create_task(store, name="same name") for _ in range(5)}
    assert len(ids) == 5
    assert all(HEX32.match(i) for i in ids)


def test_name_is_trimmed(store: TaskStore) -> None:
    tid = create_task(store, name="  padded name  ")
    assert get_task(store, tid)["name"] == "padded name"


def test_user_and_company_come_from_the_caller_not_the_request(store: TaskStore) -> None:
    tid = create_task(store, user="mallory", company="evil", id="0" * 32)
    doc = get_task(store, tid)
    assert (doc["id"] != "0" * 32, doc["user"], doc["company"]) == (True, "alice", "acme")
    tid2 = store.call("tasks.create", {"name": "task two", "type": "testing"}, user="carol")["id"]
    assert get_task(store, tid2)["user"] == "carol"


def test_create_touches_the_project(store: TaskStore) -> None:
    project = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    before = store.call("projects.get_by_id", {"project": project})["project"]["last_update"]
    tid = create_task(store, project=project)
    after = store.call("projects.get_by_id", {"project": project})["project"]["last_update"]
    assert after == get_task(store, tid)["created"]
    assert after >= before


# -- request model: name and type ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["tasks.create", "tasks.validate"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "training"}, "name"),
        ({"name": "task one"}, "type"),
        ({"name": None, "type": "training"}, "name"),
        ({"name": "task one", "type": "no_such_type"}, "type"),
        ({"name": 5, "type": "training"}, "name"),
        ({"name": "task one", "type": "training", "tags": "x", "comment": {"a": 1}}, "comment"),
        ({"name": "task one", "type": "training", "execution": "x"}, "execution"),
        ({"name": "task one", "type": "training", "execution": {"test_split": 1, "model_labels": {"a": "b"}}},
         "execution.model_labels.a"),
    ],
)  # fmt: skip
def test_bad_request_is_400_12_naming_the_field(
    store: TaskStore, endpoint: str, body: dict[str, Any], field: str
) -> None:
    before = dump(store)
    with api_error(400, 12, field):
        store.call(endpoint, body)
    assert dump(store) == before


def test_every_task_type_is_accepted(store: TaskStore) -> None:
    kinds = ["training", "testing", "inference", "data_processing", "application", "monitor", "controller",
             "optimizer", "service", "qc", "custom"]  # fmt: skip
    for kind in kinds:
        tid = create_task(store, type_=kind)
        assert get_task(store, tid)["type"] == kind


def test_short_name_fails_create_with_400_800_but_passes_validate(store: TaskStore) -> None:
    before = dump(store)
    for name in ("ab", "  ab  ", ""):
        with api_error(400, 800, "name"):
            store.call("tasks.create", {"name": name, "type": "training"})
        assert store.call("tasks.validate", {"name": name, "type": "training"}) == {}
    assert dump(store) == before


def test_validate_returns_empty_and_stores_nothing(store: TaskStore) -> None:
    before = dump(store)
    body = {"name": "task one", "type": "training", "tags": ["a"], "execution": {"parameters": {"lr": 1}}}
    assert store.call("tasks.validate", body) == {}
    assert dump(store) == before


# -- tags ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["tasks.create", "tasks.validate"])
def test_reserved_tag_prefix_is_400_16(store: TaskStore, endpoint: str) -> None:
    before = dump(store)
    with api_error(400, 16) as info:
        store.call(endpoint, {"name": "task one", "type": "training", "tags": ["ok", "__$not"]})
    assert info.value.data == {"values": ["__$not"]}
    with api_error(400, 16):
        store.call(endpoint, {"name": "task one", "type": "training", "tags": ["ok"], "system_tags": ["__$x"]})
    assert dump(store) == before


def test_system_tags_alone_are_not_prefix_checked(store: TaskStore) -> None:
    # §2.2 step 4 [Q]: the check runs only when `tags` is sent.
    tid = create_task(store, system_tags=["__$odd"])
    assert get_task(store, tid)["system_tags"] == ["__$odd"]


def test_a_scalar_tag_is_taken_as_a_one_element_list(store: TaskStore) -> None:
    tid = create_task(store, tags="single")
    assert get_task(store, tid)["tags"] == ["single"]


# -- references: parent, project, input models -------------------------------------------------------------


def test_parent_must_exist(store: TaskStore) -> None:
    for endpoint in ("tasks.create", "tasks.validate"):
        with api_error(400, 16, "parent"):
            store.call(endpoint, {"name": "task one", "type": "training", "parent": "f" * 32})


def test_parent_of_another_company_is_400_101(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    before = dump(store)
    for endpoint in ("tasks.create", "tasks.validate"):
        with api_error(400, 101):
            store.call(endpoint, {"name": "task one", "type": "training", "parent": theirs})
    assert dump(store) == before


def test_public_parent_is_accepted(store: TaskStore) -> None:
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    tid = create_task(store, parent=public)
    assert get_task(store, tid)["parent"] == public


def test_deleted_parent_marker_is_dropped_by_validate_only(store: TaskStore) -> None:
    body = {"name": "task one", "type": "training", "parent": "__DELETED__" + "a" * 32}
    assert store.call("tasks.validate", body) == {}
    # create does not drop it, and the marker is not the id of an existing task (§2.2 step 1) [Q].
    with api_error(400, 16, "parent"):
        store.call("tasks.create", body)


def test_project_must_exist_in_the_company(store: TaskStore, other: TaskStore) -> None:
    theirs = other.call("projects.create", {"name": "theirs", "description": ""})["id"]
    before = dump(store)
    for endpoint in ("tasks.create", "tasks.validate"):
        for project in ("f" * 32, theirs):
            with api_error(400, 401):
                store.call(endpoint, {"name": "task one", "type": "training", "project": project})
    assert dump(store) == before


def test_public_project_is_403_21(store: TaskStore) -> None:
    public = store.call("projects.create", {"name": "shared", "description": ""}, company="")["id"]
    before = dump(store)
    for endpoint in ("tasks.create", "tasks.validate"):
        with api_error(403, 21):
            store.call(endpoint, {"name": "task one", "type": "training", "project": public})
    assert dump(store) == before


def test_empty_project_means_none(store: TaskStore) -> None:
    tid = create_task(store, project="")
    assert "project" not in get_task(store, tid)


def test_input_models_must_exist_output_models_need_not(store: TaskStore, other: TaskStore) -> None:
    mine = store.call("models.create", {"name": "mine", "uri": "file:///m"})["id"]
    theirs = other.call("models.create", {"name": "theirs", "uri": "file:///t"})["id"]
    public = store.call("models.create", {"name": "public", "uri": "file:///p"}, company="")["id"]
    before = dump(store)
    for missing in ("f" * 32, theirs):
        with api_error(400, 201) as info:
            create_task(store, models={"input": [{"name": "a", "model": mine}, {"name": "b", "model": missing}]})
        assert info.value.data == {"models": [missing]}
    assert dump(store) == before
    tid = create_task(
        store,
        models={"input": [{"name": "a", "model": mine}, {"name": "p", "model": public}],
                "output": [{"name": "o", "model": "f" * 32}]},
    )  # fmt: skip
    models = get_task(store, tid)["models"]
    assert [(m["name"], m["model"]) for m in models["input"]] == [("a", mine), ("p", public)]
    assert [(m["name"], m["model"]) for m in models["output"]] == [("o", "f" * 32)]
    assert {m["updated"] for m in models["input"] + models["output"]} == {get_task(store, tid)["created"]}


# -- legacy execution.parameters / model_desc ------------------------------------------------------------


LEGACY_PARAMS = {"TF_DEFINE/x": 1, "lr": 0.1, "flag": True, "a/b": "s", "d": {"k": 1}, "n": None}


def test_legacy_parameters_become_legacy_hyperparams(store: TaskStore) -> None:
    tid = create_task(store, execution={"parameters": LEGACY_PARAMS, "model_desc": {"design": "abc", "n": 3}})
    doc = get_task(store, tid)

    def item(section: str, name: str, value: str) -> dict[str, str]:
        return {"section": section, "name": name, "value": value, "type": "legacy"}

    assert doc["hyperparams"] == {
        "TF_DEFINE": {"x": item("TF_DEFINE", "x", "1")},
        "Args": {
            "lr": item("Args", "lr", "0.1"),
            "flag": item("Args", "flag", "True"),
            "a/b": item("Args", "a/b", "s"),
            "d": item("Args", "d", "{'k': 1}"),
            "n": item("Args", "n", "None"),
        },
    }
    assert doc["configuration"] == {
        "design": {"name": "design", "value": "abc", "type": "legacy"},
        "n": {"name": "n", "value": "3", "type": "legacy"},
    }
    # at 2.20 the legacy keys are not returned (only the creation defaults)
    assert doc["execution"] == fresh(tid)["execution"]


def test_legacy_parameters_are_returned_below_2_9(store: TaskStore) -> None:
    hyperparams = {"Args": {"kept": {"section": "Args", "name": "kept", "value": "v"}}}
    tid = create_task(store, hyperparams=hyperparams, execution={"parameters": LEGACY_PARAMS,
                                                                 "model_desc": {"design": "abc"}})  # fmt: skip
    old = get_task(store, tid, version="2.8")
    assert old["execution"]["parameters"] == {
        "TF_DEFINE/x": "1", "lr": "0.1", "flag": "True", "a/b": "s", "d": "{'k': 1}", "n": "None",
    }  # fmt: skip
    assert old["execution"]["model_desc"] == {"design": "abc"}
    assert get_task(store, tid, version="2.9")["execution"]["parameters"] == {}
    assert get_task(store, tid, version="2.9")["execution"]["model_desc"] == {}
    assert get_task(store, tid)["hyperparams"]["Args"]["kept"] == {"section": "Args", "name": "kept", "value": "v"}


def test_legacy_parameter_overwrites_a_hyperparam_of_the_same_name(store: TaskStore) -> None:
    hyperparams = {"Args": {"lr": {"section": "Args", "name": "lr", "value": "5", "description": "d"}}}
    tid = create_task(store, hyperparams=hyperparams, execution={"parameters": {"lr": 0.5}})
    assert get_task(store, tid)["hyperparams"] == {
        "Args": {"lr": {"section": "Args", "name": "lr", "value": "0.5", "type": "legacy"}}
    }


def test_empty_tf_define_name_is_400_12(store: TaskStore) -> None:
    with api_error(400, 12, "execution.parameters.TF_DEFINE/"):
        create_task(store, execution={"parameters": {"TF_DEFINE/": 1}})


def test_tags_below_2_3_include_system_tags(store: TaskStore) -> None:
    tid = create_task(store, tags=["b"], system_tags=["a"])
    assert get_task(store, tid, version="2.2")["tags"] == ["a", "b"]
    assert (get_task(store, tid)["tags"], get_task(store, tid)["system_tags"]) == (["b"], ["a"])


# -- execution.model / docker_cmd (< 2.13) -----------------------------------------------------------------


def test_execution_model_and_docker_cmd_are_converted_below_2_13(store: TaskStore) -> None:
    model = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    body = {"name": "task one", "type": "training", "execution": {"model": model, "docker_cmd": " img:1 --gpus all "}}
    tid = store.call("tasks.create", body, version="2.12")["id"]
    doc = get_task(store, tid)
    assert doc["models"] == {"input": [{"name": "Input Model", "model": model, "updated": doc["created"]}],
                             "output": []}  # fmt: skip
    assert doc["container"] == {"image": "img:1", "arguments": "--gpus all"}
    assert "model" not in doc["execution"] and "docker_cmd" not in doc["execution"]
    old = get_task(store, tid, version="2.12")
    assert (old["execution"]["model"], old["execution"]["docker_cmd"]) == (model, "img:1 --gpus all")
    assert old["models"] == doc["models"]


def test_execution_model_below_2_13_is_checked(store: TaskStore) -> None:
    with api_error(400, 201):
        store.call("tasks.create", {"name": "task one", "type": "training", "execution": {"model": "f" * 32}},
                   version="2.12")  # fmt: skip


def test_docker_cmd_without_arguments(store: TaskStore) -> None:
    tid = store.call("tasks.create", {"name": "task one", "type": "training", "execution": {"docker_cmd": "img"}},
                     version="2.12")["id"]  # fmt: skip
    assert get_task(store, tid)["container"] == {"image": "img", "arguments": ""}
    assert get_task(store, tid, version="2.12")["execution"]["docker_cmd"] == "img"


def test_execution_model_and_docker_cmd_are_ignored_from_2_13(store: TaskStore) -> None:
    body = {"name": "task one", "type": "training", "execution": {"model": "f" * 32, "docker_cmd": "img args"}}
    for version in ("2.13", None):
        tid = store.call("tasks.create", body, version=version)["id"]
        doc = times(get_task(store, tid), *TASK_TIMES)
        assert doc == fresh(tid)


def test_output_model_below_2_13_is_the_last_output_model(store: TaskStore) -> None:
    model = store.call("models.create", {"name": "in", "uri": "file:///in"})["id"]
    models = {"input": [{"name": "i1", "model": model}],
              "output": [{"name": "o1", "model": "m1"}, {"name": "o2", "model": "m2"}]}  # fmt: skip
    tid = create_task(store, models=models)
    old = get_task(store, tid, version="2.12")
    assert (old["execution"]["model"], old["output"]["model"]) == (model, "m2")
    new = get_task(store, tid)
    assert "model" not in new["execution"] and "model" not in new["output"]


def test_runtime_models_container_are_accepted_below_2_13(store: TaskStore) -> None:
    body = {"name": "task one", "type": "training", "runtime": {"gpu": 1}, "container": {"image": "i"},
            "models": {"output": [{"name": "o", "model": "m"}]}}  # fmt: skip
    tid = store.call("tasks.create", body, version="2.1")["id"]
    doc = get_task(store, tid)
    assert (doc["runtime"], doc["container"], [m["model"] for m in doc["models"]["output"]]) == (
        {"gpu": 1}, {"image": "i"}, ["m"])  # fmt: skip


def test_runtime_models_container_are_type_checked_below_2_13(store: TaskStore) -> None:
    for key in ("runtime", "models", "container"):
        with api_error(400, 12, key):
            store.call("tasks.create", {"name": "task one", "type": "training", key: "x"}, version="2.1")


# -- artifacts, script, strict sub-documents --------------------------------------------------------------


def test_artifacts_list_to_map_last_wins_returned_sorted_by_key(store: TaskStore) -> None:
    artifacts = [
        {"key": "b", "type": "t", "uri": "u1"},
        {"key": "a", "type": "t", "timestamp": 5},
        {"key": "b", "type": "t", "uri": "u2"},
        {"key": "b", "type": "t", "mode": "input", "display_data": [["k", "v"]]},
    ]
    tid = create_task(store, execution={"artifacts": artifacts, "queue": "q1", "framework": "pytorch"})
    execution = get_task(store, tid)["execution"]
    assert execution == {
        "test_split": 0, "parameters": {}, "model_desc": {}, "model_labels": {}, "queue": "q1", "framework": "pytorch",
        "artifacts": [
            {"key": "a", "type": "t", "timestamp": 5, "mode": "output", "display_data": []},
            # same key: by mode (the reference keeps insertion order, which JSONB cannot)
            {"key": "b", "type": "t", "mode": "input", "display_data": [["k", "v"]]},
            {"key": "b", "type": "t", "uri": "u2", "mode": "output", "display_data": []},
        ],
    }  # fmt: skip


def test_artifact_mode_must_be_input_or_output(store: TaskStore) -> None:
    with api_error(400, 12, "execution.artifacts.0.mode"):
        create_task(store, execution={"artifacts": [{"key": "a", "type": "t", "mode": "sideways"}]})


def test_script_string_fields_are_trimmed(store: TaskStore) -> None:
    script = {"binary": " python3 ", "repository": " https://r ", "tag": " t ", "branch": " b ",
              "version_num": " 1 ", "entry_point": " e.py ", "working_dir": " . ",
              "requirements": {"pip": " x "}, "diff": " d "}  # fmt: skip
    tid = create_task(store, script=script)
    assert get_task(store, tid)["script"] == {
        "binary": "python3", "repository": "https://r", "tag": "t", "branch": "b", "version_num": "1",
        "entry_point": "e.py", "working_dir": ".", "requirements": {"pip": " x "}, "diff": " d ",
    }  # fmt: skip


def test_partial_script_keeps_the_defaults(store: TaskStore) -> None:
    tid = create_task(store, script={"repository": "r"})
    assert get_task(store, tid)["script"] == {"binary": "python", "repository": "r", "entry_point": "",
                                              "requirements": {}}  # fmt: skip


@pytest.mark.parametrize("endpoint", ["tasks.create", "tasks.validate"])
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"script": {"repository": "r", "bogus": 1}}, "script.bogus"),
        ({"hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "1", "bogus": 1}}}},
         "hyperparams.Args.lr.bogus"),
        ({"configuration": {"c": {"name": "c", "value": "1", "bogus": 1}}}, "configuration.c.bogus"),
        ({"execution": {"artifacts": [{"key": "a", "type": "t", "bogus": 1}]}}, "execution.artifacts.0.bogus"),
        ({"models": {"output": [{"name": "o", "model": "m", "bogus": 1}]}}, "models.output.0.bogus"),
        ({"hyperparams": {"": {}}}, "hyperparams."),
        ({"hyperparams": {"Args": {"": {"section": "Args", "name": "", "value": "1"}}}}, "hyperparams.Args."),
        ({"configuration": {"": {"name": "", "value": "1"}}}, "configuration."),
    ],
)  # fmt: skip
def test_strict_sub_documents_are_400_12(store: TaskStore, endpoint: str, fields: dict[str, Any], field: str) -> None:
    before = dump(store)
    with api_error(400, 12, field):
        store.call(endpoint, {"name": "task one", "type": "training", **fields})
    assert dump(store) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": 1}}}}, "hyperparams.Args.lr.value"),
        ({"hyperparams": {"Args": {"lr": {"name": "lr", "value": "1"}}}}, "hyperparams.Args.lr.section"),
        ({"hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr"}}}}, "hyperparams.Args.lr.value"),
        ({"configuration": {"c": {"name": "c", "value": 5}}}, "configuration.c.value"),
        ({"configuration": {"c": {"value": "5"}}}, "configuration.c.name"),
        ({"container": {"image": 5}}, "container.image"),
        ({"hyperparams": {"  ": {}}}, "hyperparams.  "),
        ({"container": {" ": "x"}}, "container. "),
        ({"models": {"input": [{"name": "i"}]}}, "models.input.0.model"),
        ({"models": {"output": [{"model": "m"}]}}, "models.output.0.name"),
        ({"models": {"output": [{"name": "o", "model": 5}]}}, "models.output.0.model"),
        ({"runtime": {"$x": 1}}, "runtime.$x"),
    ],
)  # fmt: skip
def test_data_level_failures_are_400_800_on_create(store: TaskStore, fields: dict[str, Any], field: str) -> None:
    before = dump(store)
    with api_error(400, 800, field):
        store.call("tasks.create", {"name": "task one", "type": "training", **fields})
    assert dump(store) == before


def test_hyperparams_and_configuration_are_stored_without_null_attributes(store: TaskStore) -> None:
    hyperparams = {" Args ": {" lr ": {"section": "Args", "name": "lr", "value": "1", "type": None,
                                       "description": "rate"}}}  # fmt: skip
    configuration = {"cfg": {"name": "cfg", "value": "{}", "type": "json", "description": None}}
    tid = create_task(store, hyperparams=hyperparams, configuration=configuration)
    doc = get_task(store, tid)
    assert doc["hyperparams"] == {
        "Args": {"lr": {"section": "Args", "name": "lr", "value": "1", "description": "rate"}}
    }
    assert doc["configuration"] == {"cfg": {"name": "cfg", "value": "{}", "type": "json"}}


def test_container_model_labels_runtime_round_trip(store: TaskStore) -> None:
    tid = create_task(
        store,
        container={"image": "img", "arguments": None, "setup_shell_script": "echo"},
        execution={"model_labels": {"cat": 1, "dog": 2}},
        runtime={"gpu_type": "a100", "n": [1, 2]},
    )
    doc = get_task(store, tid)
    assert doc["container"] == {"image": "img", "arguments": None, "setup_shell_script": "echo"}
    assert doc["execution"]["model_labels"] == {"cat": 1, "dog": 2}
    assert doc["runtime"] == {"gpu_type": "a100", "n": [1, 2]}


# -- unknown and null keys --------------------------------------------------------------------------------


def test_unknown_top_level_keys_are_ignored(store: TaskStore) -> None:
    body = {"name": "task one", "type": "training", "method": "get", "input": {"x": 1}, "status": "published",
            "created": "2001-01-01T00:00:00", "execution": {"bogus": 1, "queue": "q"}}  # fmt: skip
    tid = store.call("tasks.create", body)["id"]
    doc = times(get_task(store, tid), *TASK_TIMES)
    expected = fresh(tid)
    expected["execution"] = {**expected["execution"], "queue": "q"}
    assert doc == expected


def test_strict_store_rejects_unknown_top_level_keys(make_store: Callable[..., TaskStore]) -> None:
    strict = make_store(company="acme", user="alice", strict=True)
    before = dump(strict)
    with api_error(400, 12, "method"):
        strict.call("tasks.create", {"name": "task one", "type": "training", "method": "get"})
    assert dump(strict) == before
    # keys that other versions of the endpoint define are not unknown
    tid = strict.call("tasks.create", {"name": "task one", "type": "training", "runtime": {"a": 1}}, version="2.1")
    assert get_task(strict, tid["id"])["runtime"] == {"a": 1}


def test_null_fields_are_dropped(store: TaskStore) -> None:
    body = {"name": "task one", "type": "training", "comment": None, "project": None, "parent": None, "tags": None,
            "system_tags": None, "execution": None, "script": None, "hyperparams": None, "output_dest": None,
            "models": None, "container": None, "runtime": None, "configuration": None}  # fmt: skip
    tid = store.call("tasks.create", body)["id"]
    assert times(get_task(store, tid), *TASK_TIMES) == fresh(tid)


def test_null_inside_script_and_execution_is_dropped(store: TaskStore) -> None:
    tid = create_task(store, script={"repository": None, "branch": "b"}, execution={"queue": None, "framework": "f"})
    doc = get_task(store, tid)
    assert doc["script"] == {"binary": "python", "repository": "", "entry_point": "", "requirements": {},
                             "branch": "b"}  # fmt: skip
    assert doc["execution"]["framework"] == "f" and "queue" not in doc["execution"]


# -- visibility of get_by_id ------------------------------------------------------------------------------


def test_get_by_id_of_missing_or_other_company_task_is_400_101(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    for task in ("f" * 32, theirs):
        with api_error(400, 101) as info:
            store.call("tasks.get_by_id", {"task": task})
        assert info.value.data["id"] == task
    assert other.call("tasks.get_by_id", {"task": theirs})["task"]["company"] == "globex"


def test_public_task_is_readable_by_every_company(store: TaskStore, other: TaskStore) -> None:
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    assert get_task(store, public)["company"] == ""
    assert get_task(other, public)["company"] == ""


def test_get_by_id_without_task_is_400_12(store: TaskStore) -> None:
    with api_error(400, 12, "task"):
        store.call("tasks.get_by_id", {})
