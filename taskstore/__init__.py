"""taskstore: the ClearML tasks API as an embedded, in-process library (SQLite or PostgreSQL).

    from taskstore import TaskStore
    store = TaskStore()                    # ./taskstore.db
    tid = store.call("tasks.create", {"name": "train", "type": "training"})["id"]

Importing this package is cheap: SQLAlchemy and the API schema load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskstore.errors import APIError

__version__ = "0.1.0"
__all__ = ["APIError", "TaskStore", "__version__"]

if TYPE_CHECKING:
    from taskstore.store import TaskStore


def __getattr__(name: str) -> Any:
    if name == "TaskStore":
        from taskstore.store import TaskStore

        return TaskStore
    raise AttributeError(f"module 'taskstore' has no attribute {name!r}")
