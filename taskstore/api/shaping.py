"""Records -> response dicts, in one place: time format, defaults, version-dependent legacy fields.

Every read endpoint and every ``fields`` echo of edit/update goes through here, so the response
conversions of the reference (sorted tags, artifacts as a sorted list, legacy ``execution.parameters``
below 2.9, ``execution.model`` / ``docker_cmd`` below 2.13, merged tags below 2.3) happen once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from taskstore.api.schema import Version
from taskstore.api.validate import copy_json
from taskstore.db.records import ModelRecord, ProjectRecord, QueueRecord, TaskRecord
from taskstore.db.types import render_time

_TASK_TIMES = ("created", "started", "completed", "published", "status_changed", "last_update", "last_change")
_TASK_OPTIONAL = ("comment", "project", "parent", "active_duration", "status_reason", "status_message")
SCRIPT_DEFAULTS = {"binary": "python", "repository": "", "entry_point": "", "requirements": {}}
EXECUTION_DEFAULTS = {"test_split": 0, "parameters": {}, "model_desc": {}, "model_labels": {}}
# Fields list endpoints leave out unless asked for (the reference excludes them by default).
HIDDEN_BY_DEFAULT = ("company_origin", "enqueue_status")


def value(v: Any) -> Any:
    """One value in response form (datetimes rendered)."""
    if isinstance(v, datetime):
        return render_time(v)
    return v


def artifacts_list(stored: dict[str, Any] | list[Any] | None) -> list[Any]:
    items = list(stored.values()) if isinstance(stored, dict) else list(stored or [])
    # By key as the reference does; then by mode, because JSONB does not keep the map's insertion order
    # (which is what orders two artifacts of one key in the reference): the same answer on every backend.
    return sorted(items, key=lambda a: (str(a.get("key", "")), str(a.get("mode", ""))))


def legacy_parameters(hyperparams: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, params in hyperparams.items():
        for name, item in params.items():
            if item.get("type") == "legacy":
                out[f"TF_DEFINE/{name}" if section == "TF_DEFINE" else name] = item.get("value")
    return out


def legacy_model_desc(configuration: dict[str, Any]) -> dict[str, Any]:
    return {n: i.get("value") for n, i in configuration.items() if i.get("type") == "legacy"}


def task_document(task: TaskRecord, version: Version, *, full: bool = True) -> dict[str, Any]:
    """The task as the reference returns it from get_by_id at ``version``."""
    doc: dict[str, Any] = {
        "id": task.id,
        "name": task.name,
        "type": task.type,
        "status": task.status,
        "company": task.company,
        "user": task.user,
        "last_iteration": task.last_iteration or 0,
        "tags": sorted(task.tags or []),
        "system_tags": sorted(task.system_tags or []),
    }
    for key in _TASK_TIMES:
        t = getattr(task, key)
        if t is not None:
            doc[key] = render_time(t)
    for key in _TASK_OPTIONAL:
        v = getattr(task, key)
        if v is not None:
            doc[key] = v
    execution = {**EXECUTION_DEFAULTS, **copy_json(task.execution or {})}
    execution["artifacts"] = artifacts_list(execution.get("artifacts"))
    models = {"input": [], "output": [], **copy_json(task.models or {})}
    doc.update(
        output=copy_json(task.output or {}),
        execution=execution,
        script={**copy_json(SCRIPT_DEFAULTS), **copy_json(task.script or {})},
        hyperparams=copy_json(task.hyperparams or {}),
        configuration=copy_json(task.configuration or {}),
        container=copy_json(task.container or {}),
        runtime=copy_json(task.runtime or {}),
        models=models,
        last_metrics=copy_json(task.last_metrics or {}),
        metric_stats={},
    )
    extra = copy_json(task.extra or {})
    if not full:
        for key in HIDDEN_BY_DEFAULT:
            extra.pop(key, None)
    doc.update(extra)
    return apply_version(doc, version)


def apply_version(doc: dict[str, Any], version: Version) -> dict[str, Any]:
    """Add the legacy views of older API versions to a task document (in place)."""
    if version < (2, 9):
        execution = doc.setdefault("execution", {})
        if "hyperparams" in doc:
            execution["parameters"] = legacy_parameters(doc["hyperparams"])
        if "configuration" in doc:
            execution["model_desc"] = legacy_model_desc(doc["configuration"])
    if version < (2, 13):
        models = doc.get("models") or {}
        if models.get("input"):
            doc.setdefault("execution", {})["model"] = models["input"][0].get("model")
        if models.get("output"):
            doc.setdefault("output", {})["model"] = models["output"][-1].get("model")
        container = doc.get("container") or {}
        if container.get("image"):
            args = container.get("arguments")
            doc.setdefault("execution", {})["docker_cmd"] = container["image"] + (f" {args}" if args else "")
    if version < (2, 3) and "system_tags" in doc:
        doc["tags"] = sorted([*doc.get("tags", []), *doc.get("system_tags", [])])
    return doc


def project_document(p: ProjectRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "basename": p.basename,
        "company": p.company,
        "user": p.user,
        "tags": sorted(p.tags or []),
        "system_tags": sorted(p.system_tags or []),
        "created": render_time(p.created),
        "last_update": render_time(p.last_update),
    }
    for key in ("description", "default_output_destination", "parent"):
        v = getattr(p, key)
        if v is not None:
            doc[key] = v
    doc.update(copy_json(p.extra or {}))
    return doc


def queue_document(q: QueueRecord, entries: Iterable[tuple[str, datetime]]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": q.id,
        "name": q.name,
        "company": q.company,
        "user": q.user,
        "created": render_time(q.created),
        "last_update": render_time(q.last_update),
        "tags": sorted(q.tags or []),
        "system_tags": sorted(q.system_tags or []),
        "entries": [{"task": t, "added": render_time(a)} for t, a in entries],
        "metadata": copy_json(q.meta or {}),
    }
    if q.display_name is not None:
        doc["display_name"] = q.display_name
    return doc


def model_document(m: ModelRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": m.id,
        "name": m.name,
        "company": m.company,
        "user": m.user,
        "ready": bool(m.ready),
        "tags": sorted(m.tags or []),
        "system_tags": sorted(m.system_tags or []),
        "created": render_time(m.created),
        "last_update": render_time(m.last_update),
    }
    for key in ("uri", "task", "project", "parent", "framework", "comment"):
        v = getattr(m, key)
        if v is not None:
            doc[key] = v
    doc.update(copy_json(m.extra or {}))
    return doc


def updated(count: int, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``{"updated": n, "fields": {...}}`` envelope of edit-type endpoints."""
    return {"updated": count, "fields": {k: value(v) for k, v in (fields or {}).items()}}


