"""The API schema: HOCON files in ``schema/`` parsed once, cached, and resolved by version.

Parsing the HOCON with pyhocon takes most of a second, so the resolved form (plain JSON, every
``$ref`` inlined) is kept in memory for the process and on disk under the user's cache folder, keyed
by a hash of the ``.conf`` files: only the first process after a schema change pays for pyhocon.
Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskstore._resources import schema_dir
from taskstore.errors import APIError

Version = tuple[int, int]
_CACHE_FORMAT = 1


def parse_version(value: str | float | None) -> Version | None:
    """ "2.13" -> (2, 13); None stays None.  A malformed version is a 400/12 naming it."""
    if value is None:
        return None
    try:
        major, _, minor = str(value).partition(".")
        return int(major), int(minor or 0)
    except ValueError:
        raise APIError(400, 12, f"Validation error (invalid API version: {value!r})") from None


def format_version(v: Version) -> str:
    return f"{v[0]}.{v[1]}"


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint at one schema version: its request and response JSON schemas."""

    name: str
    version: Version
    request: dict[str, Any]
    response: dict[str, Any]
    description: str = ""
    # For bodies made of many requests (tasks.update_batch): {"action": ..., "version": ...}.
    batch: dict[str, Any] | None = None


@dataclass
class Endpoint:
    """Every schema version of one endpoint, oldest first."""

    name: str
    versions: list[EndpointSpec] = field(default_factory=list)

    @property
    def first(self) -> Version:
        return self.versions[0].version

    def at(self, version: Version | None) -> EndpointSpec | None:
        """The newest definition not newer than ``version`` (None: the newest)."""
        if version is None:
            return self.versions[-1]
        found = None
        for spec in self.versions:
            if spec.version <= version:
                found = spec
        return found


@dataclass
class Schema:
    endpoints: dict[str, Endpoint]
    max_version: Version

    def endpoint(self, name: str) -> Endpoint | None:
        return self.endpoints.get(name)


def _conf_files() -> list[Path]:
    return sorted(p for p in schema_dir().glob("*.conf"))


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256(str(_CACHE_FORMAT).encode())
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:20]


def _cache_path(digest: str) -> Path:
    base = os.environ.get("TASKSTORE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "taskstore"
    )
    return Path(base) / f"schema-{digest}.json"


def _inline_refs(node: Any, definitions: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                raise ValueError(f"recursive $ref {name}")
            target = dict(_inline_refs(definitions[name], definitions, (*seen, name)))
            rest = {k: _inline_refs(v, definitions, seen) for k, v in node.items() if k != "$ref"}
            target.update({k: v for k, v in rest.items() if k != "description" or "description" not in target})
            return target
        return {k: _inline_refs(v, definitions, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, definitions, seen) for v in node]
    return node


def _parse(files: list[Path]) -> dict[str, Any]:
    """Parse every service file with pyhocon into {service: {action: {version: {...}}}}."""
    from pyhocon import ConfigFactory

    services: dict[str, Any] = {}
    for path in files:
        if path.name.startswith("_"):
            continue  # included by the service files
        conf = ConfigFactory.parse_file(str(path)).as_plain_ordered_dict()
        definitions = conf.get("_definitions", {})
        actions: dict[str, Any] = {}
        for action, versions in conf.items():
            if action.startswith("_") or not isinstance(versions, dict):
                continue
            resolved: dict[str, Any] = {}
            for ver, body in versions.items():
                if ver.startswith("_") or not isinstance(body, dict):
                    continue
                resolved[ver] = {
                    "description": body.get("description", ""),
                    "request": _inline_refs(body.get("request", {}), definitions),
                    "response": _inline_refs(body.get("response", {}), definitions),
                    "batch": body.get("batch_request"),
                }
            actions[action] = resolved
        services[path.stem] = actions
    plain: dict[str, Any] = json.loads(json.dumps(services))  # plain dicts and lists only
    return plain


def _load_raw() -> dict[str, Any]:
    files = _conf_files()
    digest = _digest(files)
    cache = _cache_path(digest)
    try:
        loaded: dict[str, Any] = json.loads(cache.read_text("utf-8"))
        return loaded
    except (OSError, ValueError):
        pass
    raw = _parse(files)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(raw, f)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only home only costs the next process a re-parse
    return raw


def _build(raw: dict[str, Any]) -> Schema:
    endpoints: dict[str, Endpoint] = {}
    newest: Version = (2, 0)
    for service, actions in raw.items():
        for action, versions in actions.items():
            name = f"{service}.{action}"
            ep = Endpoint(name)
            for ver, body in versions.items():
                v = parse_version(ver)
                assert v is not None
                ep.versions.append(
                    EndpointSpec(name, v, body["request"], body["response"], body["description"], body.get("batch"))
                )
                newest = max(newest, v)
            ep.versions.sort(key=lambda s: s.version)
            endpoints[name] = ep
    return Schema(endpoints, newest)


_lock = threading.Lock()
_schema: Schema | None = None


def get_schema() -> Schema:
    """The process-wide schema (parsed or read from the disk cache on first use)."""
    global _schema
    if _schema is None:
        with _lock:
            if _schema is None:
                _schema = _build(_load_raw())
    return _schema
