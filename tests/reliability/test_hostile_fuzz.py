"""Scenario B (hostile input), generated from the schema: every field of every served endpoint gets values
of a wrong JSON type, hostile but well-typed values, and every pattern filter gets catastrophic regexes.

Pass (issue 6): a clear 400 each time whose APIError names the field, and the database unchanged (a dump
of every table before and after).  The endpoints and their fields are enumerated from the registry and
the schema at the newest version (hostile_support), never listed by hand, so an endpoint added without
being covered fails ``test_every_served_endpoint_is_covered``.

Who names which field (docs/compatibility.md "Validation", "Errors"; spec query_edit §0.1-0.2):

* fields the request schema checks: 400/12 with ``data["field"]`` the dotted path of the value (a scalar
  sent for an array is its one-element array, so the item ``path.0`` is named);
* fields the handler leaves to the data layer (``hyperparams.*.*.value`` ...): 400/800 or 400/12 naming
  the path, as the reference's data layer does;
* query filters of tasks.get_all & co: 400/12 naming the filter.  Documented acceptances (no 400): list
  filters take strings or nulls, alone or in a list, a status outside the enum simply matches nothing,
  and ``status_changed`` takes epoch numbers (a number out of the date range is 400/12);
* a null where the schema has no null: "not sent" for an optional top-level field, "field is required"
  for a required one, refused as an array item; inside an object it is passed to the handler, which
  either ignores it or refuses it naming the field (never a 500);
* hostile text (NUL, lone surrogates, 20 MB), depth-200 nesting and NaN/Inf/2**64: no field accepts
  them (the value policy, taskstore.api.values); always 400/12 naming the exact path.

Fast variant: the loaded hypothesis profile ("ci": 60 examples per property); ``pytest --soak``: many more.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from hostile_support import (
    ITEM,
    KINDS,
    VALUES,
    Field,
    baseline,
    batch_target,
    declared_request,
    dotted,
    event_shapes,
    fields,
    refusal,
    representatives,
    request,
    seed,
    served,
    types_of,
    wrong_values,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support import dump

from taskstore import APIError, TaskStore
from taskstore.api.registry import handlers
from taskstore.api.values import MAX_DEPTH, MAX_TEXT
from taskstore.db.records import EventRecord

SOAK_EXAMPLES = 10_000

ALL_FIELDS = [f for name in served() for f in fields(name)]
TYPED = [f for f in ALL_FIELDS if f.typed]
UNTYPED = [f for f in ALL_FIELDS if not f.typed]

# Query list filters: "List filter values must be strings or null; anything else is 400/12" (docs).
LIST_FILTERS = frozenset({"id", "user", "tags", "system_tags", "type", "status", "project", "parent"})


def hypothesis_settings(soak: bool, full: int = SOAK_EXAMPLES) -> settings:
    return settings(
        max_examples=full if soak else settings.default.max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@pytest.fixture
def ids(store: TaskStore) -> dict[str, str]:
    return seed(store)


def is_within(field: Any, path: str) -> bool:
    """``field`` names ``path`` or one of its ancestors (a filter named as a whole)."""
    return isinstance(field, str) and (path == field or path.startswith(field + "."))


def names(field: Any, path: str) -> bool:
    """``field`` names ``path``, an ancestor of it or a value inside it."""
    return is_within(field, path) or (isinstance(field, str) and field.startswith(path + "."))


def query_accepts(f: Field, value: Any) -> bool | None:
    """For a query-checked field: True when the documented rules accept ``value``, None when the answer
    depends on the value (epoch numbers: in range or 400/12), False when it must be refused."""
    key = f.path[0]
    items = value if isinstance(value, list) and f.top else [value]
    if key in LIST_FILTERS and len(f.path) <= 2:
        return all(v is None or isinstance(v, str) for v in items)
    if key == "status_changed" and len(f.path) <= 2:
        dates = all(v is None or (isinstance(v, (str, int, float)) and not isinstance(v, bool)) for v in items)
        return None if dates else False
    return False


def call(store: TaskStore, f: Field, value: Any, ids: Mapping[str, str], tag: str = "") -> APIError | None:
    """Send ``value`` at ``f`` in an otherwise-valid request; the APIError, or None when it was accepted."""
    try:
        store.call(f.endpoint, request(f, value, ids, tag))
    except APIError as exc:
        assert exc.code < 500, f"{f} = {value!r}: {exc.code}/{exc.subcode} {exc.message}"
        return exc
    return None


def check_wrong_type(store: TaskStore, f: Field, value: Any, ids: Mapping[str, str]) -> bool:
    """Assert the outcome of a wrong-typed ``value`` at ``f``; True when it was refused."""
    path = dotted(f.path)
    err = call(store, f, value, ids)
    about = f"{f} = {value!r}: " + ("accepted" if err is None else f"{err.code}/{err.subcode} {err.message}")
    if f.checker == "query":
        accepts = query_accepts(f, value)
        if accepts is True:
            assert err is None, about
            return False
        if accepts is None and err is None:
            return False
        assert err is not None and (err.code, err.subcode) == (400, 12), about
        assert is_within(err.data.get("field"), path), about
    else:
        want = path if value is None and f.top else refusal(f.node, path, value)
        assert err is not None, about
        subcodes = (12,) if f.checker == "schema" else (12, 800)
        assert (err.code, err.subcode in subcodes, err.data.get("field")) == (400, True, want), about
    if batch_target(f.endpoint):
        assert err.data.get("item") == 0, about
    return True


def refuses_null(f: Field) -> bool | None:
    """Whether a null at ``f`` must be refused (None: the handler may ignore it; see the docstring)."""
    if "null" in types_of(f.node) or (f.top and not f.required):
        return False
    if f.checker == "query":
        return False if f.path[0] in LIST_FILTERS | {"status_changed"} else None
    if (f.required and (f.top or f.checker == "schema")) or f.path[-1] == ITEM:
        return True
    return None


# -- enumeration ----------------------------------------------------------------------------------------
def test_every_served_endpoint_is_covered() -> None:
    """Every registered handler serves a schema endpoint, and every served endpoint's request fields are
    generated (events.add through its per-type event shapes; an endpoint without fields must declare none)."""
    assert set(handlers()) <= set(served()), set(handlers()) - set(served())
    covered = {f.endpoint for f in TYPED}
    covered |= {n for n in served() if (batch_target(n) or n) == "events.add"}
    covered |= {n for n in served() if not declared_request(n)["properties"] and batch_target(n) is None}
    assert covered == set(served()), set(served()) - covered
    assert len(TYPED) > 400
    # every event field of the schema is classified (refused by ops.events, or kept as sent)
    for etype, shape in event_shapes().items():
        assert set(shape["properties"]) <= set(EVENT_CHECKED) | EVENT_KEPT | {"type"}, etype


# Baselines that cannot succeed on fresh objects (a task in status created, an empty queue): the state's
# error, not a field's.
STATE_ERRORS = {
    **dict.fromkeys(["tasks.close", "tasks.completed", "tasks.failed", "tasks.publish", "tasks.stop", "tasks.stopped"],
                    "400/110"),  # invalid status change from created
    "tasks.dequeue": "400/101",  # "invalid task id: status=created, expected=queued"
    "queues.remove_task": "400/703",  # task not in queue
    "tasks.make_private": "400/101",  # the task is not public
}  # fmt: skip


def test_baseline_requests_are_valid(store: TaskStore) -> None:
    """The otherwise-valid requests the cases are built on pass validation: each endpoint's baseline (on
    fresh objects) succeeds or fails on the objects' state, never on a field."""
    outcomes: dict[str, str] = {}
    for n, name in enumerate(served()):
        if (batch_target(name) or name) == "events.add":
            continue  # one request shape per event type: test_event_fields_of_every_event_type
        ids = seed(store, f" {n}")
        body = baseline(name, ids, f" {n}")
        try:
            store.call(name, [body] if batch_target(name) else body)
            outcomes[name] = "ok"
        except APIError as exc:
            outcomes[name] = f"{exc.code}/{exc.subcode}"
    bad = {n: o for n, o in outcomes.items() if o not in ("ok", STATE_ERRORS.get(n))}
    assert bad == {}, sorted(bad.items())


