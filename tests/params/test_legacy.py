"""Legacy shapes by API version, in requests and in responses (query_edit §1.13, §2.2 steps 4, 5 and 8).

Create-time conversions are covered by tests/tasks; these are the parts issue 4/6 completes: tags
below 2.3 on writes, and the legacy views in the ``fields`` echo of edit/update.
"""

from __future__ import annotations

from typing import Any

from params_support import hp
from support import create_task, get_task

from taskstore import TaskStore


def legacy(section: str, name: str, value: str) -> dict[str, Any]:
    return hp(section, name, value, type="legacy")


def test_system_tags_sent_in_tags_below_2_3_are_split_on_write(store: TaskStore) -> None:
    body = {"name": "old client", "type": "training", "tags": ["archived", "mine", "development", "annotated-x"]}
    tid = store.call("tasks.create", body, version="2.1")["id"]
    doc = get_task(store, tid)
    assert (doc["tags"], doc["system_tags"]) == (["mine"], ["annotated-x", "archived", "development"])
    # read back by the old client: one merged list
    assert get_task(store, tid, version="2.2")["tags"] == ["annotated-x", "archived", "development", "mine"]
    # explicit system_tags are taken as sent; from 2.3 nothing is split
    tid2 = store.call("tasks.create", {**body, "system_tags": ["x"]}, version="2.1")["id"]
    assert get_task(store, tid2)["system_tags"] == ["x"]
    tid3 = store.call("tasks.create", body, version="2.3")["id"]
    assert get_task(store, tid3)["system_tags"] == []


def test_edit_and_update_below_2_3_split_and_echo_merged(store: TaskStore) -> None:
    tid = create_task(store)
    res = store.call("tasks.edit", {"task": tid, "tags": ["archived", "a"]}, version="2.2")
    assert (res["fields"]["tags"], res["fields"]["system_tags"]) == (["a", "archived"], ["archived"])
    assert (get_task(store, tid)["tags"], get_task(store, tid)["system_tags"]) == (["a"], ["archived"])
    res = store.call("tasks.update", {"task": tid, "tags": ["development", "b"]}, version="2.2")
    assert (res["fields"]["tags"], res["fields"]["system_tags"]) == (["b", "development"], ["development"])
    store.call("tasks.update_batch", [{"task": tid, "tags": ["c", "archived"]}], version="2.2")
    assert (get_task(store, tid)["tags"], get_task(store, tid)["system_tags"]) == (["c"], ["archived"])
    res = store.call("tasks.edit", {"task": tid, "tags": ["archived"]})
    assert res["fields"]["tags"] == ["archived"] and "system_tags" not in res["fields"]  # 2.3+: as sent


def test_edit_echo_carries_the_legacy_parameters_below_2_9(store: TaskStore) -> None:
    tid = create_task(store)
    hyperparams = {"Args": {"lr": legacy("Args", "lr", "0.1"), "new": hp("Args", "new", "1")},
                   "TF_DEFINE": {"x": legacy("TF_DEFINE", "x", "2")}}  # fmt: skip
    configuration = {"d": {"name": "d", "value": "v", "type": "legacy"}, "e": {"name": "e", "value": "w"}}
    res = store.call("tasks.edit", {"task": tid, "hyperparams": hyperparams, "configuration": configuration},
                     version="2.8")  # fmt: skip
    assert res["fields"]["execution.parameters"] == {"lr": "0.1", "TF_DEFINE/x": "2"}
    assert res["fields"]["execution.model_desc"] == {"d": "v"}
    res = store.call("tasks.edit", {"task": tid, "hyperparams": hyperparams, "configuration": configuration})
    assert "execution.parameters" not in res["fields"] and "execution.model_desc" not in res["fields"]


def test_edit_echo_carries_output_model_below_2_13(store: TaskStore) -> None:
    tid = create_task(store)
    body = {"task": tid, "models": {"output": [{"name": "a", "model": "m1"}, {"name": "b", "model": "m2"}]}}
    assert store.call("tasks.edit", body, version="2.12")["fields"]["output.model"] == "m2"
    assert "output.model" not in store.call("tasks.edit", body)["fields"]


def test_hyper_param_endpoints_feed_the_legacy_views(store: TaskStore) -> None:
    tid = create_task(store, execution={"parameters": {"lr": 0.1}})
    store.call("tasks.edit_hyper_params", {"task": tid, "hyperparams": [legacy("TF_DEFINE", "t", "5"),
                                                                         hp("Args", "plain", "p")]})  # fmt: skip
    store.call("tasks.edit_configuration", {"task": tid, "configuration": [{"name": "m", "value": "x",
                                                                            "type": "legacy"}]})  # fmt: skip
    old = get_task(store, tid, version="2.8")
    assert old["execution"]["parameters"] == {"lr": "0.1", "TF_DEFINE/t": "5"}
    assert old["execution"]["model_desc"] == {"m": "x"}
    store.call("tasks.delete_hyper_params", {"task": tid, "hyperparams": [{"section": "Args", "name": "lr"}]})
    assert get_task(store, tid, version="2.8")["execution"]["parameters"] == {"TF_DEFINE/t": "5"}
    # the legacy input is converted at any version
    store.call("tasks.edit", {"task": tid, "execution": {"parameters": {"k": True}}})
    assert get_task(store, tid)["hyperparams"]["Args"] == {"plain": hp("Args", "plain", "p"),
                                                            "k": legacy("Args", "k", "True")}  # fmt: skip


def test_get_all_below_2_13_shows_the_legacy_model_fields(store: TaskStore) -> None:
    mid = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    tid = create_task(store, models={"input": [{"name": "i", "model": mid}]}, container={"image": "img"})
    got = store.call("tasks.get_all", {"id": [tid]}, version="2.12")["tasks"][0]
    assert (got["execution"]["model"], got["execution"]["docker_cmd"]) == (mid, "img")
