"""Request validation straight from the HOCON request schema (the one source of request shapes).

What is checked: required fields, JSON types, ``enum``, ``minimum``/``maximum``, array items, nested
object properties and ``additionalProperties``.  What is filled: top-level ``default`` values.
Lenient where the reference is lenient: unknown keys pass through untouched (the SDK sends
``"method": "get"`` in every body; ``strict=True`` rejects them), a ``null`` for an optional
top-level field counts as absent, and a scalar sent for an array field is wrapped into a
one-element list.  Every failure is APIError 400/12 whose message names the field by its dotted path.

Each schema node is compiled once into a checking function (cached by node), so a call pays only
for the checks, not for reading the schema.  The result never shares containers with the input.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from taskstore.errors import error

Check = Callable[[Any, str, Collection[str]], Any]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
    "null": (type(None),),
}
_EXACT: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
_compiled: dict[int, tuple[Mapping[str, Any], Check]] = {}


def fail(path: str, problem: str) -> Exception:
    return error("validation_error", f"{path}: {problem}", field=path)


def types_of(node: Mapping[str, Any]) -> list[str]:
    """The JSON types a node declares; HOCON parses ``type: [string, null]`` with a real null, which is "null"."""
    t = node.get("type")
    if t is None:
        return []
    return [t] if isinstance(t, str) else ["null" if x is None else str(x) for x in t]


def copy_json(value: Any) -> Any:
    """A deep copy of plain JSON data (much cheaper than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [copy_json(v) for v in value]
    return value


def _matches(value: Any, type_name: str) -> bool:
    if isinstance(value, bool):
        return type_name == "boolean"
    if type_name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PY_TYPES.get(type_name, (object,)))


def compile_node(node: Mapping[str, Any]) -> Check:
    """The checking function of one schema node (compiled once per node)."""
    hit = _compiled.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    check = _compile(node)
    _compiled[id(node)] = (node, check)
    return check


def _compile(node: Mapping[str, Any]) -> Check:
    types = types_of(node)
    enum = node.get("enum")
    minimum, maximum = node.get("minimum"), node.get("maximum")
    items = node.get("items")
    item_check = compile_node(items) if isinstance(items, Mapping) and items else None
    has_object = "properties" in node or "additionalProperties" in node
    object_check = _compile_object(node) if has_object else None
    wants_int = "integer" in types
    # Exact scalar types that need no further check (type(True) is bool, so no bool-as-int slips in).
    fast: frozenset[type] = frozenset()
    if enum is None and minimum is None and maximum is None:
        fast = frozenset(t for name in types for t in _EXACT.get(name, ()))

    def check(value: Any, path: str, loose: Collection[str]) -> Any:
        if type(value) in fast and not (loose and path in loose):
            return value
        if loose and path in loose:
            return copy_json(value)
        if types and not any(_matches(value, t) for t in types):
            if "array" in types and not isinstance(value, (list, tuple, dict)):
                value = [value]  # the reference accepts a scalar where a list is expected
            else:
                raise fail(path, f"expected {' or '.join(types)}, got {type(value).__name__}")
        if enum is not None and value is not None and value not in enum:
            raise fail(path, f"{value!r} is not one of {', '.join(map(str, enum))}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if wants_int and isinstance(value, float):
                value = int(value)
            if minimum is not None and value < minimum:
                raise fail(path, f"must be at least {minimum}")
            if maximum is not None and value > maximum:
                raise fail(path, f"must be at most {maximum}")
            return value
        if isinstance(value, (list, tuple)):
            if item_check is not None:
                return [item_check(v, f"{path}.{i}", loose) for i, v in enumerate(value)]
            return copy_json(value)
        if isinstance(value, dict):
            return object_check(value, path, loose) if object_check is not None else copy_json(value)
        return value

    return check


def _compile_object(node: Mapping[str, Any], *, top: bool = False) -> Callable[..., dict[str, Any]]:
    props: Mapping[str, Any] = node.get("properties") or {}
    checks = {k: (compile_node(v), "null" in types_of(v)) for k, v in props.items()}
    extra = node.get("additionalProperties", True)
    extra_check = compile_node(extra) if isinstance(extra, Mapping) and extra else None
    extra_nullable = isinstance(extra, Mapping) and "null" in types_of(extra)
    # At the top level unknown keys are the caller's business (ignored; ``strict`` rejects them):
    # the SDK sends "method" in every body, even to endpoints whose schema closes the request.
    closed = extra is False and not top
    required = tuple(node.get("required") or ())

    def check_object(value: dict[str, Any], path: str, loose: Collection[str]) -> dict[str, Any]:
        prefix = f"{path}." if path else ""
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise fail(f"{prefix}{key!r}", "keys must be strings")
            where = prefix + key
            found = checks.get(key)
            if found is not None:
                sub, nullable = found
            elif extra_check is not None:
                sub, nullable = extra_check, extra_nullable
            elif closed:
                raise fail(where, "unknown field")
            else:
                out[key] = copy_json(item)
                continue
            if item is None and not nullable:
                if not path:
                    continue  # a top-level null is the same as leaving the field out (as the reference does)
                out[key] = None
                continue
            out[key] = sub(item, where, loose)
        for key in required:
            if out.get(key) is None:
                raise fail(prefix + key, "field is required")
        return out

    return check_object


_top: dict[int, tuple[Mapping[str, Any], Callable[..., dict[str, Any]]]] = {}


def validate_request(
    data: Any,
    schema: Mapping[str, Any],
    *,
    strict: bool = False,
    loose: Collection[str] = (),
    known: Collection[str] = (),
) -> dict[str, Any]:
    """Validate a request body against an endpoint's request schema; return it with defaults filled.

    ``known`` are keys documented at other versions of the endpoint: accepted even when ``strict``.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise fail("body", f"expected an object, got {type(data).__name__}")
    props: Mapping[str, Any] = schema.get("properties") or {}
    if strict:
        unknown = [k for k in data if k not in props and k not in known]
        if unknown:
            raise fail(unknown[0], "unknown field")
    hit = _top.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, _compile_object(schema, top=True))
        _top[id(schema)] = hit
    out = hit[1](data, "", loose)
    for key, sub in props.items():
        if key not in out and "default" in sub:
            out[key] = copy_json(sub["default"])
    return out
