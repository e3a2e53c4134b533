"""Schema-driven requests for the hostile-input scenario (issue 6, scenario B).

Everything here is generated from what the store serves: the endpoints are the schema's endpoints that have
a registered handler, and the fields of each are walked from its request schema at the newest version
(completed, as the dispatcher does, with the fields that only older versions or the handler's ``extra``
define).  For every field that declares a JSON type this module can build an otherwise-valid request
holding a chosen value at that field, and say which field a refusal must name.

Paths are tuples of segments: a property name, :data:`ANY_KEY` for a key of a map (``additionalProperties``;
filled with :data:`KEY`) or :data:`ITEM` for an array item (index 0).  ``dotted()`` spells a path the way
APIError ``data["field"]`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from taskstore import TaskStore
from taskstore.api.registry import Handler, handlers
from taskstore.api.schema import get_schema

Path = tuple[str, ...]
ANY_KEY = "*"
ITEM = "[]"
KEY = "k1"
KINDS = ("null", "boolean", "integer", "number", "string", "array", "object")

# Who checks a field's type: the request schema, or (for the handler's ``loose`` paths, which the
# schema validator passes through) the query compiler or the data layer.  A loose path of a handler
# that is not classified here fails the tests (a new endpoint must be looked at).
QUERY_CHECKED = frozenset({"id", "user", "tags", "system_tags", "type", "status", "project", "parent", "status_changed",
                           "_any_", "_all_"})  # fmt: skip
DATA_CHECKED = frozenset({"hyperparams.*.*.value", "configuration.*.value", "models.input.*", "models.output.*",
                          "container.*"})  # fmt: skip

# Which seeded object an id-valued field names (by field name; ``id``/``ids``/``parent`` by service).
_ID_FIELDS = {"task": "task", "tasks": "task", "parent": "task", "new_task_parent": "task", "queue": "queue",
              "project": "project", "projects": "project", "new_task_project": "project", "model": "model"}  # fmt: skip
_SERVICE_IDS = {"tasks": "task", "queues": "queue", "projects": "project", "models": "model", "events": "task"}
# Code-level required fields the request schema does not declare (spec query_edit §0.2: get_by_id_ex's
# ``required_fields``; make_public/make_private need ids, move a project): without them the baseline would
# be a 400/11 or 400/12 before the field under test is looked at.
_CODE_REQUIRED = {"tasks.get_by_id_ex": ("id",), "tasks.make_public": ("ids",), "tasks.make_private": ("ids",),
                  "tasks.move": ("project",)}  # fmt: skip


def served() -> list[str]:
    """Every endpoint the store serves (schema endpoint with a handler), sorted."""
    registered = handlers()
    return sorted(n for n in get_schema().endpoints if n in registered)


def dotted(path: Path) -> str:
    return ".".join(KEY if p == ANY_KEY else "0" if p == ITEM else p for p in path)


def types_of(node: Mapping[str, Any]) -> list[str]:
    """The declared JSON types (a HOCON ``null`` in a type list is JSON null: "null")."""
    t = node.get("type")
    if t is None:
        return []
    return ["null" if x is None else str(x) for x in ([t] if isinstance(t, str) else t)]


def declared_request(name: str) -> dict[str, Any]:
    """The request schema an endpoint declares at the newest version, completed like the dispatcher does
    (fields of older versions and the handler's ``extra``), but with the declared types of loose paths."""
    ep = get_schema().endpoints[name]
    newest = ep.versions[-1].request
    props: dict[str, Any] = dict(newest.get("properties") or {})
    for other in reversed(ep.versions):
        for key, node in (other.request.get("properties") or {}).items():
            props.setdefault(key, node)
    for key, node in handlers()[name].extra.items():
        props.setdefault(key, dict(node))
    return {**newest, "properties": props}


def batch_target(name: str) -> str | None:
    """For bodies made of many requests (tasks.update_batch, events.add_batch): the item's endpoint."""
    batch = get_schema().endpoints[name].versions[-1].batch
    return None if batch is None else f"{name.split('.', 1)[0]}.{batch['action']}"


def _match(pattern: list[str], path: Path) -> bool:
    if len(pattern) > len(path):
        return False
    return all(p == q or (p == "*" and q in (ANY_KEY, ITEM)) for p, q in zip(pattern, path, strict=False))


def checker(handler: Handler, path: Path) -> str:
    """Who refuses a wrong type at ``path``: "schema", "query" (the query compiler) or "data" (the data layer)."""
    for loose in handler.loose:
        if _match(loose.split("."), path):
            if loose in DATA_CHECKED:
                return "data"
            if loose in QUERY_CHECKED:
                return "query"
            raise AssertionError(f"{handler.name}: loose path {loose} is not classified in hostile_support")
    return "schema"


@dataclass(frozen=True)
class Field:
    endpoint: str  # the endpoint called (for a batch endpoint: the batch; the field is in item 0)
    path: Path
    node: Mapping[str, Any]  # the declared schema node
    checker: str  # "schema", "query" or "data"
    required: bool  # listed in the ``required`` of its object

    @property
    def top(self) -> bool:
        return len(self.path) == 1

    @property
    def typed(self) -> bool:
        return bool(types_of(self.node)) and set(types_of(self.node)) != set(KINDS)

    def __str__(self) -> str:
        return f"{self.endpoint}:{dotted(self.path)}"


def _walk(node: Mapping[str, Any], path: Path, required: bool) -> Iterator[tuple[Path, Mapping[str, Any], bool]]:
    if path:
        yield path, node, required
    needed = set(node.get("required") or ())
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            yield from _walk(sub, (*path, key), key in needed)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        yield from _walk(extra, (*path, ANY_KEY), False)
    items = node.get("items")
    if isinstance(items, Mapping) and items:
        yield from _walk(items, (*path, ITEM), False)


def fields(name: str) -> list[Field]:
    """Every field of ``name``'s request (nested properties, map values and array items included)."""
    target = batch_target(name) or name
    if target == "events.add":
        return []  # one request shape per event type: see event_fields()
    handler = handlers()[target]
    return [Field(name, path, node, checker(handler, path), req)
            for path, node, req in _walk(declared_request(target), (), False)]  # fmt: skip


def event_shapes() -> dict[str, Mapping[str, Any]]:
    """events.add's request: one object schema per event type (the schema's ``anyOf``), by type."""
    shapes = get_schema().endpoints["events.add"].versions[-1].request["anyOf"]
    return {s["properties"]["type"]["const"]: s for s in shapes}


# -- seeded objects and otherwise-valid requests ------------------------------------------------------------
def seed(store: TaskStore, tag: str = "") -> dict[str, str]:
    """A task (status created), a second task, a queue, a project and a model of the store's company."""
    project = store.call("projects.create", {"name": f"hostile project{tag}"})["id"]
    task = store.call("tasks.create", {"name": f"hostile task{tag}", "type": "training", "project": project})["id"]
    task2 = store.call("tasks.create", {"name": f"hostile other{tag}", "type": "testing"})["id"]
    queue = store.call("queues.create", {"name": f"hostile queue{tag}"})["id"]
    model = store.call("models.create", {"name": f"hostile model{tag}", "uri": "file:///m", "task": task2})["id"]
    return {"task": str(task), "task2": str(task2), "queue": str(queue), "project": str(project),
            "model": str(model)}  # fmt: skip


def _id_kind(endpoint: str, key: str) -> str | None:
    service = endpoint.split(".", 1)[0]
    if key in ("id", "ids") or (key == "parent" and service != "tasks"):
        return _SERVICE_IDS.get(service)
    return _ID_FIELDS.get(key)


def sample(
    node: Mapping[str, Any], key: str, endpoint: str, ids: Mapping[str, str], *, full: bool = False, tag: str = ""
) -> Any:
    """A valid value for ``node`` (the field ``key`` of ``endpoint``); objects get their required properties
    (every property when ``full``: map values and array items are whole records).  ``tag`` is appended to
    text (names of created objects must differ from call to call)."""
    types = [t for t in types_of(node) if t != "null"]
    kind = _id_kind(endpoint, key)
    if kind is not None and types and types[0] in ("string", "array"):
        return ids[kind] if types[0] == "string" else [ids[kind]]
    if "default" in node:
        return copy.deepcopy(node["default"])
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    t = types[0] if types else "string"
    if t == "string":
        return f"valid text{tag}"
    if t == "integer":
        return int(node.get("minimum", 1))
    if t == "number":
        return 1.5
    if t == "boolean":
        return False
    if t == "array":
        items = node.get("items")
        return [sample(items, key, endpoint, ids, full=True, tag=tag)] if isinstance(items, Mapping) and items else []
    if t == "object":
        needed = set(node.get("required") or ())
        return {k: sample(sub, k, endpoint, ids, full=full, tag=tag)
                for k, sub in (node.get("properties") or {}).items() if full or k in needed}  # fmt: skip
    return None


def baseline(name: str, ids: Mapping[str, str], tag: str = "") -> dict[str, Any]:
    """An otherwise-valid request of ``name`` (for a batch endpoint: one item): its required fields."""
    target = batch_target(name) or name
    schema = declared_request(target)
    needed = [*(schema.get("required") or ()), *_CODE_REQUIRED.get(target, ())]
    return {k: sample(schema["properties"][k], k, target, ids, tag=tag) for k in needed}


def put(
    body: Any, schema: Mapping[str, Any], path: Path, value: Any, endpoint: str, ids: Mapping[str, str], tag: str = ""
) -> None:
    """Set ``value`` at ``path`` in ``body``, building valid containers (records) on the way."""
    head, rest = path[0], path[1:]
    slot: str | int
    if head == ANY_KEY:
        sub, slot = schema["additionalProperties"], KEY
    elif head == ITEM:
        sub, slot = schema["items"], 0
    else:
        sub, slot = schema["properties"][head], head
    if isinstance(body, list) and not body:
        body.append(None)
    if not rest:
        body[slot] = value
        return
    current = body[slot] if isinstance(body, list) or slot in body else None
    if current is None:
        if rest[0] in (ANY_KEY, ITEM):
            current = [] if rest[0] == ITEM else {}
        else:
            current = sample(sub, head, endpoint, ids, full=head in (ANY_KEY, ITEM), tag=tag)
        body[slot] = current
    put(current, sub, rest, value, endpoint, ids, tag)


def request(field: Field, value: Any, ids: Mapping[str, str], tag: str = "") -> Any:
    """The otherwise-valid request of ``field.endpoint`` with ``value`` at ``field.path``."""
    target = batch_target(field.endpoint) or field.endpoint
    body = baseline(field.endpoint, ids, tag)
    put(body, declared_request(target), field.path, value, target, ids, tag)
    return [body] if target != field.endpoint else body


# -- values ------------------------------------------------------------------------------------------------
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(_CHARS, max_size=12)
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "number": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    "string": TEXT,
}
_LEAF = st.one_of(*SCALARS.values())
VALUES: dict[str, st.SearchStrategy[Any]] = {
    **SCALARS,
    "array": st.lists(_LEAF, max_size=3),
    "object": st.dictionaries(TEXT, _LEAF, max_size=3),
}


