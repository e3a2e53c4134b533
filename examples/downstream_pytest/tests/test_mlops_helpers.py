"""Tests of mlops_helpers that use only the fixtures of taskstore's pytest plugin.

``clearml_api``: a ClearML-style client over a fresh in-memory store; ``taskstore``: that store;
``taskstore_factory``: more stores (several users on one database file, or any URL).
"""

from __future__ import annotations

import mlops_helpers as helpers
import pytest


def test_launch_enqueues_a_training_task(clearml_api):
    task_id = helpers.launch(clearml_api, "gpu queue", "resnet lr=0.1", {"lr": 0.1, "epochs": 3})
    task = clearml_api.tasks.get_by_id(task=task_id).task
    assert (task.name, task.type, task.status) == ("resnet lr=0.1", "training", "queued")
    assert task.hyperparams.Args.lr.value == "0.1"
    queue = clearml_api.queues.get_by_id(queue=task.execution.queue).queue
    assert (queue.name, [e.task for e in queue.entries]) == ("gpu queue", [task_id])


def test_jobs_come_out_in_order_and_once(clearml_api):
    first = helpers.launch(clearml_api, "gpu queue", "first run", {"lr": 0.1})
    second = helpers.launch(clearml_api, "gpu queue", "second run", {"lr": 0.01})
    job = helpers.next_job(clearml_api, "gpu queue")
    assert (job.task_id, job.params) == (first, {"lr": "0.1"})
    assert helpers.next_job(clearml_api, "gpu queue").task_id == second
    assert helpers.next_job(clearml_api, "gpu queue") is None
    assert clearml_api.tasks.get_by_id(task=first).task.status == "in_progress"


def test_finish_reports_metrics_and_completes(clearml_api, taskstore):
    helpers.launch(clearml_api, "cpu queue", "small run", {"lr": 0.1})
    job = helpers.next_job(clearml_api, "cpu queue")
    helpers.finish(clearml_api, job, {"accuracy/val": 0.93, "loss/val": 0.21})
    task = taskstore.tasks.get_by_id(task=job.task_id).task  # the typed facade works on the same store
    assert task.status == "completed"
    summary = {(m.metric, m.variant): m.value for v in task.last_metrics.values() for m in v.values()}
    assert summary == {("accuracy", "val"): 0.93, ("loss", "val"): 0.21}


def test_a_finished_task_cannot_be_failed(clearml_api):
    helpers.launch(clearml_api, "cpu queue", "small run", {})
    job = helpers.next_job(clearml_api, "cpu queue")
    helpers.finish(clearml_api, job)
    with clearml_api.raises((400, 110)):  # invalid task status, as the server answers
        helpers.finish(clearml_api, job, error="too late")


def test_retry_failed(clearml_api):
    helpers.launch(clearml_api, "gpu queue", "flaky run", {"seed": 1})
    job = helpers.next_job(clearml_api, "gpu queue")
    helpers.finish(clearml_api, job, error="CUDA out of memory")
    assert clearml_api.tasks.get_by_id(task=job.task_id).task.status_message == "CUDA out of memory"
    assert helpers.retry_failed(clearml_api, "gpu queue") == [job.task_id]
    assert helpers.next_job(clearml_api, "gpu queue").task_id == job.task_id


def test_two_users_share_one_store(taskstore_factory):
    alice = taskstore_factory.api(user="alice")
    bob = taskstore_factory.api(user="bob")
    task_id = helpers.launch(alice, "shared queue", "alice's run", {"lr": 0.1})
    job = helpers.next_job(bob, "shared queue")  # bob's worker picks up alice's task
    assert job.task_id == task_id
    assert bob.tasks.get_by_id(task=task_id).task.user == "alice"


def test_unknown_task_is_an_api_error(clearml_api):
    with pytest.raises(Exception) as info:
        clearml_api.tasks.started(task="no-such-task")
    assert info.value.result.meta.codes == (400, 101)  # as the ClearML server's test client reports it
    assert str(info.value).startswith("APIClient got 400/101 from tasks.started: invalid task id")
