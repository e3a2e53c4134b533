"""Field paths of the query language: parsing, key unescaping, and the whitelist they resolve against.

A path written by a client (``"hyperparams.sec%2Etion.lr.value"``, ``"-last_metrics.<m>.<v>.value"``,
``"execution.queue"``) is rewritten as the reference does (query_edit §1.2 steps 2-3), split on dots,
unescaped where the stored keys are user-named (§0.6: the store keeps raw keys) and resolved against
the task's fields.  What comes out is a ``FieldRef``: which column, and which keys inside its JSON
document.  A top-level name that is not a task field, or a nested name a declared sub-document does
not have, is 400/14; nothing a client writes ever becomes SQL text (column objects come from this
whitelist, JSON keys are bound as parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from taskstore.errors import APIError, error


class Kind(Enum):
    STRING = "string"
    INT = "int"
    DATETIME = "datetime"
    TAGS = "tags"  # a list of strings kept in task_tags too
    DOC = "doc"  # a JSON document (or a value inside one)


class _Any:
    """A sub-document whose keys are the user's (any path below is valid)."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Any()
LEAF: Final = None  # a declared value with no declared sub-fields
Tree = Mapping[str, Any]  # name -> Tree | ANY

_MODEL_ITEM: Tree = {"name": LEAF, "model": LEAF, "updated": LEAF}
EXECUTION: Tree = {
    "queue": LEAF, "parameters": ANY, "model": LEAF, "model_desc": ANY, "model_labels": ANY, "framework": LEAF,
    "docker_cmd": LEAF, "artifacts": ANY, "test_split": LEAF,
}  # fmt: skip
SCRIPT: Tree = {
    "binary": LEAF, "repository": LEAF, "tag": LEAF, "branch": LEAF, "version_num": LEAF, "entry_point": LEAF,
    "working_dir": LEAF, "requirements": ANY, "diff": LEAF,
}  # fmt: skip
OUTPUT: Tree = {"destination": LEAF, "model": LEAF, "result": LEAF, "error": LEAF}
MODELS: Tree = {"input": _MODEL_ITEM, "output": _MODEL_ITEM}


@dataclass(frozen=True)
class TopField:
    name: str
    kind: Kind
    column: str  # the TaskRecord column holding it
    prefix: tuple[str, ...] = ()  # keys inside ``column`` (fields kept in the ``extra`` document)
    tree: Tree | _Any | None = LEAF  # declared sub-fields of a document

    @property
    def system(self) -> bool:
        return self.name == "system_tags"


def _fields() -> dict[str, TopField]:
    out: dict[str, TopField] = {}
    for name in ("id", "name", "user", "company", "type", "status", "project", "parent", "comment", "status_reason",
                 "status_message"):  # fmt: skip
        out[name] = TopField(name, Kind.STRING, name)
    for name in ("created", "started", "completed", "published", "status_changed", "last_update", "last_change"):
        out[name] = TopField(name, Kind.DATETIME, name)
    for name in ("last_iteration", "active_duration"):
        out[name] = TopField(name, Kind.INT, name)
    for name in ("tags", "system_tags"):
        out[name] = TopField(name, Kind.TAGS, name)
    for name, tree in (("execution", EXECUTION), ("script", SCRIPT), ("output", OUTPUT), ("models", MODELS)):
        out[name] = TopField(name, Kind.DOC, name, tree=tree)
    for name in ("hyperparams", "configuration", "container", "runtime", "last_metrics"):
        out[name] = TopField(name, Kind.DOC, name, tree=ANY)
    # Kept in the ``extra`` document of the row.
    out["metric_stats"] = TopField("metric_stats", Kind.DOC, "extra", prefix=("metric_stats",), tree=ANY)
    for name in ("last_worker", "last_worker_report", "company_origin", "enqueue_status", "duration"):
        out[name] = TopField(name, Kind.DOC, "extra", prefix=(name,))
    return out