def edit_fields(fields: dict[str, Any], version: Version) -> dict[str, Any]:
    """The ``fields`` echo of edit/update in response form (artifacts as a sorted list), with the
    legacy views of §1.13 for the fields written (dotted keys, as the echo writes merged fields)."""
    out = dict(fields)
    if "execution.artifacts" in out:
        out["execution.artifacts"] = artifacts_list(out["execution.artifacts"])
    if isinstance(out.get("execution"), dict) and "artifacts" in out["execution"]:
        out["execution"] = {**out["execution"], "artifacts": artifacts_list(out["execution"]["artifacts"])}
    if version < (2, 9):
        if isinstance(out.get("hyperparams"), dict):
            out["execution.parameters"] = legacy_parameters(out["hyperparams"])
        if isinstance(out.get("configuration"), dict):
            out["execution.model_desc"] = legacy_model_desc(out["configuration"])
    if version < (2, 13):
        if out.get("models.input"):
            out["execution.model"] = out["models.input"][0].get("model")
        if out.get("models.output"):
            out["output.model"] = out["models.output"][-1].get("model")
        container = out.get("container")
        if isinstance(container, dict) and container.get("image"):
            args = container.get("arguments")
            out["execution.docker_cmd"] = container["image"] + (f" {args}" if args else "")
    if version < (2, 3) and out.get("system_tags"):
        out["tags"] = sorted([*out.get("tags", []), *out["system_tags"]])
    return out
