"""The call pipeline, the only place that opens transactions and maps exceptions.

``call()`` resolves the endpoint at the requested version, validates the request against the
schema, runs the handler inside one transaction (retrying the whole call on lock contention or
deadlock), and turns every failure into an APIError.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from taskstore.api.registry import Handler, handlers
from taskstore.api.schema import EndpointSpec, Version, get_schema, parse_version
from taskstore.api.validate import validate_request
from taskstore.api.values import check_values
from taskstore.db.engine import Database
from taskstore.db.errors import is_transient, translate
from taskstore.db.types import NotJSONError
from taskstore.errors import APIError
from taskstore.ops.context import OpContext

_ATTEMPTS = 4


def not_found(name: str, version: Version | None) -> APIError:
    at = f" (version {version[0]}.{version[1]})" if version else ""
    return APIError(404, 0, f"endpoint not found: {name}{at}", {"endpoint": name})


def resolve(name: str, version: Version | None) -> tuple[Handler, EndpointSpec, frozenset[str]]:
    """The handler and the schema definition serving ``name`` at ``version``.

    The request schema served is the requested version's, completed with the fields that only other
    versions (or the handler's ``extra``) define: the reference accepts them at every version
    (spec: query_edit §0.2, §2.1), so they are validated rather than passed through unchecked.
    ``known`` is every top-level request key (what ``strict`` does not reject).
    """
    key = (name, version)
    hit = _RESOLVED.get(key)
    if hit is None:
        if len(_RESOLVED) >= 4096:  # bounded: callers may send any version string
            _RESOLVED.clear()
        hit = _RESOLVED[key] = _resolve(name, version)
    return hit


_RESOLVED: dict[tuple[str, Version | None], tuple[Handler, EndpointSpec, frozenset[str]]] = {}


def _resolve(name: str, version: Version | None) -> tuple[Handler, EndpointSpec, frozenset[str]]:
    ep = get_schema().endpoint(name)
    handler = handlers().get(name)
    if ep is None or handler is None:
        raise not_found(name, version)
    if version is not None and handler.min_version is not None and version < handler.min_version:
        raise not_found(name, version)
    # Below the schema's first definition the reference still serves ungated endpoints.
    spec = ep.at(version) or ep.versions[0]
    props: dict[str, Any] = dict(spec.request.get("properties") or {})
    for other in reversed(ep.versions):
        for key, node in (other.request.get("properties") or {}).items():
            props.setdefault(key, node)
    for key, node in handler.extra.items():
        props.setdefault(key, dict(node))
    request: dict[str, Any] = {**spec.request, "properties": props} if props else dict(spec.request)
    for path in handler.loose:
        request = _relax(request, path.split("."))
    return handler, replace(spec, request=request), KnownKeys(props, handler.key_prefixes)


class KnownKeys(frozenset[str]):
    """Request keys an endpoint knows: listed ones, and any key starting with one of ``prefixes``."""

    prefixes: tuple[str, ...]

    def __new__(cls, keys: Any, prefixes: tuple[str, ...] = ()) -> KnownKeys:
        self = super().__new__(cls, keys)
        self.prefixes = prefixes
        return self

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or (isinstance(key, str) and key.startswith(self.prefixes))


_UNCHECKED = ("type", "enum", "required", "properties", "additionalProperties", "items", "minimum", "maximum")


def _relax(node: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """A copy of ``node`` whose sub-node at ``path`` accepts any value (``*``: any key or list item)."""
    if not path:
        return {k: v for k, v in node.items() if k not in _UNCHECKED}
    head, rest = path[0], path[1:]
    out = dict(node)
    if head == "*":
        for slot in ("additionalProperties", "items"):
            if isinstance(node.get(slot), dict):
                out[slot] = _relax(node[slot], rest)
    elif isinstance(node.get("properties"), dict) and head in node["properties"]:
        out["properties"] = {**node["properties"], head: _relax(node["properties"][head], rest)}
    return out


class Dispatcher:
    def __init__(self, db: Database, *, company: str, user: str, strict: bool) -> None:
        self.db = db
        self.company = company
        self.user = user
        self.strict = strict

    def call(
        self,
        name: str,
        data: Mapping[str, Any] | list[Any] | str | None = None,
        *,
        version: str | None = None,
        company: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        v = parse_version(version)
        handler, spec, known = resolve(name, v)
        try:
            if spec.batch is not None:
                request = self._batch_request(name, spec, data)
            else:
                check_values(data, write=handler.write)  # the value policy (taskstore.api.values), first
                request = validate_request(data, spec.request, strict=self.strict, loose=handler.loose, known=known)
        except APIError:
            raise
        except RecursionError as exc:
            raise APIError(400, 12, "validation error (body: too deeply nested)", {"field": "body"}) from exc
        except Exception as exc:  # nothing raw reaches a caller, whatever Python object was sent
            raise APIError(400, 12, f"validation error (body: not JSON data: {exc})", {"field": "body"}) from exc
        # No version: the newest API version (not the endpoint's newest definition, which may be old).
        effective = v if v is not None else get_schema().max_version
        for attempt in range(_ATTEMPTS):
            try:
                return self._run(handler, request, effective, company, user)
            except APIError:
                raise
            except SQLAlchemyError as exc:
                if is_transient(exc) and attempt + 1 < _ATTEMPTS:
                    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
                    continue
                raise translate(exc) from exc
            except (RecursionError, MemoryError) as exc:
                raise APIError(400, 12, f"validation error (request too large or too deeply nested: {exc})") from exc
            except NotJSONError as exc:  # raised by psycopg's JSONB adaptation (SQLite's comes wrapped)
                raise APIError(400, 12, f"validation error (a value is not JSON data: {exc})") from exc
            except Exception as exc:
                raise APIError(500, 1, f"internal server error ({type(exc).__name__}: {exc})") from exc
        raise AssertionError("unreachable")

    def _batch_request(self, name: str, spec: EndpointSpec, data: Any) -> dict[str, Any]:
        """A body of many requests (a list, JSON-lines text or one object) -> {"items": [...]}."""
        service = name.split(".", 1)[0]
        assert spec.batch is not None
        target = f"{service}.{spec.batch['action']}"
        handler, item_spec, known = resolve(target, parse_version(spec.batch.get("version")))
        items = parse_items(data)
        out = []
        for i, item in enumerate(items):
            try:
                check_values(item, write=handler.write)
                out.append(
                    validate_request(item, item_spec.request, strict=self.strict, loose=handler.loose, known=known)
                )
            except APIError as exc:
                raise APIError(exc.code, exc.subcode, f"{exc.message} (item {i})", {**exc.data, "item": i}) from None
        return {"items": out}

    def _run(
        self, handler: Handler, request: dict[str, Any], version: Version, company: str | None, user: str | None
    ) -> dict[str, Any]:
        with self.db.transaction(write=handler.writes(request)) as conn:
            ctx = OpContext(
                conn=conn,
                company=self.company if company is None else company,
                user=self.user if user is None else user,
                version=version,
                dialect=self.db.dialect,
            )
            try:
                result = handler.func(ctx, request)
                ctx.finish()
                return result
            finally:
                ctx.discard()


def parse_items(data: Any) -> list[Any]:
    """The items of a batch body: a list, JSON-lines text, one object, or nothing."""
    if data is None:
        return []
    if isinstance(data, dict):
        return [data]
    if isinstance(data, (list, tuple)):
        return list(data)
    if isinstance(data, (str, bytes)):
        text = data.decode() if isinstance(data, bytes) else data
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    raise APIError(400, 12, f"validation error (line {n} is not JSON: {exc})", {"line": n}) from None
        return items
    raise APIError(
        400, 12, f"validation error (body: expected a list of objects, got {type(data).__name__})", {"field": "body"}
    )
