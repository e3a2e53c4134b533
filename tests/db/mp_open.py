"""A worker for the concurrent-open test (importable by ``spawn`` children)."""

from __future__ import annotations

from typing import Any

from taskstore import TaskStore


def open_and_create(url: str, barrier: Any, results: Any, n: int) -> None:
    """Wait for every sibling, open the (fresh) store at once, create one task; report or fail."""
    try:
        barrier.wait(timeout=60)
        with TaskStore(url, company="acme", user=f"proc{n}") as store:
            tid = store.call("tasks.create", {"name": f"from process {n}", "type": "training"})["id"]
            results.put((n, store.revision, tid, None))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((n, None, None, f"{type(exc).__name__}: {exc}"))
