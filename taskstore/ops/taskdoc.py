"""The task-document pipeline shared by create, validate and edit (spec: query_edit §2.2).

Turns the "create fields" of a request into stored column values: legacy conversions, key checks,
artifact maps, trimming, strict sub-documents, and the reference checks (parent, project, input
models).  Version-dependent inputs arrive as explicit keyword flags; nothing here reads the wire
version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from taskstore.db.records import ModelRecord, ProjectRecord, TaskRecord
from taskstore.db.types import render_time
from taskstore.errors import error
from taskstore.ops.context import OpContext
from taskstore.ops.tags import check_tags

CREATE_FIELDS = (
    "name", "tags", "system_tags", "type", "comment", "parent", "project", "models", "container",
    "output_dest", "execution", "hyperparams", "configuration", "script", "runtime",
)  # fmt: skip
DELETED_PREFIX = "__DELETED__"
SCRIPT_TRIMMED = ("binary", "repository", "tag", "branch", "version_num", "entry_point", "working_dir")
SCRIPT_KEYS = (*SCRIPT_TRIMMED, "requirements", "diff")
EXECUTION_KEYS = ("queue", "parameters", "model", "model_desc", "model_labels", "framework", "docker_cmd",
                  "artifacts", "test_split")  # fmt: skip
PARAM_KEYS = ("section", "name", "value", "type", "description")
CONFIG_KEYS = ("name", "value", "type", "description")
ARTIFACT_KEYS = ("key", "type", "mode", "uri", "content_size", "hash", "timestamp", "type_data", "display_data")
MODEL_ITEM_KEYS = ("name", "model", "updated")
MIN_NAME_LENGTH = 3
# Kinds of keys whose emptiness the reference checks on the request (400/12) rather than on storing.
_NAMED = ("section", "parameter", "configuration")
# Kinds of keys the reference stores unescaped (a leading "$" is refused by its data layer).
_UNESCAPED = ("runtime key",)


def bad_value(field: str, problem: str) -> Exception:
    return error("validation_error", f"{field}: {problem}", field=field)


def data_error(field: str, problem: str) -> Exception:
    return error("data_validation_error", f"{field}: {problem}", field=field)


def _strict_keys(item: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in item if k not in allowed]
    if unknown:
        raise bad_value(f"{where}.{unknown[0]}", "unknown field")


def map_key(raw: Any, where: str, what: str) -> str:
    """A user-named map key as stored: trimmed (§0.6), never empty.

    Keys the reference escapes (hyperparams, configuration, container, model labels) may hold any
    text, ``$`` and ``.`` included; runtime keys are not escaped, so ``$...`` is refused there.
    """
    key = str(raw).strip()
    if not raw and what in _NAMED:
        raise bad_value(where, f"Empty {what} name is not allowed")  # the request check (§2.2 step 6)
    if not key:
        raise data_error(where, f"{what} name is empty once trimmed")  # the data layer (§2.2 step 13)
    if what in _UNESCAPED and key.startswith("$"):
        raise data_error(where, f"{what} name may not start with '$'")
    return key


def artifact_id(key: str, mode: str) -> str:
    return hashlib.md5(key.encode()).hexdigest() + "_" + mode


def artifacts_map(items: Any, where: str = "execution.artifacts") -> dict[str, Any]:
    """The artifact list of a request -> the stored map (identity = key + mode; last wins)."""
    out: dict[str, Any] = {}
    for i, item in enumerate(items or []):
        if not isinstance(item, Mapping):
            raise bad_value(f"{where}.{i}", "expected an object")
        _strict_keys(item, ARTIFACT_KEYS, f"{where}.{i}")
        if not item.get("key") or not item.get("type"):
            raise bad_value(f"{where}.{i}", "artifact key and type are required")
        # A null attribute is an attribute not sent (a null mode would make no artifact id: it was a 500).
        art = {"mode": "output", "display_data": [], **{k: v for k, v in item.items() if v is not None}}
        out[artifact_id(art["key"], art["mode"])] = art
    return out


def hyperparams_doc(value: Mapping[str, Any], where: str = "hyperparams") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_section, params in value.items():
        section = map_key(raw_section, f"{where}.{raw_section}", "section")
        if not isinstance(params, Mapping):
            raise bad_value(f"{where}.{section}", "expected an object")
        sec: dict[str, Any] = {}
        for raw_name, item in params.items():
            at = f"{where}.{section}.{raw_name}"
            name = map_key(raw_name, at, "parameter")
            if not isinstance(item, Mapping):
                raise bad_value(at, "expected an object")
            _strict_keys(item, PARAM_KEYS, at)
            for required in ("section", "name", "value"):
                if item.get(required) is None:
                    raise data_error(f"{at}.{required}", "field is required")
            if not isinstance(item["value"], str):
                raise data_error(f"{at}.value", "must be a string")
            sec[name] = {k: v for k, v in item.items() if v is not None}
        out[section] = sec
    return out


def configuration_doc(value: Mapping[str, Any], where: str = "configuration") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_name, item in value.items():
        at = f"{where}.{raw_name}"
        name = map_key(raw_name, at, "configuration")
        if not isinstance(item, Mapping):
            raise bad_value(at, "expected an object")
        _strict_keys(item, CONFIG_KEYS, at)
        for required in ("name", "value"):
            if item.get(required) is None:
                raise data_error(f"{at}.{required}", "field is required")
        if not isinstance(item["value"], str):
            raise data_error(f"{at}.value", "must be a string")
        out[name] = {k: v for k, v in item.items() if v is not None}
    return out


def legacy_hyperparams(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``execution.parameters`` {full_name: value} -> hyperparams items of type "legacy"."""
    out: dict[str, dict[str, Any]] = {}
    for full_name, v in parameters.items():
        section, name = ("TF_DEFINE", full_name[len("TF_DEFINE/") :]) if full_name.startswith("TF_DEFINE/") else (
            "Args", full_name)  # fmt: skip
        if not name:
            raise bad_value(f"execution.parameters.{full_name}", "Parameter name cannot be empty")
        out.setdefault(section, {})[name] = {"section": section, "name": name, "value": _py_str(v), "type": "legacy"}
    return out


