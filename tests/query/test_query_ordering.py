"""Ordering of get_all (query_edit §1.10) on every backend."""

from __future__ import annotations

import pytest
from query_support import ids, make, names, set_fields
from support import api_error

from taskstore import TaskStore


def test_no_order_is_insertion_order_and_ties_break_by_it(store: TaskStore) -> None:
    made = [make(store, n) for n in ("zeta", "alpha", "mid", "beta", "alpha")]
    assert ids(store) == made
    store.call("tasks.edit", {"task": made[0], "comment": "edited"})
    assert ids(store) == made
    assert ids(store, order_by=["name"]) == [made[1], made[4], made[3], made[2], made[0]]
    assert ids(store, order_by=["type"]) == made  # all equal: insertion order


def test_signs_scalar_and_dunder_paths(store: TaskStore) -> None:
    a = make(store, "aaa", script={"repository": "r2"})
    b = make(store, "bbb", script={"repository": "r1"})
    assert ids(store, order_by=["-name"]) == [b, a]
    assert ids(store, order_by="-name") == [b, a]  # a scalar is one key
    assert ids(store, order_by=["+name"]) == [a, b]
    assert ids(store, order_by=["type", "+name"]) == [a, b]
    assert ids(store, order_by=["script__repository"]) == [b, a]
    assert ids(store, order_by=["-script.repository"]) == [a, b]


def test_string_order_is_by_code_point(store: TaskStore) -> None:
    make(store, "b task")
    make(store, "B task")
    make(store, "a task")
    make(store, "_ task")
    assert names(store, order_by=["name"]) == ["B task", "_ task", "a task", "b task"]


def test_empties_last_on_an_ascending_first_key_only(store: TaskStore) -> None:
    with_c = make(store, "with comment", comment="x")
    blank = make(store, "blank comment", comment="")
    none = make(store, "no comment")
    with_a = make(store, "also comment", comment="a")
    assert ids(store, order_by=["comment"]) == [with_a, with_c, none, blank]
    assert ids(store, order_by=["-comment"]) == [with_c, with_a, blank, none]
    assert ids(store, order_by=["-comment", "name"]) == [with_c, with_a, blank, none]


def test_hyperparameters_use_natural_order_in_both_directions(store: TaskStore) -> None:
    values = ["10", "9", "2", "0.5", "1e-05", "v10", "v9", "V9", "abc", "", "17"]
    made = {v: make(store, f"lr {v!r}", hp={"Args": {"lr": v}}) for v in values}
    missing = make(store, "no lr")
    asc = ["1e-05", "0.5", "2", "9", "10", "17", "abc", "v9", "V9", "v10"]
    assert ids(store, order_by=["hyperparams.Args.lr.value"]) == [made[v] for v in asc] + [missing, made[""]]
    desc = ["v10", "V9", "v9", "abc", "", "17", "10", "9", "2", "0.5", "1e-05"]  # "" is the lowest string
    assert ids(store, order_by=["-hyperparams.Args.lr.value"]) == [made[v] for v in desc] + [missing]
    # paged: the same order, page by page (and through the SQLite key index)
    pages = [ids(store, order_by=["-hyperparams.Args.lr.value"], page=p, page_size=3) for p in range(5)]
    assert [i for page in pages for i in page] == [made[v] for v in desc] + [missing]
    pages = [ids(store, order_by=["hyperparams.Args.lr.value"], page=p, page_size=4) for p in range(4)]
    assert [i for page in pages for i in page] == [made[v] for v in asc] + [missing, made[""]]


