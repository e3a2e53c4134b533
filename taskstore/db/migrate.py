"""Bringing a database to the head schema revision on open, safely under concurrency.

A fresh database is created from the records' metadata and stamped with the head revision (fast:
no alembic import); an older one is upgraded with alembic; an unknown or newer one is refused with a
message saying what to do.  The whole check runs in one write transaction: ``BEGIN IMMEDIATE`` on
SQLite, a transaction-scoped advisory lock on PostgreSQL, so that many processes opening one fresh
database at once all succeed and leave exactly one version row.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Column, Connection, MetaData, String, Table, inspect, select, text
from sqlalchemy.exc import DBAPIError

from taskstore.db.engine import Database
from taskstore.db.errors import is_transient
from taskstore.db.records import Base

VERSION_TABLE = "taskstore_alembic_version"
# The newest revision in migrations/versions; a test checks it against alembic's script directory.
HEAD_REVISION = "0003"
# Every revision this taskstore knows, oldest first.
KNOWN_REVISIONS = ("0001", "0002", "0003")
_ADVISORY_LOCK_KEY = 0x7A5C5707
# How long opening a database waits for another process's schema creation or upgrade.
SCHEMA_WAIT_S = 600.0

_version_meta = MetaData()
version_table = Table(VERSION_TABLE, _version_meta, Column("version_num", String(32), primary_key=True))


class SchemaVersionError(RuntimeError):
    """The database's schema revision is not one this taskstore can work with."""


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def current_revision(conn: Connection) -> str | None:
    if VERSION_TABLE not in _tables(conn):
        return None
    return conn.execute(select(version_table.c.version_num)).scalar()


def ensure_current(db: Database, *, upgrade: bool = True) -> str:
    """Create, upgrade or verify the schema; return the revision the database is at.

    While another process holds the schema transaction (it is creating or upgrading the database), wait
    for it up to ``SCHEMA_WAIT_S``: an upgrade of a large database outlasts the lock wait of a call
    (busy_timeout 30 s on SQLite, lock_timeout 20 s on PostgreSQL), and every process opening the
    database meanwhile must succeed once it is done, not fail with "database is locked" / "lock timeout".
    """
    deadline = time.monotonic() + SCHEMA_WAIT_S
    while True:
        try:
            return _ensure_current_once(db, upgrade=upgrade)
        except DBAPIError as exc:
            if not is_transient(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)  # each try already waited the backend's lock wait; this only avoids a busy loop


def _ensure_current_once(db: Database, *, upgrade: bool) -> str:
    with db.transaction(write=True) as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        tables = _tables(conn)
        revision = current_revision(conn) if VERSION_TABLE in tables else None
        if revision is None:
            ours = {t.name for t in Base.metadata.sorted_tables} & tables
            if ours:
                raise SchemaVersionError(
                    f"{db.url}: has taskstore tables ({', '.join(sorted(ours))}) but no {VERSION_TABLE} row; "
                    "it was not made by taskstore or was damaged. Use a new database, or export and re-import."
                )
            Base.metadata.create_all(conn)
            _version_meta.create_all(conn)
            conn.execute(version_table.insert().values(version_num=HEAD_REVISION))
            return HEAD_REVISION
        if revision == HEAD_REVISION:
            return revision
        if revision not in KNOWN_REVISIONS:
            raise SchemaVersionError(
                f"{db.url}: schema revision {revision!r} is unknown to this taskstore (its newest is "
                f"{HEAD_REVISION!r}); the database was written by a newer taskstore: upgrade taskstore "
                "(pip install -U taskstore) to open it."
            )
        if not upgrade:
            raise SchemaVersionError(
                f"{db.url}: schema revision {revision!r} is older than {HEAD_REVISION!r}; "
                "run `taskstore db upgrade` (or open it with upgrade=True)."
            )
        run_alembic_upgrade(conn, "head")
        return HEAD_REVISION


def alembic_config(conn: Connection | None = None) -> Any:
    """An alembic Config for migrations/ (imported lazily: alembic is only needed to upgrade)."""
    from alembic.config import Config

    from taskstore._resources import migrations_dir

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["connection"] = conn
    return cfg


def run_alembic_upgrade(conn: Connection, target: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(conn), target)
