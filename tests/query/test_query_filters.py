"""Filters of get_all (query_edit §1.3, §1.5-§1.9) on every backend: patterns, ranges, datetime
operators, _any_/_all_, search_text, hidden tasks, visibility, subprojects, get_types."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import pytest
from query_support import id_set, ids, make, set_fields
from support import api_error

from taskstore import TaskStore


# -- patterns (name, comment) -------------------------------------------------------------------------------
def test_name_is_an_unanchored_case_sensitive_search(store: TaskStore) -> None:
    a = make(store, "Train resnet 50")
    b = make(store, "train vgg")
    make(store, "evaluate")
    assert id_set(store, name="rain") == {a, b}
    assert id_set(store, name="^train") == {b}
    assert id_set(store, name="Train") == {a}
    assert id_set(store, name=r"\d+$") == {a}
    assert id_set(store, name="") == id_set(store)
    assert id_set(store, name="(?i)^TRAIN") == {a, b}


def test_comment_pattern(store: TaskStore) -> None:
    a = make(store, "with comment", comment="uses Adam optimizer")
    make(store, "other comment", comment="sgd")
    make(store, "no comment")
    assert id_set(store, comment="Adam|adamw") == {a}


@pytest.mark.parametrize("pattern", ["(", "[a-", "*a", "(?P<x", "\\", "a{2,1}"])
def test_invalid_pattern_is_400_21(store: TaskStore, pattern: str) -> None:
    make(store, "some task")
    with api_error(400, 21):
        store.call("tasks.get_all", {"name": pattern})
    with api_error(400, 21):
        store.call("tasks.get_all", {"_any_": {"pattern": pattern, "fields": ["name"]}})


def test_name_must_be_a_string(store: TaskStore) -> None:
    with api_error(400, 12, "name"):
        store.call("tasks.get_all", {"name": 5})


# -- ranges -----------------------------------------------------------------------------------------------
def test_started_range_inclusive_and_open_minimum_matches_never_started(store: TaskStore) -> None:
    early, late, never = (make(store, n) for n in ("early task", "late task", "never started"))
    set_fields(store, early, started=datetime(2022, 1, 1, 10, 0))
    set_fields(store, late, started=datetime(2022, 6, 1, 10, 0))
    assert id_set(store, started=["2022-01-01T10:00:00", "2022-03-01"]) == {early}
    assert id_set(store, started=["2022-01-01T10:00:00.001", None]) == {late}
    assert id_set(store, started=[None, "2022-03-01"]) == {early, never}
    assert id_set(store, started=["2022-01-01T12:00:00+02:00", "2022-01-01T12:00:00+02:00"]) == {early}
    assert id_set(store, started=[1640944800, None]) == {early, late}  # epoch seconds (2021-12-31T10:00Z)


@pytest.mark.parametrize("value", [["2022-01-01"], "2022-01-01", [None, None], [1, 2, 3], {"a": 1}, ["garbage", None]])
def test_malformed_ranges_are_400_12(store: TaskStore, value: Any) -> None:
    with api_error(400, 12, "started"):
        store.call("tasks.get_all", {"started": value})


def test_numeric_ranges(store: TaskStore) -> None:
    a, b, c = (make(store, f"task {n}") for n in "abc")
    set_fields(store, a, last_iteration=5, active_duration=100)
    set_fields(store, b, last_iteration=50, active_duration=None)
    assert id_set(store, last_iteration=[5, 10]) == {a}
    assert id_set(store, last_iteration=[None, 5]) == {a, c}  # c has last_iteration 0
    assert id_set(store, last_iteration=["1e1", None]) == {b}  # numeric strings are numbers
    assert id_set(store, last_iteration=["abc", None]) == set()  # a non-numeric string matches nothing
    assert id_set(store, active_duration=[None, 99]) == {b, c}  # null min: missing values match
    assert id_set(store, active_duration=[100, 100]) == {a}


def _metric(name: str, variant: str, value: float) -> dict[str, Any]:
    mh, vh = (hashlib.md5(x.encode()).hexdigest() for x in (name, variant))
    return {mh: {vh: {"metric": name, "variant": variant, "value": value, "min_value": value, "max_value": value}}}


def test_last_metrics_range(store: TaskStore) -> None:
    a, b, c = (make(store, f"task {n}") for n in "abc")
    set_fields(store, a, last_metrics=_metric("loss", "total", 0.25))
    set_fields(store, b, last_metrics=_metric("loss", "total", 1.5))
    key = "last_metrics." + ".".join(hashlib.md5(x.encode()).hexdigest() for x in ("loss", "total")) + ".value"
    assert id_set(store, **{key: [0, "1"]}) == {a}
    assert id_set(store, **{key: ["1e0", None]}) == {b}
    assert id_set(store, **{key: [None, 1]}) == {a, c}
    assert id_set(store, **{key: ["nan", None]}) == set()


# -- datetime operators -----------------------------------------------------------------------------------
def test_datetime_operators(store: TaskStore) -> None:
    a, b = make(store, "task a"), make(store, "task b")
    set_fields(store, a, status_changed=datetime(2022, 7, 8, 15, 0), last_update=datetime(2022, 7, 8, 15, 0))
    set_fields(store, b, status_changed=datetime(2022, 7, 9, 15, 0), last_update=datetime(2022, 7, 9, 15, 0))
    assert id_set(store, status_changed=[">2022-07-08T15:00:00"]) == {b}
    assert id_set(store, status_changed=[">=2022-07-08T15:00:00"]) == {a, b}
    assert id_set(store, status_changed=[">=2022-07-08", "<2022-07-09"]) == {a}
    assert id_set(store, status_changed="2022-07-08T15:00:00") == {a}
    assert id_set(store, status_changed=["<=2022-07-09T17:00:00+02:00"]) == {a, b}
    assert id_set(store, status_changed=["<=2022-07-09T16:00:00+02:00"]) == {a}  # 14:00 UTC
    assert id_set(store, status_changed=[">2022-07-09", ">2000-01-01"]) == {a, b}  # a repeated op overwrites
    assert id_set(store, last_update=["<July 9 2022"]) == {a}
    assert id_set(store, last_update=["<07/09/2022"]) == {a}
    assert id_set(store, last_update=[">1657378799"]) == {b}  # epoch seconds: 2022-07-09T14:59:59Z
    assert id_set(store, status_changed=1657292400) == {a}  # epoch number = 2022-07-08T15:00:00Z


@pytest.mark.parametrize(
    "value",
    ["2022-13-45", ">=99999999999999999999", "", "now", ">2022-01-01T00:00:00+99:00", "\x00", ["<2020-01-01",
     ">=garbage"], [{"a": 1}], "-", ">="],
)  # fmt: skip
def test_unparseable_datetimes_are_400_12_naming_the_field(store: TaskStore, value: Any) -> None:
    with api_error(400, 12, "status_changed"):
        store.call("tasks.get_all", {"status_changed": value})
    with api_error(400, 12, "last_update"):
        store.call("tasks.get_all", {"last_update": value})


# -- _any_ / _all_ ----------------------------------------------------------------------------------------
def test_any_and_all_are_case_insensitive_over_paths(store: TaskStore) -> None:
    a = make(store, "Alpha run", comment="first", script={"repository": "git@x:alpha.git"})
    b = make(store, "beta run", comment="ALPHA rerun", tags=["exp-alpha"])
    c = make(store, "gamma", hp={"Args": {"opt": "Alpha"}})
    make(store, "delta")
    assert id_set(store, _any_={"pattern": "alpha", "fields": ["name", "comment"]}) == {a, b}
    assert id_set(store, _or_={"pattern": "alpha", "fields": ["name", "comment"]}) == {a, b}
    assert id_set(store, _all_={"pattern": "alpha", "fields": ["name", "script.repository"]}) == {a}
    assert id_set(store, _and_={"pattern": "a", "fields": ["name", "comment"]}) == {b}  # a: "first"
    assert id_set(store, _any_={"pattern": "^exp-", "fields": ["tags"]}) == {b}
    assert id_set(store, _any_={"pattern": "alpha", "fields": ["hyperparams.Args.opt.value"]}) == {c}
    assert id_set(store, _any_={"pattern": "alpha", "fields": []}) == id_set(store)
    assert id_set(store, _any_={"pattern": "1", "fields": ["last_iteration"]}) == set()  # numbers never match


def test_any_through_lists_of_objects(store: TaskStore) -> None:
    model = store.call("models.create", {"name": "my model", "uri": "s3://b/m"})["id"]
    a = make(store, "with model", models={"input": [{"name": "in", "model": model}]})
    make(store, "without model")
    assert id_set(store, _any_={"pattern": model[:8], "fields": ["models.input.model"]}) == {a}


def test_any_unknown_field_is_400_14_unless_raw(store: TaskStore) -> None:
    a = make(store, "raw mode", runtime={"_x": "hello"})
    with api_error(400, 14):
        store.call("tasks.get_all", {"_any_": {"pattern": "x", "fields": ["nosuchfield"]}})
    assert id_set(store, _any_={"pattern": "hel", "fields": ["runtime._x", "nosuchfield"]}) == {a}


@pytest.mark.parametrize(
    "value", ["x", {"pattern": "x"}, {"fields": ["name"]}, {"pattern": "x", "fields": ["name"], "extra": 1},
              {"pattern": 1, "fields": ["name"]}]
)  # fmt: skip
def test_any_malformed_is_400_12(store: TaskStore, value: Any) -> None:
    with api_error(400, 12):
        store.call("tasks.get_all", {"_any_": value})


# -- search_text -------------------------------------------------------------------------------------------
@pytest.fixture
def texts(store: TaskStore) -> dict[str, str]:
    return {
        "a": make(store, "Training ResNet", comment="baseline experiment"),
        "b": make(store, "evaluation run", comment="uses the trained resnet weights"),
        "c": make(store, "data prep", script={"repository": "https://x.org/resnet-tools", "entry_point": "prep.py"}),
        "d": make(store, "unrelated"),
    }  # fmt: skip


def test_search_text_terms_are_ored_stemmed_and_case_insensitive(store: TaskStore, texts: dict[str, str]) -> None:
    assert id_set(store, search_text="resnet") == {texts["a"], texts["b"], texts["c"]}
    assert id_set(store, search_text="train") == {texts["a"], texts["b"]}  # training, trained
    assert id_set(store, search_text="BASELINE prep") == {texts["a"], texts["c"]}
    assert id_set(store, search_text="resnet -baseline") == {texts["b"], texts["c"]}
    assert id_set(store, search_text='"evaluation run" resnet') == {texts["b"]}  # phrases must appear
    assert id_set(store, search_text=texts["d"]) == {texts["d"]}  # the id is indexed
    assert id_set(store, search_text="") == id_set(store)
    assert id_set(store, search_text="-resnet") == set()
    assert id_set(store, search_text="nothinglikethis") == set()


def test_search_text_follows_edits(store: TaskStore, texts: dict[str, str]) -> None:
    store.call("tasks.edit", {"task": texts["d"], "name": "now about resnet"})
    assert texts["d"] in id_set(store, search_text="resnet")
    store.call("tasks.update", {"task": texts["a"], "name": "renamed", "comment": "nothing"})
    assert texts["a"] not in id_set(store, search_text="resnet")


def test_text_score_orders_by_relevance(store: TaskStore) -> None:
    weak = make(store, "other", script={"repository": "lstm"})  # weight 1
    strong = make(store, "lstm lstm", comment="lstm")  # weight 10, three times
    assert ids(store, search_text="lstm", order_by=["@text_score"]) == [strong, weak]
    assert ids(store, search_text="lstm", order_by=["-@text_score", "name"]) == [strong, weak]
    with api_error(400, 16):
        store.call("tasks.get_all", {"order_by": ["@text_score"]})


# -- hidden, visibility --------------------------------------------------------------------------------------
def test_hidden_tasks_are_excluded_unless_asked_or_named(store: TaskStore) -> None:
    shown = make(store, "shown")
    hidden = make(store, "hidden one", system_tags=["hidden"])
    assert id_set(store) == {shown}
    assert id_set(store, search_hidden=True) == {shown, hidden}
    assert id_set(store, id=[hidden]) == {hidden}
    assert id_set(store, id=hidden) == {hidden}
    assert ids(store, "tasks.get_all_ex") == [shown]
    assert ids(store, "tasks.get_by_id_ex", id=[hidden, shown]) == [shown, hidden]


def test_visibility_is_own_company_and_public(store: TaskStore, other: Any) -> None:
    mine = make(store, "mine")
    theirs = make(other, "theirs")
    public = make(other, "public one")
    with store._db.transaction() as conn:
        from sqlalchemy import update

        from taskstore.db.records import TaskRecord

        conn.execute(update(TaskRecord).where(TaskRecord.id == public).values(company=""))
    assert id_set(store) == {mine, public}
    assert id_set(other) == {theirs, public}
    assert id_set(store, id=[theirs]) == set()


# -- projects --------------------------------------------------------------------------------------------
def test_include_subprojects_any_depth_on_get_all_ex_only(store: TaskStore) -> None:
    top = store.call("projects.create", {"name": "top", "description": ""})["id"]
    mid = store.call("projects.create", {"name": "top/mid", "description": ""})["id"]
    low = store.call("projects.create", {"name": "top/mid/low", "description": ""})["id"]
    other = store.call("projects.create", {"name": "other", "description": ""})["id"]
    t_top, t_mid, t_low, t_other = (make(store, f"in {n}", project=p) for n, p in
                                    (("top", top), ("mid", mid), ("low", low), ("other", other)))  # fmt: skip
    assert set(ids(store, "tasks.get_all_ex", project=[top], include_subprojects=True)) == {t_top, t_mid, t_low}
    assert set(ids(store, "tasks.get_all_ex", project=mid, include_subprojects=True)) == {t_mid, t_low}
    assert set(ids(store, "tasks.get_all_ex", project=[top])) == {t_top}
    assert set(ids(store, "tasks.get_all", project=[top], include_subprojects=True)) == {t_top}
    assert set(ids(store, "tasks.get_all", project=[None])) == set()
    assert set(ids(store, "tasks.get_all", project=["-" + top])) == {t_mid, t_low, t_other}
    assert store.call("tasks.get_types", {"projects": [top]}) == {"types": ["training"]}


def test_get_types(store: TaskStore) -> None:
    top = store.call("projects.create", {"name": "proj", "description": ""})["id"]
    sub = store.call("projects.create", {"name": "proj/sub", "description": ""})["id"]
    make(store, "one", type="testing", project=sub)
    make(store, "two", type="inference")
    make(store, "three", type="controller", system_tags=["hidden"], project=top)
    assert sorted(store.call("tasks.get_types", {})["types"]) == ["inference", "testing"]
    assert sorted(store.call("tasks.get_types", {"projects": [top]})["types"]) == ["controller", "testing"]
    assert store.call("tasks.get_types", {"projects": []})["types"] == sorted(["inference", "testing"])
