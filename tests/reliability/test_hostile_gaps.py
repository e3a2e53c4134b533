"""Scenario B (hostile input), the gaps: what tests/query/test_query_hostile.py and tests/params/test_values.py
check on tasks.get_all alone, checked here on every read endpoint the store serves (enumerated from the
registry and the schema): SQL-looking and unknown field names, unknown filter keys, 70,000-value list
filters, extreme page numbers and sizes, garbage dates.

Pass (issue 6): a clear 400 each time (or the documented answer), never a name in the SQL text, and the
database unchanged.  Wrong JSON types, hostile values in every field and catastrophic patterns are in
test_hostile_fuzz.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hostile_support import baseline, batch_target, declared_request, seed, served, types_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import api_error, dump

from taskstore import APIError, TaskStore
from taskstore.api.registry import handlers

READS = [n for n in served() if not handlers()[n].write and batch_target(n) is None]
# tests/query/test_query_hostile.py covers these two for order_by / only_fields / _any_.fields
COVERED_ELSEWHERE = {"tasks.get_all", "tasks.get_all_ex"}
# The answer lists of the listing endpoints, by endpoint.
RESULT_KEY = {n: n.split(".")[0] if not n.startswith("tasks.") else "tasks" for n in READS}
INJECTIONS = ["id; DROP TABLE tasks--", 'name" ASC; --', "-(select 1)", "__class__", "$where", "name; drop--",
              "id) OR 1=1 --", "x" * 10_000, "名前", "name'--", "tasks.name;", "created`"]  # fmt: skip


def declares(name: str, key: str) -> bool:
    return key in declared_request(name)["properties"]


def base(name: str, ids: Mapping[str, str]) -> dict[str, Any]:
    """An otherwise-valid request of ``name`` (hostile_support.baseline: required fields, seeded ids)."""
    return baseline(name, ids)


@pytest.fixture
def ids(store: TaskStore) -> dict[str, str]:
    return seed(store)


def test_every_read_endpoint_is_looked_at() -> None:
    assert set(RESULT_KEY) == set(READS)
    listings = [n for n in READS if declares(n, "order_by")]
    assert set(listings) >= {"projects.get_all", "queues.get_all", "models.get_all", "tasks.get_by_id_ex"}, listings


# -- field names ---------------------------------------------------------------------------------------
def test_sql_looking_field_names_are_400_14_on_every_listing(
    store: TaskStore, ids: dict[str, str], statements: list[str]
) -> None:
    """order_by, only_fields and _any_/_all_ fields of every listing endpoint (not only tasks.get_all)."""
    before = dump(store)
    tried = 0
    for name in READS:
        if name in COVERED_ELSEWHERE:
            continue
        for bad in INJECTIONS:
            reqs = [{key: [bad]} for key in ("order_by", "only_fields") if declares(name, key)]
            reqs += [{key: {"pattern": "x", "fields": [bad]}} for key in ("_any_", "_all_") if declares(name, key)]
            for req in reqs:
                statements.clear()
                with api_error(400, 14):
                    store.call(name, {**base(name, ids), **req})
                assert not [s for s in statements if bad in s], (name, req)
                tried += 1
    assert tried >= 4 * len(INJECTIONS) * 3
    assert dump(store) == before


def test_unknown_filter_keys_are_ignored_or_refused_when_strict(
    store: TaskStore, ids: dict[str, str], statements: list[str], make_store: Callable[..., TaskStore], db_url: str
) -> None:
    """Unknown request keys (SQL-looking ones included) change no answer and never reach SQL; a strict store
    refuses them with 400/12 naming the key."""
    strict = make_store(company="acme", user="alice", strict=True)
    before = dump(store)
    for name in READS:
        req = base(name, ids)
        expected = store.call(name, req)
        for bad in INJECTIONS:
            statements.clear()
            assert store.call(name, {**req, bad: "1"}) == expected, (name, bad)
            assert not [s for s in statements if bad in s], (name, bad)
            with api_error(400, 12, bad):
                strict.call(name, {**req, bad: "1"})
    assert dump(store) == before


# -- 70,000 values ---------------------------------------------------------------------------------------
def list_filters(soak: bool) -> list[tuple[str, str]]:
    """(endpoint, key) of every top-level filter that takes a list of strings; the fast variant: id lists."""
    out = []
    for name in READS:
        for key, node in declared_request(name)["properties"].items():
            items = node.get("items") if isinstance(node.get("items"), Mapping) else {}
            strings = types_of(node) == ["array"] and types_of(items) == ["string"]
            if strings and key not in ("only_fields", "order_by") and (soak or key in ("id", "tasks")):
                out.append((name, key))
    return out


def test_seventy_thousand_values_in_every_list_filter(store: TaskStore, ids: dict[str, str], soak: bool) -> None:
    """More values than PostgreSQL's 65,535 bind parameters: chunked or bound as one array, the right answer
    (the seeded object is found among them), or a 400 naming the field - never a database error."""
    many = [f"{i:032x}" for i in range(70_000)]
    before = dump(store)
    found = 0
    for name, key in list_filters(soak):
        kind = name.split(".")[0].rstrip("s") if key in ("id", "ids") else "task" if key == "tasks" else None
        values = [*many, ids[kind]] if kind else many
        req = {**base(name, ids), key: values}
        try:
            got = store.call(name, req)
        except APIError as exc:
            assert exc.code == 400 and (exc.data.get("field") == key or exc.subcode == 101), (
                name,
                key,
                exc.message[:200],
            )
            continue
        if kind and RESULT_KEY[name] in got:
            assert [d["id"] for d in got[RESULT_KEY[name]]] == [ids[kind]], (name, key)
            found += 1
    assert found == len([k for _, k in list_filters(soak) if k == "id"])
    assert dump(store) == before


# -- paging extremes --------------------------------------------------------------------------------------
EXTREMES = [0, 1, 2**31, 2**53 + 1, 2**63 - 1, -1, -(2**31), -(2**63)]


def test_extreme_integers_in_every_paging_field(store: TaskStore, ids: dict[str, str]) -> None:
    """page, page_size, size, max_task_entries... of every read endpoint: answered with at most the capped
    page, or 400/12 naming the field.  ``max_task_entries`` is "at most this many": a negative one is none."""
    for task in (ids["task"], ids["task2"]):
        store.call("tasks.enqueue", {"task": task, "queue": ids["queue"]})
    before = dump(store)
    tried = 0
    for name in READS:
        props = declared_request(name)["properties"]
        for key, node in props.items():
            if types_of(node) != ["integer"]:
                continue
            for value in EXTREMES:
                reqs = [{key: value}]
                if key == "page" and "page_size" in props:
                    reqs += [{key: value, "page_size": 500}, {key: value, "page_size": 2**63 - 1}]
                for extra in reqs:
                    tried += 1
                    try:
                        got = store.call(name, {**base(name, ids), **extra})
                    except APIError as exc:
                        named = exc.data.get("field")
                        assert (exc.code, exc.subcode, named in extra) == (400, 12, True), (name, extra, exc.message)
                        assert extra[named] < props[named].get("minimum", 0), (name, extra, exc.message)
                        continue
                    listed = got.get(RESULT_KEY[name])
                    assert not isinstance(listed, list) or len(listed) <= 500, (name, extra)
                    if key == "max_task_entries":
                        queues = [q for q in listed or [got.get("queue")] if q and q["id"] == ids["queue"]]
                        assert [len(q["entries"]) for q in queues] == [min(max(value, 0), 2)], (name, extra)
    assert tried > 100
    assert dump(store) == before


# -- range bounds -----------------------------------------------------------------------------------------
RANGES = {  # [min, max] -> whether a created task with last_iteration 5 (active_duration null) matches
    "last_iteration": [([None, 2**31], True), ([2**31, None], False), ([-(2**63), 2**63 - 1], True),
                       ([0.5, 5.5], True), ([5.5, None], False), ([None, 4.5], False), ([-1e300, 1e300], True),
                       ([None, "1e400"], True)],
    "active_duration": [([None, 2**31], True), ([-(2**63), None], False), ([0.5, None], False),
                        ([None, 0.5], True), ([None, 2**63 - 1], True)],
}  # fmt: skip


def test_range_bounds_beyond_32_bits_and_fractions(store: TaskStore, ids: dict[str, str]) -> None:
    """Range filters compare by value on both backends (PostgreSQL cast bounds to the column's INTEGER:
    2**31 was a 400/800 there, 0.5 became 1)."""
    store.call("events.add", {"task": ids["task"], "type": "log", "iter": 5, "msg": "m"})
    before = dump(store)
    tried = 0
    for name in READS:
        for key, cases in RANGES.items():
            if not declares(name, key) or RESULT_KEY[name] != "tasks":
                continue
            for bounds, matches in cases:
                got = store.call(name, {**base(name, ids), key: bounds, "only_fields": ["id"]})["tasks"]
                assert (ids["task"] in [t["id"] for t in got]) is matches, (name, key, bounds)
                tried += 1
    assert tried == 3 * 13
    assert dump(store) == before


# -- garbage dates ------------------------------------------------------------------------------------------
DATE_KEYS = ("status_changed", "last_update", "started")  # docs/compatibility.md "Dates"
GARBAGE = ["2022-13-45", "now", "", "-", ">=", ">2022-01-01T00:00:00+99:00", "<<2022-01-01", "2022-02-30",
           ">=99999999999999999999", "1e400", "July 45 2022", ["<2020-01-01", ">=garbage"], [{"a": 1}], True,
           {}]  # fmt: skip


def date_filters() -> list[tuple[str, str]]:
    """Every (endpoint, date key) a tasks listing accepts (declared, or read without being listed)."""
    return [(n, k) for n in READS for k in DATE_KEYS if declares(n, k)]


def test_garbage_dates_in_every_date_filter(store: TaskStore, ids: dict[str, str]) -> None:
    """tests/query/test_query_filters.py covers status_changed/last_update on tasks.get_all; here: started,
    and get_all_ex / get_by_id_ex."""
    before = dump(store)
    where = date_filters()
    assert len(where) >= 9, where
    for name, key in where:
        for value in GARBAGE:
            with api_error(400, 12, key):
                store.call(name, {**base(name, ids), key: value})
    assert dump(store) == before


def test_generated_date_strings(store: TaskStore, ids: dict[str, str], soak: bool) -> None:
    """Any text or number as a date bound: an answer, or 400/12 naming the key; never a 500."""
    before = dump(store)
    where = date_filters()
    prefix = st.sampled_from(["", ">", ">=", "<", "<=", "=", "=>"])
    iso = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?([+-]\d{2}:?\d{2}|Z)?"
    number = r"-?\d{1,25}(\.\d{0,8})?"
    body = st.one_of(st.text(max_size=30), st.from_regex(number, fullmatch=True), st.from_regex(iso, fullmatch=True))
    value = st.one_of(st.tuples(prefix, body).map("".join), st.integers(), st.floats(allow_nan=False))

    @settings(max_examples=10_000 if soak else settings.default.max_examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    @given(st.sampled_from(where), value)
    def run(at: tuple[str, str], bound: Any) -> None:
        name, key = at
        try:
            store.call(name, {**base(name, ids), key: bound})
        except APIError as exc:
            assert (exc.code, exc.subcode, exc.data.get("field")) == (400, 12, key), (name, key, bound, exc.message)
        assert dump(store) == before

    run()


# -- patterns the database refuses ---------------------------------------------------------------------------
def test_patterns_postgresql_refuses_are_400_21(store: TaskStore, ids: dict[str, str], backend: str) -> None:
    """docs/compatibility.md: constructs valid in Python but not in PostgreSQL's engine (``(?P<n>...)``) are
    400/21 there (they were 400/800); SQLite runs them with RE2.  Every tasks listing, name and _any_/_all_."""
    before = dump(store)
    tried = 0
    for name in READS:
        if not name.startswith("tasks.") or not declares(name, "_any_"):
            continue
        for req in ({"name": "(?P<n>hostile)"}, {"_any_": {"pattern": "(?P<n>a)", "fields": ["name"]}},
                    {"_all_": {"pattern": "(?P<n>a)", "fields": ["name", "comment"]}}):  # fmt: skip
            tried += 1
            if backend == "postgres":
                with api_error(400, 21):
                    store.call(name, {**base(name, ids), **req})
            else:
                assert RESULT_KEY[name] in store.call(name, {**base(name, ids), **req})
    assert tried == 9
    assert dump(store) == before
