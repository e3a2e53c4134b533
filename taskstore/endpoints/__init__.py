"""Endpoint handlers, one module per concern; importing this package registers them all."""

from taskstore.endpoints import (
    events,
    models,
    projects,
    queues,
    tasks_edit,
    tasks_manage,
    tasks_outputs,
    tasks_params,
    tasks_query,
    tasks_queue,
    tasks_status,
)

__all__ = [
    "events",
    "models",
    "projects",
    "queues",
    "tasks_edit",
    "tasks_manage",
    "tasks_outputs",
    "tasks_params",
    "tasks_query",
    "tasks_queue",
    "tasks_status",
]
