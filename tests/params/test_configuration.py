"""tasks.get_configurations / get_configuration_names / edit_configuration / delete_configuration
(spec: query_edit §3.1, §3.4, §0.3)."""

from __future__ import annotations

from typing import Any

import pytest
from params_support import STATUSES, age, cfg, stamps, task_in
from support import api_error, create_task, dump, get_task

from taskstore import TaskStore

BASE = {"b": cfg("b", "B", type="yaml"), "a": cfg("a", "A", description="d"), "empty": cfg("empty", "")}


def edit(store: Any, task: str, items: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return dict(store.call("tasks.edit_configuration", {"task": task, "configuration": items, **kw}))


def delete(store: Any, task: str, names: list[str], **kw: Any) -> dict[str, Any]:
    return dict(store.call("tasks.delete_configuration", {"task": task, "configuration": names, **kw}))


def configurations(store: Any, tasks: list[str], **kw: Any) -> list[dict[str, Any]]:
    return list(store.call("tasks.get_configurations", {"tasks": tasks, **kw})["configurations"])


def names(store: Any, tasks: list[str], **kw: Any) -> list[dict[str, Any]]:
    return list(store.call("tasks.get_configuration_names", {"tasks": tasks, **kw})["configurations"])


# -- reading ----------------------------------------------------------------------------------------------------


def test_get_configurations_sorted_by_name(store: TaskStore) -> None:
    tid = create_task(store, configuration=BASE)
    assert configurations(store, [tid]) == [
        {"task": tid, "configuration": [cfg("a", "A", description="d"), cfg("b", "B", type="yaml"), cfg("empty", "")]}
    ]


def test_get_configurations_by_names_skips_absent_ones(store: TaskStore) -> None:
    a, b = create_task(store, configuration=BASE), create_task(store)
    assert configurations(store, [b, a], names=["b", "nope", " a "]) == [
        {"task": a, "configuration": [cfg("a", "A", description="d"), cfg("b", "B", type="yaml")]},
        {"task": b, "configuration": []},
    ]
    # an empty names list means every item
    assert len(configurations(store, [a], names=[])[0]["configuration"]) == 3


def test_get_configurations_visibility(store: TaskStore, other: TaskStore) -> None:
    mine, theirs = create_task(store), create_task(other)
    public = store.call("tasks.create", {"name": "public", "type": "training", "configuration": BASE}, company="")["id"]
    assert [c["task"] for c in configurations(other, [public])] == [public]
    with api_error(400, 101) as info:
        configurations(store, [mine, theirs])
    assert info.value.data == {"ids": [mine, theirs]}
    with api_error(400, 12, "tasks"):
        configurations(store, [])


def test_get_configuration_names(store: TaskStore, other: TaskStore) -> None:
    a = create_task(store, configuration=BASE)
    only_empty = create_task(store, configuration={"e": cfg("e", "")})
    nothing = create_task(store)
    theirs = create_task(other, configuration=BASE)
    ids = [a, only_empty, nothing, theirs, "f" * 32]
    # skip_empty defaults to true; unknown, foreign and name-less tasks are left out without an error
    assert names(store, ids) == [{"task": a, "names": ["a", "b"]}]
    assert names(store, ids, skip_empty=False) == [
        {"task": a, "names": ["a", "b", "empty"]},
        {"task": only_empty, "names": ["e"]},
    ]
    with api_error(400, 12, "tasks"):
        names(store, [])


# -- edit_configuration ----------------------------------------------------------------------------------------


def test_edit_upserts_by_name(store: TaskStore) -> None:
    tid = create_task(store, configuration=BASE)
    age(store, tid)
    assert edit(store, tid, [cfg("a", "A2"), cfg(" new ", "N", type=None)]) == {"updated": 1}
    assert get_task(store, tid)["configuration"] == {
        "b": BASE["b"], "a": cfg("a", "A2"), "empty": BASE["empty"], "new": cfg(" new ", "N"),
    }  # fmt: skip
    assert stamps(store, tid) == (True, True)


def test_edit_replace_replaces_everything(store: TaskStore) -> None:
    tid = create_task(store, configuration=BASE)
    edit(store, tid, [cfg("x", "1"), cfg("x", "2")], replace_configuration=True)
    assert get_task(store, tid)["configuration"] == {"x": cfg("x", "2")}


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"value": "v"}, 12, "configuration.0.name"),
        ({"name": "", "value": "v"}, 12, "configuration.0.name"),
        ({"name": "n"}, 12, "configuration.0.value"),
        ({"name": "n", "value": None}, 12, "configuration.0.value"),
        ({"name": "n", "value": {"a": 1}}, 12, "configuration.0.value"),
        ({"name": "  ", "value": "v"}, 800, "configuration.0.name"),
    ],
)
def test_edit_bad_items(store: TaskStore, item: dict[str, Any], code: int, field: str) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, code, field):
        edit(store, tid, [item])
    assert dump(store) == before


@pytest.mark.parametrize("status", STATUSES)
def test_status_rule_has_no_properties_exemption(store: TaskStore, status: str) -> None:
    tid = task_in(store, status, configuration=BASE)
    for force, allowed in ((False, ("created",)), (True, ("created", "in_progress"))):
        for call, items in ((edit, [cfg("properties", "x")]), (delete, ["a"])):
            if status in allowed:
                call(store, tid, items, force=force)  # type: ignore[operator]
                continue
            before = dump(store)
            with api_error(400, 110) as info:
                call(store, tid, items, force=force)  # type: ignore[operator]
            assert info.value.data == {"expected": "created", "status": status}
            assert dump(store) == before


def test_edit_and_delete_of_missing_foreign_or_public_task(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    for tid in ("f" * 32, theirs):
        with api_error(400, 101):
            edit(store, tid, [cfg("a")])
        with api_error(400, 101):
            delete(store, tid, ["a"])
    with api_error(403, 21):
        edit(store, public, [cfg("a")])
    with api_error(403, 21):
        delete(store, public, ["a"])


# -- delete_configuration --------------------------------------------------------------------------------------


def test_delete_by_name_missing_ignored(store: TaskStore) -> None:
    tid = create_task(store, configuration=BASE)
    age(store, tid)
    assert delete(store, tid, [" a ", "nope"]) == {"deleted": 1}
    assert get_task(store, tid)["configuration"] == {"b": BASE["b"], "empty": BASE["empty"]}
    assert stamps(store, tid) == (True, True)
    with api_error(400, 12, "configuration"):
        delete(store, tid, [])
