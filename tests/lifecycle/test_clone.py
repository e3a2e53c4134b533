"""tasks.clone (lifecycle §12)."""

from __future__ import annotations

from typing import Any

from lifecycle_support import set_columns, set_extra, task_in
from sqlalchemy import delete, update
from support import TIME, api_error, create_task, dump, get_task, times

from taskstore import TaskStore
from taskstore.db.records import ModelRecord, ProjectRecord

ARTIFACTS = [
    {"key": "in", "type": "t", "mode": "input", "uri": "s3://in"},
    {"key": "out", "type": "t", "uri": "s3://out"},
]


def source_task(store: Any) -> tuple[str, str, str]:
    """(source, its parent, its input model)."""
    parent = create_task(store, "the parent")
    model = store.call("models.create", {"name": "in model", "uri": "s3://model"})["id"]
    project = store.call("projects.create", {"name": "source project", "description": ""})["id"]
    tid = create_task(
        store,
        "source task",
        comment="a comment",
        parent=parent,
        project=project,
        tags=["t1"],
        system_tags=["development", "archived", "keep"],
        output_dest="s3://dest",
        execution={"artifacts": ARTIFACTS, "framework": "torch"},
        hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}},
        configuration={"cfg": {"name": "cfg", "value": "x"}},
        container={"image": "python:3", "arguments": "-it"},
        runtime={"gpu": "a100"},
        script={"repository": "repo", "entry_point": "train.py"},
        models={"input": [{"name": "in", "model": model}], "output": [{"name": "out", "model": model}]},
    )
    store.call("tasks.enqueue", {"task": tid, "queue_name": "clone queue"})
    store.call("tasks.started", {"task": tid})
    store.call("tasks.update", {"task": tid, "output__error": "boom"})
    set_columns(store, tid, last_iteration=5)
    set_extra(store, tid, last_worker="w")
    return tid, parent, model


def test_clone_copies_the_definition_only(store: TaskStore) -> None:
    src, parent, model = source_task(store)
    source = get_task(store, src)
    assert source["execution"]["queue"] and len(source["execution"]["artifacts"]) == 2
    # the queue and the output artifacts are not copied
    execution = {k: v for k, v in source["execution"].items() if k != "queue"}
    execution["artifacts"] = [a for a in source["execution"]["artifacts"] if a["mode"] == "input"]
    res = store.call("tasks.clone", {"task": src})
    assert list(res) == ["id"]
    doc = get_task(store, res["id"])
    assert times(doc, "created", "last_update", "last_change") == {
        "id": res["id"],
        "name": "source task",
        "type": "training",
        "status": "created",
        "company": "acme",
        "user": "alice",
        "created": TIME,
        "last_update": TIME,
        "last_change": TIME,
        "last_iteration": 0,
        "comment": "a comment",
        "parent": parent,  # the source's parent, not the source
        "project": source["project"],
        "tags": ["t1"],
        "system_tags": ["keep"],
        "output": {"destination": "s3://dest"},
        "execution": execution,
        "script": source["script"],
        "hyperparams": source["hyperparams"],
        "configuration": source["configuration"],
        "container": {"image": "python:3", "arguments": "-it"},
        "runtime": {},
        "models": {"input": source["models"]["input"], "output": []},
        "last_metrics": {},
        "metric_stats": {},
    }
    assert doc["execution"]["artifacts"][0]["key"] == "in"
    assert model in [m["model"] for m in doc["models"]["input"]]


