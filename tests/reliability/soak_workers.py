"""Child processes of the soak scenarios C1 (queue soak) and C2 (overlapping batch writers), and the
parent-side plumbing they share (importable by ``spawn`` children, like tests/queues/mp_worker.py).

Every child opens its own ``TaskStore``, waits at a barrier, and records every call it makes as one
JSON line in its own file (written when it ends, whatever happens):

    {"proc", "op", "task", "ok": true|false, "code": [code, subcode], "msg", "t0", "t1", ...}

``exc`` (instead of ``code``) records anything that is not an APIError: that must never happen.
``t0``/``t1`` are ``time.monotonic()`` (one clock for every process of the machine).  The last line
of each file is ``{"op": "done", "reason", "retries", ...}``: why the loop ended and how often the
dispatcher retried a transaction internally (lock contention, deadlock, serialization failure),
which is allowed but counted.

Which failure codes are legal in a race is decided by the test modules (tables ``LEGAL_*``), not
here: the children only record what happened.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from taskstore import APIError, TaskStore

# tests/queues holds the queue helpers (queue contents, the orphan invariant) these scenarios reuse.
_QUEUES_DIR = str(Path(__file__).resolve().parent.parent / "queues")
if _QUEUES_DIR not in sys.path:
    sys.path.append(_QUEUES_DIR)
from queue_support import all_entries, assert_no_orphans, make_queue, statuses  # noqa: E402

__all__ = ["all_entries", "assert_no_orphans", "make_queue", "statuses"]  # re-exported for the tests

BARRIER_TIMEOUT_S = 300.0
Record = dict[str, Any]


# -- recording ------------------------------------------------------------------------------------------
def count_retries() -> Counter[str]:
    """Count the dispatcher's internal retries of transient database errors in this process.

    Wraps ``taskstore.api.dispatch.is_transient`` (the predicate the retry loop asks); a retry that
    runs out becomes 500/102 and is caught as an unexpected code by the tests.
    """
    from taskstore.api import dispatch

    seen: Counter[str] = Counter()
    plain = dispatch.is_transient

    def counting(exc: BaseException) -> bool:
        hit = plain(exc)
        if hit:
            orig = getattr(exc, "orig", exc)
            seen[getattr(orig, "sqlstate", None) or str(orig).splitlines()[0][:60]] += 1
        return hit

    dispatch.is_transient = counting  # type: ignore[assignment]
    return seen


class Recorder:
    """One store and the log of every call made through it."""

    def __init__(self, url: str, company: str, proc: str) -> None:
        self.store = TaskStore(url, company=company, user=proc)
        self.proc = proc
        self.log: list[Record] = []
        # Warm up (schema, connection, statement caches) before the barrier, not in the measured run.
        self.store.call("queues.get_all", {})
        self.store.call("tasks.get_all", {"page": 0, "page_size": 1})

    def call(self, op: str, endpoint: str, body: dict[str, Any], task: str | None = None) -> tuple[Any, Record]:
        """Call ``endpoint``; return (result or None, the record appended to the log)."""
        rec: Record = {"proc": self.proc, "op": op, "task": task, "t0": time.monotonic()}
        result: Any = None
        try:
            result = self.store.call(endpoint, body)
            rec["ok"] = True
        except APIError as exc:
            rec.update(ok=False, code=[exc.code, exc.subcode], msg=exc.message[:300])
        except Exception as exc:  # must never happen: recorded, and the test fails on it
            rec.update(ok=False, exc=repr(exc)[:500])
        rec["t1"] = time.monotonic()
        self.log.append(rec)
        return result, rec

    def finish(self, out_path: str, **done: Any) -> None:
        self.log.append({"proc": self.proc, "op": "done", "t1": time.monotonic(), **done})
        try:
            self.store.close()
        finally:
            with open(out_path, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(item) + "\n" for item in self.log)


# -- C1: queue workers and the chaos process ----------------------------------------------------------
def _enqueue(rec: Recorder, rng: random.Random, task: str, queues: list[str], default: str) -> Record:
    """tasks.enqueue into a random queue: by id, or (the default queue) with no queue at all."""
    queue = rng.choice(queues)
    body: dict[str, Any] = {"task": task}
    if queue != default:
        body["queue"] = queue
    result, record = rec.call("enqueue", "tasks.enqueue", body, task)
    if record["ok"]:
        # The cycle's identity: the entry this enqueue made carries the same instant as ``added``.
        record["added"] = result["fields"]["status_changed"]
        record["status"] = result["fields"]["status"]
        record["queue"] = result["fields"]["execution.queue"]
    return record


def queue_worker(
    url: str, company: str, queues: list[str], default: str, out_path: str, barrier: Any, seed: int, cfg: dict[str, Any]
) -> None:
    """Pop -> (a pause) -> started -> ping -> a little work -> completed (80 %) / failed (10 %) / reset +
    enqueue (10 %).

    Ends after ``cfg["empty_rounds"]`` rounds over every queue found nothing, after ``cfg["max_pops"]``
    pops, or at ``cfg["deadline_s"]`` (reason ``"deadline"``: the test treats it as a hang).
    """
    retries = count_retries()
    rng = random.Random(seed)
    rec = Recorder(url, company, f"worker-{seed}")
    reason, pops, began = "error", 0, 0.0  # "error": the loop raised
    try:
        barrier.wait(BARRIER_TIMEOUT_S)
        began = time.monotonic()
        empties, turn = 0, seed
        while True:
            if time.monotonic() - began > cfg["deadline_s"]:
                reason = "deadline"
                break
            if pops >= cfg["max_pops"]:
                reason = "max_pops"
                break
            if empties >= cfg["empty_rounds"] * len(queues):
                reason = "empty"
                break
            queue = queues[turn % len(queues)]
            turn += 1
            got, record = rec.call("pop", "queues.get_next_task", {"queue": queue})
            entry = (got or {}).get("entry")
            if not entry:
                empties += 1
                time.sleep(0.005)
                continue
            empties, pops = 0, pops + 1
            task = entry["task"]
            record.update(task=task, added=entry["added"], queue=queue)
            time.sleep(rng.uniform(0, cfg["gap_ms"]) / 1000)  # an agent's latency between pop and start
            result, started = rec.call("started", "tasks.started", {"task": task}, task)
            if not started["ok"]:
                continue  # the chaos process (or a faster worker) moved it first: nothing to run
            started["status"] = result["fields"]["status"]
            rec.call("ping", "tasks.ping", {"task": task}, task)
            time.sleep(rng.uniform(0, cfg["work_ms"]) / 1000)
            roll = rng.random()
            if roll < 0.9:
                op = "completed" if roll < 0.8 else "failed"
                result, done = rec.call(op, f"tasks.{op}", {"task": task}, task)
                if done["ok"]:
                    done["status"] = result["fields"]["status"]
            else:
                result, reset = rec.call("reset", "tasks.reset", {"task": task}, task)
                if reset["ok"]:
                    reset["status"] = result["fields"]["status"]
                    _enqueue(rec, rng, task, queues, default)
    finally:
        rec.finish(out_path, reason=reason, pops=pops, began=began, retries=dict(retries))


# (weight, op) of the chaos process; ``*_force`` passes force=true.  No forced enqueue: it would queue
# running or finished tasks, whose dequeue then reverts them to that status (in_progress with no worker).
CHAOS_OPS: list[tuple[int, str]] = [
    (2, "stop"),
    (2, "stop_force"),
    (2, "reset"),
    (1, "archive"),
    (2, "dequeue"),
    (3, "enqueue"),
]


def chaos(
    url: str,
    company: str,
    task_ids: list[str],
    queues: list[str],
    default: str,
    out_path: str,
    barrier: Any,
    stop: Any,
    seed: int,
    cfg: dict[str, Any],
) -> None:
    """Random stop / reset / archive / dequeue / enqueue on random tasks, one every ``cfg["pause_s"]``,
    until ``stop`` is set or ``cfg["max_ops"]`` calls were made."""
    retries = count_retries()
    rng = random.Random(seed)
    rec = Recorder(url, company, f"chaos-{seed}")
    ops = [op for weight, op in CHAOS_OPS for _ in range(weight)]
    reason, n = "error", 0
    try:
        barrier.wait(BARRIER_TIMEOUT_S)
        while not stop.is_set() and n < cfg["max_ops"]:
            n += 1
            op = rng.choice(ops)
            task = rng.choice(task_ids)
            if op in ("stop", "stop_force"):
                body: dict[str, Any] = {"task": task, "force": op == "stop_force"}
                result, record = rec.call(op, "tasks.stop", body, task)
            elif op == "reset":
                result, record = rec.call(op, "tasks.reset", {"task": task, "force": rng.random() < 0.5}, task)
            elif op == "archive":
                ids = rng.sample(task_ids, rng.randint(1, 3))
                result, record = rec.call(op, "tasks.archive_many", {"ids": ids})
                if record["ok"]:
                    record["ids"] = ids
                    record["succeeded"] = [s["id"] for s in result["succeeded"]]
                    record["failed"] = [[f["id"], *f["error"]["codes"]] for f in result["failed"]]
            elif op == "dequeue":
                result, record = rec.call(op, "tasks.dequeue", {"task": task}, task)
            else:
                record = _enqueue(rec, rng, task, queues, default)
                result = None
            if record["ok"] and result and "fields" in result:
                record["status"] = result["fields"]["status"]
            time.sleep(cfg["pause_s"])
        reason = "stopped" if stop.is_set() else "max_ops"
    finally:
        rec.finish(out_path, reason=reason, ops=n, retries=dict(retries))


# -- C2: overlapping batch writers --------------------------------------------------------------------
# (weight, endpoint, smallest and largest batch): deletes are rarer and smaller, or the pool of ids
# would be gone after a few batches (archived tasks may be deleted without force).
BATCH_OPS: list[tuple[int, str, int, int]] = [
    (3, "tasks.reset_many", 10, 40),
    (2, "tasks.archive_many", 10, 40),
    (4, "tasks.enqueue_many", 10, 40),
    (1, "tasks.delete_many", 1, 4),
]


def batch_writer(
    url: str,
    company: str,
    ids: list[str],
    queues: list[str],
    out_path: str,
    barrier: Any,
    seed: int,
    batches: int,
    scale: float = 1.0,
) -> None:
    """``batches`` calls of reset_many / archive_many / enqueue_many (into one of ``queues``) /
    delete_many, each over a random sample of ``ids`` (every process draws from the same ids) in random
    order; ``scale`` shrinks the batch sizes of BATCH_OPS (at least one id)."""
    retries = count_retries()
    rng = random.Random(seed)
    rec = Recorder(url, company, f"batch-{seed}")
    ops = [
        (endpoint, max(1, round(lo * scale)), max(1, round(hi * scale)))
        for weight, endpoint, lo, hi in BATCH_OPS
        for _ in range(weight)
    ]
    try:
        barrier.wait(BARRIER_TIMEOUT_S)
        for _ in range(batches):
            endpoint, lo, hi = rng.choice(ops)
            sample = rng.sample(ids, min(len(ids), rng.randint(lo, hi)))  # random order, no repeats
            body: dict[str, Any] = {"ids": sample}
            if endpoint == "tasks.enqueue_many":
                body["queue"] = rng.choice(queues)
            result, record = rec.call(endpoint.split(".")[1], endpoint, body)
            record["ids"] = sample
            if record["ok"]:
                record["succeeded"] = [_outcome(s) for s in result["succeeded"]]
                record["failed"] = [[f["id"], *f["error"]["codes"]] for f in result["failed"]]
    finally:
        rec.finish(out_path, reason="batches", retries=dict(retries))


def _outcome(item: dict[str, Any]) -> list[Any]:
    """A succeeded item as [id, what it says it did]: the new status, or ``deleted`` / ``archived``."""
    if "fields" in item:
        return [item["id"], item["fields"].get("status")]
    return [item["id"], "deleted" if item.get("deleted") else "archived" if item.get("archived") else None]


# -- parent side ---------------------------------------------------------------------------------------
def join_all(procs: Iterable[Any], timeout: float) -> list[str]:
    """Join every process within ``timeout`` seconds overall; kill and name the ones still running."""
    procs = list(procs)
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.1, deadline - time.monotonic()))
    hung = [p.name for p in procs if p.is_alive()]
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(10)
    return hung


def read_logs(paths: Iterable[Path]) -> list[Record]:
    log: list[Record] = []
    for path in paths:
        log += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return log


def unexpected(log: Iterable[Record], legal: dict[str, set[tuple[int, int]]]) -> list[Record]:
    """The records that fail a run: an exception that is not an APIError, or a code ``legal`` does not
    allow for that operation (every 5xx, "database is locked", deadlock and timeout among them)."""
    bad = []
    for r in log:
        if r["op"] == "done":
            continue
        if "exc" in r or (not r["ok"] and tuple(r["code"]) not in legal[r["op"]]):
            bad.append(r)
    return bad


def outcome_counts(log: Iterable[Record]) -> dict[str, Counter[str]]:
    """Per operation: how many calls succeeded and how many failed with each code."""
    counts: dict[str, Counter[str]] = {}
    for r in log:
        if r["op"] == "done":
            continue
        key = "ok" if r["ok"] else "exc" if "exc" in r else "{}/{}".format(*r["code"])
        counts.setdefault(r["op"], Counter())[key] += 1
    return counts


def latency_ms(log: Iterable[Record], quantile: float) -> float:
    times = sorted(1000 * (r["t1"] - r["t0"]) for r in log if r["op"] != "done")
    return times[min(len(times) - 1, int(quantile * len(times)))] if times else 0.0


def total_retries(log: Iterable[Record]) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in log:
        if r["op"] == "done":
            out.update(r.get("retries") or {})
    return out


def spawn(ctx: Any, target: Callable[..., None], *args: Any, name: str) -> Any:
    p = ctx.Process(target=target, args=args, name=name)
    p.start()
    return p
