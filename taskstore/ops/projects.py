"""Projects: a hierarchy from names like "a/b/c" (each level its own project, parents made on demand)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from taskstore.db.records import ProjectRecord
from taskstore.errors import error
from taskstore.ops.context import OpContext
from taskstore.ops.tasks import new_id

MAX_DEPTH = 10
MIN_NAME_LENGTH = 3  # of the full name, parents included (the reference's Project.name min_length)


def split_name(name: str) -> list[str]:
    """ "a//b/ c " -> ["a", "b", "c"]; nothing left is 400/407."""
    parts = [p.strip() for p in str(name).split("/") if p.strip()]
    if not parts:
        raise error("invalid_project_name", name=name)
    if len(parts) > MAX_DEPTH:
        raise error("project_path_exceeds_max", max_depth=MAX_DEPTH)
    return parts


def _by_name(ctx: OpContext, name: str) -> ProjectRecord | None:
    return ctx.session.scalars(
        select(ProjectRecord).where(ProjectRecord.name == name, ctx.own(ProjectRecord)).order_by(ProjectRecord.id)
    ).first()


def _make(ctx: OpContext, parts: Sequence[str], parent: ProjectRecord | None, **fields: Any) -> ProjectRecord:
    if len("/".join(parts)) < MIN_NAME_LENGTH:
        raise error(
            "data_validation_error", f"name: must be at least {MIN_NAME_LENGTH} characters long", name="/".join(parts)
        )
    project = ProjectRecord(
        id=new_id(),
        company=ctx.company,
        user=ctx.user,
        name="/".join(parts),
        basename=parts[-1],
        parent=parent.id if parent else None,
        path=[*(parent.path or []), parent.id] if parent else [],
        created=ctx.now,
        last_update=ctx.now,
        **fields,
    )
    ctx.session.add(project)
    return project


def _ensure_parents(ctx: OpContext, parts: Sequence[str]) -> ProjectRecord | None:
    parent: ProjectRecord | None = None
    for depth in range(1, len(parts)):
        found = _by_name(ctx, "/".join(parts[:depth]))
        parent = found if found is not None else _make(ctx, parts[:depth], parent, description="")
    return parent


def create_project(ctx: OpContext, request: Mapping[str, Any]) -> ProjectRecord:
    parts = split_name(request["name"])
    if _by_name(ctx, "/".join(parts)) is not None:
        raise error("expected_unique_data", "Project with the same name already exists", name="/".join(parts))
    parent = _ensure_parents(ctx, parts)
    if parent is not None:
        ctx.session.execute(update(ProjectRecord).where(ProjectRecord.id == parent.id).values(last_update=ctx.now))
    fields = {k: request[k] for k in ("description", "tags", "system_tags", "default_output_destination")
              if request.get(k) is not None}  # fmt: skip
    fields.setdefault("description", "")  # the reference's default
    return _make(ctx, parts, parent, **fields)


def project_by_name(ctx: OpContext, name: str, *, create: bool) -> ProjectRecord | None:
    """The caller's project with this full name; made (with its parents) when ``create``."""
    parts = split_name(name)
    found = _by_name(ctx, "/".join(parts))
    if found is not None or not create:
        return found
    return _make(ctx, parts, _ensure_parents(ctx, parts), description="")

