"""clone, move, make_public, make_private (spec: lifecycle §12, §13): no status rules involved."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from taskstore.db.records import ModelRecord, ProjectRecord, TaskRecord
from taskstore.db.types import render_time
from taskstore.enums import TaskStatus
from taskstore.errors import error
from taskstore.ops.context import OpContext, chunks
from taskstore.ops.projects import project_by_name
from taskstore.ops.tags import check_tags, set_tags
from taskstore.ops.taskdoc import (
    DELETED_PREFIX,
    artifacts_map,
    build_fields,
    check_name,
    configuration_doc,
    hyperparams_doc,
    model_items,
)
from taskstore.ops.tasks import new_id, touch_project

# System tags a clone does not inherit.
NOT_CLONED_SYSTEM_TAGS = ("development", "archived")
INPUT_MODEL_NAME = "Input Model"


def require_ids(ids: Sequence[str] | None, field: str = "ids") -> list[str]:
    """A required, non-empty id list: 400/12 otherwise (the reference's ``Length(1)`` validator)."""
    if not ids:
        raise error("validation_error", f"{field}: at least one id is required", field=field)
    return list(ids)


def _execution(
    source: TaskRecord,
    overrides: dict[str, Any],
    inputs: list[dict[str, Any]] | None,
    container: dict[str, Any],
    now_text: str,
) -> tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, Any], dict[str, Any]]:
    """Step 4-5: the clone's execution, input models, container and legacy parameter overrides."""  # fmt: skip
    execution = copy.deepcopy(source.execution or {})
    legacy: dict[str, Any] = {}
    if overrides:
        model = overrides.pop("model", None)
        if not inputs and model:
            inputs = [{"name": INPUT_MODEL_NAME, "model": model, "updated": now_text}]
        docker_cmd = overrides.pop("docker_cmd", None)
        if not container and docker_cmd:
            image, _, arguments = str(docker_cmd).strip().partition(" ")
            container = {"image": image, "arguments": arguments}
        for key in ("parameters", "model_desc"):
            if overrides.get(key) is not None:
                legacy[key] = overrides.pop(key)
        overrides.pop("parameters", None)
        overrides.pop("configuration", None)  # a legacy key no version of the reference applies
        if isinstance(overrides.get("artifacts"), list):
            overrides["artifacts"] = artifacts_map(overrides["artifacts"], "execution_overrides.artifacts")
        execution.update(overrides)
    artifacts = execution.get("artifacts")
    if artifacts:
        execution["artifacts"] = {k: a for k, a in artifacts.items() if a.get("mode", "output") != "output"}
    execution.pop("queue", None)
    return execution, inputs, container, legacy


def _check_references(ctx: OpContext, task: dict[str, Any], *, parent: bool, project: bool, models: bool) -> None:
    """Step 8: parent (400/101), project (400/401; public 403/21 always), input models (400/201)."""
    deleted = str(task["parent"]).startswith(DELETED_PREFIX)
    if parent and task["parent"] and not deleted and not ctx.exists(TaskRecord, task["parent"]):
        raise error("invalid_task_id", "invalid parent", parent=task["parent"])
    if task["project"]:
        row = ctx.session.execute(
            select(ProjectRecord.company).where(ProjectRecord.id == task["project"], ctx.visible(ProjectRecord))
        ).first()
        if row is None and project:
            raise error("invalid_project_id", id=task["project"])
        if row is not None and row[0] != ctx.company:
            raise error("no_write_permission", f"cannot modify public project(s), ids={(task['project'],)!r}")
    ids = [m["model"] for m in task["models"]["input"]]
    if models and ids:
        found = set(ctx.session.scalars(select(ModelRecord.id).where(ModelRecord.id.in_(set(ids)),
                                                                     ctx.visible(ModelRecord))))  # fmt: skip
        missing = [i for i in ids if i not in found]
        if missing:
            raise error("invalid_model_id", models=missing)


