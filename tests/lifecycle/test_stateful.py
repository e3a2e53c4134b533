"""A hypothesis state machine: random status calls on several tasks and two queues, checked after
every step against a small pure-Python model of lifecycle §1-§10.

The model (``SpecModel``) knows nothing of taskstore: its transition table is copied from the spec
(§1.2) by hand.  After each step the status of every task, the entries of both queues (in order) and
the error code of the call must match the model.  To extend it, add a ``SpecModel`` method that
returns the expected error (or None) and applies the change, and a ``@rule`` that calls the endpoint.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from taskstore import APIError, TaskStore
from taskstore.db.records import QueueEntryRecord, TaskRecord

# lifecycle §1.2, by hand: the moves allowed without force (same-state moves are handled apart).
SPEC_MOVES: dict[str, set[str]] = {
    "created": {"queued", "in_progress"},
    "queued": {"created", "in_progress", "stopped"},
    "in_progress": {"created", "stopped", "failed", "completed"},
    "stopped": {"created", "queued", "in_progress", "failed", "closed", "completed", "publishing", "published"},
    "closed": {"created", "stopped", "failed", "publishing", "published"},
    "failed": {"created", "stopped", "published"},
    "completed": {"created", "in_progress", "published"},
    "publishing": {"published"},
    "published": set(),
}
STATUSES = [*SPEC_MOVES, "unknown"]
SIGNAL_TARGETS = {"started": "in_progress", "stopped": "stopped", "failed": "failed", "close": "closed",
                  "completed": "completed"}  # fmt: skip
Code = tuple[int, int] | None


@dataclass
class TaskModel:
    status: str = "created"
    enqueue_status: str | None = None
    queue: str | None = None  # execution.queue
    archived: bool = False


class SpecModel:
    """What the spec (with our deliberate differences) says the store holds."""

    def __init__(self, queues: list[str]) -> None:
        self.tasks: dict[str, TaskModel] = {}
        self.entries: dict[str, list[str]] = {q: [] for q in queues}

    # -- helpers --------------------------------------------------------------------------------------
    @staticmethod
    def refusal(current: str, target: str, *, force: bool, same: str = "allow") -> Code:
        """SCP's check (§1.2 rules 1-3); ``same``: allow / forbid / table."""
        if force:
            return None
        if current == target and same != "table":
            return (400, 110) if same == "forbid" else None
        if current not in SPEC_MOVES:
            return (500, 1)
        return None if target in SPEC_MOVES[current] else (400, 110)

    def move(self, tid: str, target: str) -> None:
        """A successful status change: leaving ``queued`` leaves every queue (our difference)."""
        task = self.tasks[tid]
        if task.status == "queued" and target != "queued":
            self.drop(tid)
        task.status = target

    def drop(self, tid: str, keep: str | None = None) -> None:
        for q, items in self.entries.items():
            if q != keep:
                items[:] = [t for t in items if t != tid]

    def dar(self, tid: str) -> Code:
        """§1.6 dequeue-and-revert; on an error nothing changes."""
        task = self.tasks[tid]
        if task.status != "queued":
            return (400, 101)
        if not task.queue:
            return (400, 11)
        if tid not in self.entries[task.queue]:
            return (400, 703)
        target = task.enqueue_status or "created"
        code = self.refusal("queued", target, force=False)
        if code:
            return code
        self.entries[task.queue] = [t for t in self.entries[task.queue] if t != tid]
        self.move(tid, target)
        task.enqueue_status = None
        return None

    # -- operations ------------------------------------------------------------------------------------
    def signal(self, tid: str, op: str, force: bool) -> Code:
        target = SIGNAL_TARGETS[op]
        code = self.refusal(self.tasks[tid].status, target, force=force)
        if code is None:
            self.move(tid, target)
        return code

    def stop(self, tid: str, force: bool) -> Code:  # no worker ever reports here: the immediate path
        code = self.refusal(self.tasks[tid].status, "stopped", force=force)
        if code is None:
            self.move(tid, "stopped")
        return code

    def publish(self, tid: str, force: bool) -> Code:
        code = self.refusal(self.tasks[tid].status, "published", force=force, same="table")
        if code is None:
            self.move(tid, "published")
        return code

    def reset(self, tid: str, force: bool) -> Code:
        task = self.tasks[tid]
        if not force:
            if task.status == "published":
                return (400, 110)
            if task.status == "publishing":
                return (400, 101)  # events lock
        code = self.refusal(task.status, "created", force=force)
        if code is None:
            self.move(tid, "created")
            self.drop(tid)
            task.enqueue_status = task.queue = None
        return code

    def enqueue(self, tid: str, queue: str, force: bool) -> Code:
        task = self.tasks[tid]
        previous = task.status
        code = self.refusal(previous, "queued", force=force, same="forbid")
        if code is None and tid in self.entries[queue]:
            code = (400, 706)
        if code:
            return code
        task.enqueue_status = (task.enqueue_status or previous) if previous == "queued" else previous
        if previous == "queued":
            self.drop(tid, keep=queue)
        task.status, task.queue = "queued", queue
        self.entries[queue].append(tid)
        return None

    def dequeue(self, tid: str) -> Code:
        return self.dar(tid)

    def archive(self, tid: str) -> Code:
        if self.tasks[tid].status == "queued":
            self.dar(tid)  # errors swallowed
        self.tasks[tid].archived = True
        return None

    def delete(self, tid: str, force: bool) -> Code:
        task = self.tasks[tid]
        if not force and task.status != "created" and not task.archived:
            return (400, 123)
        snapshot = (task.status, task.enqueue_status, {q: list(v) for q, v in self.entries.items()})
        if task.status == "queued":
            self.dar(tid)
        if not force and task.status in ("publishing", "published"):
            task.status, task.enqueue_status, self.entries = snapshot  # the whole call rolls back
            return (400, 101)
        self.drop(tid)
        del self.tasks[tid]
        return None

    def edit_status(self, tid: str, status: str) -> Code:
        self.move(tid, status)  # tasks.edit(force): no checks, no bookkeeping
        return None


