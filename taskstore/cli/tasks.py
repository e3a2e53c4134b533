"""``taskstore tasks list | show | compare``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

from taskstore.cli.app import State, common, pass_state
from taskstore.cli.lookup import (
    fetch_tasks,
    order_key,
    project_ids,
    project_names,
    queue_names,
    resolve_task,
    split,
)
from taskstore.cli.render import (
    cells,
    emit,
    fmt_time,
    fmt_value,
    heading,
    hyperparams,
    key_metrics,
    metric_values,
    metrics,
    print_json,
    short,
    status_text,
    table,
)
from taskstore.enums import TaskStatus, TaskType

if TYPE_CHECKING:
    from taskstore.store import TaskStore

LIST_FIELDS = ["id", "name", "type", "status", "project", "last_update", "last_iteration", "last_metrics", "tags"]


@click.group()
def tasks() -> None:
    """List, show and compare tasks."""


# -- list ---------------------------------------------------------------------------------------------


def _known(option: str, values: list[str], choices: list[str]) -> list[str]:
    """A typo in --status/--type would silently match nothing: say so instead (``-x`` excludes x)."""
    for value in values:
        if value.removeprefix("-") not in choices:
            raise click.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=f"--{option}")
    return values


def list_request(
    store: TaskStore,
    *,
    status: Sequence[str] = (),
    tag: Sequence[str] = (),
    project: Sequence[str] = (),
    type_: Sequence[str] = (),
    name: str | None = None,
    order: Sequence[str] = (),
) -> dict[str, Any]:
    """The tasks.get_all request for the ``tasks list`` options."""
    request: dict[str, Any] = {"only_fields": LIST_FIELDS}
    if status:
        request["status"] = _known("status", split(status), [s.value for s in TaskStatus])
    if tag:
        request["tags"] = split(tag)
    if type_:
        request["type"] = _known("type", split(type_), [t.value for t in TaskType])
    if project:
        request["project"] = project_ids(store, split(project))
    if name:
        request["name"] = name
    request["order_by"] = [order_key(o) for o in split(order)] or ["-last_update"]
    return request


# On a terminal a long name wraps, but the name column keeps at least this width.
NAME_MIN_WIDTH = 16


def _fitting(columns: Sequence[str], width: int, rows: Sequence[Sequence[str]]) -> list[str]:
    """The metric columns that fit on a terminal ``width`` wide beside id, status, name, project and
    last update (``rows`` of those five)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(("id", "status", "name", "project", ""))]
    widths[2] = min(widths[2], NAME_MIN_WIDTH)
    kept, used = [], sum(widths) + 2 * len(widths)
    for column in columns:
        used += max(len(column), 8) + 2
        if used > width:
            break
        kept.append(column)
    return kept


def print_task_table(
    state: State, store: TaskStore, found: Sequence[Mapping[str, Any]], wanted_metrics: Sequence[str] = ()
) -> None:
    """The task table of ``tasks list`` and ``demo``: id, status, name, project, last update, key metrics."""
    console = state.out
    names = project_names(store, (t.get("project") for t in found))
    columns = key_metrics(found, wanted_metrics)
    if console.is_terminal and not wanted_metrics:
        fixed = [
            [short(t.get("id"), console), t.get("status") or "", t.get("name") or "",
             names.get(t.get("project") or "", ""), fmt_time(t.get("last_update"), console)]
            for t in found
        ]  # fmt: skip
        columns = _fitting(columns, console.width, fixed)
    t = table(
        console, ["id", "status", "name", "project", "last update", *columns], right=columns, wrap=["name", "project"]
    )
    if console.is_terminal:
        t.columns[2].min_width = NAME_MIN_WIDTH
    for task in found:
        values = metric_values(task)
        project = task.get("project")
        t.add_row(
            *cells(short(task.get("id"), console)),
            status_text(task.get("status"), console),
            *cells(
                task.get("name"),
                names.get(project, project) if project else "",
                fmt_time(task.get("last_update"), console),
                *(fmt_value(values.get(c)) for c in columns),
            ),
        )
    emit(console, t)


@tasks.command("list")
@click.option("--status", multiple=True, help="Only these statuses (repeat or comma-separate): created, queued, "
              "in_progress, stopped, completed, failed, published, ...")  # fmt: skip
