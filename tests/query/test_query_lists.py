"""The list-field filter algorithm (query_edit §1.4): the worked examples as a table, on tags, system
tags, scalar fields, ids and hyperparameter values, on every backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from query_support import id_set, make
from support import api_error

from taskstore import TaskStore
from taskstore.query.listfilter import parse_list

Has = Callable[[str], bool]
# (value, meaning over "has(x)" and "empty") - the table of §1.4, verbatim.
EXAMPLES: list[tuple[list[Any], Callable[[Has, bool], bool]]] = [
    (["a", "b"], lambda has, empty: has("a") or has("b")),
    (["-a", "-b"], lambda has, empty: not has("a") and not has("b")),
    (["a", "-b"], lambda has, empty: has("a") or not has("b")),
    (["__$all", "a", "b"], lambda has, empty: has("a") and has("b")),
    (["__$and", "a", "b"], lambda has, empty: has("a") and has("b")),
    (["__$not", "a", "b"], lambda has, empty: not has("a") and has("b")),
    (["__$not", "a", "__$not", "b"], lambda has, empty: not has("a") and not has("b")),
    (["a", "__$not", "b"], lambda has, empty: has("a") or not has("b")),
    (["__$all", "a", "__$not", "b", "c"], lambda has, empty: has("a") and not has("b") and has("c")),
    (["__$any", "a", "-b"], lambda has, empty: has("a") or has("-b")),
    (["__$or", "a", "-b"], lambda has, empty: has("a") or has("-b")),
    (["__$nop", "-b", "c"], lambda has, empty: has("-b") or has("c")),
    (["__$xyz", "a"], lambda has, empty: has("a")),
    ([None], lambda has, empty: empty),
    ([None, "a"], lambda has, empty: has("a") or empty),
    (["__$not", None], lambda has, empty: empty),
    (["a", "a", "-b", "-b"], lambda has, empty: has("a") or not has("b")),
    (["__$all", "a"], lambda has, empty: has("a")),
    ([], lambda has, empty: True),
    ("a", lambda has, empty: has("a")),
]
TAG_SETS = [[], ["a"], ["b"], ["a", "b"], ["c"], ["a", "c"], ["b", "c"], ["a", "b", "c"], ["-b"], ["a", "-b"]]


@pytest.fixture
def tagged(store: TaskStore) -> dict[str, list[str]]:
    out = {}
    for i, tags in enumerate(TAG_SETS):
        tid = make(store, f"tagged {i}", tags=tags, system_tags=tags)
        out[tid] = tags
    return out


@pytest.mark.parametrize(("value", "meaning"), EXAMPLES, ids=[repr(v) for v, _ in EXAMPLES])
@pytest.mark.parametrize("field", ["tags", "system_tags"])
def test_worked_examples_on_tags(
    store: TaskStore, tagged: dict[str, list[str]], field: str, value: Any, meaning: Callable[[Has, bool], bool]
) -> None:
    want = {tid for tid, tags in tagged.items() if meaning(lambda t, tags=tags: t in tags, not tags)}
    assert id_set(store, **{field: value}) == want


@pytest.mark.parametrize(("value", "meaning"), EXAMPLES, ids=[repr(v) for v, _ in EXAMPLES])
def test_worked_examples_on_a_scalar_field(store: TaskStore, value: Any, meaning: Callable[[Has, bool], bool]) -> None:
    # type is a scalar: "has x" is "equals x"; a scalar is never empty; contain-all of 2 values matches nothing
    types = {make(store, f"typed {t}", type=t): t for t in ("training", "testing", "inference")}
    mapped = _rename(value, {"a": "training", "b": "testing", "c": "inference"})

    def meaning_scalar(t: str) -> bool:
        if isinstance(value, list) and value[:1] in (["__$all"], ["__$and"]) and len({v for v in value[1:]}) > 1:
            return False
        inverse = {"training": "a", "testing": "b", "inference": "c"}
        return meaning(lambda x: inverse.get(t) == x, False)

    assert id_set(store, type=mapped) == {tid for tid, t in types.items() if meaning_scalar(t)}


def _rename(value: Any, names: dict[str, str]) -> Any:
    def one(v: Any) -> Any:
        if isinstance(v, str) and v.startswith("-"):
            return "-" + names.get(v[1:], v[1:])
        return names.get(v, v) if isinstance(v, str) else v

    return [one(v) for v in value] if isinstance(value, list) else one(value)


@pytest.mark.parametrize(("value", "meaning"), EXAMPLES, ids=[repr(v) for v, _ in EXAMPLES])
def test_worked_examples_on_hyperparameter_values(
    store: TaskStore, value: Any, meaning: Callable[[Has, bool], bool]
) -> None:
    made = {
        make(store, "hp a", hp={"Args": {"opt": "a"}}): "a",
        make(store, "hp b", hp={"Args": {"opt": "b"}}): "b",
        make(store, "hp minus b", hp={"Args": {"opt": "-b"}}): "-b",
        make(store, "hp empty", hp={"Args": {"other": "x"}}): None,
        make(store, "hp none"): None,
    }

    def ok(v: str | None) -> bool:
        if isinstance(value, list) and value[:1] in (["__$all"], ["__$and"]) and len(set(value[1:])) > 1:
            return False
        return meaning(lambda x: v == x, v is None)

    assert id_set(store, **{"hyperparams.Args.opt.value": value}) == {t for t, v in made.items() if ok(v)}


def test_id_include_or_exclude_is_an_or(store: TaskStore) -> None:
    x, y, z = (make(store, f"task {n}") for n in "xyz")
    assert id_set(store, id=[x, f"-{y}"]) == {x, z}
    assert id_set(store, id=[f"-{y}"]) == {x, z}
    assert id_set(store, id=x) == {x}
    assert id_set(store, id=[x, "0" * 32]) == {x}  # unknown ids are simply absent


def test_three_part_hyperparameter_key_never_matches_a_string(store: TaskStore) -> None:
    make(store, "hp task", hp={"Args": {"lr": "0.1"}})
    assert id_set(store, **{"hyperparams.Args.lr": ["0.1"]}) == set()
    assert id_set(store, **{"execution.parameters.lr": ["0.1"]}) == set()  # rewritten to hyperparams.Args.lr


def test_list_values_must_be_strings(store: TaskStore) -> None:
    with api_error(400, 12, "tags"):
        store.call("tasks.get_all", {"tags": [5]})


def test_parse_list_buckets() -> None:
    lf = parse_list(["__$all", "a", "__$not", "b", "c", None], "tags")
    assert (lf.all, lf.exclude, lf.include, lf.allow_empty, lf.conjunction) == (["a"], ["b"], ["c"], True, True)
    lf = parse_list(["a", "-b", "__$any", "-c", "d", "a"], "tags")
    assert (lf.include, lf.exclude, lf.conjunction) == (["a", "-c", "d"], ["b"], False)
    assert parse_list([], "tags").empty and parse_list([None, "__$not"], "tags").conjunction is True
