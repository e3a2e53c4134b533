"""K1, crash safety: a writer process is killed with SIGKILL at random points of a sequence of batch
calls (reliability.md §5 K1/K2).  Every taskstore call is one transaction, so a killed call must be
all-or-nothing and every acknowledged call must survive.

Each round: the parent makes fresh tasks (hyperparameters, configuration, artifacts, a draft model,
scalar events, queue entries, various statuses), snapshots them, and computes from the spec the
state after each call of a plan (``post`` below: pure functions of the previous state).  A spawned
writer (crash_writer.run_plan) makes the calls, logging "begin n" before each one and fsyncing
"ack n" after it; the parent SIGKILLs it after a seeded random delay spread over the call sequence
(from the measured call times), then reopens the database (a new TaskStore) and checks:

* SQLite: ``integrity_check``, ``quick_check``, ``foreign_key_check``, WAL mode, FTS5 integrity;
  PostgreSQL: the killed client's backend is gone (the server rolled its transaction back);
* the observed state (get_by_id documents, events per task, model links, the round's queue) equals
  the state after exactly the acknowledged calls, or after those plus the call in flight: so no
  acknowledged write is lost and the call in flight is wholly applied or wholly absent;
* derived data matches the tasks: queue entries vs status and execution.queue, ``task_tags`` vs
  tags, no events or models of deleted tasks, and on SQLite the trigger-kept ``task_param_keys``
  and ``tasks_fts`` rows;
* the store works: the parent makes the calls the writer did not commit and reaches the final state.

Fast variant (CI): 3 kills per operation.  ``pytest --soak``: 50 kills per operation.  Run with ``-s``
to see where the kills landed (mid-call, committed or rolled back / between calls / after the
last call).  The seed is printed with every failure; ``TASKSTORE_K1_SEED=<n>`` replays its data
and delays (the timing of the calls themselves varies from run to run).
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from crash_writer import Tally, Writer, WriterLog, wait_backend_gone
from sqlalchemy import func, select

from taskstore import APIError, TaskStore
from taskstore.db.records import EventRecord, ModelRecord, QueueEntryRecord, TaskRecord, TaskTagRecord

COMPANY, USER = "acme", "k1"
OPS = ("delete_many", "reset_many", "update_batch", "edit_hyper_params", "enqueue_many", "archive_many")
TIME = "<time>"
TIME_KEYS = ("status_changed", "last_update", "last_change")  # written by the calls at "now"
DELETED = "__DELETED__"
GONE = "<no such row>"
NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Statuses the tasks of a round are put in before the calls (cycled over the tasks of each call).
START_STATUSES = {
    "delete_many": ("created", "queued", "in_progress", "stopped", "archived"),
    "reset_many": ("queued", "in_progress", "stopped", "failed", "completed"),
    "update_batch": ("created", "queued", "in_progress", "stopped"),
    "edit_hyper_params": ("created", "in_progress"),
    "enqueue_many": ("created", "stopped"),
    "archive_many": ("created", "queued", "in_progress", "stopped"),
}


@dataclass(frozen=True)
class Load:
    kills: int  # writer processes killed per operation
    calls: int  # calls per writer (edit_hyper_params: twice as many, one task each)
    batch: int  # tasks per call
    params: int  # hyperparameters per task (the replace-all edit writes as many)
    config_bytes: int  # per configuration item (3 per task)
    events: int  # scalar events per task


FAST = Load(kills=3, calls=3, batch=4, params=50, config_bytes=2_000, events=20)
SOAK = Load(kills=50, calls=5, batch=6, params=50, config_bytes=10_000, events=20)

# {"tasks": {id: projected document | None}, "events": {task id: count}, "models": {task id: its model's task
# link (None: unlinked, GONE: deleted)}, "queue": [task ids of the round's queue, head first]}
World = dict[str, Any]


# -- data --------------------------------------------------------------------------------------------------
def hyperparams(rng: random.Random, count: int, gen: int) -> list[dict[str, str]]:
    """``count`` params over 3 sections; about half number literals; names shift with ``gen``."""
    items = []
    for i in range(count):
        value = str(round(rng.uniform(-100, 100), 3)) if rng.random() < 0.5 else f"w{rng.randrange(10**6)}" + "x" * 80
        items.append({"section": f"s{i % 3}", "name": f"p{i + gen * (count // 3)}", "value": value})
    return items


def as_doc(items: list[dict[str, str]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for p in items:
        doc.setdefault(p["section"], {})[p["name"]] = dict(p)
    return doc


def create_task(store: TaskStore, name: str, rng: random.Random, load: Load) -> str:
    body = {
        "name": name,
        "type": "training",
        "tags": ["k1", f"t{rng.randrange(100)}"],
        "system_tags": ["development"],
        "comment": f"{name}: written before the crash",
        "hyperparams": as_doc(hyperparams(rng, load.params, 0)),
        "configuration": {f"cfg{j}": {"name": f"cfg{j}", "value": f"{j}" * load.config_bytes} for j in range(3)},
        "script": {"repository": "https://example.com/k1.git", "entry_point": "train.py"},
        "execution": {"artifacts": [
            {"key": "data", "type": "csv", "mode": "input", "uri": "s3://k1/in.csv"},
            {"key": "result", "type": "csv", "mode": "output", "uri": f"s3://k1/{name}/out.csv"},
        ]},
    }  # fmt: skip
    return str(store.call("tasks.create", body)["id"])


def bring_to(store: TaskStore, statuses: dict[str, str], queue: str) -> None:
    """Put fresh (created) tasks in the given statuses through the lifecycle endpoints."""
    queued = [t for t, s in statuses.items() if s == "queued"]
    if queued:
        assert store.call("tasks.enqueue_many", {"ids": queued, "queue": queue})["failed"] == []
    archived = [t for t, s in statuses.items() if s == "archived"]
    if archived:
        assert store.call("tasks.archive_many", {"ids": archived})["failed"] == []
    for tid, status in statuses.items():
        if status in ("in_progress", "stopped", "failed", "completed"):
            store.call("tasks.started", {"task": tid})
        if status in ("stopped", "failed", "completed"):
            store.call(f"tasks.{status}", {"task": tid})


@dataclass
class Round:
    op: str
    number: int
    queue: str
    tasks: list[str] = field(default_factory=list)  # every task the plan may touch (children too)
    models: dict[str, str] = field(default_factory=dict)  # task id -> its draft model
    plan: list[dict[str, Any]] = field(default_factory=list)  # {"endpoint", "body", "meta"}


def setup_round(store: TaskStore, op: str, number: int, rng: random.Random, load: Load) -> Round:
    queue = str(store.call("queues.create", {"name": f"k1 {op} r{number}"})["id"])
    rnd = Round(op, number, queue)
    single = op == "edit_hyper_params"
    n_tasks = load.calls if single else load.calls * load.batch
    ids = [create_task(store, f"k1 {op} r{number} t{i}", rng, load) for i in range(n_tasks)]
    rnd.tasks = list(ids)
    for tid in ids:
        model = {"name": f"model of {tid}", "uri": f"s3://k1/{tid}/model.bin", "task": tid, "ready": False}
        rnd.models[tid] = str(store.call("models.create", model)["id"])
    events = [
        {"task": tid, "type": "training_stats_scalar", "metric": "loss", "variant": "total", "iter": i,
         "value": rng.random()}
        for tid in ids for i in range(load.events)
    ]  # fmt: skip
    store.call("events.add_batch", events)
    cycle = START_STATUSES[op]
    bring_to(store, {tid: cycle[i % len(cycle)] for i, tid in enumerate(ids)}, queue)

    groups = [[ids[k]] for k in range(n_tasks)] if single else [ids[k :: load.calls] for k in range(load.calls)]
    if single:
        groups = groups + groups  # every task is edited twice, the second edit replacing the first
    for k, group in enumerate(groups):
        meta: dict[str, Any] = {"ids": group}
        if op == "delete_many":
            child = str(
                store.call("tasks.create", {"name": f"child of c{k}", "type": "testing", "parent": group[0]})["id"]
            )
            rnd.tasks.append(child)
            meta["children"] = {child: group[0]}
            body: Any = {"ids": group, "force": True, "status_reason": f"k1 c{k}"}
        elif op == "reset_many":
            body = {"ids": group, "force": True, "clear_all": True}
        elif op == "update_batch":
            items = [
                {"task": tid, "name": f"k1 updated r{number} c{k} {i}", "comment": f"updated by call {k + 1}",
                 "tags": ["k1", f"upd c{k}"], "system_tags": [f"k1-upd-{number}"]}
                for i, tid in enumerate(group)
            ]  # fmt: skip
            body = items  # update_batch takes the list of update requests itself
        elif op == "edit_hyper_params":
            params = hyperparams(rng, load.params, k // n_tasks + 1)
            body = {"task": group[0], "hyperparams": params, "replace_hyperparams": "all", "force": True}
        elif op == "enqueue_many":
            body = {"ids": group, "queue": queue}
        else:
            body = {"ids": group, "status_reason": f"k1 archive c{k}", "status_message": f"round {number}"}
        rnd.plan.append({"endpoint": f"tasks.{op}", "body": body, "meta": meta})
    return rnd


# -- the expected states ------------------------------------------------------------------------------------
def project(doc: dict[str, Any]) -> dict[str, Any]:
    """A get_by_id document with the times the calls write at "now" replaced by ``TIME``."""
    out = dict(doc)
    for key in TIME_KEYS:
        if key in out:
            out[key] = TIME
    return out


def _dequeue(world: World, doc: dict[str, Any], tid: str) -> None:
    """The dequeue-and-revert step of archive and delete (lifecycle §1.6)."""
    if doc["status"] == "queued":
        world["queue"].remove(tid)
        doc["status"] = doc.pop("enqueue_status", None) or "created"
        doc.update(status_changed=TIME, last_update=TIME, last_change=TIME)


def post(world: World, call: dict[str, Any]) -> World:
    """The state after ``call``, from the state before it (spec: lifecycle §5, §7-§10, query_edit §2.6, §3.3)."""
    body, op, ids = call["body"], call["endpoint"].split(".")[1], call["meta"]["ids"]
    world = {part: copy.copy(value) for part, value in world.items()}
    tasks = world["tasks"]
    for tid in [*ids, *call["meta"].get("children", ())]:  # the documents the call changes, copied
        tasks[tid] = copy.deepcopy(tasks[tid])
    if op == "delete_many":
        for tid in ids:
            if tid in world["queue"]:
                world["queue"].remove(tid)
            tasks[tid] = None
            world["events"][tid] = 0
            world["models"][tid] = GONE  # a draft model no task uses is deleted
        for child, parent in call["meta"]["children"].items():
            tasks[child]["parent"] = DELETED + parent
    elif op == "reset_many":
        for tid in ids:
            doc = tasks[tid]
            if tid in world["queue"]:
                world["queue"].remove(tid)
            for key in ("started", "completed", "published", "active_duration", "enqueue_status", "last_worker",
                        "last_worker_report"):  # fmt: skip
                doc.pop(key, None)
            doc.update(status="created", status_reason="reset", status_message="reset", status_changed=TIME,
                       last_update=TIME, last_change=TIME, last_iteration=0, last_metrics={}, metric_stats={},
                       runtime={})  # fmt: skip
            doc["models"]["output"] = []
            for key in ("result", "error"):
                doc["output"].pop(key, None)
            # clear_all: a fresh execution (no queue, no artifacts) and no script
            doc["execution"] = {
                "test_split": 0,
                "parameters": {},
                "model_desc": {},
                "model_labels": {},
                "artifacts": [],
            }
            doc["script"] = {"binary": "python", "repository": "", "entry_point": "", "requirements": {}}
            world["events"][tid] = 0
            world["models"][tid] = GONE
    elif op == "update_batch":
        for item in body:
            doc = tasks[item["task"]]
            doc.update({k: v for k, v in item.items() if k != "task"}, last_change=TIME)
    elif op == "edit_hyper_params":
        doc = tasks[body["task"]]
        doc.update(hyperparams=as_doc(body["hyperparams"]), last_update=TIME, last_change=TIME)
    elif op == "enqueue_many":
        for tid in ids:
            doc = tasks[tid]
            doc.update(enqueue_status=doc["status"], status="queued", status_reason="", status_message="",
                       status_changed=TIME, last_update=TIME, last_change=TIME)  # fmt: skip
            doc["system_tags"] = [t for t in doc["system_tags"] if t != "development"]
            doc["execution"]["queue"] = body["queue"]
            world["queue"].append(tid)
    elif op == "archive_many":
        for tid in ids:
            doc = tasks[tid]
            _dequeue(world, doc, tid)
            doc.update(status_reason=body["status_reason"], status_message=body["status_message"], last_change=TIME)
            if "archived" not in doc["system_tags"]:
                doc["system_tags"] = sorted([*doc["system_tags"], "archived"])  # documents list them sorted
    else:
        raise AssertionError(op)
    return world


def expected_ack(call: dict[str, Any]) -> dict[str, Any]:
    """What the writer's acknowledgement of a successful call records (crash_writer.summary)."""
    if isinstance(call["body"], list):
        return {"updated": len(call["body"])}
    if "ids" in call["body"]:
        return {"succeeded": call["body"]["ids"], "failed": []}
    return {"updated": 1}


