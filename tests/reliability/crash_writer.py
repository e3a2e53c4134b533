"""The writer process of the SIGKILL crash test (tests/reliability/test_crash_kill.py), importable by
``spawn`` children.

``run_plan`` opens a store, reads the plan once told it is written (a JSON file:
``[{"endpoint", "body"}, ...]``), warms up, says it is ready, waits for the go signal, then makes
the calls of the plan one after the other.  Around every call it appends a
line to a log (unbuffered ``os.write``, so a SIGKILL loses none of it), and makes the
acknowledgements durable (``os.fsync``) before going on:

* ``begin <n> <t>`` before call ``n`` (1-based) is made;
* ``ack <n> <t> <summary JSON>`` after call ``n`` returned (what it did: succeeded/failed ids, or
  the ``updated`` count);
* ``done <t>`` after the last call, ``error <n> <t> <text>`` if a call raised.

``t`` is ``time.monotonic()`` (one clock for every process of the machine).  After the plan, or an
error, the process waits to be killed: the test always ends it with SIGKILL.

The parent side is here too: ``Writer`` starts one, hands it its plan, kills it after a delay and
reads its log (``WriterLog``); ``Tally`` keeps the measured call times the delays are drawn from.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from taskstore import APIError, TaskStore

WAIT_FOR_KILL_S = 300.0
READY_TIMEOUT_S = 120.0  # a spawned writer imports taskstore and opens the store (2 busy cores)
EXIT_TIMEOUT_S = 30.0
BACKEND_GONE_TIMEOUT_S = 60.0
FIRST_CALL_GUESS_S = 0.01  # for the first round's kill delay; later rounds use measured call times


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """What a call did, as the acknowledgement records it."""
    if "succeeded" in result:
        return {
            "succeeded": [item["id"] for item in result["succeeded"]],
            "failed": [[item["id"], item["error"]["codes"]] for item in result["failed"]],
        }
    return {"updated": result.get("updated")}


class _Log:
    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def line(self, text: str, *, durable: bool = True) -> None:
        """Append a line; ``durable``: fsync it too (a killed process loses nothing it wrote, a crashed
        machine may; the acknowledgements are fsynced as a client's would be)."""
        data = (text + "\n").encode("utf-8")
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        if durable:
            os.fsync(self._fd)


def warm_up(store: TaskStore, call: dict[str, Any]) -> None:
    """Make ``call`` once on a scratch task of the writer's own (and a scratch queue), so that the
    plan's calls run warm: the first call of a fresh process is several times slower (imports, SQL
    compilation), which would bunch the kills into it."""
    scratch = store.call("tasks.create", {"name": "k1 warm-up", "type": "training"})["id"]
    body = call["body"]
    if isinstance(body, list):
        body = [{**body[0], "task": scratch}]
    else:
        body = dict(body)
        if "ids" in body:
            body["ids"] = [scratch]
        if "task" in body:
            body["task"] = scratch
        if "queue" in body:
            body["queue"] = store.call("queues.create", {"name": f"k1 warm-up {scratch}"})["id"]
    store.call(call["endpoint"], body)


def run_plan(
    url: str, company: str, user: str, plan_path: str, log_path: str, planned: Any, ready: Any, go: Any
) -> None:
    """Open a store; once ``planned``, warm up and signal ``ready``; on ``go`` run the plan; wait to be killed."""
    log = _Log(log_path)
    try:
        store = TaskStore(url, company=company, user=user)
        if not planned.wait(WAIT_FOR_KILL_S):
            return
        with open(plan_path, encoding="utf-8") as f:
            plan = json.load(f)
        warm_up(store, plan[0])
    except Exception:
        log.line(f"error 0 {time.monotonic()} {json.dumps(traceback.format_exc())}")
        ready.set()
        time.sleep(WAIT_FOR_KILL_S)
        return
    log.line(f"ready {time.monotonic()}")
    ready.set()
    if not go.wait(WAIT_FOR_KILL_S):
        return
    for n, call in enumerate(plan, 1):
        log.line(f"begin {n} {time.monotonic()}", durable=False)
        try:
            result = store.call(call["endpoint"], call["body"])
        except APIError as exc:
            log.line(f"error {n} {time.monotonic()} {json.dumps([exc.code, exc.subcode, exc.message])}")
            break
        except Exception:
            log.line(f"error {n} {time.monotonic()} {json.dumps(traceback.format_exc())}")
            break
        log.line(f"ack {n} {time.monotonic()} {json.dumps(summary(result))}")
    else:
        log.line(f"done {time.monotonic()}")
    time.sleep(WAIT_FOR_KILL_S)


# -- the parent side: starting, killing and reading a writer ------------------------------------------
@dataclass
class WriterLog:
    ready: float | None = None
    begins: dict[int, float] = field(default_factory=dict)
    acks: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    done: bool = False
    errors: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> WriterLog:
        log = cls()
        content = path.read_text("utf-8") if path.exists() else ""
        lines = content.split("\n")
        for line in lines[:-1]:  # the last piece has no newline: a line cut by the kill, or ""
            kind, _, rest = line.partition(" ")
            if kind == "ready":
                log.ready = float(rest)
            elif kind == "begin":
                n, t = rest.split(" ")
                log.begins[int(n)] = float(t)
            elif kind == "ack":
                n, t, summary = rest.split(" ", 2)
                log.acks[int(n)] = (float(t), json.loads(summary))
            elif kind == "done":
                log.done = True
            else:
                log.errors.append(line)
        return log

    def call_seconds(self) -> list[float]:
        """Begin-to-begin times of consecutive calls (a call plus the log writes around it)."""
        return [self.begins[n + 1] - self.begins[n] for n in self.begins if n + 1 in self.begins]


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    call_s: list[float] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)

    def estimate(self) -> float:
        """Seconds per call: the median measured so far (a first guess before any was measured)."""
        return statistics.median(self.call_s) if self.call_s else FIRST_CALL_GUESS_S