@click.option("--tag", multiple=True, help="With this tag (repeat for any of several; -tag excludes).")
@click.option("--project", multiple=True, help="In this project (name or id; repeat for several).")
@click.option("--type", "type_", multiple=True, help="Of this type: training, testing, inference, ...")
@click.option("--name", help="Name matches this regular expression (case-sensitive, unanchored).")
@click.option("--order", multiple=True, metavar="FIELD",
              help="Order by FIELD (-FIELD descending); METRIC/VARIANT orders by a metric's last value, e.g. "
              "--order=-accuracy/val.  Default: -last_update.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many tasks.")
@click.option("--metric", multiple=True, metavar="METRIC/VARIANT",
              help="Metric columns to show (default: the three most common).")  # fmt: skip
@common
@pass_state
def list_(
    state: State,
    status: tuple[str, ...],
    tag: tuple[str, ...],
    project: tuple[str, ...],
    type_: tuple[str, ...],
    name: str | None,
    order: tuple[str, ...],
    limit: int,
    metric: tuple[str, ...],
) -> None:
    """List tasks (newest first), with their key metrics."""
    store = state.open()
    request = list_request(store, status=status, tag=tag, project=project, type_=type_, name=name, order=order)
    found = fetch_tasks(store, request, limit)
    if state.json:
        names = project_names(store, (t.get("project") for t in found))
        print_json([{**t, "project_name": names.get(t.get("project") or "")} for t in found])
        return
    if not found:
        state.err.print("no tasks" + (" match" if len(request) > 2 else " yet: try `taskstore demo`"))
        return
    print_task_table(state, store, found, split(metric))


# -- show ---------------------------------------------------------------------------------------------


def summary(store: TaskStore, task: Mapping[str, Any]) -> dict[str, Any]:
    """What ``tasks show`` prints, as data (its --json output)."""
    execution = task.get("execution") or {}
    project = task.get("project")
    queue = execution.get("queue")
    models = task.get("models") or {}
    model_ids = [m.get("model") for kind in ("input", "output") for m in models.get(kind) or []]
    model_names: dict[str, str] = {}
    if any(model_ids):
        found = store.call("models.get_all", {"id": [m for m in model_ids if m], "only_fields": ["id", "name"]})
        model_names = {m["id"]: m.get("name", "") for m in found["models"]}
    return {
        "id": task.get("id"),
        "name": task.get("name"),
        "type": task.get("type"),
        "status": task.get("status"),
        "status_reason": task.get("status_reason") or None,
        "status_message": task.get("status_message") or None,
        "project": {"id": project, "name": project_names(store, [project]).get(project)} if project else None,
        "queue": {"id": queue, "name": queue_names(store, [queue]).get(queue)} if queue else None,
        "tags": task.get("tags") or [],
        "system_tags": task.get("system_tags") or [],
        "comment": task.get("comment") or None,
        "created": task.get("created"),
        "started": task.get("started"),
        "completed": task.get("completed"),
        "last_update": task.get("last_update"),
        "last_iteration": task.get("last_iteration"),
        "hyperparams": hyperparams(task),
        "configuration": sorted((task.get("configuration") or {}).keys()),
        "artifacts": [
            {k: a.get(k) for k in ("key", "type", "mode", "uri") if a.get(k) is not None}
            for a in execution.get("artifacts") or []
        ],
        "models": [
            {
                "kind": kind,
                "name": m.get("name"),
                "model": m.get("model"),
                "model_name": model_names.get(m.get("model")),
            }
            for kind in ("input", "output")
            for m in models.get(kind) or []
        ],
        "last_metrics": [
            {k: m.get(k) for k in ("metric", "variant", "value", "min_value", "max_value")} for m in metrics(task)
        ],
    }