def test_clone_overrides(store: TaskStore) -> None:
    src, _, _ = source_task(store)
    new_model = store.call("models.create", {"name": "other model", "uri": "s3://m2"})["id"]
    parent = create_task(store, "new parent")
    res = store.call(
        "tasks.clone",
        {
            "task": src,
            "new_task_name": "  renamed  ",
            "new_task_comment": "new comment",
            "new_task_tags": ["x"],
            "new_task_system_tags": ["development"],
            "new_task_parent": parent,
            "new_project_name": "cloned/here",
            "new_task_hyperparams": {"Args": {"bs": {"section": "Args", "name": "bs", "value": "8"}}},
            "new_task_configuration": {"c2": {"name": "c2", "value": "y"}},
            "new_task_input_models": [{"name": "m", "model": new_model}],
            "new_task_container": {"image": "ubuntu"},
            "execution_overrides": {"framework": "jax", "docker_cmd": "ignored when a container is given"},
        },
    )
    doc = get_task(store, res["id"])
    project = store.call("projects.get_by_id", {"project": doc["project"]})["project"]
    assert res["new_project"] == {"id": doc["project"], "name": "cloned/here"} and project["name"] == "cloned/here"
    assert (doc["name"], doc["comment"], doc["tags"], doc["system_tags"]) == ("renamed", "new comment", ["x"],
                                                                                ["development"])  # fmt: skip
    assert doc["parent"] == parent
    assert list(doc["hyperparams"]["Args"]) == ["bs"] and list(doc["configuration"]) == ["c2"]
    assert [m["model"] for m in doc["models"]["input"]] == [new_model]
    assert doc["container"] == {"image": "ubuntu"}
    assert doc["execution"]["framework"] == "jax"


def test_clone_execution_overrides_model_and_docker_cmd(store: TaskStore) -> None:
    src, _, _ = source_task(store)
    model = store.call("models.create", {"name": "override", "uri": "s3://o"})["id"]
    res = store.call(
        "tasks.clone",
        {"task": src, "new_task_name": "", "execution_overrides": {"model": model, "docker_cmd": "img --rm -v"}},
    )
    doc = get_task(store, res["id"])
    assert doc["name"] == "source task"  # an empty value counts as not given
    assert [(m["name"], m["model"]) for m in doc["models"]["input"]] == [("Input Model", model)]
    assert doc["container"] == {"image": "img", "arguments": "--rm -v"}
    with api_error(400, 201) as info:
        store.call("tasks.clone", {"task": src, "execution_overrides": {"model": "nope"}})
    assert info.value.data == {"models": ["nope"]}


def test_clone_applies_legacy_parameter_overrides(store: TaskStore) -> None:
    src, _, _ = source_task(store)
    res = store.call("tasks.clone", {"task": src, "execution_overrides": {"parameters": {"epochs": 3}}})
    hyperparams = get_task(store, res["id"])["hyperparams"]
    assert hyperparams["Args"]["lr"]["value"] == "0.1"
    assert hyperparams["Args"]["epochs"] == {"section": "Args", "name": "epochs", "value": "3", "type": "legacy"}


def test_clone_errors(store: TaskStore, other: Any) -> None:
    src, _, model = source_task(store)
    before = dump(store)
    with api_error(400, 16) as info:
        store.call("tasks.clone", {"task": "missing", "new_task_tags": ["__$bad"]})  # checked before the lookup
    assert info.value.data == {"values": ["__$bad"]}
    with api_error(400, 101) as info:
        store.call("tasks.clone", {"task": "missing"})
    assert info.value.data == {"id": "missing"}
    with api_error(400, 101) as info:
        store.call("tasks.clone", {"task": src, "new_task_parent": "nope"})
    assert info.value.data == {"parent": "nope"}
    with api_error(400, 401):
        store.call("tasks.clone", {"task": src, "new_task_project": "nope"})
    with api_error(400, 12):
        store.call("tasks.clone", {"task": src, "new_task_hyperparams": {"": {}}})
    with api_error(400, 407):
        store.call("tasks.clone", {"task": src, "new_project_name": " / "})
    assert dump(store) == before
    # a deleted input model: cloning works, validate_references refuses
    with store._db.transaction() as conn:
        conn.execute(delete(ModelRecord).where(ModelRecord.id == model))
    store.call("tasks.clone", {"task": src})
    with api_error(400, 201):
        store.call("tasks.clone", {"task": src, "validate_references": True})


def test_public_tasks_can_be_cloned_and_public_projects_refused(store: TaskStore, other: Any) -> None:
    tid = task_in(store, "published")
    store.call("tasks.make_public", {"ids": [tid]})
    res = other.call("tasks.clone", {"task": tid})
    doc = get_task(other, res["id"])
    assert (doc["company"], doc["user"], doc["status"]) == ("globex", "bob", "created")
    public_project = store.call("projects.create", {"name": "shared project", "description": ""})["id"]
    with store._db.transaction() as conn:
        conn.execute(update(ProjectRecord).where(ProjectRecord.id == public_project).values(company=""))
    with api_error(403, 21):
        other.call("tasks.clone", {"task": tid, "new_task_project": public_project})
