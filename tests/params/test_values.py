"""The value policy (taskstore.api.values; reliability anchors §0 item 4, §5 B2-B5): one answer on every
backend, a 400/12 naming the field, nothing written; and big values round-trip exactly."""

from __future__ import annotations

import time
from typing import Any

import pytest
from params_support import cfg, hp
from support import api_error, create_task, dump, get_task

from taskstore import TaskStore
from taskstore.api.values import MAX_DEPTH, MAX_TEXT, MAX_VALUES, NAME_BYTES, NAME_CHARS


def deep(levels: int) -> dict[str, Any]:
    """``levels`` nested objects: {"a": {"a": ... {}}} (``deep(1)`` is ``{}``)."""
    node: dict[str, Any] = {}
    for _ in range(levels - 1):
        node = {"a": node}
    return node


def refused(store: TaskStore, endpoint: str, body: Any, field: str) -> None:
    before = dump(store)
    with api_error(400, 12, field):
        store.call(endpoint, body)
    assert dump(store) == before
    create_task(store, "still works")


BAD_TEXT = ["a\x00b", "\x00", "x\udcff", "\ud800", "ok \ud83d\ude00 paired by hand"]


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_nul_and_surrogates_are_refused_everywhere(store: TaskStore, bad: str) -> None:
    tid = create_task(store)
    task = {"name": "task one", "type": "training"}
    cases = [
        ("tasks.create", {**task, "name": bad}, "name"),
        ("tasks.create", {**task, "comment": bad}, "comment"),
        ("tasks.create", {**task, "tags": ["ok", bad]}, "tags.1"),
        ("tasks.create", {**task, "hyperparams": {"Args": {bad: hp("Args", "x")}}}, f"hyperparams.Args.{bad}"),
        ("tasks.create", {**task, "configuration": {"c": cfg("c", bad)}}, "configuration.c.value"),
        ("tasks.edit", {"task": tid, "runtime": {"k": [1, {"deep": bad}]}}, "runtime.k.1.deep"),
        ("tasks.edit_hyper_params", {"task": tid, "hyperparams": [hp("S", "n", bad)]}, "hyperparams.0.value"),
        ("tasks.edit_hyper_params", {"task": tid, "hyperparams": [hp(bad, "n")]}, "hyperparams.0.section"),
        ("tasks.edit_configuration", {"task": tid, "configuration": [cfg(bad)]}, "configuration.0.name"),
        ("tasks.update", {"task": tid, "comment": bad}, "comment"),
        ("tasks.get_by_id", {"task": bad}, "task"),
        ("tasks.get_all", {"name": bad}, "name"),
    ]
    for endpoint, body, field in cases:
        refused(store, endpoint, body, field)


def test_other_unusual_text_round_trips(store: TaskStore) -> None:
    texts = ["\ufeffbom", "rtl \u202e override", "emoji \U0001f600", "tab\tnew\nline", "t" * NAME_CHARS]
    mega = "x" * (1 << 20)
    tid = create_task(store, texts[2], comment=mega, tags=texts,
                      hyperparams={t[:50]: {t[:50]: hp(t, t)} for t in texts[:4]},
                      configuration={"c": cfg("c", mega)})  # fmt: skip
    doc = get_task(store, tid)
    assert (doc["name"], doc["comment"]) == (texts[2], mega)
    assert doc["tags"] == sorted(texts)
    assert doc["hyperparams"] == {t[:50]: {t[:50]: hp(t, t)} for t in texts[:4]}
    assert doc["configuration"]["c"]["value"] == mega


def test_names_and_tags_are_capped_on_write_only(store: TaskStore) -> None:
    tid = create_task(store)
    cjk = "名" * (NAME_BYTES // 3 + 1)  # few characters, too many bytes for PostgreSQL's index entries
    task = {"name": "task one", "type": "training"}
    for endpoint, body, field in (
        ("tasks.create", {**task, "name": "n" * (NAME_CHARS + 1)}, "name"),
        ("tasks.create", {**task, "name": cjk}, "name"),
        ("tasks.edit", {"task": tid, "tags": ["ok", "t" * (NAME_CHARS + 1)]}, "tags.1"),
        ("tasks.update", {"task": tid, "system_tags": [cjk]}, "system_tags.0"),
        ("tasks.clone", {"task": tid, "new_task_name": cjk}, "new_task_name"),
        ("projects.create", {"name": cjk}, "name"),
        ("events.add", {"task": tid, "type": "training_stats_scalar", "metric": cjk, "variant": "v", "value": 1},
         "metric"),
    ):  # fmt: skip
        with api_error(400, 12, field) as info:
            store.call(endpoint, body)
        assert "at most" in info.value.message
    with api_error(400, 12, "name") as info:
        store.call("tasks.update_batch", [{"task": tid, "comment": "c"}, {"task": tid, "name": cjk}])
    assert info.value.data["item"] == 1
    # reads are not capped: a long pattern simply matches nothing
    assert store.call("tasks.get_all", {"name": cjk, "tags": [cjk]})["tasks"] == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (float("nan"), "numbers must be finite"),
        (float("inf"), "numbers must be finite"),
        (float("-inf"), "numbers must be finite"),
        (2**63, "integers must fit in 64 bits"),
        (-(2**63) - 1, "integers must fit in 64 bits"),
        (b"bytes", "not JSON data (a bytes)"),
        ({1, 2}, "not JSON data (a set)"),
        (object(), "not JSON data (a object)"),
    ],
)
def test_numbers_and_non_json_objects(store: TaskStore, value: Any, problem: str) -> None:
    tid = create_task(store)
    before = dump(store)
    artifact = {"key": "k", "type": "t", "content_size": value}
    for endpoint, body, field in (
        ("tasks.create", {"name": "task one", "type": "training", "runtime": {"x": [value]}}, "runtime.x.0"),
        ("tasks.edit", {"task": tid, "script": {"requirements": {"pip": value}}}, "script.requirements.pip"),
        ("tasks.add_or_update_artifacts", {"task": tid, "artifacts": [artifact]}, "artifacts.0.content_size"),
        ("events.add", {"task": tid, "type": "training_stats_scalar", "metric": "m", "variant": "v", "value": value},
         "value"),
    ):  # fmt: skip
        with api_error(400, 12, field) as info:
            store.call(endpoint, body)
        assert problem in info.value.message
    assert dump(store) == before