def kinds_of(value: Any) -> set[str]:
    """The JSON types ``value`` satisfies (an integral float is an integer too, as JSON Schema says)."""
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number", "integer"} if value.is_integer() else {"number"}
    if isinstance(value, str):
        return {"string"}
    return {"array"} if isinstance(value, list) else {"object"}


def refusal(node: Mapping[str, Any], path: str, value: Any) -> str | None:
    """The field a schema-checked refusal of ``value`` at ``path`` names; None: the value is valid there.

    A scalar sent for an array is a one-element array (documented), so its item is what is refused.
    """
    types = types_of(node)
    items = node.get("items") if isinstance(node.get("items"), Mapping) else None
    if not types or kinds_of(value) & set(types):
        if node.get("enum") and value is not None and value not in node["enum"]:
            return path
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in node and value < node["minimum"]:
                return path
            if "maximum" in node and value > node["maximum"]:
                return path
        if isinstance(value, list) and items is not None:
            for i, item in enumerate(value):
                found = refusal(items, f"{path}.{i}", item)
                if found is not None:
                    return found
        return None
    if "array" in types and not isinstance(value, (list, dict)):
        return refusal(items, f"{path}.0", value) if items is not None else None
    return path


def wrong_values(node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Non-null values of a JSON type ``node`` does not declare: other types, arrays holding a wrong item,
    text outside an ``enum``, integers below a ``minimum``.  (Nulls are looked at separately.)"""
    types = set(types_of(node))
    options = [VALUES[k] for k in KINDS[1:] if k not in types and not (k == "integer" and "number" in types)]
    items = node.get("items")
    if "array" in types and isinstance(items, Mapping) and types_of(items):
        options.append(st.lists(wrong_values(items), min_size=1, max_size=3))
    if node.get("enum"):
        options.append(TEXT.filter(lambda s: s not in node["enum"]))
    if "minimum" in node:
        options.append(st.integers(min_value=-(2**63), max_value=int(node["minimum"]) - 1))
    return st.one_of(*options).filter(lambda v: refusal(node, "x", v) is not None)


_REPRESENTATIVE = {"boolean": True, "integer": 7, "number": 1.5, "string": "wrong", "object": {"x": 1}}


def representatives(node: Mapping[str, Any]) -> list[Any]:
    """One fixed wrong value of each wrong kind for ``node`` (the deterministic sweep)."""
    types = set(types_of(node))
    out = [v for k, v in _REPRESENTATIVE.items() if k not in types and not (k == "integer" and "number" in types)]
    if "array" not in types:
        out.append([])
    items = node.get("items")
    if "array" in types and isinstance(items, Mapping) and types_of(items):
        out.extend([item] for item in representatives(items))
    if node.get("enum"):
        out.append("not-in-enum")
    if "minimum" in node:
        out.append(int(node["minimum"]) - 1)
    return [v for v in out if refusal(node, "x", v) is not None]
