"""Helpers a team might write around the ClearML API: launch runs, hand them to workers, retry failures.

They take an ``api`` in the style of the ClearML server's API client (``api.tasks.create(...)``
returning an object with attribute access): against a server in production, against taskstore's
``clearml_api`` fixture in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Job:
    task_id: str
    name: str
    params: dict[str, str]


def queue_id(api: Any, name: str) -> str:
    """The id of the queue called ``name``, created if missing."""
    found = api.queues.get_all(name=f"^{name}$").queues
    return str(found[0].id) if found else str(api.queues.create(name=name).id)


def launch(api: Any, queue: str, name: str, params: dict[str, Any], *, project: str | None = None) -> str:
    """Create a training task with ``params`` as Args hyperparameters and enqueue it on ``queue``."""
    hyperparams = {"Args": {k: {"section": "Args", "name": k, "value": str(v)} for k, v in params.items()}}
    fields: dict[str, Any] = {"name": name, "type": "training", "hyperparams": hyperparams}
    if project:
        fields["project"] = project
    task_id = str(api.tasks.create(**fields).id)
    api.tasks.enqueue(task=task_id, queue=queue_id(api, queue))
    return task_id


def next_job(api: Any, queue: str) -> Job | None:
    """Pop the next task of ``queue`` and mark it started; ``None`` when the queue is empty."""
    entry = api.queues.get_next_task(queue=queue_id(api, queue)).get("entry")
    if not entry:
        return None
    api.tasks.started(task=entry.task)
    task = api.tasks.get_by_id(task=entry.task).task
    params = {name: p.value for name, p in task.hyperparams.get("Args", {}).items()}
    return Job(task.id, task.name, params)


def finish(api: Any, job: Job, metrics: dict[str, float] | None = None, *, error: str | None = None) -> None:
    """Report final scalar metrics ("title/series": value) and complete the task, or fail it."""
    events = [
        {"task": job.task_id, "type": "training_stats_scalar", "metric": key.split("/")[0],
         "variant": key.split("/")[-1], "value": value, "iter": 0}
        for key, value in (metrics or {}).items()
    ]  # fmt: skip
    if events:
        api.send_batch("events.add_batch", events)  # a JSON-lines body, as on the wire
    if error:
        api.tasks.failed(task=job.task_id, status_reason="error", status_message=error)
    else:
        api.tasks.completed(task=job.task_id)


def retry_failed(api: Any, queue: str) -> list[str]:
    """Reset every failed training task and enqueue it again; return their ids."""
    failed = api.tasks.get_all(status=["failed"], type=["training"], only_fields=["id"]).tasks
    for task in failed:
        api.tasks.reset(task=task.id)
        api.tasks.enqueue(task=task.id, queue=queue_id(api, queue))
    return [t.id for t in failed]