def test_nan_in_json_lines_text_is_refused(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    line = '{"task": "TID", "type": "training_stats_scalar", "metric": "m", "variant": "v", "value": NaN}'
    line = line.replace("TID", tid)
    with api_error(400, 12, "value"):
        store.call("events.add_batch", line)
    assert dump(store) == before


def test_limits_at_64_bits_are_accepted(store: TaskStore) -> None:
    tid = create_task(store, runtime={"hi": 2**63 - 1, "lo": -(2**63), "f": 1.7976931348623157e308})
    assert get_task(store, tid)["runtime"] == {"hi": 2**63 - 1, "lo": -(2**63), "f": 1.7976931348623157e308}


def test_numbers_keep_their_value_and_type(store: TaskStore) -> None:
    """PostgreSQL's JSONB would print 1e+20 back as the integer 100000000000000000000 (taskstore.db.types)."""
    numbers = [1e20, 1.5e16, 1.2345678901234567e18, -2.5e300, 5e-324, 1e-7, 0.1, 1.0, 2**53 + 1, 2**62, 0, -7]
    tid = create_task(store, runtime={"n": numbers, "s": "1e+20 in a string"})
    got = get_task(store, tid)["runtime"]
    assert got == {"n": numbers, "s": "1e+20 in a string"}
    assert [type(n) for n in got["n"]] == [type(n) for n in numbers]


@pytest.mark.parametrize("field", ["runtime", "script.requirements", "execution.model_desc", "container"])
def test_nesting_depth(store: TaskStore, field: str) -> None:
    def body(levels: int) -> dict[str, Any]:
        top, _, sub = field.partition(".")
        value = {sub: deep(levels - 1)} if sub else deep(levels)
        return {"name": "task one", "type": "training", top: value}

    # the top-level field's value is level 1: MAX_DEPTH levels are allowed below the body
    if field in ("runtime", "script.requirements"):
        tid = store.call("tasks.create", body(MAX_DEPTH))["id"]
        got = get_task(store, tid)
        top, _, sub = field.partition(".")
        assert (got[top][sub] if sub else got[top]) == (deep(MAX_DEPTH - 1) if sub else deep(MAX_DEPTH))
    for levels in (MAX_DEPTH + 1, 2001, 10_000):
        where = field + ".a" * (MAX_DEPTH - (1 if "." in field else 0))
        refused(store, "tasks.create", body(levels), where)


def test_sizes(store: TaskStore) -> None:
    tid = create_task(store)
    refused(store, "tasks.edit_configuration", {"task": tid, "configuration": [cfg("big", "x" * (MAX_TEXT + 1))]},
            "configuration.0.value")  # fmt: skip
    # the text budget is per request: two values that are fine alone
    half = "y" * (MAX_TEXT // 2 + 1)
    refused(store, "tasks.edit_configuration", {"task": tid, "configuration": [cfg("a", half), cfg("b", half)]},
            "configuration.1.value")  # fmt: skip
    refused(store, "tasks.edit", {"task": tid, "runtime": {"many": list(range(MAX_VALUES))}}, "runtime.many")


def test_ten_megabyte_configuration_round_trips(store: TaskStore) -> None:
    value = ("line of configuration text ñ €\n" * 400_000)[: 10 * 1024 * 1024]
    start = time.perf_counter()
    tid = create_task(store, configuration={"big": cfg("big", value, type="text")})
    assert get_task(store, tid)["configuration"]["big"]["value"] == value
    other = create_task(store)
    store.call("tasks.edit_configuration", {"task": other, "configuration": [cfg("big", value)]})
    got = store.call("tasks.get_configurations", {"tasks": [other], "names": ["big"]})["configurations"]
    assert got[0]["configuration"][0]["value"] == value
    assert time.perf_counter() - start < 20


def test_ten_thousand_hyperparams_round_trip(store: TaskStore) -> None:
    items = [hp(f"Section {i % 7}", f"param.{i:05d}", f"value {i}", type="str") for i in range(10_000)]
    tid = create_task(store)
    assert store.call("tasks.edit_hyper_params", {"task": tid, "hyperparams": items}) == {"updated": 1}
    got = store.call("tasks.get_hyper_params", {"tasks": [tid]})["params"][0]["hyperparams"]
    assert got == sorted(items, key=lambda p: (p["section"], p["name"]))
    # and through create / get_by_id
    doc_params: dict[str, Any] = {}
    for p in items:
        doc_params.setdefault(p["section"], {})[p["name"]] = p
    created = create_task(store, hyperparams=doc_params)
    assert get_task(store, created)["hyperparams"] == doc_params
    # one more param upserted on the big task
    store.call("tasks.edit_hyper_params", {"task": tid, "hyperparams": [hp("Section 0", "param.00000", "new")]})
    got = store.call("tasks.get_hyper_params", {"tasks": [tid]})["params"][0]["hyperparams"]
    assert len(got) == 10_000 and got[0] == hp("Section 0", "param.00000", "new")
