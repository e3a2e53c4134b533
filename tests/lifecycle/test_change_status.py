"""statemachine.change_status, the only writer of tasks.status: compare-and-set, fields, the queue rule."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from lifecycle_support import entries_of, task_in
from sqlalchemy import update
from support import api_error, create_task, get_task

from taskstore import TaskStore
from taskstore.db.records import TaskRecord
from taskstore.errors import error
from taskstore.ops import statemachine
from taskstore.ops.batch import run_many
from taskstore.ops.context import OpContext


@contextmanager
def op_context(store: TaskStore) -> Iterator[OpContext]:
    """An OpContext inside one transaction of ``store`` (what the dispatcher gives a handler)."""
    with store._db.transaction() as conn:
        ctx = OpContext(conn=conn, company=store.company, user=store.user, version=(2, 20), dialect=store.dialect)
        try:
            yield ctx
            ctx.finish()
        finally:
            ctx.discard()


def test_a_lost_race_is_400_121_and_nothing_is_written(store: TaskStore) -> None:
    tid = create_task(store)
    with op_context(store) as ctx:
        task = ctx.get_for_write(TaskRecord, tid)
        # someone else changes the status between the read and the write
        ctx.conn.execute(update(TaskRecord).where(TaskRecord.id == tid).values(status="stopped"))
        with api_error(400, 121) as info:
            statemachine.change_status(ctx, task, "in_progress")
        assert info.value.data == {"task_id": tid, "current_status": "created", "new_status": "in_progress"}
    assert get_task(store, tid)["status"] == "stopped"


def test_fields_are_written_by_dotted_path_and_reported(store: TaskStore) -> None:
    tid = create_task(store, output_dest="s3://d", execution={"framework": "torch"})
    with op_context(store) as ctx:
        task = ctx.get_for_write(TaskRecord, tid)
        written = statemachine.change_status(
            ctx,
            task,
            "in_progress",
            reason="r",
            message="m",
            fields={"execution.queue": "q1", "output.error": statemachine.UNSET, "enqueue_status": "created"},
        )
    assert written["status"] == "in_progress" and type(written["status"]) is str
    assert (written["execution.queue"], written["output.error"], written["enqueue_status"]) == ("q1", None, "created")
    doc = get_task(store, tid)
    assert doc["execution"]["queue"] == "q1" and doc["execution"]["framework"] == "torch"
    assert doc["output"] == {"destination": "s3://d"}
    assert doc["enqueue_status"] == "created"
    assert (doc["status_reason"], doc["status_message"]) == ("r", "m")


def test_leaving_queued_drops_every_entry_but_a_same_state_move_does_not(store: TaskStore) -> None:
    tid = task_in(store, "queued")
    with op_context(store) as ctx:
        statemachine.change_status(ctx, ctx.get_for_write(TaskRecord, tid), "queued")
    assert len(entries_of(store)) == 1
    store.call("tasks.edit", {"task": tid, "status": "failed", "force": True})  # even without bookkeeping
    assert entries_of(store) == []


@pytest.mark.parametrize(
    ("current", "new", "same_state", "code"),
    [
        ("created", "created", statemachine.SameState.allow, None),
        ("queued", "queued", statemachine.SameState.forbid, (400, 110)),
        ("published", "published", statemachine.SameState.table, (400, 110)),
        ("unknown", "created", statemachine.SameState.allow, (500, 1)),
        ("unknown", "unknown", statemachine.SameState.allow, None),
        ("publishing", "published", statemachine.SameState.table, None),
        ("created", "completed", statemachine.SameState.allow, (400, 110)),
    ],
)
def test_check_transition(current: str, new: str, same_state: statemachine.SameState, code: tuple[int, int]) -> None:
    if code is None:
        statemachine.check_transition(current, new, same_state=same_state)
        statemachine.check_transition(current, new, same_state=same_state, force=True)
        return
    with api_error(*code) as info:
        statemachine.check_transition(current, new, same_state=same_state)
    statemachine.check_transition(current, new, same_state=same_state, force=True)
    if code == (400, 110):
        assert info.value.data == {"current_status": current, "new_status": new}
        extra = "Task already in requested status" if current == new and same_state == "forbid" else "Invalid status"
        assert extra in info.value.message


def test_the_machine_is_built_once_without_auto_transitions() -> None:
    assert statemachine.MACHINE.auto_transitions is False
    assert not any(name.startswith("to_") for name in statemachine.MACHINE.events)
    assert sorted(statemachine.MACHINE.states) == sorted(s.value for s in statemachine.S)


def test_a_failed_batch_item_leaves_no_stale_status_in_the_session(store: TaskStore) -> None:
    """A batch item that fails after its status change is rolled back; the same id later in the batch
    must see the status the database holds, not the rolled-back one."""
    tid = create_task(store)
    calls: list[str] = []

    def op(ctx: OpContext, task_id: str) -> dict[str, Any]:
        task = ctx.get_for_write(TaskRecord, task_id)
        calls.append(task.status)
        if len(calls) == 1:
            statemachine.change_status(ctx, task, "in_progress")
            assert task.status == "in_progress"
            raise error("invalid_task_status", "refused after the write")
        return {"status": task.status}

    with op_context(store) as ctx:
        held = ctx.get_for_write(TaskRecord, tid)  # in the session (and referenced) before the batch starts
        res = run_many(ctx, [tid, tid], op)
        assert held.status == "created"
    assert calls == ["created", "created"]
    assert res["succeeded"] == [{"id": tid, "status": "created"}]
    assert get_task(store, tid)["status"] == "created"