# -- wrong JSON types -----------------------------------------------------------------------------------
def test_every_wrong_type_in_every_field(store: TaskStore, ids: dict[str, str]) -> None:
    """The deterministic sweep: every typed field x one value of every JSON type it does not declare (and
    text outside its enum, a number below its minimum, a null where null is refused)."""
    before = dump(store)
    refused = 0
    for f in TYPED:
        values = representatives(f.node)
        if refuses_null(f):
            values.append(None)
        for value in values:
            refused += check_wrong_type(store, f, value, ids)
    assert dump(store) == before
    assert refused > 2000


def test_wrong_types_generated_by_hypothesis(store: TaskStore, ids: dict[str, str], soak: bool) -> None:
    before = dump(store)

    @hypothesis_settings(soak)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        f = data.draw(st.sampled_from(TYPED), label="field")
        value = data.draw(wrong_values(f.node), label="value")
        check_wrong_type(store, f, value, ids)
        assert dump(store) == before, f

    run()


def test_nulls_inside_objects_are_ignored_or_refused_by_name(store: TaskStore, ids: dict[str, str]) -> None:
    """A null where the schema has none, inside an object: ignored, or refused naming the field."""
    before = dump(store)
    for n, f in enumerate(f for f in TYPED if refuses_null(f) is None):
        err = call(store, f, None, ids, f" null {n}")
        if err is not None:
            assert (err.code, err.subcode in (12, 800)) == (400, True), f"{f}: {err.message}"
            assert names(err.data.get("field"), dotted(f.path)), err.message
            assert dump(store) == before, f
        else:
            before = dump(store)  # accepted: it may have written