def _py_str(v: Any) -> str:
    # The reference stores str() of the JSON value: True, 0.1, dict reprs.
    return v if isinstance(v, str) else str(v)


def _without_legacy(doc: Mapping[str, Any], nested: bool) -> dict[str, Any]:
    if not nested:
        return {k: v for k, v in doc.items() if v.get("type") != "legacy"}
    out = {}
    for section, params in doc.items():
        kept = {n: p for n, p in params.items() if p.get("type") != "legacy"}
        if kept:
            out[section] = kept
    return out


def model_items(items: Any, now_text: str, where: str) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items or []):
        at = f"{where}.{i}"
        if not isinstance(item, Mapping):
            raise bad_value(at, "expected an object")
        _strict_keys(item, MODEL_ITEM_KEYS, at)
        for key in ("name", "model"):
            if not item.get(key) or not isinstance(item[key], str):
                raise data_error(f"{at}.{key}", "a non-empty string is required")
        out.append({"name": item["name"], "model": item["model"], "updated": now_text})
    return out


def build_fields(
    ctx: OpContext,
    request: Mapping[str, Any],
    *,
    previous: TaskRecord | None = None,
    legacy_inputs: bool = False,
    drop_deleted_parent: bool = False,
) -> dict[str, Any]:
    """Request create fields -> column values (only the fields sent).

    ``legacy_inputs``: accept ``execution.model`` and ``execution.docker_cmd`` (API < 2.13).
    ``drop_deleted_parent``: ignore a parent marked ``__DELETED__`` (tasks.validate does).
    """
    # The validated request shares no containers with the caller's data: no copy needed here.
    req = {k: v for k, v in request.items() if k in CREATE_FIELDS and v is not None}
    now_text = render_time(ctx.now) or ""
    out: dict[str, Any] = {}

    if drop_deleted_parent and str(req.get("parent", "")).startswith(DELETED_PREFIX):
        req.pop("parent")
    if "parent" in req:
        check_parent(ctx, req["parent"])
        out["parent"] = req["parent"]
    for key in ("name", "type", "comment"):
        if key in req:
            out[key] = req[key].strip() if key == "name" else req[key]
    if "tags" in req:
        check_tags(req["tags"], req.get("system_tags"))
    for key in ("tags", "system_tags"):
        if key in req:
            out[key] = list(req[key])
    if "project" in req:
        check_project(ctx, req["project"])
        out["project"] = req["project"] or None
    if "output_dest" in req:
        output = dict(previous.output or {}) if previous is not None else {}
        output["destination"] = str(req["output_dest"]).strip()
        out["output"] = output

    execution = req.get("execution")
    if execution is not None:
        execution = {k: v for k, v in execution.items() if k in EXECUTION_KEYS and v is not None}
        parameters = execution.pop("parameters", None)
        model_desc = execution.pop("model_desc", None)
        model = execution.pop("model", None)
        docker_cmd = execution.pop("docker_cmd", None)
        if parameters is not None and (parameters or _has_legacy(previous, "hyperparams")):
            legacy = legacy_hyperparams(parameters)
            base = req.get("hyperparams")
            if base is None:
                base = _without_legacy(previous.hyperparams or {}, True) if previous is not None else {}
            merged = {s: dict(p) for s, p in base.items()}
            for section, params in legacy.items():
                merged.setdefault(section, {}).update(params)
            req["hyperparams"] = merged
        if model_desc is not None and (model_desc or _has_legacy(previous, "configuration")):
            base = req.get("configuration")
            if base is None:
                base = _without_legacy(previous.configuration or {}, False) if previous is not None else {}
            req["configuration"] = {
                **base,
                **{n: {"name": n, "value": _py_str(v), "type": "legacy"} for n, v in model_desc.items()},
            }
        if legacy_inputs and model is not None:
            inputs = [{"name": "Input Model", "model": model}] if model else []
            req["models"] = {**req.get("models", {}), "input": inputs}
        if legacy_inputs and docker_cmd is not None:
            image, _, args = str(docker_cmd).strip().partition(" ")
            req["container"] = {**req.get("container", {}), "image": image, "arguments": args}
        if "artifacts" in execution:
            execution["artifacts"] = artifacts_map(execution["artifacts"])
        if "model_labels" in execution:
            execution["model_labels"] = {
                map_key(k, f"execution.model_labels.{k}", "label"): v for k, v in execution["model_labels"].items()
            }
        out["execution"] = execution

    if "hyperparams" in req:
        out["hyperparams"] = hyperparams_doc(req["hyperparams"])
    if "configuration" in req:
        out["configuration"] = configuration_doc(req["configuration"])
    if "models" in req:
        models = {}
        for kind in ("input", "output"):
            if req["models"].get(kind) is not None:
                models[kind] = model_items(req["models"][kind], now_text, f"models.{kind}")
        if models.get("input"):
            check_models(ctx, [m["model"] for m in models["input"]])
        out["models"] = models
    if "container" in req:
        container = {}
        for k, v in req["container"].items():
            if v is not None and not isinstance(v, str):
                raise data_error(f"container.{k}", "must be a string or null")
            container[map_key(k, f"container.{k}", "container key")] = v
        out["container"] = container
    if "runtime" in req:
        for k in req["runtime"]:
            map_key(k, f"runtime.{k}", "runtime key")
        out["runtime"] = req["runtime"]
    if "script" in req:
        script = req["script"]
        _strict_keys(script, SCRIPT_KEYS, "script")
        out["script"] = {
            k: (v.strip() if k in SCRIPT_TRIMMED and isinstance(v, str) else v)
            for k, v in script.items()
            if v is not None
        }
    return out


