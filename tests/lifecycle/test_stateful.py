"""A hypothesis state machine: random status calls on several tasks and two queues, checked after
every step against a small pure-Python model of lifecycle §1-§10.

The model (``SpecModel``, in tests/reliability/stateful_model.py, shared with the reliability S1
machine that covers every task endpoint) knows nothing of taskstore: its transition table is copied
from the spec (§1.2) by hand.  After each step the status of every task, the entries of both queues
(in order, read from the database and through the API) and the error code of the call must match the
model.  To extend it, add a ``SpecModel`` method that returns the expected error (or None) and
applies the change, and a ``@rule`` that calls the endpoint.
"""

from __future__ import annotations

import itertools
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
from stateful_model import SIGNAL_TARGETS, STATUSES, Code, SpecModel, TaskModel  # shared with reliability S1

from taskstore import APIError, TaskStore
from taskstore.db.records import QueueEntryRecord, TaskRecord

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
        self._check(self.model.archive_one(tid), lambda: self._call("archive", tid, True))

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