def test_untyped_fields_take_any_value_or_refuse_it_by_name(store: TaskStore, ids: dict[str, str], soak: bool) -> None:
    """Fields that declare no type (filters the reference reads without listing them): any JSON value is
    answered or refused naming the field; never a 500, never a write."""
    assert UNTYPED, "no untyped field left: drop this test"
    before = dump(store)
    scalars = st.one_of(*(VALUES[k] for k in KINDS[:5]))
    anything = st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    )

    def check(f: Field, value: Any) -> None:
        err = call(store, f, value, ids)
        if err is not None:
            assert err.code == 400 and err.subcode in (12, 14, 21), f"{f} = {value!r}: {err.message}"
            # a pattern filter (comment) refuses a malformed pattern: 400/21 naming it in the message
            named = (
                dotted(f.path) if err.subcode == 21 and f"({dotted(f.path)}:" in err.message else err.data.get("field")
            )
            # ``start`` (a raw offset) needs ``size``: its refusal names the missing companion
            assert names(named, dotted(f.path)) or err.subcode == 14 or (f.path, named) == (("start",), "size"), (
                err.message
            )
        assert dump(store) == before, f

    for f in UNTYPED:  # one value of every JSON type first
        for value in (None, True, 7, 1.5, "text", [], [7], [[]], {}, {"x": [1]}, [None, 2**31], [-0.5, 1e300]):
            check(f, value)

    @hypothesis_settings(soak)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        check(data.draw(st.sampled_from(UNTYPED), label="field"), data.draw(anything, label="value"))

    run()


# -- events: one request shape per event type -------------------------------------------------------------
# Event fields ops.events checks (the event is refused, counted by reason; a lone event is 400/131 naming the
# reason), with a word of that reason; the others are kept as sent in the event's data (the reference's
# event documents take them as they come).
EVENT_CHECKED = {"task": "task", "timestamp": "timestamp", "iter": "Iteration", "metric": "metric",
                 "variant": "variant", "value": "value", "url": "url"}  # fmt: skip
EVENT_KEPT = frozenset({"values", "key", "plot_str", "skip_validation", "level", "worker", "msg"})


def event_accepts(name: str, value: Any) -> bool:
    """Documented acceptances of checked event fields: ``iter`` is read with Python's int() as the reference
    does (5.0 and "5" are 5), a timestamp is any number, a falsy metric/variant is ""."""
    if name == "iter":
        try:
            int(value)
        except (TypeError, ValueError):
            return False
        return True
    if name == "timestamp":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return False


def last_event(store: TaskStore) -> tuple[int, dict[str, Any]]:
    """(seq, data) of the newest stored event (0, {} when none): read straight from the events table."""
    with store._db.transaction(write=False) as conn:
        row = conn.execute(select(EventRecord.seq, EventRecord.data).order_by(EventRecord.seq.desc()).limit(1)).first()
    return (row[0], dict(row[1])) if row else (0, {})


