"""The pytest plugin (taskstore.testing) and the ClearML-style client (taskstore.client)."""

from __future__ import annotations

from pathlib import Path

import pytest

import taskstore.errors
from taskstore import TaskStore
from taskstore.client import APIClient, APIError, AttrDict
from taskstore.testing import StoreFactory

pytest_plugins = ["pytester"]


def test_taskstore_fixture_is_a_fresh_private_store(taskstore: TaskStore) -> None:
    assert isinstance(taskstore, TaskStore)
    assert (taskstore.url, taskstore.company, taskstore.user) == ("sqlite://", "local", "local")
    assert taskstore.call("tasks.get_all", {})["tasks"] == []
    assert taskstore.call("queues.get_all", {})["queues"] == []
    taskstore.call("tasks.create", {"name": "only in this test", "type": "training"})


def test_taskstore_fixture_again_starts_empty(taskstore: TaskStore) -> None:
    assert taskstore.call("tasks.get_all", {})["tasks"] == []


def test_clearml_api_reads_like_the_server_client(clearml_api: APIClient, taskstore: TaskStore) -> None:
    api = clearml_api
    assert api.store is taskstore
    project = api.projects.create(name="vision").id
    task = api.tasks.create(name="train", type="training", project=project)
    assert isinstance(task, AttrDict) and set(task) == {"id"}
    api.tasks.edit_hyper_params(task=task.id, hyperparams=[{"section": "Args", "name": "lr", "value": "0.1"}])
    queue = api.queues.create(name="gpu queue").id
    queued = api.tasks.enqueue(task=task.id, queue=queue)
    assert (queued.queued, queued.fields.status) == (1, "queued")
    entry = api.queues.get_next_task(queue=queue).entry
    assert entry.task == task.id
    api.tasks.started(task=task.id)
    got = api.tasks.get_by_id(task=task.id).task
    assert (got.status, got.project, got.execution.queue) == ("in_progress", project, queue)
    assert got.hyperparams.Args.lr.value == got["hyperparams"]["Args"]["lr"]["value"] == "0.1"
    listed = api.tasks.get_all(status=["in_progress"], only_fields=["id", "name"]).tasks
    assert [(t.id, t.name) for t in listed] == [(task.id, "train")]
    assert api.queues.get_next_task(queue=queue) == {}
    assert not hasattr(got, "no_such_field") and getattr(got, "no_such_field", None) is None


def test_clearml_api_errors(clearml_api: APIClient) -> None:
    with pytest.raises(APIError) as info:
        clearml_api.tasks.get_by_id(task="nope")
    err = info.value
    assert isinstance(err, taskstore.errors.APIError)
    assert (err.code, err.subcode, err.endpoint) == (400, 101, "tasks.get_by_id")
    assert err.result.meta.codes == (400, 101)
    assert (err.result.meta.result_code, err.result.meta.result_subcode) == (400, 101)
    assert str(err) == "APIClient got 400/101 from tasks.get_by_id: invalid task id: id=nope, company=local"
    with clearml_api.raises((400, 101)):
        clearml_api.tasks.get_by_id(task="nope")
    with clearml_api.raises("invalid_task_id"):
        clearml_api.tasks.get_by_id(task="nope")
    with clearml_api.raises(taskstore.errors.error("invalid_task_id")):
        clearml_api.tasks.get_by_id(task="nope")
    with pytest.raises(APIError), clearml_api.raises((400, 12)):
        clearml_api.tasks.get_by_id(task="nope")  # another code is re-raised
    with pytest.raises(AssertionError, match="call should fail with 400/101"), clearml_api.raises((400, 101)):
        clearml_api.tasks.get_all()
    result, data = clearml_api.send("tasks.get_by_id", {"task": "nope"}, raise_errors=False)
    assert (result.meta.codes, data) == ((400, 101), {})