# -- observing ----------------------------------------------------------------------------------------------
def observe(store: TaskStore, rnd: Round) -> World:
    tasks: dict[str, Any] = {}
    for tid in rnd.tasks:
        try:
            tasks[tid] = project(store.call("tasks.get_by_id", {"task": tid})["task"])
        except APIError as exc:
            assert (exc.code, exc.subcode) == (400, 101), exc
            tasks[tid] = None
    with store._db.transaction(write=False) as conn:
        counts: dict[str, int] = dict(
            conn.execute(
                select(EventRecord.task, func.count()).where(EventRecord.task.in_(rnd.tasks)).group_by(EventRecord.task)
            ).all()
        )
        links = dict(
            conn.execute(select(ModelRecord.id, ModelRecord.task).where(ModelRecord.id.in_(rnd.models.values()))).all()
        )
    queue = [e["task"] for e in store.call("queues.get_by_id", {"queue": rnd.queue})["queue"]["entries"]]
    return {
        "tasks": tasks,
        "events": {tid: counts.get(tid, 0) for tid in rnd.tasks},
        "models": {tid: links.get(mid, GONE) for tid, mid in rnd.models.items()},
        "queue": queue,
    }


def check_sqlite_file(store: TaskStore) -> None:
    """The file itself: page-level integrity, foreign keys, WAL mode, the FTS5 index."""
    with store._db.transaction(write=False) as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").all() == [("ok",)]
        assert conn.exec_driver_sql("PRAGMA quick_check").all() == [("ok",)]
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with store._db.transaction() as conn:
        # Raises "database disk image is malformed" (SQLITE_CORRUPT_VTAB) if the index disagrees.
        conn.exec_driver_sql("INSERT INTO tasks_fts (tasks_fts) VALUES ('integrity-check')")


