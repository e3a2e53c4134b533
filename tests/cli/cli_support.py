"""Helpers for the command-line tests: run the CLI in-process, normalise times, build a small store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from click.testing import CliRunner, Result
from support import create_task

from taskstore.cli import cli

LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def run(*args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
    """Invoke ``taskstore ARGS`` in-process (output is not a terminal: plain text).  TASKSTORE_URL from
    the environment of the test run is removed unless ``env`` sets it."""
    runner = CliRunner()
    return runner.invoke(
        cli, list(args), input=input, env={"TASKSTORE_URL": None, **(env or {})}, catch_exceptions=False
    )


def untimed(text: str) -> str:
    """Local times as the CLI prints them replaced by ``<time>`` padded to the same width."""
    return LOCAL_TIME.sub("<time>".ljust(19), text)


def scalar(store: Any, task: str, metric: str, variant: str, value: float, iteration: int = 1) -> None:
    store.call(
        "events.add",
        {"task": task, "type": "training_stats_scalar", "metric": metric, "variant": variant, "value": value,
         "iter": iteration},
    )  # fmt: skip


def params(**values: Any) -> dict[str, Any]:
    return {"Args": {k: {"section": "Args", "name": k, "value": str(v)} for k, v in values.items()}}


def small_store(store: Any) -> dict[str, str]:
    """A project with three tasks: two completed with metrics and hyperparameters, one created."""
    project = store.call("projects.create", {"name": "vision"})["id"]
    ids: dict[str, str] = {}
    for name, lr, loss in (("train a", "0.1", 0.5), ("train b", "0.01", 0.25)):
        tid = create_task(store, name, project=project, hyperparams=params(lr=lr, batch=32), tags=["sweep"])
        store.call("tasks.started", {"task": tid, "force": True})
        scalar(store, tid, "loss", "val", loss * 2, 0)
        scalar(store, tid, "loss", "val", loss, 1)
        store.call("tasks.completed", {"task": tid})
        ids[name] = tid
    ids["draft"] = create_task(store, "draft task", type_="testing")
    ids["project"] = project
    return ids


def lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n") if text.strip() else []


def table_rows(text: str) -> list[list[str]]:
    """Rows of a plain table split on runs of two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in lines(text)]


def column(text: str, name: str) -> Sequence[str]:
    rows = table_rows(text)
    index = rows[0].index(name)
    return [row[index] if index < len(row) else "" for row in rows[1:]]
