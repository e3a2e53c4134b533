"""Request validation, tied to the HOCON schema: every registered endpoint at every schema version.

For each endpoint and version the requests are generated from the schema itself, so a schema change
or a validator change that lets bad input through (or rejects good input) fails here.  Bad input is
400/12 naming the field by its dotted path, and a rejected call leaves the database unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from support import api_error, create_task, dump, get_task

from taskstore import APIError, TaskStore
from taskstore.api.registry import Handler, handlers
from taskstore.api.schema import EndpointSpec, format_version, get_schema

# Path steps that are not property names: into a list's items, into a map's values.
ITEM, EXTRA = ("item",), ("extra",)
_SHOWN = {ITEM: "0", EXTRA: "k"}  # how the request built for a path spells those steps


def types_of(node: Mapping[str, Any]) -> list[Any]:
    t = node.get("type")
    return [] if t is None else [t] if isinstance(t, str) else list(t)


def sample(node: Mapping[str, Any]) -> Any:
    """A valid value for a schema node (required fields of objects filled)."""
    if node.get("enum"):
        return node["enum"][0]
    types = [t for t in types_of(node) if t not in (None, "null")]
    kind = types[0] if types else "string"
    if kind == "integer":
        return max(int(node.get("minimum", 1)), 1)
    if kind == "number":
        return float(max(node.get("minimum", 1), 1))
    if kind == "boolean":
        return True
    if kind == "array":
        items = node.get("items")
        return [sample(items)] if isinstance(items, Mapping) and items else []
    if kind == "object":
        props = node.get("properties") or {}
        return {k: sample(props[k]) if k in props else "abc" for k in node.get("required") or ()}
    return "abc"


def _accepts(value: Any, kind: str) -> bool:
    """Whether the API takes ``value`` for JSON type ``kind`` (a scalar for an array is wrapped)."""
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return not isinstance(value, dict)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bad_value(node: Mapping[str, Any]) -> Any:
    """A value of the wrong JSON type for ``node`` (None when there is none: any type allowed)."""
    types = types_of(node)
    if not types or None in types or "null" in types:
        return None
    for value in ({"bad": 1}, "bad"):
        if not any(_accepts(value, t) for t in types):
            return value
    return None


def walk(node: Mapping[str, Any], path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Mapping[str, Any]]]:
    """Every schema node below ``node`` with the path that reaches it."""
    yield path, node
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            yield from walk(sub, (*path, key))
    items = node.get("items")
    if isinstance(items, Mapping) and items:
        yield from walk(items, (*path, ITEM))
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        yield from walk(extra, (*path, EXTRA))


def build(node: Mapping[str, Any], path: tuple[Any, ...], leaf: Any) -> Any:
    """A valid value for ``node`` that holds ``leaf`` at ``path``."""
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if head == ITEM:
        return [build(node["items"], rest, leaf)]
    value = sample(node)
    value = value if isinstance(value, dict) else {}
    if head == EXTRA:
        value[_SHOWN[EXTRA]] = build(node["additionalProperties"], rest, leaf)
    else:
        value[head] = build(node["properties"][head], rest, leaf)
    return value


def dotted(path: tuple[Any, ...]) -> str:
    return ".".join(_SHOWN.get(p, p) if isinstance(p, tuple) else str(p) for p in path)


def relaxed(handler: Handler, path: tuple[Any, ...]) -> bool:
    """Whether a ``loose`` pattern of the handler covers ``path`` (those paths are the data layer's)."""
    for pattern in handler.loose:
        parts = pattern.split(".")
        if len(parts) <= len(path) and all(p == "*" or p == k for p, k in zip(parts, path, strict=False)):
            return True
    return False


def served() -> list[tuple[str, Handler, list[EndpointSpec]]]:
    """Registered endpoints with the schema versions they serve (batch bodies are tested elsewhere)."""
    out = []
    for name, handler in sorted(handlers().items()):
        ep = get_schema().endpoint(name)
        assert ep is not None, f"{name} is registered but not in the schema"
        specs = [s for s in ep.versions if handler.min_version is None or s.version >= handler.min_version]
        if specs and specs[-1].batch is None:
            out.append((name, handler, specs))
    return out


SERVED = served()
NAMES = [name for name, _, _ in SERVED]


def expect_400_12(call: Callable[[], Any], field: str, problems: list[str], what: str) -> None:
    try:
        call()
    except APIError as exc:
        if (exc.code, exc.subcode) != (400, 12) or exc.data.get("field") != field or field not in exc.message:
            problems.append(f"{what}: got {exc.code}/{exc.subcode} {exc.message!r}")
        return
    problems.append(f"{what}: accepted")


@pytest.mark.parametrize("name", NAMES)
def test_schema_required_enum_type_and_minimum_give_400_12(store: TaskStore, name: str) -> None:
    _, handler, specs = next(s for s in SERVED if s[0] == name)
    before = dump(store)
    problems: list[str] = []
    for spec in specs:
        version = format_version(spec.version)
        request = spec.request

        def call(body: Any, version: str = version) -> Any:
            return store.call(name, body, version=version)

        for path, node in walk(request):
            if relaxed(handler, path):
                continue
            where = f"{name}@{version} {dotted(path) or '<body>'}"
            for key in node.get("required") or ():
                leaf = sample(node)
                leaf.pop(key, None)
                body = build(request, path, leaf) if path else leaf
                expect_400_12(lambda b=body: call(b), dotted((*path, key)), problems, f"{where} missing {key}")
            if not path:
                continue
            if node.get("enum") and isinstance(node["enum"][0], str):
                body = build(request, path, "no-such-value")
                expect_400_12(lambda b=body: call(b), dotted(path), problems, f"{where} enum")
            bad = bad_value(node)
            if bad is not None:
                body = build(request, path, bad)
                expect_400_12(lambda b=body: call(b), dotted(path), problems, f"{where} type")
            if isinstance(node.get("minimum"), int):
                body = build(request, path, node["minimum"] - 1)
                expect_400_12(lambda b=body: call(b), dotted(path), problems, f"{where} minimum")
    assert problems == []
    assert dump(store) == before


@pytest.mark.parametrize("name", NAMES)
def test_unknown_keys_are_ignored_and_rejected_when_strict(
    store: TaskStore, make_store: Callable[..., TaskStore], name: str
) -> None:
    _, _, specs = next(s for s in SERVED if s[0] == name)
    body = {**sample(specs[-1].request), "method": "get"}
    try:
        store.call(name, body)
    except APIError as exc:  # dummy ids may well be missing; the unknown key must not be the problem
        assert "method" not in exc.message, exc.message
    strict = make_store(company="acme", user="alice", strict=True)
    before = dump(strict)
    with api_error(400, 12, "method"):
        strict.call(name, body)
    assert dump(strict) == before


def test_body_must_be_an_object(store: TaskStore) -> None:
    for body in (["x"], "text", 5):
        with api_error(400, 12, "body"):
            store.call("tasks.get_by_id", body)


def test_a_scalar_for_an_array_field_is_a_one_element_list(store: TaskStore) -> None:
    tid = create_task(store, tags="one", system_tags="two")
    doc = get_task(store, tid)
    assert (doc["tags"], doc["system_tags"]) == (["one"], ["two"])


def test_integer_valued_floats_are_integers_and_other_floats_are_not(store: TaskStore) -> None:
    tid = create_task(store, execution={"model_labels": {"a": 2.0}})
    assert get_task(store, tid)["execution"]["model_labels"] == {"a": 2}
    with api_error(400, 12, "execution.model_labels.a"):
        create_task(store, execution={"model_labels": {"a": 2.5}})
    with api_error(400, 12, "execution.model_labels.a"):
        create_task(store, execution={"model_labels": {"a": True}})


def test_defaults_are_filled_from_the_schema(store: TaskStore) -> None:
    # models.create: ready defaults to true, public to false
    mid = store.call("models.create", {"name": "m", "uri": "file:///m"})["id"]
    model = store.call("models.get_by_id", {"model": mid})["model"]
    assert (model["ready"], model["company"]) == (True, "acme")


def test_strict_accepts_fields_other_versions_define_and_edit_status(make_store: Callable[..., TaskStore]) -> None:
    strict = make_store(company="acme", user="alice", strict=True)
    tid = strict.call("tasks.create", {"name": "task one", "type": "training", "container": {"image": "i"}},
                      version="2.1")["id"]  # fmt: skip
    strict.call("tasks.edit", {"task": tid, "status": "in_progress", "runtime": {"a": 1}}, version="2.1")
    doc = get_task(strict, tid)
    assert (doc["status"], doc["container"], doc["runtime"]) == ("in_progress", {"image": "i"}, {"a": 1})


# -- version resolution --------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["tasks.nope", "nosuch.service", "tasks", "", "tasks.get_by_id.x"])
def test_unknown_endpoint_is_404_0(store: TaskStore, endpoint: str) -> None:
    with api_error(404, 0):
        store.call(endpoint, {})


def test_endpoint_below_its_code_minimum_version_is_404_0(store: TaskStore) -> None:
    gated = {n: h for n, h in handlers().items() if h.min_version is not None}
    if "tasks.add_or_update_artifacts" in handlers():
        assert handlers()["tasks.add_or_update_artifacts"].min_version == (2, 10)
    if not gated:
        pytest.skip("no endpoint with a code-level minimum version is registered yet")
    for name, handler in gated.items():
        assert handler.min_version is not None
        below = f"{handler.min_version[0]}.{handler.min_version[1] - 1}"
        with api_error(404, 0):
            store.call(name, {}, version=below)


def test_malformed_version_is_400_12(store: TaskStore) -> None:
    with api_error(400, 12):
        store.call("tasks.get_by_id", {"task": "x"}, version="two.ten")


def test_no_version_is_the_newest_api_version(store: TaskStore) -> None:
    # tasks.get_by_id is defined once (2.1): with no version the conversions of 2.20 apply.
    tid = create_task(store, tags=["t"], system_tags=["s"], container={"image": "img"},
                      execution={"parameters": {"p": 1}})  # fmt: skip
    newest = format_version(get_schema().max_version)
    assert newest == "2.20"
    for version in (None, newest, "2.99"):
        doc = get_task(store, tid, version=version)
        assert (doc["tags"], doc["execution"]["parameters"], "docker_cmd" in doc["execution"]) == (["t"], {}, False)
    old = get_task(store, tid, version="2.1")
    assert (old["tags"], old["execution"]["parameters"], old["execution"]["docker_cmd"]) == (["s", "t"], {"p": "1"},
                                                                                             "img")  # fmt: skip


def test_version_picks_the_newest_definition_not_newer_than_it(store: TaskStore) -> None:
    # queues.create: 2.4 and 2.13; metadata exists only at 2.13, but the reference accepts it at any version.
    ep = get_schema().endpoint("queues.create")
    assert ep is not None
    assert [format_version(s.version) for s in ep.versions] == ["2.4", "2.13"]
    assert ep.at((2, 12)) is ep.versions[0] and ep.at((2, 13)) is ep.versions[1] and ep.at(None) is ep.versions[1]
    assert ep.at((2, 3)) is None
    # an ungated endpoint below its first schema definition is still served
    qid = store.call("queues.create", {"name": "early"}, version="2.1")["id"]
    assert store.call("queues.get_by_id", {"queue": qid}, version="2.1")["queue"]["name"] == "early"


# -- input that is not JSON data -------------------------------------------------------------------------------


def _deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("tasks.get_by_id", {1: "x"}, "1"),
        ("tasks.create", {"name": "task one", "type": "training", "execution": {"parameters": {1: 2}}},
         "execution.parameters.1"),
        ("tasks.create", {"name": "task one", "type": "training", "runtime": {"x": float("nan")}}, None),
        ("tasks.create", {"name": "task one", "type": "training", "runtime": {"x": b"bytes"}}, None),
        ("tasks.create", {"name": "task one", "type": "training", "runtime": {"x": {1, 2}}}, None),
        ("tasks.create", {"name": "task one", "type": "training", "script": {"requirements": {"x": float("inf")}}},
         None),
        # the value policy names the container 101 levels below the body (taskstore.api.values)
        ("tasks.create", {"name": "task one", "type": "training", "runtime": _deep(5000)}, "runtime" + ".a" * 100),
        ("tasks.update_batch", [{"task": "x" * 32, "comment": "c", "deep": _deep(5000)}], "deep" + ".a" * 100),
    ],
)  # fmt: skip
def test_python_objects_that_are_not_json_are_400_12(
    store: TaskStore, endpoint: str, body: Any, field: str | None
) -> None:
    tid = create_task(store)
    before = dump(store)
    with api_error(400, 12, field):
        store.call(endpoint, body)
    with api_error(400, 12):
        store.call("tasks.edit", {"task": tid, "runtime": {"x": float("nan")}})
    assert dump(store) == before
