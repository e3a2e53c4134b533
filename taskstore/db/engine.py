"""Engines and the one unit of work.

SQLite: WAL, ``synchronous=NORMAL``, ``busy_timeout``, ``foreign_keys=ON``; the driver's own
transaction handling is switched off so that we emit ``BEGIN IMMEDIATE`` for writing calls (writers
queue on the busy timeout instead of failing half-way) and a deferred ``BEGIN`` for reads.
``sqlite://`` (in memory) shares one connection through ``StaticPool``.  Writers to a SQLite file
first take a gate (``<file>-wlock``, an OS file lock): SQLite's own busy handler polls with growing
sleeps, so under contention a long waiter keeps losing to newcomers (seen: 28 s waits against the
30 s timeout with 12 writers); the gate hands the lock on in about a millisecond, to waiters alike.
PostgreSQL: psycopg 3 with the session time zone forced to UTC.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from taskstore.db.functions import register_sqlite_functions
from taskstore.db.types import dumps

BUSY_TIMEOUT_MS = 30_000
GATE_POLL_S = 0.001  # the gate's retry interval: short and constant, so no waiter backs off further
MMAP_BYTES = 256 * 2**20
DEFAULT_URL = "sqlite:///taskstore.db"
_WRITE = "taskstore_write"


def normalize_url(url: str | None) -> str:
    """``None`` is ``./taskstore.db``; ``postgresql://`` means psycopg 3."""
    if url is None:
        return DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_memory_sqlite(url: str) -> bool:
    u = make_url(url)
    return u.get_backend_name() == "sqlite" and u.database in (None, "", ":memory:")


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    kwargs: dict[str, Any] = {"json_serializer": dumps, "pool_pre_ping": True}
    if u.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"options": "-c timezone=UTC -c lock_timeout=20000"}
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str) -> Engine:
    memory = is_memory_sqlite(url)
    kwargs: dict[str, Any] = {"json_serializer": dumps}
    if memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
        database = make_url(url).database
        if database:
            parent = os.path.dirname(os.path.abspath(database))
            os.makedirs(parent, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite would otherwise BEGIN lazily, deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        register_sqlite_functions(dbapi_conn)  # regexp (RE2) and sort keys of the query language
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not memory:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            # Queries over 100k-task files read many pages: map them instead of read()-ing each one
            # through SQLite's small default page cache (2 MB); about 2x faster get_all at that size.
            cur.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class WriteGate:
    """Serialises the write transactions on one SQLite file across threads and processes.

    It only orders writers; SQLite's lock still guards the data.  Whatever stops the gate from
    working (no ``fcntl``, a read-only directory, a waiter past the busy timeout) falls back to
    SQLite's busy handling, so it never fails a call that would otherwise succeed.
    """

    def __init__(self, database: str) -> None:
        self.path = f"{os.path.abspath(database)}-wlock"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own open file
            try:
                self._fd, self._pid = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644), os.getpid()
            except OSError:
                return None
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # not on POSIX: SQLite's busy handler alone
            yield
            return
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        if not self._threads.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            yield
            return
        try:
            fd = self._file()
            locked = False
            while fd is not None and not locked:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    locked = True
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(GATE_POLL_S)
                except OSError:
                    break
            try:
                yield
            finally:
                if locked and fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


class Database:
    """An engine plus the rules for using it: one transaction per unit of work."""

    def __init__(self, url: str | None) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self.dialect = self.engine.dialect.name
        # One shared in-memory connection: threads take turns, so none sees a half-done call.
        self._lock: threading.RLock | None = threading.RLock() if is_memory_sqlite(self.url) else None
        database = make_url(self.url).database
        self.gate = WriteGate(database) if self.dialect == "sqlite" and self._lock is None and database else None

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """Yield a connection inside one transaction; commit on success, roll back on any error."""
        gate = self.gate.held() if write and self.gate is not None else nullcontext()
        with self._lock if self._lock is not None else nullcontext(), gate, self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(**{_WRITE: write})
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.gate is not None:
            self.gate.close()