FIELDS: Final = _fields()
# References to other entities (expanded to {"id": ...} by the _ex endpoints): path -> entity kind.
REFERENCES: Final = {
    ("company",): "company",
    ("user",): "user",
    ("parent",): "task",
    ("project",): "project",
    ("execution", "queue"): "queue",
    ("models", "input", "model"): "model",
    ("models", "output", "model"): "model",
}
# Sub-documents whose keys are user-named and escaped by the reference (§0.6).
ESCAPED_MAPS: Final = (("hyperparams",), ("configuration",), ("container",), ("execution", "model_labels"))
_REWRITES: Final = (
    ("execution.parameters", "hyperparams.Args"),
    ("execution.model_desc", "configuration"),
    ("execution.docker_cmd", "container"),
)


@dataclass(frozen=True)
class FieldRef:
    """A resolved path: ``field`` (a top-level field) and ``keys`` below it."""

    field: TopField
    keys: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return (self.field.name, *self.keys)

    @property
    def json_keys(self) -> tuple[str, ...]:
        """Keys inside the JSON column (the ``extra`` prefix included)."""
        return (*self.field.prefix, *self.keys)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def invalid(name: str) -> APIError:
    return error("invalid_fields", fields=[name])


# --------------------------------------------------------------------------------------------------
# Escaping (§0.6)
# --------------------------------------------------------------------------------------------------
def escape(key: str) -> str:
    key = key.strip().replace("%", "%%").replace(".", "%2E").replace("$", "%24").replace("__", "%_%_")
    return "%_" + key[1:] if key.startswith("_") else key


def unescape(key: str) -> str:
    pieces = [p.replace("%2E", ".").replace("%24", "$").replace("%_%_", "__") for p in key.split("%%")]
    out = "%".join(pieces)
    return "_" + out[2:] if out.startswith("%_") else out


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------
def rewrite(key: str) -> str:
    """§1.2 step 2: the legacy names of hyperparams, configuration and container."""
    for old, new in _REWRITES:
        if old in key:
            key = key.replace(old, new)
    return key


def split(path: str, *, raw: bool = False) -> tuple[str, ...]:
    """Split a (sign-free) path on dots; keys of user-named maps are unescaped.

    ``hyperparams.`` and ``configuration.`` paths must have 2-4 parts (400/12, §1.2 step 3).
    An empty part is not a field (400/14).
    """
    parts = tuple(path.split("."))
    if not raw and parts[0] in ("hyperparams", "configuration") and len(parts) > 1 and not 2 <= len(parts) <= 4:
        raise error("validation_error", "invalid task field", path=path, field=path)
    if any(not p for p in parts):
        raise invalid(path)
    for prefix in ESCAPED_MAPS:
        n = len(prefix)
        if parts[:n] == prefix and len(parts) > n:
            return (*parts[:n], *(unescape(p) for p in parts[n:]))
    return parts


def resolve(parts: tuple[str, ...], *, name: str | None = None) -> FieldRef:
    """The field ``parts`` names, or 400/14 (unknown top-level name, or unknown declared sub-field)."""
    shown = name if name is not None else ".".join(parts)
    top = FIELDS.get(parts[0])
    if top is None:
        raise invalid(shown)
    rest = parts[1:]
    if rest:
        if top.kind is not Kind.DOC:
            raise invalid(shown)
        node: Tree | _Any | None = top.tree
        for part in rest:
            if node is ANY:
                break
            if not isinstance(node, Mapping) or part not in node:
                raise invalid(shown)
            node = node[part]
    return FieldRef(top, rest)


def field_path(raw: str, *, order: bool = False) -> FieldRef:
    """Parse and resolve one client path (no sign)."""
    text = raw.strip()
    if order:
        text = text.replace("__", ".")
    if not text:
        raise invalid(raw)
    return resolve(split(text), name=raw)


def lax_resolve(raw: str) -> FieldRef | None:
    """``_any_``/``_all_`` raw mode: the field if the path names one, None otherwise (never an error)."""
    parts = tuple(raw.split("."))
    if not raw or any(not p for p in parts):
        return None
    try:
        return resolve(split(raw, raw=True))
    except APIError:
        return None
