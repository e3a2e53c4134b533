"""Hostile inputs (reliability anchors §5 B6-B9): catastrophic regexes, SQL-looking field names, huge id
lists, extreme pages and garbage dates - each a clean answer or a 400, and the database unchanged."""

from __future__ import annotations

import time
from typing import Any

import pytest
from query_support import id_set, ids, make
from support import api_error, dump

from taskstore import APIError, TaskStore

# Python's re needs ~1 s for (a+)+$ on 25 characters and twice that per extra one: these are 30+.
CATASTROPHIC = [r"(a+)+$", r"^(a|aa)+$", r"(x+x+)+y", r"(.*a){25}", r"^(\w+\s?)*$", r"(a|a?)+b", "a" * 1000]


@pytest.fixture
def victims(store: TaskStore) -> list[str]:
    names = ["a" * 30 + "!", "x" * 40, "aaaa aaaa aaaa aaaa aaaa aaaa aaaa!", "a" * 60]
    return [make(store, n, comment=n) for n in names]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_answer_within_a_second(store: TaskStore, victims: list[str], pattern: str) -> None:
    for req in ({"name": pattern}, {"_any_": {"pattern": pattern, "fields": ["name", "comment"]}}):
        started = time.perf_counter()
        try:
            store.call("tasks.get_all", {**req, "only_fields": ["id"]})
        except APIError as exc:
            assert (exc.code, exc.subcode) == (400, 21)
        assert time.perf_counter() - started < 1.0, pattern


def test_huge_patterns_are_refused(store: TaskStore, victims: list[str]) -> None:
    with api_error(400, 21):
        store.call("tasks.get_all", {"name": "a" * 1_000_000})


@pytest.mark.sqlite_only
def test_backreferences_are_refused_on_sqlite(store: TaskStore, victims: list[str]) -> None:
    with api_error(400, 21):
        store.call("tasks.get_all", {"name": r"(a)\1"})


@pytest.mark.postgres_only
def test_backreferences_work_on_postgres(store: TaskStore, victims: list[str]) -> None:
    assert id_set(store, name=r"(a)\1") == {victims[0], victims[2], victims[3]}


# -- identifiers ----------------------------------------------------------------------------------------------
INJECTIONS = ["id; DROP TABLE tasks--", 'name" ASC; --', "-(select 1)", "__class__", "$where", "tasks.name",
              "name; drop table tasks--", "id) OR 1=1 --", "x" * 10_000, "名前", ".", "name."]  # fmt: skip


@pytest.mark.parametrize("name", INJECTIONS)
def test_sql_looking_field_names_are_400_14_and_never_reach_sql(
    store: TaskStore, statements: list[str], name: str
) -> None:
    make(store, "a victim", hp={"Args": {"lr": "1"}})
    before = dump(store)
    statements.clear()
    for req in ({"order_by": [name]}, {"only_fields": [name]}, {"_any_": {"pattern": "x", "fields": [name]}}):
        for endpoint in ("tasks.get_all", "tasks.get_all_ex"):
            with api_error(400, 14):
                store.call(endpoint, req)
    assert not [s for s in statements if name in s]
    assert dump(store) == before


def test_dynamic_paths_that_look_odd_are_legal(store: TaskStore, statements: list[str]) -> None:
    a = make(store, "a victim")
    assert ids(store, order_by=["last_metrics.*"]) == [a]
    assert ids(store, order_by=["-runtime.x; DROP TABLE tasks"]) == [a]
    assert not [s for s in statements if "DROP" in s]


@pytest.mark.parametrize(
    "key", ["Args.lr') OR 1=1 --", 'Args"."lr', "Args.x\\y", "A\x01.b", "Args.lr; DROP TABLE tasks"]
)
def test_hostile_hyperparameter_keys_are_bound_not_spliced(store: TaskStore, statements: list[str], key: str) -> None:
    a = make(store, "a victim", hp={"Args": {"lr": "1"}})
    before = dump(store)
    statements.clear()
    path = "hyperparams." + key
    if len(path.split(".")) > 4:
        return
    assert ids(store, **{f"{path}.value" if path.count(".") < 3 else path: ["1"]}) == []
    assert ids(store, order_by=[path]) == [a]
    assert ids(store, only_fields=["id", path]) == [a]
    assert not [s for s in statements if key in s]
    assert dump(store) == before


def test_user_named_keys_with_quotes_and_backslashes_work(store: TaskStore) -> None:
    a = make(store, "odd keys a", hp={'se"c': {"l\\r": "2"}}, runtime={'k"1': "v"})
    b = make(store, "odd keys b", hp={'se"c': {"l\\r": "10"}})
    assert ids(store, order_by=['hyperparams.se"c.l\\r.value']) == [a, b]
    assert ids(store, **{'hyperparams.se"c.l\\r.value': "10"}) == [b]
    assert ids(store, _any_={"pattern": "^v$", "fields": ['runtime.k"1']}) == [a]
    [doc] = store.call("tasks.get_all", {"id": [a], "only_fields": ['hyperparams.se"c.l\\r.value']})["tasks"]
    assert doc == {"hyperparams": {'se"c': {"l\\r": {"value": "2"}}}}


# -- sizes and extremes ---------------------------------------------------------------------------------------
def test_seventy_thousand_ids(store: TaskStore) -> None:
    made = [make(store, f"task {i}") for i in range(3)]
    wanted = [f"{i:032x}" for i in range(70_000)] + made
    assert set(ids(store, id=wanted)) == set(made)
    assert set(ids(store, id=["-" + made[0], *wanted[:70_000]])) == set(made[1:])


@pytest.mark.parametrize(
    "req", [{"page": 2**63 - 1}, {"page": 10**18, "page_size": 500}, {"page": 0, "page_size": 2**62}]
)
def test_extreme_pages_are_empty_or_capped(store: TaskStore, req: dict[str, Any]) -> None:
    make(store, "only task")
    assert len(ids(store, **req)) <= 1


def test_page_beyond_64_bits_is_refused_by_the_value_policy(store: TaskStore) -> None:
    with api_error(400, 12, "page"):
        ids(store, page=2**63)


def test_deep_and_odd_values_in_filters(store: TaskStore) -> None:
    make(store, "a task")
    before = dump(store)
    for req in ({"tags": [["nested"]]}, {"status": [{"$ne": 1}]}, {"hyperparams.a.b.value": [1.5]}):
        with api_error(400, 12):
            store.call("tasks.get_all", req)
    for req in ({"tags": ["'; DROP TABLE tasks; --"]}, {"name": "'; DROP TABLE tasks; --"},
                {"search_text": "'); DROP TABLE tasks_fts; -- \" NOT OR AND * ^ :"}):  # fmt: skip
        assert store.call("tasks.get_all", req)["tasks"] == []
    assert dump(store) == before