@pytest.mark.parametrize("endpoint", ["events.add", "events.add_batch"])
def test_event_fields_of_every_event_type(store: TaskStore, ids: dict[str, str], endpoint: str) -> None:
    """A wrong type in a field ops.events checks refuses the event (a lone one: 400/131 naming the reason,
    nothing stored); a field kept as sent comes back exactly in the stored event's data."""
    last = last_event(store)
    for etype, shape in event_shapes().items():
        for name, node in shape["properties"].items():
            if name == "type":
                continue
            for value in representatives(node):
                event = {"task": ids["task"], "type": etype, name: value}
                body: Any = [event] if endpoint == "events.add_batch" else event
                try:
                    got = store.call(endpoint, body)
                except APIError as exc:
                    assert name in EVENT_CHECKED and not event_accepts(name, value), (etype, name, value, exc)
                    assert (exc.code, exc.subcode) == (400, 131), (etype, name, value, exc.message)
                    assert EVENT_CHECKED[name] in exc.message, (etype, name, value, exc.message)
                    assert last_event(store) == last, (etype, name, value)
                    continue
                assert got["added"] == 1, (etype, name, value)
                assert name in EVENT_KEPT or event_accepts(name, value), (etype, name, value)
                last = last_event(store)
                stored = "value" if name == "values" else name  # a vector's values are kept as data["value"]
                assert last[0] > 0 and (name not in EVENT_KEPT or last[1][stored] == value), (etype, name, value, last)


# -- hostile but well-typed values ----------------------------------------------------------------------
HUGE = "x" * (20 * 1024 * 1024)  # 20 MB: over the 16 MiB text budget of a request
BAD_TEXT = ["a\x00b", "\ud800", "lone \udfff end", HUGE]
BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), 2**64]


def deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(levels - 1):
        node = {"a": node}
    return node


def free_form(node: Mapping[str, Any]) -> bool:
    """An object whose content is not typed (runtime, execution.parameters, script.requirements, ...)."""
    if types_of(node) != ["object"] or node.get("properties"):
        return False
    extra = node.get("additionalProperties", True)
    return extra is True or extra == {}


def event_fields() -> list[Field]:
    out = []
    for etype, shape in event_shapes().items():
        for name, node in shape["properties"].items():
            out.append(Field(f"events.add/{etype}", (name,), node, "event", name in (shape.get("required") or ())))
    return out


def hostile_cases() -> list[tuple[Field, Any, str]]:
    """(field, value, the path the refusal names) for every string, number and free-form object field."""
    cases: list[tuple[Field, Any, str]] = []
    for f in [*TYPED, *event_fields()]:
        types = types_of(f.node)
        path = dotted(f.path)
        if "string" in types:
            cases += [(f, text, path) for text in BAD_TEXT]
        if "integer" in types or "number" in types:
            cases += [(f, number, path) for number in BAD_NUMBERS]
        if free_form(f.node):
            cases.append((f, deep(200), path + ".a" * (MAX_DEPTH + 1 - len(f.path))))
    return cases


def send(store: TaskStore, f: Field, value: Any, ids: Mapping[str, str]) -> None:
    if f.endpoint.startswith("events.add/"):
        etype = f.endpoint.split("/", 1)[1]
        store.call("events.add", {"task": ids["task"], "type": etype, f.path[0]: value})
    else:
        store.call(f.endpoint, request(f, value, ids))


def test_hostile_values_in_every_field_are_refused_by_name(store: TaskStore, ids: dict[str, str]) -> None:
    """NUL, lone surrogates, 20 MB of text, NaN/Inf/2**64, depth-200 nesting: no field accepts them."""
    before = dump(store)
    cases = hostile_cases()
    assert len(cases) > 1000
    for f, value, path in cases:
        with pytest.raises(APIError) as info:
            send(store, f, value, ids)
        err = info.value
        got = (err.code, err.subcode, err.data.get("field"))
        assert got == (400, 12, path), f"{f} = {repr(value)[:40]}: {err.message}"
        if f.endpoint == "tasks.update_batch":
            assert err.data["item"] == 0
    assert dump(store) == before
    assert HUGE.count("x") == len(HUGE) and len(HUGE) > MAX_TEXT


