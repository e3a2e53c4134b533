"""Property tests: what a user stores comes back unchanged, and last_metrics / last_iteration equal a
pure-Python fold over the same events (issue 4/6 "Tests"; reliability anchors §5 S2)."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import get_task

from taskstore import TaskStore

SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)

# Text the value policy accepts (no NUL, no surrogates); keys as stored: trimmed and not empty.
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(_CHARS, max_size=30)
SPECIAL = ["a.b", "$x", "_y", "__z__", "%_p", "%2E", "x.y.z", "$", "_", "ñ", "名前", "key with space", "a__b", "%%"]
KEY = st.one_of(st.sampled_from(SPECIAL), st.text(_CHARS, min_size=1, max_size=20).map(str.strip).filter(bool)).filter(
    lambda k: k.lower() != "properties"  # edit_hyper_params normalises that section's case (tested elsewhere)
)
OPTIONAL = st.one_of(st.none(), TEXT)


def _item(section: str, name: str, value: str, type_: str | None, description: str | None) -> dict[str, Any]:
    item = {"section": section, "name": name, "value": value}
    if type_ is not None:
        item["type"] = type_
    if description is not None:
        item["description"] = description
    return item


@st.composite
def hyperparams(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    sections = draw(st.lists(KEY, unique=True, max_size=4))
    out: dict[str, dict[str, Any]] = {}
    for section in sections:
        names = draw(st.lists(KEY, unique=True, max_size=4))
        out[section] = {n: _item(section, n, draw(TEXT), draw(OPTIONAL), draw(OPTIONAL)) for n in names}
    return out


@st.composite
def configuration(draw: st.DrawFn) -> dict[str, Any]:
    out = {}
    for name in draw(st.lists(KEY, unique=True, max_size=4)):
        item = _item("", name, draw(TEXT), draw(OPTIONAL), draw(OPTIONAL))
        del item["section"]
        out[name] = item
    return out


@st.composite
def artifacts(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.tuples(KEY, st.sampled_from(["input", "output"])), unique=True, max_size=4))
    out = []
    for key, mode in ids:
        art: dict[str, Any] = {"key": key, "type": draw(KEY), "mode": mode, "display_data": []}
        for field, strategy in (("uri", TEXT), ("hash", TEXT), ("content_size", st.integers(0, 2**63 - 1)),
                                ("timestamp", st.integers(-(2**63), 2**63 - 1)),
                                ("display_data", st.lists(st.lists(TEXT, max_size=2), max_size=2))):  # fmt: skip
            if draw(st.booleans()):
                art[field] = draw(strategy)
        out.append(art)
    return out


TAGS = st.lists(st.text(_CHARS, max_size=20).filter(lambda t: not t.startswith("__$")), max_size=5)
CONTAINER = st.dictionaries(KEY, st.one_of(st.none(), TEXT), max_size=4)


def _flat(doc: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((p for params in doc.values() for p in params.values()), key=lambda p: (p["section"], p["name"]))


@SETTINGS
@given(hp=hyperparams(), conf=configuration(), arts=artifacts(), tags=TAGS, system_tags=TAGS, container=CONTAINER)
def test_create_round_trips(
    store: TaskStore,
    hp: dict[str, Any],
    conf: dict[str, Any],
    arts: list[dict[str, Any]],
    tags: list[str],
    system_tags: list[str],
    container: dict[str, Any],
) -> None:
    body = {"name": "round trip", "type": "training", "hyperparams": hp, "configuration": conf, "tags": tags,
            "system_tags": system_tags, "container": container, "execution": {"artifacts": arts}}  # fmt: skip
    tid = store.call("tasks.create", body)["id"]
    doc = get_task(store, tid)
    assert doc["hyperparams"] == hp
    assert doc["configuration"] == conf
    assert doc["tags"] == sorted(tags) and doc["system_tags"] == sorted(system_tags)
    assert doc["container"] == container
    assert doc["execution"]["artifacts"] == sorted(arts, key=lambda a: (a["key"], a["mode"]))
    assert store.call("tasks.get_hyper_params", {"tasks": [tid]})["params"] == [{"task": tid, "hyperparams": _flat(hp)}]
    got = store.call("tasks.get_configurations", {"tasks": [tid]})["configurations"]
    assert got == [{"task": tid, "configuration": sorted(conf.values(), key=lambda c: c["name"])}]


@SETTINGS
@given(first=hyperparams(), second=hyperparams(), conf=configuration(), arts=artifacts(), tags=TAGS,
       container=CONTAINER)  # fmt: skip
def test_edit_round_trips(
    store: TaskStore,
    first: dict[str, Any],
    second: dict[str, Any],
    conf: dict[str, Any],
    arts: list[dict[str, Any]],
    tags: list[str],
    container: dict[str, Any],
) -> None:
    tid = store.call("tasks.create", {"name": "round trip", "type": "training", "hyperparams": first})["id"]
    body = {"task": tid, "hyperparams": second, "configuration": conf, "tags": tags, "container": container,
            "execution": {"artifacts": arts}}  # fmt: skip
    store.call("tasks.edit", body)
    doc = get_task(store, tid)
    assert (doc["hyperparams"], doc["configuration"], doc["tags"], doc["container"]) == (
        second, conf, sorted(tags), container)  # fmt: skip
    assert doc["execution"]["artifacts"] == sorted(arts, key=lambda a: (a["key"], a["mode"]))


EDIT = st.tuples(st.sampled_from(["none", "section", "all"]), hyperparams().filter(lambda d: bool(_flat(d))))


@SETTINGS
@given(start=hyperparams(), edits=st.lists(EDIT, min_size=1, max_size=4),
       deletes=st.lists(st.tuples(KEY, st.one_of(st.none(), KEY)), max_size=3))  # fmt: skip
def test_edit_hyper_params_matches_a_model(
    store: TaskStore,
    start: dict[str, Any],
    edits: list[tuple[str, dict[str, Any]]],
    deletes: list[tuple[str, str | None]],
) -> None:
    tid = store.call("tasks.create", {"name": "model", "type": "training", "hyperparams": start})["id"]
    model = {s: dict(p) for s, p in start.items()}
    for mode, doc in edits:
        items = _flat(doc)
        store.call("tasks.edit_hyper_params", {"task": tid, "hyperparams": items, "replace_hyperparams": mode})
        if mode == "all":
            model = {}
        for section, params in doc.items():
            if not params:
                continue  # a section without params sends no item
            if mode == "section":
                model[section] = {}
            model.setdefault(section, {}).update(params)
    whole = {s for s, n in deletes if n is None}
    named = [(s, n) for s, n in deletes if n is not None and s not in whole]
    if whole or named:
        items = [{"section": s} for s in whole] + [{"section": s, "name": n} for s, n in named]
        store.call("tasks.delete_hyper_params", {"task": tid, "hyperparams": items})
        for s in whole:
            model.pop(s, None)
        for s, n in named:
            model.get(s, {}).pop(n, None)
    got = store.call("tasks.get_hyper_params", {"tasks": [tid]})["params"][0]["hyperparams"]
    assert got == _flat(model)
    assert get_task(store, tid)["hyperparams"] == model


@SETTINGS
@given(start=configuration(), edits=st.lists(st.tuples(st.booleans(), configuration().filter(bool)), max_size=3),
       names=st.lists(KEY, max_size=3))  # fmt: skip
def test_edit_configuration_matches_a_model(
    store: TaskStore, start: dict[str, Any], edits: list[tuple[bool, dict[str, Any]]], names: list[str]
) -> None:
    tid = store.call("tasks.create", {"name": "model", "type": "training", "configuration": start})["id"]
    model = dict(start)
    for replace, doc in edits:
        store.call("tasks.edit_configuration", {"task": tid, "configuration": list(doc.values()),
                                                "replace_configuration": replace})  # fmt: skip
        model = {**({} if replace else model), **doc}
    if names:
        store.call("tasks.delete_configuration", {"task": tid, "configuration": names})
        model = {k: v for k, v in model.items() if k not in names}
    got = store.call("tasks.get_configurations", {"tasks": [tid]})["configurations"][0]["configuration"]
    assert got == sorted(model.values(), key=lambda c: c["name"])
    listed = store.call("tasks.get_configuration_names", {"tasks": [tid], "skip_empty": False})["configurations"]
    assert listed == ([{"task": tid, "names": sorted(model)}] if model else [])


# -- scalar events -------------------------------------------------------------------------------------------------

NOW = 10**13  # stands for "no timestamp sent": the call's now, later than every drawn timestamp
NUMBER = st.one_of(st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False))


@st.composite
def scalar_event(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "training_stats_scalar",
        "metric": draw(st.sampled_from(["loss", "acc", "", ":monitor:gpu"])),
        "variant": draw(st.sampled_from(["train", "val", ""])),
        "value": draw(st.one_of(st.none(), NUMBER)),
    }
    if draw(st.booleans()):
        event["iter"] = draw(st.integers(0, 50))
    if draw(st.booleans()):
        event["timestamp"] = draw(st.integers(0, 20))
    return event


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def fold(batches: list[list[dict[str, Any]]]) -> tuple[dict[str, Any], int]:
    """query_edit §4, written out again: the expected last_metrics and last_iteration."""
    metrics: dict[str, Any] = {}
    last_iteration = 0
    for events in batches:
        newest: dict[tuple[str, str], dict[str, Any]] = {}
        for e in events:
            if "iter" in e and e["metric"] not in (":monitor:machine", ":monitor:gpu"):
                last_iteration = max(last_iteration, e["iter"])
            if not (e["metric"] and e["variant"]) or e["value"] is None:
                continue
            key, order = (e["metric"], e["variant"]), (e.get("iter", 0), e.get("timestamp", NOW))
            cur = newest.get(key)
            if cur is None or order >= cur["order"]:
                low = e["value"] if cur is None else min(e["value"], cur["min"])
                high = e["value"] if cur is None else max(e["value"], cur["max"])
                newest[key] = {"order": order, "value": e["value"], "min": low, "max": high}
        for (m, v), n in newest.items():
            old = metrics.get(md5(m), {}).get(md5(v))
            metrics.setdefault(md5(m), {})[md5(v)] = {
                "metric": m, "variant": v, "value": n["value"],
                "min_value": n["min"] if old is None else min(old["min_value"], n["min"]),
                "max_value": n["max"] if old is None else max(old["max_value"], n["max"]),
            }  # fmt: skip
    return metrics, last_iteration


@SETTINGS
@given(batches=st.lists(st.lists(scalar_event(), min_size=1, max_size=12), min_size=1, max_size=4))
def test_last_metrics_equal_a_fold_over_the_events(store: TaskStore, batches: list[list[dict[str, Any]]]) -> None:
    tid = store.call("tasks.create", {"name": "metrics", "type": "training"})["id"]
    for events in batches:
        result = store.call("events.add_batch", [{**e, "task": tid} for e in events])
        assert result == {"added": len(events), "errors": 0, "errors_info": {}}
    doc = get_task(store, tid)
    assert (doc["last_metrics"], doc["last_iteration"]) == fold(batches)
