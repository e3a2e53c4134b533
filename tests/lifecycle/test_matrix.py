"""The endpoint x current status x force matrix of lifecycle §2, on every backend.

Each test takes one endpoint (single or ``*_many``) and one force value, puts one task in each of
the ten statuses and checks every cell: the exact (code, subcode) of a refusal, the resulting status,
and that a refused call changed nothing.  The expected table is lifecycle_support.SPEC_TABLE, written
from the spec by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lifecycle_support import (
    MATRIX_QUEUE,
    STATUSES,
    batch_as_single,
    codes,
    entries_of,
    expected,
    row,
    status_of,
    task_in,
)

from taskstore import APIError, TaskStore

Call = Callable[[Any, str, bool], dict[str, Any]]


def single(endpoint: str, **data: Any) -> Call:
    return lambda store, tid, force: store.call(f"tasks.{endpoint}", {"task": tid, "force": force, **data})


def many(endpoint: str, **data: Any) -> Call:
    return lambda store, tid, force: batch_as_single(store, endpoint, tid, {"force": force, **data})


def archive_tag(store: Any, tid: str) -> None:
    """Tag a task archived without the archive endpoint (which would dequeue a queued task)."""
    tags = store.call("tasks.get_by_id", {"task": tid})["task"]["system_tags"]
    store.call("tasks.update", {"task": tid, "system_tags": [*tags, "archived"]})


# matrix row -> the ways to call it
CALLS: dict[str, dict[str, Call]] = {
    "started": {"single": single("started")},
    "stopped": {"single": single("stopped")},
    "failed": {"single": single("failed")},
    "close": {"single": single("close")},
    "completed": {"single": single("completed")},
    "stop": {"single": single("stop"), "many": many("stop")},
    "publish": {"single": single("publish"), "many": many("publish")},
    "reset": {"single": single("reset"), "many": many("reset")},
    "enqueue": {"single": single("enqueue", queue_name=MATRIX_QUEUE)},
    "dequeue": {"single": single("dequeue")},
    "delete": {"single": single("delete"), "many": many("delete")},
    "delete_archived": {"single": single("delete"), "many": many("delete")},
}
# Extra setup of a row's task before the call.
PREPARE: dict[str, Callable[[Any, str], None]] = {"delete_archived": archive_tag}
CASES = [(name, way) for name, ways in CALLS.items() for way in ways]


def _cell(store: TaskStore, name: str, call: Call, status: str, force: bool) -> str | None:
    """Run one cell; return a description of what differs from the spec (None when it matches)."""
    tid = task_in(store, status)
    if name in PREPARE:
        PREPARE[name](store, tid)
    before = row(store, tid)
    outcome, want_status = expected(name, status, force)
    try:
        call(store, tid, force)
        got = "ok"
    except APIError as exc:
        got = f"{exc.code}/{exc.subcode}"
    want = "ok" if outcome == "ok" else "{}/{}".format(*codes(outcome))
    if got != want:
        return f"{status}: expected {want}, got {got}"
    now = status_of(store, tid)
    if want_status == "(deleted)":
        return None if now is None else f"{status}: expected deleted, task is {now}"
    if now != want_status:
        return f"{status}: expected status {want_status}, got {now}"
    if outcome != "ok" and row(store, tid) != before:
        return f"{status}: the refused call changed the task"
    return None


@pytest.mark.parametrize("force", [False, True], ids=["no-force", "force"])
@pytest.mark.parametrize(("name", "way"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
def test_endpoint_by_status(store: TaskStore, name: str, way: str, force: bool) -> None:
    call = CALLS[name][way]
    problems = [p for s in STATUSES if (p := _cell(store, name, call, s, force)) is not None]
    assert not problems, problems
    # A task that left ``queued`` (by any endpoint) left its queue too.
    queued = {t for t, s in ((t, status_of(store, t)) for _, t in entries_of(store)) if s == "queued"}
    assert {t for _, t in entries_of(store)} == queued


# Endpoints without a status check (lifecycle §2): any status works and stays, except that archive
# dequeues a queued task (back to created).
ANY_STATUS: dict[str, Callable[[Any, str], Any]] = {
    "archive": lambda s, t: s.call("tasks.archive", {"tasks": [t]}),
    "archive_many": lambda s, t: batch_as_single(s, "archive", t, {}),
    "unarchive_many": lambda s, t: batch_as_single(s, "unarchive", t, {}),
    "move": lambda s, t: s.call("tasks.move", {"ids": [t], "project_name": "moved here"}),
    "set_requirements": lambda s, t: s.call("tasks.set_requirements", {"task": t, "requirements": {"pip": "x"}}),
    "ping": lambda s, t: s.call("tasks.ping", {"task": t}),
    "clone": lambda s, t: s.call("tasks.clone", {"task": t}),
    "make_public": lambda s, t: s.call("tasks.make_public", {"ids": [t]}),
}


@pytest.mark.parametrize("name", list(ANY_STATUS))
def test_endpoints_without_status_rules(store: TaskStore, name: str) -> None:
    problems = []
    for status in STATUSES:
        tid = task_in(store, status)
        try:
            ANY_STATUS[name](store, tid)
        except APIError as exc:
            problems.append(f"{status}: {exc.code}/{exc.subcode} {exc.message}")
            continue
        want = "created" if name.startswith("archive") and status == "queued" else status
        if status_of(store, tid) != want:
            problems.append(f"{status}: now {status_of(store, tid)}, expected {want}")
    assert not problems, problems
