"""Two processes sharing one PostgreSQL store: a scheduler enqueues while a worker pops and runs.

    createdb experiments
    python examples/shared_postgres.py postgresql://me@dbhost/experiments

The two processes could be on two machines: all they share is the database URL.  The scheduler
(user "scheduler") creates tasks and enqueues them one by one; the worker (user "worker") polls the
queue with ``queues.get_next_task``, starts, "runs" and completes each task as it arrives.  Every
call is one transaction, and the pop is atomic on PostgreSQL (a ``DELETE`` of the head entry chosen
``FOR UPDATE SKIP LOCKED``), so each task is handed out exactly once, however many workers poll.  The parent
then checks the result from a third connection.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from sqlalchemy.engine import make_url

from taskstore import TaskStore


def scheduler(url: str, queue_name: str, count: int) -> None:
    with TaskStore(url, user="scheduler") as store:
        queue = store.call("queues.get_all", {"name": f"^{queue_name}$"})["queues"][0]["id"]
        for n in range(count):
            task = store.call("tasks.create", {"name": f"job {n}", "type": "data_processing", "tags": [queue_name]})[
                "id"
            ]
            store.call("tasks.enqueue", {"task": task, "queue": queue})
            time.sleep(0.02)


def worker(url: str, queue_name: str, count: int) -> None:
    done = 0
    deadline = time.monotonic() + 60
    with TaskStore(url, user="worker") as store:
        queue = store.call("queues.get_all", {"name": f"^{queue_name}$"})["queues"][0]["id"]
        while done < count and time.monotonic() < deadline:
            entry = store.call("queues.get_next_task", {"queue": queue}).get("entry")
            if not entry:
                time.sleep(0.01)  # the scheduler has not enqueued the next one yet
                continue
            store.call("tasks.started", {"task": entry["task"]})
            store.call("tasks.completed", {"task": entry["task"], "status_message": f"job {done} done by worker"})
            done += 1
    if done < count:
        sys.exit(f"worker: only {done} of {count} tasks arrived in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("TASKSTORE_URL"), help="a postgresql:// URL")
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args(argv)
    if not args.url or not args.url.startswith(("postgresql", "postgres://")):
        parser.error("give a PostgreSQL URL (or set TASKSTORE_URL), e.g. postgresql://me@localhost/experiments")
    queue_name = f"shared {os.getpid()}"
    with TaskStore(args.url) as store:  # creates the schema on a new database
        queue = store.call("queues.create", {"name": queue_name})["id"]
    print(f"{make_url(args.url).render_as_string(hide_password=True)}: queue '{queue_name}', {args.tasks} tasks")

    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=f, args=(args.url, queue_name, args.tasks), name=f.__name__)
             for f in (worker, scheduler)]  # fmt: skip
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        print(f"{p.name} exited with {p.exitcode}")
    if any(p.exitcode != 0 for p in procs):
        return 1

    with TaskStore(args.url) as store:
        tasks = store.call("tasks.get_all", {"tags": [queue_name], "user": ["scheduler"], "status": ["completed"],
                                             "only_fields": ["id", "status_message"]})["tasks"]  # fmt: skip
        queue_left = store.call("queues.get_by_id", {"queue": queue})["queue"]["entries"]
    mine = [t for t in tasks if t["status_message"].endswith("done by worker")]
    print(f"completed by the worker: {len(mine)}; left in the queue: {len(queue_left)}")
    return 0 if len(queue_left) == 0 and len(mine) == args.tasks else 1


if __name__ == "__main__":
    raise SystemExit(main())
