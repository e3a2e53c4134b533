"""Helpers for the lifecycle tests: the spec's endpoint x status table as data, task setup, raw rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from support import create_task, set_status

from taskstore import APIError, TaskStore
from taskstore.db.records import ModelRecord, QueueEntryRecord, TaskRecord

STATUSES = ("created", "queued", "in_progress", "stopped", "failed", "closed", "completed", "publishing", "published",
            "unknown")  # fmt: skip
MATRIX_QUEUE = "matrix queue"

# lifecycle §2 "Endpoint x current status (no force)", copied from the spec by hand (deliberately not
# derived from ops.statemachine, so that a wrong machine table fails these tests).
#   ok   = allowed, the task ends in the row's target    same = a same-state move, accepted
#   NNN  = 400/NNN                                         500  = 500/1
# Columns: created, queued, in_progress, stopped, failed, closed, completed, publishing, published, unknown.
SPEC_TABLE = """
endpoint        | target      | cr   | qu  | ip   | st   | fa   | cl   | co   | pg  | pb  | un
started         | in_progress | ok   | ok  | same | ok   | 110  | 110  | ok   | 110 | 110 | 500
stopped         | stopped     | 110  | ok  | ok   | same | ok   | ok   | 110  | 110 | 110 | 500
failed          | failed      | 110  | 110 | ok   | ok   | same | ok   | 110  | 110 | 110 | 500
close           | closed      | 110  | 110 | 110  | ok   | 110  | same | 110  | 110 | 110 | 500
completed       | completed   | 110  | 110 | ok   | ok   | 110  | 110  | same | 110 | 110 | 500
stop            | stopped     | 110  | ok  | ok   | same | ok   | ok   | 110  | 110 | 110 | 500
publish         | published   | 110  | 110 | 110  | ok   | ok   | ok   | ok   | ok  | 110 | 500
reset           | created     | same | ok  | ok   | ok   | ok   | ok   | ok   | 101 | 110 | 500
enqueue         | queued      | ok   | 110 | 110  | ok   | 110  | 110  | 110  | 110 | 110 | 500
dequeue         | created     | 101  | ok  | 101  | 101  | 101  | 101  | 101  | 101 | 101 | 101
delete          | (deleted)   | ok   | 123 | 123  | 123  | 123  | 123  | 123  | 123 | 123 | 123
delete_archived | (deleted)   | ok   | ok  | ok   | ok   | ok   | ok   | ok   | 101 | 101 | ok
"""

# With force (lifecycle §2 "What force relaxes"): every cell is "ok" except these.
FORCE_EXCEPTIONS: dict[str, dict[str, str]] = {
    # The matrix enqueues into one queue: a forced re-enqueue of a queued task into the queue that
    # already holds it is refused by the queue (706), force or not.
    "enqueue": {"queued": "706"},
    # dequeue has no force: a force value is ignored.
    "dequeue": {s: ("ok" if s == "queued" else "101") for s in STATUSES},
}


def parse_table(text: str = SPEC_TABLE) -> dict[str, tuple[str, dict[str, str]]]:
    rows = [[c.strip() for c in line.split("|")] for line in text.strip().splitlines()]
    return {r[0]: (r[1], dict(zip(STATUSES, r[2:], strict=True))) for r in rows[1:]}


TABLE = parse_table()


def expected(endpoint: str, status: str, force: bool) -> tuple[str, str]:
    """(outcome, resulting status) for ``endpoint`` on a task in ``status``."""
    target, cells = TABLE[endpoint]
    outcome = FORCE_EXCEPTIONS.get(endpoint, {}).get(status, "ok") if force else cells[status]
    if outcome == "same":
        return "ok", status
    if outcome == "ok":
        return "ok", target
    return outcome, status


def codes(outcome: str) -> tuple[int, int]:
    return (500, 1) if outcome == "500" else (400, int(outcome))


def task_in(store: Any, status: str, name: str = "matrix task", **fields: Any) -> str:
    """A new task in ``status``: queued by a real enqueue, any other status via tasks.edit(force)."""
    tid = create_task(store, name, **fields)
    if status == "queued":
        store.call("tasks.enqueue", {"task": tid, "queue_name": MATRIX_QUEUE})
    elif status != "created":
        set_status(store, tid, status)
    return tid


def status_of(store: Any, task_id: str) -> str | None:
    """The task's status, or None when it no longer exists."""
    try:
        return str(store.call("tasks.get_by_id", {"task": task_id})["task"]["status"])
    except APIError as exc:
        assert (exc.code, exc.subcode) == (400, 101), exc
        return None


def batch_as_single(store: Any, endpoint: str, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Call ``<endpoint>_many`` with one id and turn a failed item back into the APIError."""
    res = store.call(f"tasks.{endpoint}_many", {"ids": [task_id], **data})
    if res["failed"]:
        (item,) = res["failed"]
        assert item["id"] == task_id and not res["succeeded"]
        err = item["error"]
        raise APIError(err["codes"][0], err["codes"][1], err["msg"], err["data"])
    (item,) = res["succeeded"]
    assert item["id"] == task_id
    return dict(item)


# -- direct row access (states the API cannot make, and what it does not show) ---------------------------
def set_columns(store: TaskStore, task_id: str, **values: Any) -> None:
    with store._db.transaction() as conn:
        conn.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(**values))


def set_extra(store: TaskStore, task_id: str, **values: Any) -> None:
    """Merge ``values`` into the task's internal fields (last_worker, ...)."""
    with store._db.transaction() as conn:
        extra = conn.execute(select(TaskRecord.extra).where(TaskRecord.id == task_id)).scalar_one()
        conn.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(extra={**(extra or {}), **values}))


def row(store: TaskStore, task_id: str) -> dict[str, Any] | None:
    with store._db.transaction(write=False) as conn:
        found = conn.execute(select(TaskRecord.__table__).where(TaskRecord.id == task_id)).mappings().first()
    return dict(found) if found is not None else None


def model_row(store: TaskStore, model_id: str) -> dict[str, Any] | None:
    with store._db.transaction(write=False) as conn:
        found = conn.execute(select(ModelRecord.__table__).where(ModelRecord.id == model_id)).mappings().first()
    return dict(found) if found is not None else None


def entries_of(store: TaskStore) -> list[tuple[str, str]]:
    """Every (queue id, task id) entry, in queue order."""
    with store._db.transaction(write=False) as conn:
        rows = conn.execute(select(QueueEntryRecord.queue, QueueEntryRecord.task).order_by(QueueEntryRecord.seq))
        return [(q, t) for q, t in rows]
