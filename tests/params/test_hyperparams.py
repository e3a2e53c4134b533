"""tasks.get_hyper_params / edit_hyper_params / delete_hyper_params (spec: query_edit §3.1-§3.3, §0.3, §0.6)."""

from __future__ import annotations

from typing import Any

import pytest
from params_support import STATUSES, age, hp, stamps, task_in
from support import api_error, create_task, dump, get_task

from taskstore import TaskStore


def edit(store: Any, task: str, items: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return dict(store.call("tasks.edit_hyper_params", {"task": task, "hyperparams": items, **kw}))


def delete(store: Any, task: str, items: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return dict(store.call("tasks.delete_hyper_params", {"task": task, "hyperparams": items, **kw}))


def params(store: Any, *tasks: str) -> list[dict[str, Any]]:
    return list(store.call("tasks.get_hyper_params", {"tasks": list(tasks)})["params"])


BASE = {
    "Args": {"lr": hp("Args", "lr", "0.1"), "epochs": hp("Args", "epochs", "10", type="int")},
    "Custom": {"x": hp("Custom", "x", "1", description="d")},
}


# -- get_hyper_params ------------------------------------------------------------------------------------------


def test_get_flattens_and_sorts_by_section_then_name(store: TaskStore) -> None:
    tid = create_task(store, hyperparams=BASE)
    assert params(store, tid) == [
        {
            "task": tid,
            "hyperparams": [
                {"section": "Args", "name": "epochs", "value": "10", "type": "int"},
                {"section": "Args", "name": "lr", "value": "0.1"},
                {"section": "Custom", "name": "x", "value": "1", "description": "d"},
            ],
        }
    ]


def test_get_sorts_by_code_point_and_by_the_items_own_names(store: TaskStore) -> None:
    # keys are the trimmed names; the items keep what the client sent, and the sort uses the items
    hyperparams = {"b": {" Z ": hp("b", " Z "), "a": hp("b", "a")}, "B": {"q": hp("B", "q")}}
    tid = create_task(store, hyperparams=hyperparams)
    got = params(store, tid)[0]["hyperparams"]
    assert [(p["section"], p["name"]) for p in got] == [("B", "q"), ("b", " Z "), ("b", "a")]
    assert get_task(store, tid)["hyperparams"]["b"]["Z"] == hp("b", " Z ")


def test_get_of_many_tasks_in_storage_order_public_included(store: TaskStore, other: TaskStore) -> None:
    a = create_task(store, hyperparams=BASE)
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    b = create_task(store)
    got = params(store, b, public, a, a)
    assert [p["task"] for p in got] == [a, public, b]
    assert got[1:] == [{"task": public, "hyperparams": []}, {"task": b, "hyperparams": []}]
    # another company sees the public task only
    assert params(other, public) == [{"task": public, "hyperparams": []}]


def test_get_with_a_missing_or_foreign_id_is_400_101_naming_the_request_ids(store: TaskStore, other: TaskStore) -> None:
    mine, theirs = create_task(store), create_task(other)
    for ids in ([mine, "f" * 32], [mine, theirs, mine]):
        with api_error(400, 101) as info:
            params(store, *ids)
        assert info.value.data == {"ids": ids}


def test_get_needs_at_least_one_task(store: TaskStore) -> None:
    for body in ({}, {"tasks": []}):
        with api_error(400, 12, "tasks"):
            store.call("tasks.get_hyper_params", body)


# -- edit_hyper_params ----------------------------------------------------------------------------------------


def test_edit_none_upserts_single_params(store: TaskStore) -> None:
    tid = create_task(store, hyperparams=BASE)
    assert edit(store, tid, [hp("Args", "lr", "0.2"), hp("New", "n", "")]) == {"updated": 1}
    assert get_task(store, tid)["hyperparams"] == {
        "Args": {"lr": hp("Args", "lr", "0.2"), "epochs": BASE["Args"]["epochs"]},
        "Custom": BASE["Custom"],
        "New": {"n": hp("New", "n", "")},
    }


def test_edit_section_replaces_the_sections_sent(store: TaskStore) -> None:
    tid = create_task(store, hyperparams=BASE)
    edit(store, tid, [hp("Args", "new", "1")], replace_hyperparams="section")
    assert get_task(store, tid)["hyperparams"] == {"Args": {"new": hp("Args", "new", "1")}, "Custom": BASE["Custom"]}


def test_edit_all_replaces_everything(store: TaskStore) -> None:
    tid = create_task(store, hyperparams=BASE)
    edit(store, tid, [hp("Other", "o", "1")], replace_hyperparams="all")
    assert get_task(store, tid)["hyperparams"] == {"Other": {"o": hp("Other", "o", "1")}}


def test_edit_last_item_of_a_key_wins_and_attributes_are_kept_as_sent(store: TaskStore) -> None:
    tid = create_task(store)
    edit(store, tid, [hp("S", "p", "1", type="t"), hp(" S ", " p ", "2", description="d", type=None)])
    assert get_task(store, tid)["hyperparams"] == {"S": {"p": hp(" S ", " p ", "2", description="d")}}


def test_edit_normalises_the_properties_section(store: TaskStore) -> None:
    tid = create_task(store)
    edit(store, tid, [hp("PropERTies", "p", "1"), hp("properties", "q", "2")])
    assert get_task(store, tid)["hyperparams"] == {
        "properties": {"p": hp("properties", "p", "1"), "q": hp("properties", "q", "2")}
    }


def test_edit_keys_with_dots_dollars_underscores_and_unicode(store: TaskStore) -> None:
    tid = create_task(store)
    items = [hp("a.b", "$c.d", "1"), hp("_s", "__x__", "2"), hp("%_p", "%2E", "3"), hp("ñ 名前", "ключ", "4")]
    edit(store, tid, items)
    assert get_task(store, tid)["hyperparams"] == {
        "a.b": {"$c.d": items[0]}, "_s": {"__x__": items[1]}, "%_p": {"%2E": items[2]}, "ñ 名前": {"ключ": items[3]},
    }  # fmt: skip
    assert sorted(map(tuple, (p.values() for p in params(store, tid)[0]["hyperparams"]))) == sorted(
        tuple(i.values()) for i in items
    )


def test_edit_sets_last_update_unless_properties_only(store: TaskStore) -> None:
    tid = create_task(store)
    age(store, tid)
    edit(store, tid, [hp("properties", "p")])
    assert stamps(store, tid) == (False, True)
    edit(store, tid, [hp("Args", "p")])
    assert stamps(store, tid) == (True, True)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"name": "n", "value": "v"}, "hyperparams.0.section"),
        ({"section": "", "name": "n", "value": "v"}, "hyperparams.0.section"),
        ({"section": "s", "value": "v"}, "hyperparams.0.name"),
        ({"section": "s", "name": "", "value": "v"}, "hyperparams.0.name"),
        ({"section": "s", "name": "n"}, "hyperparams.0.value"),
        ({"section": "s", "name": "n", "value": None}, "hyperparams.0.value"),
        ({"section": "s", "name": "n", "value": 5}, "hyperparams.0.value"),
        ({"section": "s", "name": "n", "value": "v", "type": 1}, "hyperparams.0.type"),
    ],
)
def test_edit_bad_items_are_400_12_naming_the_field(store: TaskStore, item: dict[str, Any], field: str) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, 12, field):
        edit(store, tid, [item])
    assert dump(store) == before