_names = itertools.count()


class LifecycleMachine(RuleBasedStateMachine):
    store: TaskStore

    @initialize()
    def setup(self) -> None:
        run = next(_names)
        self.queues = [self.store.call("queues.create", {"name": f"queue {run}-{i}"})["id"] for i in (1, 2)]
        self.model = SpecModel(self.queues)

    def _check(self, expected: Code, call: Any) -> None:
        try:
            call()
            got: Code = None
        except APIError as exc:
            got = (exc.code, exc.subcode)
        assert got == expected, f"expected {expected}, got {got}"

    def _task(self, data: st.DataObject) -> str:
        # Draw a position, not an id: ids are random, positions (creation order) replay the same.
        ids = list(self.model.tasks)
        return ids[data.draw(st.integers(0, len(ids) - 1), label="task index")]

    @rule()
    @precondition(lambda self: len(self.model.tasks) < 5)
    def create(self) -> None:
        tid = self.store.call("tasks.create", {"name": "stateful", "type": "training"})["id"]
        self.model.tasks[tid] = TaskModel()

    @rule(data=st.data(), op=st.sampled_from(sorted(SIGNAL_TARGETS)), force=st.booleans())
    @precondition(lambda self: self.model.tasks)
    def signal(self, data: st.DataObject, op: str, force: bool) -> None:
        tid = self._task(data)
        self._check(
            self.model.signal(tid, op, force), lambda: self.store.call(f"tasks.{op}", {"task": tid, "force": force})
        )

    @rule(data=st.data(), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.model.tasks)
    def stop(self, data: st.DataObject, force: bool, batch: bool) -> None:
        tid = self._task(data)
        self._check(self.model.stop(tid, force), lambda: self._call("stop", tid, batch, force=force))

    @rule(data=st.data(), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.model.tasks)
    def publish(self, data: st.DataObject, force: bool, batch: bool) -> None:
        tid = self._task(data)
        self._check(self.model.publish(tid, force), lambda: self._call("publish", tid, batch, force=force))

    @rule(data=st.data(), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.model.tasks)
    def reset(self, data: st.DataObject, force: bool, batch: bool) -> None:
        tid = self._task(data)
        self._check(self.model.reset(tid, force), lambda: self._call("reset", tid, batch, force=force))

    @rule(data=st.data(), queue=st.sampled_from([0, 1]), force=st.booleans())
    @precondition(lambda self: self.model.tasks)
    def enqueue(self, data: st.DataObject, queue: int, force: bool) -> None:
        tid, q = self._task(data), self.queues[queue]
        req = {"task": tid, "queue": q, "force": force}
        self._check(self.model.enqueue(tid, q, force), lambda: self.store.call("tasks.enqueue", req))

    @rule(data=st.data(), batch=st.booleans())
    @precondition(lambda self: self.model.tasks)
    def dequeue(self, data: st.DataObject, batch: bool) -> None:
        tid = self._task(data)
        self._check(self.model.dequeue(tid), lambda: self._call("dequeue", tid, batch))

    @rule(data=st.data())
    @precondition(lambda self: self.model.tasks)
    def archive(self, data: st.DataObject) -> None:
        tid = self._task(data)
        self._check(self.model.archive(tid), lambda: self._call("archive", tid, True))

    @rule(data=st.data(), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.model.tasks)
    def delete(self, data: st.DataObject, force: bool, batch: bool) -> None:
        tid = self._task(data)
        self._check(self.model.delete(tid, force), lambda: self._call("delete", tid, batch, force=force))

    @rule(data=st.data(), status=st.sampled_from(STATUSES))
    @precondition(lambda self: self.model.tasks)
    def edit_status(self, data: st.DataObject, status: str) -> None:
        tid = self._task(data)
        req = {"task": tid, "status": status, "force": True}
        self._check(self.model.edit_status(tid, status), lambda: self.store.call("tasks.edit", req))

    def _call(self, endpoint: str, tid: str, batch: bool, **data: Any) -> None:
        if not batch:
            self.store.call(f"tasks.{endpoint}", {"task": tid, **data})
            return
        res = self.store.call(f"tasks.{endpoint}_many", {"ids": [tid], **data})
        if res["failed"]:
            codes = res["failed"][0]["error"]["codes"]
            raise APIError(codes[0], codes[1])
        assert [i["id"] for i in res["succeeded"]] == [tid]

    @invariant()
    def store_matches_model(self) -> None:
        if not hasattr(self, "model"):
            return
        with self.store._db.transaction(write=False) as conn:
            ids = list(self.model.tasks)
            found = dict(conn.execute(select(TaskRecord.id, TaskRecord.status).where(TaskRecord.id.in_(ids))).all())
            rows = conn.execute(
                select(QueueEntryRecord.queue, QueueEntryRecord.task)
                .where(QueueEntryRecord.queue.in_(self.queues))
                .order_by(QueueEntryRecord.seq)
            ).all()
        assert found == {t: m.status for t, m in self.model.tasks.items()}
        assert {q: [t for qq, t in rows if qq == q] for q in self.queues} == self.model.entries
        for q in self.queues:  # the API shows the same entries, head first
            shown = [e["task"] for e in self.store.call("queues.get_by_id", {"queue": q})["queue"]["entries"]]
            assert shown == self.model.entries[q]


@pytest.mark.parametrize("steps", [30])
def test_lifecycle_state_machine(store: TaskStore, steps: int) -> None:
    class Machine(LifecycleMachine):
        pass

    Machine.store = store
    run_state_machine_as_test(Machine, settings=settings(settings(), stateful_step_count=steps))