def with_app_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def wait_backend_gone(store: TaskStore, app_name: str) -> None:
    """PostgreSQL: wait until the server has noticed the dead client (and rolled its transaction back)."""
    deadline = time.monotonic() + BACKEND_GONE_TIMEOUT_S
    while True:
        with store._db.transaction(write=False) as conn:
            left = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"), {"n": app_name}
            ).scalar()
        if not left:
            return
        assert time.monotonic() < deadline, f"the killed writer's backend {app_name} is still there"
        time.sleep(0.05)


@dataclass
class Writer:
    """A spawned crash_writer.run_plan process, started ahead of its round (its start-up, mostly
    imports, overlaps the parent's checks of the previous round and the setup of its own)."""

    proc: Any
    planned: Any
    ready: Any
    go: Any
    log_path: Path
    plan_path: Path
    app_name: str  # PostgreSQL: the application_name of its connections

    @classmethod
    def start(cls, ctx: Any, db_url: str, op: str, number: int, tmp_path: Path, company: str, user: str) -> Writer:
        app_name = f"k1_{op}_{number}"
        url = db_url if db_url.startswith("sqlite") else with_app_name(db_url, app_name)
        planned, ready, go = ctx.Event(), ctx.Event(), ctx.Event()
        log_path, plan_path = tmp_path / f"r{number}.log", tmp_path / f"r{number}.json"
        args = (url, company, user, str(plan_path), str(log_path), planned, ready, go)
        proc = ctx.Process(target=run_plan, args=args, daemon=True)
        proc.start()
        return cls(proc, planned, ready, go, log_path, plan_path, app_name)

    def run_and_kill(self, calls: list[dict[str, Any]], rng: random.Random, tally: Tally, where: str) -> WriterLog:
        """Hand the writer its plan, let it run for a random time, SIGKILL it; its log."""
        plan = [{"endpoint": c["endpoint"], "body": c["body"]} for c in calls]
        self.plan_path.write_text(json.dumps(plan), "utf-8")
        self.planned.set()
        assert self.ready.wait(READY_TIMEOUT_S), f"{where}: the writer did not get ready"
        pre = WriterLog.read(self.log_path)
        assert pre.ready is not None and not pre.errors, f"{where}: {pre.errors}"
        # Spread over the whole call sequence, from the measured call times (a kill that comes after
        # the last call still checks that every acknowledged call survived).
        delay = rng.uniform(0, len(calls) * tally.estimate())
        tally.delays.append(delay)
        self.go.set()
        time.sleep(delay)
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(EXIT_TIMEOUT_S)
        assert self.proc.exitcode == -signal.SIGKILL, f"{where}: writer exit code {self.proc.exitcode}"
        log = WriterLog.read(self.log_path)
        assert not log.errors, f"{where}: the writer failed: {log.errors}"
        tally.call_s.extend(log.call_seconds())
        return log

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(EXIT_TIMEOUT_S)