def check_derived(store: TaskStore) -> None:
    """Side tables agree with the tasks (all of them, not only this round's)."""
    t = TaskRecord
    with store._db.transaction(write=False) as conn:
        rows = conn.execute(
            select(t.id, t.status, t.execution, t.tags, t.system_tags, t.hyperparams, t.seq, t.name, t.comment)
        ).all()
        by_id = {r.id: r for r in rows}
        entries = conn.execute(select(QueueEntryRecord.queue, QueueEntryRecord.task)).all()
        tag_rows = {tuple(r) for r in conn.execute(select(TaskTagRecord.task, TaskTagRecord.system, TaskTagRecord.tag))}
        event_tasks = set(conn.execute(select(EventRecord.task).distinct()).scalars())
        model_tasks = {m for m in conn.execute(select(ModelRecord.task)).scalars() if m is not None}
        sqlite = store.dialect == "sqlite"
        if sqlite:
            keys = set(
                conn.exec_driver_sql("SELECT task, section, name, seq, sort_key FROM task_param_keys WHERE task <> ''")
            )
            fts = set(conn.exec_driver_sql("SELECT tid, name, comment FROM tasks_fts"))
            fts_count = conn.exec_driver_sql("SELECT count(*) FROM tasks_fts").scalar()
    # queue entries: exactly one per queued task, in the queue its execution.queue names; none else
    per_task = Counter(task for _, task in entries)
    assert [e for e in entries if e.task not in by_id or by_id[e.task].status != "queued"] == []
    assert [tid for tid, n in per_task.items() if n != 1] == []
    queued = {r.id: (r.execution or {}).get("queue") for r in rows if r.status == "queued"}
    assert {task: queue for queue, task in entries} == queued
    # tags index
    assert tag_rows == {(r.id, False, tag) for r in rows for tag in r.tags or ()} | {
        (r.id, True, tag) for r in rows for tag in r.system_tags or ()
    }
    # no events or model links of tasks that are gone
    assert event_tasks - set(by_id) == set()
    assert {m for m in model_tasks if not m.startswith(DELETED)} - set(by_id) == set()
    if sqlite:
        expected_keys = {
            (r.id, section, name, r.seq, float(p["value"]))
            for r in rows
            for section, params in (r.hyperparams or {}).items()
            for name, p in params.items()
            if NUMBER.fullmatch(p["value"])
        }
        assert keys == expected_keys
        assert fts == {(r.id, r.name, r.comment or "") for r in rows}
        assert fts_count == len(rows)