def test_hyperparameter_order_follows_edits(store: TaskStore) -> None:
    a = make(store, "task a", hp={"Args": {"lr": "1"}})
    b = make(store, "task b", hp={"Args": {"lr": "2"}})
    assert ids(store, order_by=["-hyperparams.Args.lr.value"], page=0, page_size=1) == [b]
    store.call(
        "tasks.edit", {"task": a, "hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "3"}}}}
    )
    assert ids(store, order_by=["-hyperparams.Args.lr.value"], page=0, page_size=1) == [a]


def test_natural_order_applies_to_the_whole_query_when_filtering_hyperparameters(store: TaskStore) -> None:
    for n in ("file10", "file9", "file100"):
        make(store, n, hp={"Args": {"x": "1"}})
    assert names(store, order_by=["name"]) == ["file10", "file100", "file9"]
    assert names(store, order_by=["name"], **{"hyperparams.Args.x.value": ["1"]}) == ["file9", "file10", "file100"]


def test_escaped_hyperparameter_names(store: TaskStore) -> None:
    a = make(store, "dotted a", hp={"sec.tion": {"l.r": "2", "x$y": "1"}})
    b = make(store, "dotted b", hp={"sec.tion": {"l.r": "10", "x$y": "3"}})
    assert ids(store, order_by=["hyperparams.sec%2Etion.l%2Er.value"]) == [a, b]
    assert ids(store, order_by=["-hyperparams.sec%2Etion.x%24y.value"]) == [b, a]
    assert ids(store, **{"hyperparams.sec%2Etion.l%2Er.value": "10"}) == [b]


def test_metrics_order_missing_last_both_ways(store: TaskStore) -> None:
    a, b, c = (make(store, f"task {n}") for n in "abc")
    set_fields(store, a, last_metrics={"m": {"v": {"value": 0.5}}})
    set_fields(store, b, last_metrics={"m": {"v": {"value": -2}}})
    assert ids(store, order_by=["last_metrics.m.v.value"]) == [b, a, c]
    assert ids(store, order_by=["-last_metrics.m.v.value"]) == [a, b, c]
    assert ids(store, order_by=["last_iteration", "-last_metrics.m.v.value"]) == [a, b, c]


def test_tags_sort_by_smallest_ascending_and_largest_descending(store: TaskStore) -> None:
    a = make(store, "task a", tags=["b", "z"])
    b = make(store, "task b", tags=["c", "d"])
    c = make(store, "task c")
    assert ids(store, order_by=["tags"]) == [a, b, c]
    assert ids(store, order_by=["-tags"]) == [a, b, c]


@pytest.mark.parametrize("key", ["foo", "-foo", "project.name", "name.x", "", "-", "script.nope", "@textscore"])
def test_unknown_order_fields_are_400_14(store: TaskStore, key: str) -> None:
    with api_error(400, 14):
        store.call("tasks.get_all", {"order_by": [key]})


def test_hyperparameter_paths_need_two_to_four_parts(store: TaskStore) -> None:
    with api_error(400, 12):
        store.call("tasks.get_all", {"order_by": ["hyperparams.a.b.c.d"]})
    with api_error(400, 12):
        store.call("tasks.get_all", {"hyperparams.a.b.c.d": ["x"]})


NUMBER_CASES = ["0", "-0", "01", "1.", ".5", "1.5", "1e5", "1E+05", "1e-0005", "1e99999", "+1", "-", "", " 1", "1 ",
                "\t1\n", "NaN", "Infinity", "0x10", "1_0", "1e", "1.5e3", "-0.0e-1", "\u0661", "1" * 101, "1" * 100,
                "00", "-01", "1.0.0", "[1]", '"1"', "true", "null", " ", "1e-", "- 1", "1.5E+3 ", "\f1",
                "1.e5"]  # fmt: skip


@pytest.mark.sqlite_only
def test_the_three_definitions_of_a_number_literal_agree(store: TaskStore) -> None:
    from sqlalchemy import literal, select

    from taskstore.db.functions import _NUMBER, NUMBER_MAX_LEN
    from taskstore.db.paramkeys import NUMBER_TEST
    from taskstore.query.sql import sqlite_number_test

    with store._db.transaction(write=False) as conn:
        for value in NUMBER_CASES:
            python = len(value) <= NUMBER_MAX_LEN and _NUMBER.match(value) is not None
            compiled = bool(conn.execute(select(sqlite_number_test(literal(value)))).scalar())
            sql = "SELECT " + NUMBER_TEST.format(v="?")
            trigger = bool(conn.exec_driver_sql(sql, (value,) * NUMBER_TEST.count("{v}")).scalar())
            assert python == compiled == trigger, value
