"""The typed facade: ``store.tasks.create(name=..., type=...)`` -> a pydantic model.

The same call as ``store.call("tasks.create", {...})``; the response is validated into a pydantic
model generated from the endpoint's response schema (one source of truth, the HOCON), so
``store.tasks.get_by_id(task=tid).task.status`` reads naturally.  Fields the schema does not list
are kept (``extra="allow"``) and every field is optional, so a model never drops data.
pydantic is imported on first use of the facade, not with the store.
"""

from __future__ import annotations

import keyword
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from taskstore.api.dispatch import resolve
from taskstore.api.schema import parse_version

if TYPE_CHECKING:
    from taskstore.api.models import ApiModel
    from taskstore.store import TaskStore


_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}
_lock = threading.Lock()
_cache: dict[tuple[str, str], type[ApiModel]] = {}


def _camel(text: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^0-9a-zA-Z]+", text) if p) or "Anon"


def _annotation(node: Mapping[str, Any], name: str) -> Any:
    types = node.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    real = [t for t in types if t != "null"]
    if len(real) != 1:
        return Any
    kind = real[0]
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        items = node.get("items")
        return list[_annotation(items, name + "Item")] if isinstance(items, Mapping) else list[Any]  # type: ignore[misc,valid-type]
    if kind == "object":
        props = node.get("properties")
        if props:
            return _model(props, name)
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            return dict[str, _annotation(extra, name + "Value")]  # type: ignore[misc,valid-type]
        return dict[str, Any]
    return Any


def _model(props: Mapping[str, Any], name: str) -> type[ApiModel]:
    from pydantic import Field, create_model

    from taskstore.api.models import ApiModel

    fields: dict[str, Any] = {}
    for key, sub in props.items():
        attr = key if key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_") else None
        ann = Optional[_annotation(sub, name + _camel(key))]  # type: ignore[valid-type]  # noqa: UP045
        if attr is None:
            attr = re.sub(r"\W", "_", key).strip("_") + "_"
            fields[attr] = (ann, Field(default=None, alias=key))
        else:
            fields[attr] = (ann, None)
    return create_model(name, __base__=ApiModel, **fields)


def response_model(endpoint: str, version: str | None) -> type[ApiModel]:
    """The generated response model of ``endpoint`` at ``version`` (cached)."""
    _, spec, _ = resolve(endpoint, parse_version(version))
    key = (endpoint, f"{spec.version[0]}.{spec.version[1]}")
    with _lock:
        model = _cache.get(key)
        if model is None:
            props = spec.response.get("properties") or {}
            model = _cache[key] = _model(props, _camel(endpoint) + "Response")
    return model


class Service:
    """``store.<service>``: attribute access gives a callable per endpoint."""

    def __init__(self, store: TaskStore, name: str, version: str | None = None) -> None:
        self._store = store
        self._name = name
        self._version = version

    def __getattr__(self, action: str) -> Callable[..., ApiModel]:
        if action.startswith("_"):
            raise AttributeError(action)
        endpoint = f"{self._name}.{action}"

        def call(**fields: Any) -> ApiModel:
            result = self._store.call(endpoint, fields, version=self._version)
            return response_model(endpoint, self._version).model_validate(result)

        call.__name__ = action
        call.__qualname__ = endpoint
        return call

    def __repr__(self) -> str:
        return f"<taskstore service {self._name}>"