def test_hostile_text_generated_by_hypothesis(store: TaskStore, ids: dict[str, str], soak: bool) -> None:
    """Text with a NUL or a lone surrogate somewhere, in any string field."""
    before = dump(store)
    strings = [f for f in [*TYPED, *event_fields()] if "string" in types_of(f.node)]
    ok = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)
    bad = st.one_of(st.just("\x00"), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
    hostile = st.tuples(ok, bad, ok).map("".join)

    @hypothesis_settings(soak)
    @given(st.sampled_from(strings), hostile)
    def run(f: Field, value: str) -> None:
        with pytest.raises(APIError) as info:
            send(store, f, value, ids)
        assert (info.value.code, info.value.subcode, info.value.data.get("field")) == (400, 12, dotted(f.path))
        assert dump(store) == before

    run()


# -- catastrophic regular expressions in every pattern filter ---------------------------------------------
VICTIMS = ["a" * 30 + "!", "x" * 40, "aaaa aaaa aaaa aaaa aaaa aaaa aaaa!", "a" * 60]
# the bound: every pattern filter is answered or refused within 1 s
BOUND_S = 1.0


def read_endpoints() -> list[str]:
    return [n for n in served() if not handlers()[n].write and batch_target(n) is None]


def described_pattern_fields() -> set[tuple[str, str]]:
    """(endpoint, field) pairs whose schema description says they take a pattern / regular expression."""
    found = set()
    for name in read_endpoints():
        for key, node in declared_request(name)["properties"].items():
            text = str(node.get("description", "")).lower()
            pattern = node.get("properties", {}).get("pattern", {})
            if "string" in types_of(node) and ("regular expression" in text or "pattern" in text):
                found.add((name, key))
            if "string" in types_of(pattern):
                found.add((name, key))
    return found


def pattern_value(key: str, pattern: str) -> Any:
    return {"pattern": pattern, "fields": ["name"]} if key in ("_any_", "_all_") else pattern


def behaving_pattern_fields(store: TaskStore, ids: Mapping[str, str]) -> set[tuple[str, str]]:
    """(endpoint, field) pairs that refuse a malformed pattern with 400/21: every top-level field of every
    read endpoint that takes text or declares no type is tried."""
    found = set()
    for name in read_endpoints():
        for key, node in declared_request(name)["properties"].items():
            types = types_of(node)
            if types and "string" not in types and key not in ("_any_", "_all_"):
                continue
            try:
                store.call(name, {**request(Field(name, (key,), node, "", False), pattern_value(key, "("), ids)})
            except APIError as exc:
                if (exc.code, exc.subcode) == (400, 21):
                    found.add((name, key))
    return found


@st.composite
def catastrophic(draw: st.DrawFn) -> str:
    """Patterns with nested or overlapping quantifiers: exponential time on a backtracking engine."""
    atom = draw(st.sampled_from(["a", "x", r"\w", ".", "[a-z]", "(?:a|aa)", "a?", r"\S"]))
    shapes = ["({a}+)+$", "^({a}+)+$", "({a}*)*!b", "({a}+{a}+)+y", "(.*{a}){{{n}}}$", "^({a}|{a}{a})+$",
              "({a}|{a}?)+b", "^(({a}+)\\s?)*$", "{a}{{1,{n}}}" * 3 + "z"]  # fmt: skip
    shape = draw(st.sampled_from(shapes))
    return shape.format(a=atom, n=draw(st.integers(10, 40)))


@pytest.fixture
def victims(store: TaskStore) -> None:
    for n, text in enumerate(VICTIMS):
        store.call("tasks.create", {"name": text, "type": "training", "comment": text})
        store.call("projects.create", {"name": f"{text} {n}", "description": text})
        store.call("queues.create", {"name": text})
        store.call("models.create", {"name": text, "uri": "file:///v", "comment": text})


def answered_in_time(store: TaskStore, name: str, key: str, pattern: str, ids: Mapping[str, str]) -> None:
    body = request(Field(name, (key,), {}, "", False), pattern_value(key, pattern), ids)
    started = time.perf_counter()
    try:
        store.call(name, body)
    except APIError as exc:
        assert (exc.code, exc.subcode) == (400, 21), f"{name}.{key} {pattern[:60]!r}: {exc.message[:200]}"
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"{name}.{key} {pattern[:60]!r}: {elapsed:.2f} s"  # the explicit 1 s bound


def test_catastrophic_patterns_in_every_pattern_filter(
    store: TaskStore, ids: dict[str, str], victims: None, soak: bool
) -> None:
    described = described_pattern_fields()
    behaving = behaving_pattern_fields(store, ids)
    assert described <= behaving, described - behaving
    fields_ = sorted(behaving)
    before = dump(store)
    for name, key in fields_:
        for pattern in (r"(a+)+$", r"^(a|aa)+$", r"(.*a){25}", "(x+x+)+y", "a" * 10_000):
            answered_in_time(store, name, key, pattern, ids)

    @hypothesis_settings(soak)
    @given(st.sampled_from(fields_), catastrophic())
    def run(where: tuple[str, str], pattern: str) -> None:
        answered_in_time(store, *where, pattern, ids)

    run()
    assert dump(store) == before
