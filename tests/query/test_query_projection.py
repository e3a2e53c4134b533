"""only_fields / projection (query_edit §1.12) and the response documents of get_all and the _ex endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from query_support import make, set_fields
from support import api_error, get_task

from taskstore import TaskStore


def all_tasks(store: Any, endpoint: str = "tasks.get_all", version: str | None = None, **req: Any) -> list[Any]:
    return list(store.call(endpoint, req, version=version)["tasks"])


@pytest.fixture
def full(store: TaskStore) -> str:
    project = store.call("projects.create", {"name": "proj", "description": "d"})["id"]
    model = store.call("models.create", {"name": "net", "uri": "s3://m"})["id"]
    parent = make(store, "the parent")
    return make(
        store, "full task", comment="c", tags=["b", "a"], system_tags=["s"], project=project, parent=parent,
        hp={"Args": {"lr": "0.1", "x.y": "2"}}, configuration={"cfg": {"name": "cfg", "value": "v", "type": "t"}},
        container={"image": "img", "arguments": "-x"}, script={"repository": "r", "requirements": {"pip": "a"}},
        execution={"artifacts": [{"key": "k", "type": "t", "uri": "u"}], "queue": "q1", "model_labels": {"l.b": 1}},
        models={"input": [{"name": "in", "model": model}]}, runtime={"gpu": 1},
    )  # fmt: skip


@pytest.mark.parametrize("version", [None, "2.1", "2.8", "2.12"])
def test_whole_documents_equal_get_by_id_minus_hidden_fields(store: TaskStore, full: str, version: str | None) -> None:
    set_fields(store, full, extra={"company_origin": "x", "enqueue_status": "created", "last_worker": "w1"})
    one = get_task(store, full, version=version)
    for key in ("company_origin", "enqueue_status"):
        one.pop(key)
    [listed] = all_tasks(store, id=[full], version=version)
    assert listed == one


def test_get_all_projection_is_verbatim(store: TaskStore, full: str) -> None:
    assert all_tasks(store, id=[full], only_fields=["name"]) == [{"name": "full task"}]
    [doc] = all_tasks(store, id=[full], only_fields=["hyperparams.Args.lr", "tags", "execution.queue"])
    lr = {"section": "Args", "name": "lr", "value": "0.1"}
    assert doc == {"hyperparams": {"Args": {"lr": lr}}, "tags": ["a", "b"], "execution": {"queue": "q1"}}
    [doc] = all_tasks(store, id=[full], only_fields=["hyperparams.Args.x%2Ey.value", "models.input.model"])
    assert doc["hyperparams"] == {"Args": {"x.y": {"value": "2"}}}
    assert list(doc["models"]) == ["input"] and list(doc["models"]["input"][0]) == ["model"]
    [doc] = all_tasks(store, id=[full], projection=["comment"], only_fields=["name"])  # projection wins
    assert doc == {"comment": "c"}
    [doc] = all_tasks(store, id=[full], only_fields=["execution.parameters"])  # rewritten to hyperparams.Args
    assert doc == {"hyperparams": {"Args": get_task(store, full)["hyperparams"]["Args"]}}
    [doc] = all_tasks(store, id=[full], only_fields=["execution.model_labels.l%2Eb", "container.image"])
    assert doc == {"execution": {"model_labels": {"l.b": 1}}, "container": {"image": "img"}}


def test_exclusions_only(store: TaskStore, full: str) -> None:
    [doc] = all_tasks(store, id=[full], only_fields=["-hyperparams", "-execution.artifacts", "-script"])
    whole = get_task(store, full)
    assert "hyperparams" not in doc and "script" not in doc and "artifacts" not in doc["execution"]
    assert doc["configuration"] == whole["configuration"] and doc["name"] == "full task"


@pytest.mark.parametrize("field", ["project.name", "*", "foo", "name.first", "execution.nope", "", "-"])
def test_get_all_unknown_projection_fields_are_400_14(store: TaskStore, full: str, field: str) -> None:
    with api_error(400, 14):
        store.call("tasks.get_all", {"only_fields": [field]})


def test_hidden_fields_only_when_asked(store: TaskStore, full: str) -> None:
    set_fields(store, full, extra={"company_origin": "x", "enqueue_status": "created"})
    [doc] = all_tasks(store, id=[full])
    assert "company_origin" not in doc and "enqueue_status" not in doc
    [doc] = all_tasks(store, id=[full], only_fields=["enqueue_status", "name"])
    assert doc == {"enqueue_status": "created", "name": "full task"}
    [doc] = all_tasks(store, "tasks.get_all_ex", id=[full], only_fields=["*"])
    assert doc["company_origin"] == "x" and doc["enqueue_status"] == "created"


def test_ex_adds_id_and_expands_references(store: TaskStore, full: str) -> None:
    whole = get_task(store, full)
    [doc] = all_tasks(store, "tasks.get_all_ex", id=[full], only_fields=["name"])
    assert doc == {"id": full, "name": "full task"}
    [doc] = all_tasks(store, "tasks.get_all_ex", id=[full], only_fields=["project", "parent", "user", "company",
                                                                          "execution.queue", "models"])  # fmt: skip
    assert doc["project"] == {"id": whole["project"]} and doc["parent"] == {"id": whole["parent"]}
    assert doc["user"] == {"id": "alice"} and doc["company"] == {"id": "acme"}
    assert doc["execution"] == {"queue": {"id": "q1"}}
    assert doc["models"]["input"][0]["model"] == {"id": whole["models"]["input"][0]["model"]}
    [doc] = all_tasks(store, "tasks.get_by_id_ex", id=[full])
    assert doc["project"] == {"id": whole["project"]} and doc["name"] == "full task"
    [parent] = all_tasks(store, "tasks.get_all_ex", id=[whole["parent"]], only_fields=["project", "parent"])
    assert parent == {"id": whole["parent"]}  # absent references stay absent


def test_ex_joins(store: TaskStore, full: str) -> None:
    whole = get_task(store, full)
    fields = ["project.name", "parent.name", "execution.queue.name", "models.input.model.name", "user.name"]
    req = {"id": [full], "only_fields": fields}
    [doc] = store.call("tasks.get_all_ex", req)["tasks"]
    assert doc["project"] == {"id": whole["project"], "name": "proj"}
    assert doc["parent"] == {"id": whole["parent"], "name": "the parent"}
    assert doc["execution"]["queue"] == {"id": "q1"}  # no such queue: only the id
    assert doc["models"]["input"][0]["model"] == {"id": whole["models"]["input"][0]["model"], "name": "net"}
    assert doc["user"] == {"id": "alice"}
    [doc] = all_tasks(store, "tasks.get_all_ex", id=[full], only_fields=["project.*"])
    assert doc["project"]["description"] == "d" and doc["project"]["company"] == {"id": "acme"}
    [doc] = all_tasks(store, "tasks.get_all_ex", id=[full], only_fields=["parent.project.name"])
    assert doc["parent"] == {"id": whole["parent"]}  # the parent has no project


def test_ex_star_and_trailing_star(store: TaskStore, full: str) -> None:
    [doc] = all_tasks(store, "tasks.get_all_ex", id=[full], only_fields=["execution.*", "name"])
    assert set(doc) == {"id", "name", "execution"} and doc["execution"]["queue"] == {"id": "q1"}
    [doc] = all_tasks(store, "tasks.get_all_ex", id=[full], only_fields=["*"])
    assert doc["name"] == "full task" and doc["project"]["id"]


@pytest.mark.parametrize("field", ["nosuch", "-", "execution.nope", "name.x"])
def test_ex_unknown_projection_fields_are_400_14(store: TaskStore, field: str) -> None:
    with api_error(400, 14):
        store.call("tasks.get_all_ex", {"only_fields": [field]})


def test_get_by_id_ex_requires_id(store: TaskStore) -> None:
    with api_error(400, 11):
        store.call("tasks.get_by_id_ex", {})
