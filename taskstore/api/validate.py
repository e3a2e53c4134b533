"""Request validation straight from the HOCON request schema (the one source of request shapes).

What is checked: required fields, JSON types, ``enum``, ``minimum``/``maximum``, array items, nested
object properties and ``additionalProperties``.  What is filled: top-level ``default`` values.
Lenient where the reference is lenient: unknown keys pass through untouched (the SDK sends
``"method": "get"`` in every body; ``strict=True`` rejects them), a ``null`` for an optional field
counts as absent, and a scalar sent for an array field is wrapped into a one-element list.
Every failure is APIError 400/12 whose message names the field by its dotted path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from taskstore.errors import error

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
}


def fail(path: str, problem: str) -> Exception:
    return error("validation_error", f"{path}: {problem}", field=path)


def _types(node: Mapping[str, Any]) -> list[str]:
    t = node.get("type")
    if t is None:
        return []
    return [t] if isinstance(t, str) else list(t)


def _matches(value: Any, type_name: str) -> bool:
    if type_name == "null":
        return value is None
    if isinstance(value, bool) and type_name in ("integer", "number"):
        return False
    if type_name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PY_TYPES.get(type_name, (object,)))


def _check(value: Any, node: Mapping[str, Any], path: str, loose: Collection[str]) -> Any:
    if path in loose:
        return value
    types = _types(node)
    if types and not any(_matches(value, t) for t in types):
        if "array" in types and not isinstance(value, (list, tuple, dict)):
            value = [value]  # the reference accepts a scalar where a list is expected
        else:
            raise fail(path, f"expected {' or '.join(types)}, got {type(value).__name__}")
    enum = node.get("enum")
    if enum is not None and value is not None and value not in enum:
        raise fail(path, f"{value!r} is not one of {', '.join(map(str, enum))}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "integer" in types and isinstance(value, float):
            value = int(value)
        if "minimum" in node and value < node["minimum"]:
            raise fail(path, f"must be at least {node['minimum']}")
        if "maximum" in node and value > node["maximum"]:
            raise fail(path, f"must be at most {node['maximum']}")
    if isinstance(value, (list, tuple)):
        items = node.get("items")
        if isinstance(items, Mapping) and items:
            return [_check(v, items, f"{path}.{i}", loose) for i, v in enumerate(value)]
        return list(value)
    if isinstance(value, dict) and ("properties" in node or "additionalProperties" in node):
        return _check_object(value, node, path, loose, strict=False)
    return value


def _check_object(
    value: dict[str, Any], node: Mapping[str, Any], path: str, loose: Collection[str], *, strict: bool
) -> dict[str, Any]:
    props: Mapping[str, Any] = node.get("properties") or {}
    extra = node.get("additionalProperties", True)
    prefix = f"{path}." if path else ""
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = props.get(key)
        where = prefix + key
        if sub is None:
            if isinstance(extra, Mapping):
                sub = extra
            elif extra is False or strict:
                raise fail(where, "unknown field")
            else:
                out[key] = item
                continue
        if item is None and "null" not in _types(sub):
            if not path:
                continue  # a top-level null is the same as leaving the field out (as the reference does)
            out[key] = None
            continue
        out[key] = _check(item, sub, where, loose)
    for key in node.get("required") or ():
        if out.get(key) is None:
            raise fail(prefix + key, "field is required")
    return out


def validate_request(
    data: Any, schema: Mapping[str, Any], *, strict: bool = False, loose: Collection[str] = (),
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
    out = _check_object(data, schema, "", loose, strict=False)
    for key, sub in props.items():
        if key not in out and "default" in sub:
            out[key] = sub["default"]
    return out
