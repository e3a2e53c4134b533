"""``taskstore db upgrade | current | check``: the schema revision of a database (taskstore.db.migrate)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import inspect

from taskstore.cli.app import HINT_NO_STORE, State, common, display_url, pass_state
from taskstore.cli.render import print_json
from taskstore.db.engine import Database
from taskstore.db.migrate import HEAD_REVISION, KNOWN_REVISIONS, current_revision, ensure_current
from taskstore.db.records import Base


def inspect_db(state: State) -> dict[str, Any]:
    """Revision and tables of ``--db``, without changing it."""
    url = state.url
    info: dict[str, Any] = {"url": display_url(url), "head": HEAD_REVISION}
    if not state.exists():
        return {**info, "exists": False, "revision": None, "state": "missing"}
    db = Database(url)
    try:
        with db.transaction(write=False) as conn:
            revision = current_revision(conn)
            missing = sorted({t.name for t in Base.metadata.sorted_tables} - set(inspect(conn).get_table_names()))
    finally:
        db.dispose()
    if revision is None:
        status = "empty"
    elif revision == HEAD_REVISION:
        status = "damaged" if missing else "current"
    elif revision in KNOWN_REVISIONS:
        status = "behind"
    else:
        status = "newer"
    return {**info, "exists": True, "revision": revision, "state": status, "missing_tables": missing}


MESSAGES = {
    "missing": "no store there: " + HINT_NO_STORE,
    "empty": "no taskstore schema yet (`taskstore db upgrade` creates it)",
    "current": "at the newest schema revision",
    "behind": "older than this taskstore's schema {head}: run `taskstore db upgrade`",
    "newer": "written by a newer taskstore (its newest revision here is {head}): upgrade taskstore",
    "damaged": "at revision {head} but tables are missing: {missing}",
}


def describe(info: dict[str, Any]) -> str:
    message = MESSAGES[info["state"]].format(head=info["head"], missing=", ".join(info.get("missing_tables", [])))
    if info["revision"] is None:
        return f"{info['url']}: {message}"
    return f"{info['url']}: revision {info['revision']}: {message}"


@click.group()
def db() -> None:
    """The database schema: current revision, check, upgrade."""


@db.command("current")
@common
@pass_state
def current(state: State) -> None:
    """Print the schema revision of the database (changes nothing)."""
    info = inspect_db(state)
    if state.json:
        print_json(info)
    else:
        click.echo(info["revision"] or "none")
        click.echo(describe(info), err=True)
    if info["state"] == "missing":
        raise click.exceptions.Exit(1)


@db.command("check")
@common
@pass_state
def check(state: State) -> None:
    """Exit 0 if the database is at this taskstore's schema revision, 1 otherwise (changes nothing)."""
    info = inspect_db(state)
    if state.json:
        print_json({**info, "ok": info["state"] == "current"})
    else:
        click.echo(describe(info), err=info["state"] != "current")
    if info["state"] != "current":
        raise click.exceptions.Exit(1)


@db.command("upgrade")
@common
@pass_state
def upgrade(state: State) -> None:
    """Create the schema, or upgrade it to this taskstore's revision (safe to run at any time)."""
    before = inspect_db(state)
    if before["state"] == "newer":
        raise click.ClickException(describe(before))
    database = Database(state.url)
    try:
        revision = ensure_current(database, upgrade=True)
    finally:
        database.dispose()
    was = before["revision"]
    if state.json:
        print_json({"url": before["url"], "from": was, "to": revision})
    elif was == revision:
        click.echo(f"{before['url']}: already at revision {revision}")
    elif was is None:
        click.echo(f"{before['url']}: created the schema at revision {revision}")
    else:
        click.echo(f"{before['url']}: upgraded from revision {was} to {revision}")