def test_edit_request_errors(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, 12, "hyperparams"):
        edit(store, tid, [])
    with api_error(400, 12, "hyperparams"):
        store.call("tasks.edit_hyper_params", {"task": tid})
    with api_error(400, 12, "task"):
        store.call("tasks.edit_hyper_params", {"hyperparams": [hp("a", "b")]})
    with api_error(400, 12, "replace_hyperparams"):
        edit(store, tid, [hp("a", "b")], replace_hyperparams="some")
    with api_error(400, 800, "hyperparams.0.section"):
        edit(store, tid, [hp("  ", "b")])
    with api_error(400, 800, "hyperparams.0.name"):
        edit(store, tid, [hp("a", "   ")])
    assert dump(store) == before


def test_edit_of_missing_foreign_or_public_task(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    before = dump(store)
    for tid in ("f" * 32, theirs):
        with api_error(400, 101) as info:
            edit(store, tid, [hp("a", "b")])
        assert info.value.data == {"id": tid, "company": "acme"}
    with api_error(403, 21):
        edit(store, public, [hp("properties", "b")])
    with api_error(403, 21):
        delete(store, public, [{"section": "a"}])
    assert dump(store) == before


# -- the status rule (§3.1) -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_status_rule_of_edit_and_delete(store: TaskStore, status: str) -> None:
    tid = task_in(store, status, hyperparams=BASE)
    for force, allowed in ((False, ("created",)), (True, ("created", "in_progress"))):
        for call, items in ((edit, [hp("Args", "lr", "9")]), (delete, [{"section": "Custom", "name": "x"}])):
            if status in allowed:
                assert call(store, tid, items, force=force) in ({"updated": 1}, {"deleted": 1})
                continue
            before = dump(store)
            with api_error(400, 110) as info:
                call(store, tid, items, force=force)
            assert info.value.data == {"expected": "created", "status": status}
            assert dump(store) == before
    # the properties section is editable in any status, force or not
    assert edit(store, tid, [hp("Properties", "p", "1")]) == {"updated": 1}
    assert delete(store, tid, [{"section": "properties", "name": "p"}]) == {"deleted": 1}
    assert delete(store, tid, [{"section": "PROPERTIES"}]) == {"deleted": 1}
    assert "properties" not in get_task(store, tid)["hyperparams"]


def test_properties_with_replace_all_wipes_other_sections_in_any_status(store: TaskStore) -> None:
    """[Q] kept: a properties-only request with replace_hyperparams=all replaces everything."""
    tid = task_in(store, "completed", hyperparams=BASE)
    edit(store, tid, [hp("properties", "p")], replace_hyperparams="all")
    assert get_task(store, tid)["hyperparams"] == {"properties": {"p": hp("properties", "p")}}


def test_a_mixed_request_follows_the_normal_rule(store: TaskStore) -> None:
    tid = task_in(store, "in_progress")
    with api_error(400, 110):
        edit(store, tid, [hp("properties", "p"), hp("Args", "a")])


# -- delete_hyper_params --------------------------------------------------------------------------------------


def test_delete_params_and_whole_sections(store: TaskStore) -> None:
    tid = create_task(store, hyperparams=BASE)
    age(store, tid)
    assert delete(store, tid, [{"section": "Args", "name": "lr"}, {"section": "Custom", "name": ""}]) == {"deleted": 1}
    assert get_task(store, tid)["hyperparams"] == {"Args": {"epochs": BASE["Args"]["epochs"]}}
    assert stamps(store, tid) == (True, True)
    # deleting the last param leaves the (empty) section, as the reference's $unset does
    delete(store, tid, [{"section": " Args ", "name": " epochs "}, {"section": "Nope", "name": "x"}])
    assert get_task(store, tid)["hyperparams"] == {"Args": {}}
    delete(store, tid, [{"section": "Args", "name": None}, {"section": "Missing"}])
    assert get_task(store, tid)["hyperparams"] == {}


def test_delete_a_param_of_a_section_deleted_whole_is_400_15(store: TaskStore) -> None:
    tid = create_task(store, hyperparams=BASE)
    before = dump(store)
    with api_error(400, 15) as info:
        delete(store, tid, [{"section": "Args", "name": "lr"}, {"section": "Args"}])
    assert info.value.message == (
        "conflicting fields (Cannot delete section field if the whole section was scheduled for deletion)"
    )
    assert dump(store) == before


def test_delete_properties_only_keeps_last_update(store: TaskStore) -> None:
    tid = create_task(store, hyperparams={"properties": {"p": hp("properties", "p")}})
    age(store, tid)
    delete(store, tid, [{"section": "properties", "name": "p"}])
    assert stamps(store, tid) == (False, True)


def test_delete_request_errors(store: TaskStore) -> None:
    tid = create_task(store, hyperparams=BASE)
    before = dump(store)
    with api_error(400, 12, "hyperparams"):
        delete(store, tid, [])
    with api_error(400, 12, "hyperparams.0.section"):
        delete(store, tid, [{"name": "lr"}])
    with api_error(400, 101):
        delete(store, "f" * 32, [{"section": "Args"}])
    assert dump(store) == before


def test_get_hyper_params_is_served_below_its_schema_version(store: TaskStore) -> None:
    # no code-level gate (§0.2): the endpoints answer at any version
    tid = create_task(store, hyperparams=BASE)
    assert store.call("tasks.get_hyper_params", {"tasks": [tid]}, version="2.1")["params"][0]["task"] == tid
    assert store.call("tasks.edit_hyper_params", {"task": tid, "hyperparams": [hp("a", "b")]}, version="2.8") == {
        "updated": 1
    }