def diff(expected: World, observed: World) -> list[str]:
    out = []
    for part in ("tasks", "events", "models"):
        for tid in expected[part]:
            e, o = expected[part][tid], observed[part].get(tid)
            if e != o:
                if isinstance(e, dict) and isinstance(o, dict):
                    keys = sorted(k for k in e.keys() | o.keys() if e.get(k) != o.get(k))
                    out.append(f"{part}[{tid}]: " + "; ".join(f"{k}: {e.get(k)!r} != {o.get(k)!r}"[:300] for k in keys))
                else:
                    out.append(f"{part}[{tid}]: expected {str(e)[:200]}, found {str(o)[:200]}")
    if expected["queue"] != observed["queue"]:
        out.append(f"queue: expected {expected['queue']}, found {observed['queue']}")
    return out


def prepare_round(
    db_url: str, op: str, number: int, rng: random.Random, load: Load, where: str
) -> tuple[Round, list[World]]:
    """Set up a round; the states after 0..len(plan) of its calls."""
    store = TaskStore(db_url, company=COMPANY, user=USER)
    try:
        rnd = setup_round(store, op, number, rng, load)
        worlds = [observe(store, rnd)]
    finally:
        store.close()  # the writer is the only process with the database open when it dies
    for call in rnd.plan:
        worlds.append(post(worlds[-1], call))
        assert worlds[-1] != worlds[-2], f"{where}: {call['endpoint']} would change nothing"
    return rnd, worlds


