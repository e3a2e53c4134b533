"""projects.create, get_by_id, get_all: the part of the projects service that tasks depend on."""

from __future__ import annotations

from typing import Any

from taskstore.api import shaping
from taskstore.api.registry import endpoint
from taskstore.db.records import ProjectRecord
from taskstore.ops import listing, projects
from taskstore.ops.context import OpContext


@endpoint("projects.create")
def create(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    """Create a project; "a/b/c" makes the missing parents "a" and "a/b" too."""
    return {"id": projects.create_project(ctx, req).id}


@endpoint("projects.get_by_id", write=False)
def get_by_id(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"project": shaping.project_document(ctx.get(ProjectRecord, req["project"]))}


@endpoint("projects.get_all", write=False)
def get_all(ctx: OpContext, req: dict[str, Any]) -> dict[str, Any]:
    rows = listing.list_records(ctx, ProjectRecord, req)
    if not req.get("search_hidden") and not req.get("id"):
        rows = [p for p in rows if "hidden" not in (p.system_tags or [])]
    return {"projects": [listing.project(shaping.project_document(p), req.get("only_fields")) for p in rows]}
