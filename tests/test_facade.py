"""The typed facade: the same calls with keyword arguments, pydantic models out."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from support import HEX32, api_error, create_task

from taskstore import TaskStore


def rich_task(store: TaskStore) -> str:
    model = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    return create_task(
        store,
        tags=["b", "a"],
        system_tags=["s"],
        comment="c",
        output_dest="s3://out",
        script={"repository": "r", "requirements": {"pip": "x"}, "diff": "d"},
        execution={"queue": "q", "framework": "f", "model_labels": {"cat": 1},
                   "artifacts": [{"key": "a", "type": "t", "timestamp": 5, "type_data": {"preview": "p"}}],
                   "parameters": {"lr": 0.1}, "model_desc": {"design": "x"}},
        hyperparams={"Args": {"bs": {"section": "Args", "name": "bs", "value": "32", "type": "int"}}},
        configuration={"cfg": {"name": "cfg", "value": "{}", "type": "json"}},
        container={"image": "img", "arguments": None},
        runtime={"gpus": 2, "nested": {"a": [1, 2]}},
        models={"input": [{"name": "in", "model": model}], "output": [{"name": "out", "model": "o"}]},
    )  # fmt: skip


def test_create_and_get_by_id(store: TaskStore) -> None:
    created = store.tasks.create(name="typed task", type="training")
    assert isinstance(created, BaseModel)
    assert isinstance(created.id, str) and HEX32.match(created.id)
    got = store.tasks.get_by_id(task=created.id)
    assert isinstance(got.task, BaseModel)
    assert (got.task.status, got.task.name, got.task.type, got.task.tags) == ("created", "typed task", "training", [])
    assert got.task.execution.test_split == 0
    assert got.task.script.binary == "python"


@pytest.mark.parametrize("version", [None, "2.12", "2.8", "2.1"])
def test_models_keep_every_field_of_the_response(store: TaskStore, version: str | None) -> None:
    tid = rich_task(store)
    plain = store.call("tasks.get_by_id", {"task": tid}, version=version)
    typed = store.service("tasks", version=version).get_by_id(task=tid)
    assert typed.to_dict() == plain


def test_typed_nested_values(store: TaskStore) -> None:
    tid = rich_task(store)
    task: Any = store.tasks.get_by_id(task=tid).task
    assert task.hyperparams["Args"]["bs"].value == "32"
    assert task.configuration["cfg"].type == "json"
    assert [a.key for a in task.execution.artifacts] == ["a"]
    assert task.execution.artifacts[0].type_data.preview == "p"
    assert [m.name for m in task.models.input] == ["in"]
    assert task.output.destination == "s3://out"
    old: Any = store.service("tasks", version="2.8").get_by_id(task=tid).task
    assert old.execution.parameters == {"lr": "0.1"}


def test_edit_update_and_batch(store: TaskStore) -> None:
    tid = store.tasks.create(name="typed task", type="training").id
    edited = store.tasks.edit(task=tid, comment="c", script={"branch": "b"})
    assert edited.updated == 1
    assert sorted(edited.fields) == ["comment", "last_change", "last_update", "script.branch"]
    assert store.tasks.update(task=tid, name="renamed").updated == 1
    assert store.tasks.update_batch(task=tid, comment="batch").updated == 1
    assert store.tasks.get_by_id(task=tid).task.comment == "batch"
    assert store.tasks.validate(name="ab", type="testing").to_dict() == {}


def test_projects_queues_models(store: TaskStore) -> None:
    pid = store.projects.create(name="top/leaf", description="d").id
    project = store.projects.get_by_id(project=pid).project
    assert (project.name, project.basename, project.description) == ("top/leaf", "leaf", "d")
    # (made in one call: same creation time, so their listing order is not pinned)
    assert sorted(p.name for p in store.projects.get_all(name="^top").projects) == ["top", "top/leaf"]
    default = store.queues.get_default()
    assert default.name == "default"
    queue = store.queues.get_by_id(queue=default.id).queue
    assert (queue.id, queue.entries, queue.system_tags) == (default.id, [], ["default"])
    mid = store.models.create(name="m", uri="file:///m").id
    assert store.models.get_by_id(model=mid).model.ready is True
    assert store.models.edit(model=mid, ready=False).updated == 1
    assert [m.ready for m in store.models.get_all().models] == [False]


def test_errors_are_api_errors(store: TaskStore) -> None:
    with api_error(400, 101):
        store.tasks.get_by_id(task="f" * 32)
    with api_error(400, 12, "type"):
        store.tasks.create(name="typed task")
    with api_error(404, 0):
        store.tasks.no_such_endpoint()
    with pytest.raises(AttributeError):
        store.tasks._private  # noqa: B018