def reopen(db_url: str, writer: Writer) -> TaskStore:
    """A new store on the database; on PostgreSQL once the killed writer's backend is gone."""
    store = TaskStore(db_url, company=COMPANY, user=USER)
    if store.dialect == "postgresql":
        try:
            wait_backend_gone(store, writer.app_name)
        except BaseException:
            store.close()
            raise
    return store


def verify_round(store: TaskStore, rnd: Round, worlds: list[World], log: WriterLog, where: str) -> tuple[str, int]:
    """The state after the kill is after exactly the acked calls, or those and the one in flight."""
    acked = sorted(log.acks)
    assert acked == list(range(1, len(acked) + 1)), f"{where}: acks {acked}"
    for n in acked:
        assert log.acks[n][1] == expected_ack(rnd.plan[n - 1]), f"{where}: call {n} did {log.acks[n][1]}"
    a = len(acked)
    in_flight = a + 1 if a + 1 in log.begins else None
    observed = observe(store, rnd)
    candidates = [a] if in_flight is None else [a, in_flight]
    for n in candidates:
        if observed == worlds[n]:
            break
    else:
        lines = [f"{where}: after {a} acked call(s) (call in flight: {in_flight}) the state is none of {candidates}"]
        if in_flight is not None:
            before, after = worlds[a]["tasks"], worlds[in_flight]["tasks"]
            touched = [t for t in rnd.tasks if before[t] != after[t]]
            found = observed["tasks"]
            lines.append(
                "tasks of the call in flight: "
                + ", ".join(
                    f"{t}: " + ("before" if found[t] == before[t] else "after" if found[t] == after[t] else "neither")
                    for t in touched
                )
            )
        for n in candidates:
            lines.append(f"-- versus the state after {n} call(s):")
            lines += diff(worlds[n], observed)[:12]
        raise AssertionError("\n".join(lines))
    if a == len(rnd.plan):
        outcome = "after the last call"
    elif in_flight is None:
        outcome = "between calls" if a else "before the first call"
    else:
        outcome = "mid-call, committed" if n == in_flight else "mid-call, rolled back"
    return outcome, n


