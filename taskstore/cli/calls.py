"""``taskstore call ENDPOINT [BODY]`` and ``taskstore queues list``."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

from taskstore.cli.app import State, common, pass_state
from taskstore.cli.render import cells, emit, fmt_time, print_json, short, table

# key=value (a string) or key:=json (httpie's convention); keys may be dotted paths.
PAIR = re.compile(r"^([A-Za-z_][\w.$%-]*)(:?=)(.*)$", re.DOTALL)


def parse_body(args: tuple[str, ...]) -> Any:
    """The request body from the command line: JSON, ``@file``, ``-`` (standard input), or pairs
    ``key=string`` / ``key:=json``.  Text of several lines that is not JSON is passed on as is (the
    JSON-lines bodies of the batch endpoints)."""
    if not args:
        return None
    if not PAIR.match(args[0]):
        if len(args) > 1:
            raise click.UsageError("give the body as one argument: JSON, @file or -; or as key=value pairs")
        text = args[0]
        if text == "-":
            text = sys.stdin.read()
        elif text.startswith("@"):
            try:
                with open(text[1:], encoding="utf-8") as f:
                    text = f.read()
            except OSError as exc:
                raise click.BadParameter(f"cannot read {text[1:]}: {exc.strerror}") from None
        try:
            return json.loads(text)
        except ValueError:
            if "\n" not in text.strip():
                raise click.BadParameter(f"not valid JSON: {text}") from None
            return text  # JSON lines (tasks.update_batch, events.add_batch)
    body: dict[str, Any] = {}
    for arg in args:
        pair = PAIR.match(arg)
        if pair is None:
            raise click.BadParameter(f"{arg!r}: expected key=string or key:=json (or one JSON body, @file or -)")
        key, sep, value = pair.groups()
        if sep == "=":
            body[key] = value
            continue
        try:
            body[key] = json.loads(value)
        except ValueError:
            raise click.BadParameter(f"{arg!r}: the value after := must be JSON") from None
    return body


@click.command("call")
@click.argument("endpoint")
@click.argument("body", nargs=-1)
@click.option("--api-version", "--version", "version", metavar="X.Y", help="API version, e.g. 2.13 (default: newest).")
@click.option("--company", help="Act as this company (default: the store's).")
@click.option("--user", help="Act as this user (default: the store's).")
@common
@pass_state
def call(
    state: State, endpoint: str, body: tuple[str, ...], version: str | None, company: str | None, user: str | None
) -> None:
    """Call one endpoint and print its response as JSON.

    \b
    BODY is JSON, @FILE, - (standard input), or key=string and key:=json pairs:
      taskstore call tasks.create '{"name": "train", "type": "training"}'
      taskstore call tasks.create name=train type=training
      taskstore call tasks.get_all status:='["completed"]' page_size:=10

    An API error prints "error CODE/SUBCODE (name): message" on standard error and exits with 4 (4xx)
    or 5 (5xx).
    """
    store = state.open(create=True)
    print_json(store.call(endpoint, parse_body(body), version=version, company=company, user=user))


@click.group()
def queues() -> None:
    """Queues and their waiting tasks."""


@queues.command("list")
@common
@pass_state
def list_queues(state: State) -> None:
    """List queues with the number of tasks waiting in each."""
    store = state.open()
    found = store.call("queues.get_all", {"order_by": ["name"]})["queues"]
    rows = [
        {
            "id": q["id"],
            "name": q.get("name"),
            "length": len(q.get("entries") or []),
            "next": (q.get("entries") or [{}])[0].get("task"),
            "tags": q.get("tags") or [],
            "last_update": q.get("last_update"),
        }
        for q in found
    ]
    if state.json:
        print_json(rows)
        return
    if not rows:
        state.err.print("no queues yet")
        return
    console = state.out
    t = table(console, ["id", "name", "length", "next task", "tags", "last update"], right=["length"], wrap=["name"])
    for r in rows:
        t.add_row(
            *cells(
                short(r["id"], console), r["name"], r["length"], short(r["next"], console), ", ".join(r["tags"]),
                fmt_time(r["last_update"], console),
            )
        )  # fmt: skip
    emit(console, t)
