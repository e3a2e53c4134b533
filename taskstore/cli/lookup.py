"""Finding things by what a user types: task ids or their prefixes, project names, metric names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from taskstore.cli.render import metric_path

if TYPE_CHECKING:
    from taskstore.store import TaskStore

HEX = re.compile(r"^[0-9a-f]+$")
MIN_PREFIX = 4
# get_all answers at most this many tasks per page.
PAGE = 500


def split(values: Iterable[str]) -> list[str]:
    """Repeated options and comma-separated lists alike: ``--status a,b --status c``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def resolve_task(store: TaskStore, text: str) -> str:
    """A task id from a full id or a unique prefix of at least 4 characters."""
    text = text.strip().lower()
    if len(text) == 32 and HEX.match(text):
        return text
    if len(text) < MIN_PREFIX or not HEX.match(text):
        raise click.BadParameter(f"{text!r}: give a task id or at least {MIN_PREFIX} of its first characters")
    found = store.call(
        "tasks.get_all",
        {"_any_": {"pattern": f"^{text}", "fields": ["id"]}, "only_fields": ["id", "name"], "search_hidden": True,
         "page": 0, "page_size": 10},
    )["tasks"]  # fmt: skip
    if not found:
        raise click.ClickException(f"no task id starts with {text!r}")
    if len(found) > 1:
        names = ", ".join(f"{t['id']} ({t.get('name', '')})" for t in found[:5])
        raise click.ClickException(f"{text!r} is ambiguous: {names}")
    return str(found[0]["id"])


def project_ids(store: TaskStore, names: Sequence[str]) -> list[str]:
    """Project ids for names or ids (an unknown name is an error)."""
    ids: list[str] = []
    for name in names:
        found = store.call("projects.get_all", {"name": f"^{re.escape(name)}$", "only_fields": ["id"]})["projects"]
        if not found and len(name) == 32 and HEX.match(name):
            found = store.call("projects.get_all", {"id": [name], "only_fields": ["id"]})["projects"]
        if not found:
            raise click.ClickException(f"no project named {name!r}")
        ids.extend(p["id"] for p in found)
    return ids


def project_names(store: TaskStore, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    found = store.call("projects.get_all", {"id": wanted, "only_fields": ["id", "name"]})["projects"]
    return {p["id"]: p.get("name", p["id"]) for p in found}


def queue_names(store: TaskStore, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    found = store.call("queues.get_all", {"id": wanted, "only_fields": ["id", "name"]})["queues"]
    return {q["id"]: q.get("name", q["id"]) for q in found}


def order_key(text: str) -> str:
    """An ``--order`` item as get_all's ``order_by``: ``-loss/val`` orders by that metric's last value
    (``last_metrics.<md5>.<md5>.value``); ``loss/val:min`` by its minimum; anything else as given."""
    sign = text[0] if text[:1] in "+-" else ""
    key = text[len(sign) :]
    if "/" not in key:
        return text
    field = "value"
    if key.endswith((":min", ":max", ":last")):
        key, suffix = key.rsplit(":", 1)
        field = {"min": "min_value", "max": "max_value", "last": "value"}[suffix]
    title, series = key.split("/", 1)
    return sign + metric_path(title, series, field)


def fetch_tasks(store: TaskStore, request: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` tasks of a get_all request, page by page."""
    out: list[dict[str, Any]] = []
    page, size = 0, max(1, min(PAGE, limit))
    while len(out) < limit:
        got = store.call("tasks.get_all", {**request, "page": page, "page_size": size})["tasks"]
        out.extend(got)
        if len(got) < size:
            break
        page += 1
    return out[:limit]