def test_client_send_versions_and_identities(taskstore: TaskStore) -> None:
    api = APIClient(taskstore)
    result, task_id = api.send("tasks.create", {"name": "train", "type": "training"}, extract="id")
    assert result.meta.codes == (200, 0) and result.as_dict()["data"] == {"id": task_id}
    with api.for_version("2.9").raises((404, 0)):
        api.for_version("2.9").tasks.add_or_update_artifacts(task=task_id, artifacts=[])
    bob = api.impersonate("bob")
    assert bob.tasks.create(name="bob's", type="testing").id
    theirs = APIClient(taskstore, company="globex")
    with theirs.raises((400, 101)):
        theirs.tasks.get_by_id(task=task_id)  # another company's task is invisible
    users = {t.user for t in api.tasks.get_all(only_fields=["user"]).tasks}
    assert users == {"local", "bob"}
    _, updated = api.send_batch("tasks.update_batch", [{"task": task_id, "comment": "batched"}])
    assert updated.updated == 1
    assert api.tasks.get_by_id(task=task_id).task.comment == "batched"


def test_attrdict() -> None:
    d = AttrDict({"a": {"b": [{"c": 1}, 2]}, "not an identifier": 3})
    assert d.a.b[0].c == 1 and d.a.b[1] == 2 and d["not an identifier"] == 3
    d.x = {"y": 1}
    assert d.x.y == 1 and isinstance(d.x, AttrDict)
    del d.x
    with pytest.raises(AttributeError):
        d.x  # noqa: B018
    assert d.to_dict() == {"a": {"b": [{"c": 1}, 2]}, "not an identifier": 3}
    assert type(d.to_dict()["a"]) is dict
    assert "a" in dir(d)


def test_factory_shares_the_test_file_between_identities(taskstore_factory: StoreFactory, tmp_path: Path) -> None:
    alice = taskstore_factory(company="acme", user="alice")
    bob = taskstore_factory(company="acme", user="bob")
    carol = taskstore_factory(company="globex", user="carol")
    assert alice.url == bob.url == f"sqlite:///{tmp_path / 'taskstore.db'}" == taskstore_factory.url
    task = alice.call("tasks.create", {"name": "shared", "type": "training"})["id"]
    assert bob.call("tasks.get_by_id", {"task": task})["task"]["user"] == "alice"
    with pytest.raises(taskstore.errors.APIError):
        carol.call("tasks.get_by_id", {"task": task})
    api = taskstore_factory.api(company="acme", user="dave")
    assert api.tasks.get_by_id(task=task).task.name == "shared"
    private = taskstore_factory("sqlite://")
    assert private.call("tasks.get_all", {})["tasks"] == []
    elsewhere = taskstore_factory(tmp_path / "other.db", strict=True)
    assert elsewhere.strict and elsewhere.url == f"sqlite:///{tmp_path / 'other.db'}"
    assert len(taskstore_factory.opened) == 6


def test_factory_closes_what_it_opened(tmp_path: Path) -> None:
    factory = StoreFactory(tmp_path)
    factory()
    factory("sqlite://")
    factory.close()
    assert factory.opened == []


@pytest.mark.file_backends
def test_factory_on_a_url(taskstore_factory: StoreFactory, db_url: str) -> None:
    acme = taskstore_factory(db_url, company="acme")
    globex = taskstore_factory(db_url, company="globex")
    acme.call("tasks.create", {"name": "acme's", "type": "training"})
    globex.call("tasks.create", {"name": "globex's", "type": "training"})
    assert [t["name"] for t in acme.call("tasks.get_all", {})["tasks"]] == ["acme's"]
    assert [t["name"] for t in globex.call("tasks.get_all", {})["tasks"]] == ["globex's"]


DOWNSTREAM_TESTS = """
import pytest


@pytest.fixture
def store():
    return "the project's own store fixture"


def test_own_fixture_wins(store):
    assert store == "the project's own store fixture"


def test_plugin_fixtures(taskstore, clearml_api, taskstore_factory):
    assert clearml_api.store is taskstore
    task = clearml_api.tasks.create(name="train", type="training")
    assert taskstore.call("tasks.get_by_id", {"task": task.id})["task"]["name"] == "train"
    assert taskstore_factory().call("tasks.get_all", {})["tasks"] == []
"""


def test_plugin_is_active_in_any_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=DOWNSTREAM_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=DOWNSTREAM_TESTS)
    result = pytester.runpytest("-p", "no:taskstore", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'taskstore' not found*"])
