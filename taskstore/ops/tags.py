"""Task tags: kept in the task row (returned as given) and in ``task_tags`` (indexed for filters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert

from taskstore.db.records import TaskRecord, TaskTagRecord
from taskstore.errors import error
from taskstore.ops.context import OpContext

RESERVED_PREFIX = "__$"


def check_tags(tags: Sequence[str] | None, system_tags: Sequence[str] | None) -> None:
    """Tags starting with ``__$`` are reserved for the query language: 400/16."""
    bad = [t for t in (*(tags or ()), *(system_tags or ())) if t.startswith(RESERVED_PREFIX)]
    if bad:
        raise error("fields_value_error", "unsupported tag prefix", values=bad)


def set_tags(
    ctx: OpContext,
    task: TaskRecord,
    *,
    tags: Sequence[str] | None = None,
    system_tags: Sequence[str] | None = None,
    fresh: bool = False,
) -> None:
    """Replace the tags and/or system tags of ``task`` (None leaves that kind unchanged).

    ``fresh``: the task is being created, so there are no old tag rows to delete.
    """
    for system, new in ((False, tags), (True, system_tags)):
        if new is None:
            continue
        new = list(new)
        if system:
            task.system_tags = new
        else:
            task.tags = new
        if not fresh:
            ctx.session.execute(
                delete(TaskTagRecord).where(TaskTagRecord.task == task.id, TaskTagRecord.system == system)
            )
        distinct = sorted(set(new))
        if distinct:
            ctx.session.execute(
                insert(TaskTagRecord), [{"task": task.id, "system": system, "tag": t} for t in distinct]
            )


# -- API < 2.3: system tags sent inside ``tags`` ------------------------------------------------------
# The task system tags clients before 2.3 sent as plain tags (query_edit §1.2 step 1 names the same set).
LEGACY_SYSTEM_TAGS = frozenset({"active", "archived", "development"})
LEGACY_TAGS_BEFORE = (2, 3)


def is_legacy_system_tag(tag: object) -> bool:
    if not isinstance(tag, str):
        return False
    bare = tag[1:] if tag.startswith("-") else tag
    return bare in LEGACY_SYSTEM_TAGS or bare.lower().startswith("annotat")


def conform_legacy_tags(request: dict[str, Any], version: tuple[int, int]) -> dict[str, Any]:
    """Below API 2.3, ``tags`` sent without ``system_tags`` are split into user and system tags (the
    reference's conform_tag_fields on create/validate/edit/update).  Otherwise ``request`` as is."""
    tags = request.get("tags")
    if version >= LEGACY_TAGS_BEFORE or tags is None or request.get("system_tags"):
        return request
    return {
        **request,
        "tags": [t for t in tags if not is_legacy_system_tag(t)],
        "system_tags": [t for t in tags if is_legacy_system_tag(t)],
    }
