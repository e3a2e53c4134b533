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
"""

from __future__ import annotations

import json
import os
import time
import traceback
from typing import Any

from taskstore import APIError, TaskStore

WAIT_FOR_KILL_S = 300.0


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
