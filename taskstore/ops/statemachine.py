"""Task status: the allowed moves (data), the transitions machine built once, and the only writer.

``change_status`` is the one function in taskstore that writes ``tasks.status``.  It asks the
machine whether the move is allowed (skipped with ``force``), applies the same-state rule, and writes
with compare-and-set (``UPDATE ... WHERE id = :id AND status = :expected``): a lost race is 400/121,
never a silent overwrite.  A task that leaves ``queued`` this way also leaves every queue (no
orphaned queue entries, a deliberate difference from the reference).

The per-operation rules of lifecycle §2 that are not pairs of the table (same-state handling,
statuses an operation refuses before the machine is asked) are data too: ``OPERATIONS``.

``python -m taskstore.ops.statemachine --mermaid [PATH]`` renders docs/status.md from the machine.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final, cast

from sqlalchemy import Table, Update, bindparam, update
from transitions import Machine

from taskstore.db.records import ProjectRecord, TaskRecord
from taskstore.enums import TaskStatus as S
from taskstore.errors import error
from taskstore.ops.context import OpContext, own_bound

# from -> the statuses it may move to without force (spec: lifecycle §1.2).  Same-state moves are
# not listed: the same-state rule allows them unless the operation forbids it.  ``unknown`` has no
# row: leaving it without force is 500/1.
ALLOWED: dict[S, tuple[S, ...]] = {
    S.created: (S.queued, S.in_progress),
    S.queued: (S.created, S.in_progress, S.stopped),
    S.in_progress: (S.created, S.stopped, S.failed, S.completed),
    S.stopped: (S.created, S.queued, S.in_progress, S.failed, S.closed, S.completed, S.publishing, S.published),
    S.closed: (S.created, S.stopped, S.failed, S.publishing, S.published),
    S.failed: (S.created, S.stopped, S.published),
    S.completed: (S.created, S.in_progress, S.published),
    S.publishing: (S.published,),
    S.published: (),
}

MACHINE = Machine(
    model=None,
    states=[s.value for s in S],
    transitions=[
        {"trigger": f"set_{dest.value}", "source": src.value, "dest": dest.value}
        for src, dests in ALLOWED.items()
        for dest in dests
    ],
    initial=S.created.value,
    auto_transitions=False,
    send_event=False,
)
# The statuses the machine has a row for (every status but ``unknown``).
_KNOWN_SOURCES: frozenset[str] = frozenset(s.value for s in ALLOWED)


class SameState(StrEnum):
    """How an operation treats a move to the status the task already has (lifecycle §1.2 rule 2)."""

    allow = "allow"  # accepted, bookkeeping still written (the default)
    forbid = "forbid"  # 400/110 "Task already in requested status" (enqueue)
    table = "table"  # no exemption: the pair is looked up like any other (publish: published -> 400/110)


@dataclass(frozen=True)
class Operation:
    """The status rules of one endpoint, beyond the table (lifecycle §2)."""

    # The status the operation moves to; None when the operation computes it (dequeue's revert,
    # delete, which removes the task).
    target: S | None
    same_state: SameState = SameState.allow
    # Without force, these current statuses are refused before anything else is done.
    refused: frozenset[S] = frozenset()
    # Without force, only these current statuses are accepted (None: any).
    only: frozenset[S] | None = None
    # Whether ``force`` lifts ``refused`` / ``only`` (dequeue has no force).
    forceable: bool = True
    # A system tag that lifts ``only`` (delete: archived tasks may be deleted in any status).
    unless_tag: str | None = None


OPERATIONS: Final[dict[str, Operation]] = {
    "started": Operation(S.in_progress),
    "stopped": Operation(S.stopped),
    "failed": Operation(S.failed),
    "close": Operation(S.closed),
    "completed": Operation(S.completed),
    # stop's immediate path; its worker path is a same-state move (lifecycle §4).
    "stop": Operation(S.stopped),
    "publish": Operation(S.published, same_state=SameState.table),
    "reset": Operation(S.created, refused=frozenset({S.published})),
    "enqueue": Operation(S.queued, same_state=SameState.forbid),
    "dequeue": Operation(None, only=frozenset({S.queued}), forceable=False),
    "delete": Operation(None, only=frozenset({S.created}), unless_tag="archived"),
}


def precheck(operation: str, task: TaskRecord | TaskRow, *, force: bool = False) -> None:
    """Raise the operation's own refusal (lifecycle §2) before any transition is attempted."""
    op = OPERATIONS[operation]
    if force and op.forceable:
        return
    status = task.status
    if status in op.refused:
        raise error("invalid_task_status", task_id=task.id, status=status)
    if op.only is None or status in op.only or (op.unless_tag and op.unless_tag in (task.system_tags or ())):
        return
    if operation == "dequeue":
        raise error("invalid_task_id", status=status, expected=S.queued.value)
    raise error(
        "task_cannot_be_deleted", "due to status, use force=True", task=task.id, expected=S.created.value,
        current=status,
    )  # fmt: skip