def check_name(name: str) -> None:
    if len(name.strip()) < MIN_NAME_LENGTH:
        raise data_error("name", f"must be at least {MIN_NAME_LENGTH} characters long")


def _has_legacy(previous: TaskRecord | None, column: str) -> bool:
    if previous is None:
        return False
    doc = getattr(previous, column) or {}
    items = [p for s in doc.values() for p in s.values()] if column == "hyperparams" else list(doc.values())
    return any(i.get("type") == "legacy" for i in items)


def check_parent(ctx: OpContext, parent: str) -> None:
    # A "__DELETED__" marker is no task id: only tasks.validate drops it first (§2.2 step 1) [Q].
    if not ctx.exists(TaskRecord, parent, any_company=True):
        raise error("fields_value_error", "expecting Task id", field="parent")
    if not ctx.exists(TaskRecord, parent):
        raise error("invalid_task_id", "invalid parent", parent=parent)


def check_project(ctx: OpContext, project: str) -> None:
    if not project:
        return
    found = ctx.session.execute(
        select(ProjectRecord.company).where(ProjectRecord.id == project, ctx.visible(ProjectRecord))
    ).first()
    if found is None:
        raise error("invalid_project_id", id=project)
    if found.company != ctx.company:
        raise error("no_write_permission", f"cannot modify public project(s), ids={(project,)!r}")


def check_models(ctx: OpContext, ids: list[str]) -> None:
    found = set(
        ctx.session.scalars(select(ModelRecord.id).where(ModelRecord.id.in_(set(ids)), ctx.visible(ModelRecord)))
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise error("invalid_model_id", models=missing)
