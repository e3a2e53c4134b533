"""Endpoint handlers, one module per concern; importing this package registers them all."""

from taskstore.endpoints import models, projects, queues, tasks_edit, tasks_query

__all__ = ["models", "projects", "queues", "tasks_edit", "tasks_query"]