def is_allowed(current: str, new: str) -> bool:
    """Whether the machine has the move current -> new (same-state moves are not in the machine)."""
    return bool(MACHINE.get_transitions(trigger=f"set_{new}", source=current, dest=new))


def check_transition(
    current: str,
    new: str,
    *,
    force: bool = False,
    allow_same: bool = True,
    same_state: SameState | None = None,
) -> None:
    """Raise the reference's error when ``current -> new`` is not allowed.

    ``same_state`` overrides ``allow_same`` (``allow_same=False`` is ``SameState.forbid``).
    """
    if force:
        return
    rule = same_state or (SameState.allow if allow_same else SameState.forbid)
    if current == new and rule is not SameState.table:
        if rule is SameState.forbid:
            raise error(
                "invalid_task_status", "Task already in requested status", current_status=current, new_status=new
            )
        return
    if current not in _KNOWN_SOURCES:
        raise error("internal_error", f"Current status {current} not supported by state machine")
    if not is_allowed(current, new):
        raise error("invalid_task_status", "Invalid status change", current_status=current, new_status=new)


# -- writing -----------------------------------------------------------------------------------------


class _Unset:
    """The value of a field that a status change removes (reported as ``null`` in ``fields``)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

# JSON document columns: a dotted key "execution.queue" writes inside the document.
DOC_COLUMNS: Final = frozenset(
    {"execution", "script", "output", "container", "runtime", "models", "hyperparams", "configuration",
     "last_metrics"}
)  # fmt: skip
# Plain columns a status change may write; any other top-level key lives in ``extra``.
SCALAR_COLUMNS: Final = frozenset(
    c.key for c in TaskRecord.__table__.columns if c.key not in DOC_COLUMNS and c.key not in ("id", "company", "extra")
)


def _set_path(doc: dict[str, Any], path: list[str], val: Any) -> None:
    for key in path[:-1]:
        sub = doc.get(key)
        if not isinstance(sub, dict):
            if val is UNSET or val is None:
                return
            sub = doc[key] = {}
        doc = sub
    if val is UNSET or val is None:
        doc.pop(path[-1], None)
    else:
        doc[path[-1]] = val


def column_values(task: TaskRecord | TaskRow, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted field paths -> the column values of one UPDATE.

    ``status`` -> the column; ``execution.queue`` -> the execution document with that key set;
    ``enqueue_status`` (not a column) -> the ``extra`` document.  In documents, ``None`` and
    ``UNSET`` remove the key; a plain column is set to NULL.
    """
    values: dict[str, Any] = {}
    for key, val in fields.items():
        head, _, rest = key.partition(".")
        if head in SCALAR_COLUMNS and not rest:
            values[head] = None if val is UNSET else val
        elif (head in DOC_COLUMNS or head == "extra") and not rest:
            values[head] = {} if val is UNSET or val is None else val
        else:
            in_doc = head in DOC_COLUMNS or head == "extra"
            column, path = (head, rest.split(".")) if in_doc else ("extra", key.split("."))
            if column not in values:
                values[column] = copy.deepcopy(getattr(task, column) or {})
            _set_path(values[column], path, val)
    return values


@dataclass
class TaskRow:
    """The columns of a task a status change reads, loaded without the ORM (the hot path of the
    signal endpoints: started/completed/... load this, not a whole TaskRecord).  Of the documents it
    carries only ``extra``: a change that writes inside another document needs a TaskRecord."""

    id: str
    company: str
    status: str
    project: str | None
    started: datetime | None
    last_update: datetime | None
    system_tags: list[Any]
    extra: dict[str, Any]


_TASKS = cast(Table, TaskRecord.__table__)
_PROJECTS = cast(Table, ProjectRecord.__table__)
_ROW_COLUMNS = tuple(f.name for f in dataclass_fields(TaskRow))


def load_for_status(ctx: OpContext, task_id: str) -> TaskRow:
    """The task ``task_id`` for a status change: missing -> 400/101, public -> 403/21 (as get_for_write)."""
    task = TaskRow(**ctx.task_columns_for_write(task_id, _ROW_COLUMNS)._mapping)
    task.system_tags = list(task.system_tags or [])
    task.extra = dict(task.extra or {})
    return task


@lru_cache(maxsize=256)
def _update_statement(columns: tuple[str, ...]) -> Update:
    """``UPDATE tasks SET <columns> WHERE id = :w_id AND status = :w_status`` (built once per column set)."""
    return (
        update(_TASKS)
        .where(_TASKS.c.id == bindparam("w_id"), _TASKS.c.status == bindparam("w_status"))
        .values({c: bindparam(c) for c in columns})
    )


# Only a project of the caller's company (see tasks.touch_project).
_TOUCH_PROJECT = (
    update(_PROJECTS)
    .where(_PROJECTS.c.id == bindparam("w_project"), own_bound(_PROJECTS.c.company, "w_company"))
    .values(last_update=bindparam("w_now"))
)