def finish_round(store: TaskStore, rnd: Round, worlds: list[World], committed: int, tally: Tally, where: str) -> None:
    """The store works after the crash: the calls the writer did not commit succeed and give the final state.

    Their durations calibrate the kill delays of the next rounds.
    """
    for call in rnd.plan[committed:]:
        began = time.monotonic()
        result = store.call(call["endpoint"], call["body"])
        tally.call_s.append(time.monotonic() - began)
        summary = {"updated": result.get("updated")}
        if "succeeded" in result:
            summary = {"succeeded": [i["id"] for i in result["succeeded"]], "failed": result["failed"]}
        assert summary == expected_ack(call), f"{where}: {call['endpoint']} after the crash: {result}"
    final = observe(store, rnd)
    assert final == worlds[-1], "\n".join([f"{where}: final state", *diff(worlds[-1], final)[:12]])


@contextmanager
def context(where: str, what: str) -> Iterator[None]:
    """Name the round (and the seed) in a failed assertion."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{where}: {what}: {exc}") from exc


@pytest.mark.file_backends
@pytest.mark.parametrize("op", OPS)
def test_sigkill_during_batch_calls(op: str, db_url: str, backend: str, tmp_path: Path, soak: bool) -> None:
    load = SOAK if soak else FAST
    seed = int(os.environ.get("TASKSTORE_K1_SEED") or random.randrange(2**32))
    rng = random.Random(f"{seed}/{op}")
    ctx = multiprocessing.get_context("spawn")
    tally = Tally()
    TaskStore(db_url, company=COMPANY, user=USER).close()  # the schema exists before any writer opens it
    started = time.monotonic()
    writers = [Writer.start(ctx, db_url, op, 0, tmp_path, COMPANY, USER)]
    try:
        for number in range(load.kills):
            where = f"K1 {op} on {backend}, round {number} (seed {seed}; TASKSTORE_K1_SEED={seed} replays it)"
            rnd, worlds = prepare_round(db_url, op, number, rng, load, where)
            writer = writers[-1]
            log = writer.run_and_kill(rnd.plan, rng, tally, where)
            if number + 1 < load.kills:
                writers.append(Writer.start(ctx, db_url, op, number + 1, tmp_path, COMPANY, USER))
            store = reopen(db_url, writer)
            try:
                with context(where, "the reopened database"):
                    if store.dialect == "sqlite":
                        check_sqlite_file(store)
                outcome, committed = verify_round(store, rnd, worlds, log, where)
                tally.outcomes[outcome] += 1
                with context(where, "derived data after the kill"):
                    check_derived(store)
                finish_round(store, rnd, worlds, committed, tally, where)
            finally:
                store.close()
    finally:
        for writer in writers:
            writer.stop()
    print(
        f"\nK1 {op} on {backend}: {load.kills} kills in {time.monotonic() - started:.1f} s, seed {seed}, "
        f"calls of ~{1000 * tally.estimate():.0f} ms, kill delays of ~{1000 * statistics.median(tally.delays):.0f} ms "
        f"(median): {dict(tally.outcomes)}"
    )
    if soak:
        # A guard on the test itself, not on speed: the delays must reach into the calls.
        assert tally.outcomes["mid-call, committed"] + tally.outcomes["mid-call, rolled back"] > 0, tally.outcomes
