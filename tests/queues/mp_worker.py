"""Worker processes for the multi-process queue tests and bench (importable by ``spawn`` children).

A worker pops from one queue and calls tasks.started on each task it gets, logging every outcome to
a JSON-lines file: ``{"op", "task", "error": [code, subcode], "msg"}`` or ``{"op", "exc"}`` for
anything that is not an APIError (which must never happen).
"""

from __future__ import annotations

import json
import time
from typing import Any

from taskstore import APIError, TaskStore

EMPTY_POLLS = 3  # consecutive empty pops before a worker stops
DEADLINE_S = 120.0


def pop_and_start(url: str, queue: str, out_path: str, barrier: Any, start: str = "tasks.started") -> None:
    """Pop until the queue stays empty; call ``start`` (tasks.started) on every popped task."""
    log: list[dict[str, Any]] = []
    store = TaskStore(url, company="acme", user="worker")
    try:
        barrier.wait()
        began = time.perf_counter()
        empties = 0
        while empties < EMPTY_POLLS and time.perf_counter() - began < DEADLINE_S:
            try:
                got = store.call("queues.get_next_task", {"queue": queue})
            except APIError as exc:
                log.append({"op": "pop", "error": [exc.code, exc.subcode], "msg": exc.message})
                continue
            except Exception as exc:
                log.append({"op": "pop", "exc": repr(exc)})
                continue
            entry = got.get("entry")
            if not entry:
                empties += 1
                time.sleep(0.01)
                continue
            empties = 0
            tid = entry["task"]
            log.append({"op": "pop", "task": tid})
            body: dict[str, Any] = {"task": tid}
            if start == "tasks.edit":
                body.update(status="in_progress", force=True)
            try:
                store.call(start, body)
                log.append({"op": "started", "task": tid})
            except APIError as exc:
                log.append({"op": "started", "task": tid, "error": [exc.code, exc.subcode], "msg": exc.message})
            except Exception as exc:
                log.append({"op": "started", "task": tid, "exc": repr(exc)})
        log.append({"op": "done", "seconds": time.perf_counter() - began})
    finally:
        store.close()
        with open(out_path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(item) + "\n" for item in log)


def enqueue_by_name(url: str, name: str | None, barrier: Any, out_path: str) -> None:
    """Create one task, wait at the barrier, enqueue it by queue name (None: the default queue)."""
    store = TaskStore(url, company="acme", user="worker")
    result: dict[str, Any]
    try:
        tid = store.call("tasks.create", {"name": "racer", "type": "training"})["id"]
        barrier.wait()
        body = {"task": tid} if name is None else {"task": tid, "queue_name": name}
        try:
            queue = store.call("tasks.enqueue", body)["fields"]["execution.queue"]
            result = {"task": tid, "queue": queue}
        except APIError as exc:
            result = {"task": tid, "error": [exc.code, exc.subcode], "msg": exc.message}
    finally:
        store.close()
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