def _section(console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    console.print()
    heading(console, title)
    if not rows:
        console.print(Text("  (none)"))
        return
    t = table(
        console, columns, right=[c for c in columns if c in ("last", "min", "max")], wrap=["value", "uri", "name"]
    )
    for row in rows:
        t.add_row(*cells(*row))
    emit(console, t)


@tasks.command("show")
@click.argument("task_id", metavar="ID")
@common
@pass_state
def show(state: State, task_id: str) -> None:
    """Show one task: fields, hyperparameters, configuration, artifacts, models, last metrics.

    ID is a task id or its first characters (at least 4).
    """
    store = state.open()
    task = store.call("tasks.get_by_id", {"task": resolve_task(store, task_id)})["task"]
    info = summary(store, task)
    if state.json:
        print_json(info)
        return
    console = state.out
    status = info["status"] + (f" ({info['status_reason']})" if info["status_reason"] else "")
    head = [
        ("id", info["id"]),
        ("name", info["name"]),
        ("type", info["type"]),
        ("status", status),
        ("project", (info["project"] or {}).get("name") or (info["project"] or {}).get("id")),
        ("queue", (info["queue"] or {}).get("name") or (info["queue"] or {}).get("id")),
        ("tags", ", ".join(info["tags"])),
        ("comment", info["comment"]),
        ("created", fmt_time(info["created"], console)),
        ("started", fmt_time(info["started"], console)),
        ("completed", fmt_time(info["completed"], console)),
        ("last update", fmt_time(info["last_update"], console)),
        ("last iteration", info["last_iteration"]),
    ]
    grid = table(console, ["field", "value"], wrap=["value"])
    grid.show_header = False
    for key, value in head:
        if value not in (None, ""):
            grid.add_row(*cells(key, value))
    emit(console, grid)
    _section(console, "Hyperparameters", ["parameter", "value"], list(info["hyperparams"].items()))
    _section(console, "Configuration", ["name"], [[n] for n in info["configuration"]])
    _section(
        console, "Artifacts", ["key", "type", "mode", "uri"],
        [[a.get("key"), a.get("type"), a.get("mode"), a.get("uri")] for a in info["artifacts"]],
    )  # fmt: skip
    _section(
        console, "Models", ["kind", "name", "model"],
        [[m["kind"], m["name"], m["model_name"] or m["model"]] for m in info["models"]],
    )  # fmt: skip
    _section(
        console, "Last metrics", ["metric", "variant", "last", "min", "max"],
        [[m["metric"], m["variant"], fmt_value(m["value"]), fmt_value(m["min_value"]), fmt_value(m["max_value"])]
         for m in info["last_metrics"]],
    )  # fmt: skip


# -- compare ------------------------------------------------------------------------------------------


def comparison(found: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``tasks compare``: ``{"group", "key", "values" (one per task), "different"}``."""
    rows: list[dict[str, Any]] = []
    groups = (
        ("task", lambda t: {"status": t.get("status") or "", "type": t.get("type") or ""}),
        ("hyperparams", hyperparams),
        ("metrics", lambda t: {k: fmt_value(v) for k, v in metric_values(t).items()}),
    )
    for group, extract in groups:
        per_task = [extract(t) for t in found]
        keys = sorted({k for values in per_task for k in values})
        for key in keys:
            values = [values.get(key) for values in per_task]
            rows.append({"group": group, "key": key, "values": values, "different": len(set(values)) > 1})
    return rows


@tasks.command("compare")
@click.argument("task_ids", metavar="ID ID...", nargs=-1, required=True)
@click.option("--diff", "only_diff", is_flag=True, help="Show only the rows that differ.")
@common
@pass_state
def compare(state: State, task_ids: tuple[str, ...], only_diff: bool) -> None:
    """Compare tasks side by side: hyperparameters and last metrics, differences marked with *.

    Each ID is a task id or its first characters (at least 4).
    """
    if len(task_ids) < 2:
        raise click.UsageError("give at least two tasks to compare")
    store = state.open()
    ids = [resolve_task(store, t) for t in task_ids]
    found = [store.call("tasks.get_by_id", {"task": i})["task"] for i in ids]
    rows = [r for r in comparison(found) if r["different"] or not only_diff]
    if state.json:
        print_json({"tasks": [{"id": t["id"], "name": t.get("name")} for t in found], "rows": rows})
        return
    if not rows:
        state.err.print("no differences" if only_diff else "nothing to compare")
        return
    console = state.out
    headers = [f"{t.get('name')} ({short(t['id'], console)})" for t in found]
    t = table(console, ["", "group", "key", *headers], wrap=headers)
    highlight = "bold yellow" if console.is_terminal else ""
    for row in rows:
        style = highlight if row["different"] else ""
        t.add_row(*cells("*" if row["different"] else "", row["group"], row["key"], *row["values"], style=style))
    emit(console, t)