def change_status(
    ctx: OpContext,
    task: TaskRecord | TaskRow,
    new_status: str,
    *,
    force: bool = False,
    allow_same: bool = True,
    same_state: SameState | None = None,
    reason: str | None = "",
    message: str | None = "",
    fields: Mapping[str, Any] | None = None,
    bookkeeping: bool = True,
) -> dict[str, Any]:
    """Move ``task`` to ``new_status`` with compare-and-set; return the fields written.

    ``fields`` are further fields written in the same statement, keyed by dotted path
    (``"execution.queue"``, ``"started"``, ``"enqueue_status"``); ``UNSET`` removes one.  The result
    is the SCP ``fields`` of lifecycle §1.3: every field written, removed ones as ``None``.
    ``bookkeeping=False`` writes only the status and ``fields`` (tasks.edit sets status without the
    status-change bookkeeping; publish's intermediate ``publishing``).  ``task`` is a TaskRecord or
    a TaskRow (load_for_status); either way it holds the written values afterwards.
    """
    current = task.status
    check_transition(current, new_status, force=force, allow_same=allow_same, same_state=same_state)
    written: dict[str, Any] = {"status": str(new_status)}
    if bookkeeping:
        written.update(
            status_reason=reason or "",
            status_message=message or "",
            status_changed=ctx.now,
            last_update=ctx.now,
            last_change=ctx.now,
        )
    written.update(fields or {})
    if bookkeeping and new_status == S.queued and "development" in (task.system_tags or []):
        from taskstore.ops.tags import set_tags  # an array write: not reported in ``fields``

        set_tags(ctx, task, system_tags=[t for t in task.system_tags if t != "development"])  # type: ignore[arg-type]
    values = column_values(task, written)
    if isinstance(task, TaskRecord):
        ctx.session.flush()  # what the ORM holds for this task is written first, never after us
    result = ctx.conn.execute(_update_statement(tuple(values)), {**values, "w_id": task.id, "w_status": current})
    if result.rowcount != 1:
        raise error("failed_changing_task_status", task_id=task.id, current_status=current, new_status=new_status)
    if isinstance(task, TaskRecord):
        # Expired, not set: a SAVEPOINT rolled back later (a failing batch item) must not leave the
        # session believing in values the database no longer holds.  The next read reloads them.
        ctx.session.expire(task, list(values))
    else:
        for key, val in values.items():
            if hasattr(task, key):
                setattr(task, key, val)
    if current == S.queued and new_status != S.queued:
        from taskstore.ops.queueing import drop_entries

        drop_entries(ctx, task.id)
    if bookkeeping and task.project:
        ctx.conn.execute(_TOUCH_PROJECT, {"w_project": task.project, "w_now": ctx.now, "w_company": ctx.company})
    return {k: None if v is UNSET else v for k, v in written.items()}


# -- docs/status.md ------------------------------------------------------------------------------------


def edges() -> list[tuple[str, str]]:
    """Every (source, dest) pair the machine itself holds, in table order."""
    found: list[tuple[str, str]] = []
    for event in MACHINE.events.values():
        for source, transitions in event.transitions.items():
            found.extend((source, t.dest) for t in transitions if t.dest is not None)
    order = {s.value: i for i, s in enumerate(S)}
    return sorted(found, key=lambda e: (order[e[0]], order[e[1]]))


def mermaid() -> str:
    """The machine as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.created.value}"]
    lines += [f"    {src} --> {dest}" for src, dest in edges()]
    isolated = [s.value for s in S if not any(s.value in e for e in edges())]
    lines += [f"    {s}: {s} (no row: leaving it needs force)" for s in isolated]
    return "\n".join(lines)


def _cell(values: frozenset[S] | None) -> str:
    return ", ".join(sorted(v.value for v in values)) if values else "—"


def markdown() -> str:
    """docs/status.md: the diagram and the per-operation rules, both generated from this module."""
    rows = [
        f"| `{name}` | {op.target.value if op.target else '(computed)'} | {op.same_state.value} | "
        f"{_cell(op.refused)} | {_cell(op.only)}{f' (or tagged {op.unless_tag})' if op.unless_tag else ''} | "
        f"{'yes' if op.forceable else 'no'} |"
        for name, op in OPERATIONS.items()
    ]
    return "\n".join(
        [
            "# Task status machine",
            "",
            "<!-- Generated by `python -m taskstore.ops.statemachine --mermaid docs/status.md`; do not edit."
            " tests/lifecycle/test_status_doc.py fails when this file is stale. -->",
            "",
            "The moves allowed without `force` (lifecycle §1.2). A move to the current status is accepted",
            "by the same-state rule unless the operation says otherwise; with `force` any move is allowed.",
            "A task that leaves `queued` by any status change also leaves every queue.",
            "",
            "```mermaid",
            mermaid(),
            "```",
            "",
            "## Per-operation rules",
            "",
            "| operation | target | same state | refused without force | only from, without force | force lifts |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "--mermaid":
        print("usage: python -m taskstore.ops.statemachine --mermaid [PATH]", file=sys.stderr)
        return 2
    text = markdown()
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