def clone(ctx: OpContext, req: Mapping[str, Any]) -> dict[str, Any]:
    """tasks.clone: a new ``created`` task from a task of the caller's company or a public one."""
    check_tags(req.get("new_task_tags"), req.get("new_task_system_tags"))
    source = ctx.session.scalars(select(TaskRecord).where(TaskRecord.id == req["task"],
                                                          ctx.visible(TaskRecord))).first()  # fmt: skip
    if source is None:
        raise error("invalid_task_id", id=req["task"])
    now_text = render_time(ctx.now) or ""
    inputs = model_items(req.get("new_task_input_models"), now_text, "new_task_input_models") or None
    container = build_fields(ctx, {"container": req["new_task_container"]})["container"] if req.get(
        "new_task_container") else {}  # fmt: skip
    execution, inputs, container, legacy = _execution(
        source, dict(req.get("execution_overrides") or {}), inputs, container, now_text
    )
    hyperparams = (hyperparams_doc(req["new_task_hyperparams"], "new_task_hyperparams")
                   if req.get("new_task_hyperparams") else None)  # fmt: skip
    configuration = (configuration_doc(req["new_task_configuration"], "new_task_configuration")
                     if req.get("new_task_configuration") else None)  # fmt: skip
    if legacy:
        # [ref bug fixed] the reference drops execution_overrides.parameters; they are applied as edit does.
        base: dict[str, Any] = {"execution": legacy}
        if hyperparams is not None:
            base["hyperparams"] = hyperparams
        if configuration is not None:
            base["configuration"] = configuration
        merged = build_fields(ctx, base, previous=source)
        hyperparams = merged.get("hyperparams", hyperparams)
        configuration = merged.get("configuration", configuration)

    project = req.get("new_task_project") or None
    new_project = None
    if not project and req.get("new_project_name"):
        found = project_by_name(ctx, req["new_project_name"], create=True)
        assert found is not None
        project = found.id
        new_project = {"id": found.id, "name": req["new_project_name"]}
    name = (req.get("new_task_name") or "").strip() or source.name
    if req.get("new_task_name"):
        check_name(name)
    source_parent = source.parent if source.parent and not source.parent.startswith(DELETED_PREFIX) else None
    system_tags = req.get("new_task_system_tags") or [
        t for t in source.system_tags or () if t not in NOT_CLONED_SYSTEM_TAGS
    ]
    task: dict[str, Any] = {
        "id": new_id(),
        "company": ctx.company,
        "user": ctx.user,
        "name": name,
        "type": source.type,
        "status": TaskStatus.created.value,
        "comment": req.get("new_task_comment") or source.comment,
        "parent": req.get("new_task_parent") or source_parent,
        "project": project or source.project,
        "created": ctx.now,
        "last_update": ctx.now,
        "last_change": ctx.now,
        "last_iteration": 0,
        "script": copy.deepcopy(source.script or {}),
        "output": {"destination": source.output["destination"]} if (source.output or {}).get("destination") else {},
        "models": {"input": inputs or copy.deepcopy((source.models or {}).get("input") or []), "output": []},
        "container": container or copy.deepcopy(source.container or {}),
        "execution": execution,
        "hyperparams": hyperparams or copy.deepcopy(source.hyperparams or {}),
        "configuration": configuration or copy.deepcopy(source.configuration or {}),
    }
    _check_references(
        ctx,
        task,
        parent=bool(req.get("validate_references") or req.get("new_task_parent")),
        project=bool(req.get("validate_references") or project),
        models=bool(req.get("validate_references") or inputs),
    )
    record = TaskRecord(**task, runtime={}, last_metrics={}, extra={}, tags=[], system_tags=[])
    ctx.session.add(record)
    set_tags(ctx, record, tags=req.get("new_task_tags") or list(source.tags or []), system_tags=system_tags,
             fresh=True)  # fmt: skip
    touch_project(ctx, record.project)
    return {"id": record.id, **({"new_project": new_project} if new_project else {})}


def move(ctx: OpContext, ids: Sequence[str], *, project: str | None, project_name: str | None) -> str:
    """tasks.move: into a project of the caller's company (by id, or by name made if missing).

    Ids that are not the caller's tasks are skipped silently.  Returns the project id.
    """
    ids = require_ids(ids)
    if not (project or project_name):
        raise error("missing_required_fields", "project or project_name is required")
    if project:
        found = ctx.session.execute(select(ProjectRecord.id).where(ProjectRecord.id == project,
                                                                   ctx.own(ProjectRecord))).first()  # fmt: skip
        if found is None:
            raise error("invalid_project_id", id=project)
        target = project
    else:
        made = project_by_name(ctx, project_name or "", create=True)
        assert made is not None
        target = made.id
    touched = {target}
    for chunk in chunks(sorted(set(ids))):
        mine = (TaskRecord.id.in_(chunk), ctx.own(TaskRecord))
        touched.update(p for p in ctx.session.scalars(select(TaskRecord.project).where(*mine)) if p)
        ctx.session.execute(
            update(TaskRecord).where(*mine).values(project=target, last_change=ctx.now)
            .execution_options(synchronize_session="fetch")
        )  # fmt: skip
    for pid in sorted(touched):
        touch_project(ctx, pid)
    return target


def set_public(ctx: OpContext, ids: Sequence[str], *, public: bool) -> int:
    """make_public / make_private: all or nothing (400/101 with the ids that do not qualify)."""
    wanted = sorted(set(require_ids(ids)))
    cond = ctx.own(TaskRecord) if public else ctx.made_public_by_own()
    found: set[str] = set()
    for chunk in chunks(wanted):
        found.update(ctx.session.scalars(select(TaskRecord.id).where(TaskRecord.id.in_(chunk), cond)))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise error("invalid_task_id", ids=missing)
    count = 0
    for task in ctx.session.scalars(select(TaskRecord).where(TaskRecord.id.in_(wanted)).order_by(TaskRecord.id)):
        extra = dict(task.extra or {})
        if public:
            extra["company_origin"] = ctx.company
        else:
            extra.pop("company_origin", None)
        task.extra = extra
        task.company = "" if public else ctx.company
        count += 1
    return count
