"""Backends and fixtures: every test that takes ``store`` runs on SQLite (memory and file) and, when
``TASKSTORE_TEST_POSTGRES_URL`` is set, on PostgreSQL.

``pytest --backend sqlite-memory`` narrows a run to one backend for quick loops.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, event, text

from taskstore import TaskStore
from taskstore.db.records import Base

PG_URL = os.environ.get("TASKSTORE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite-memory", "sqlite-file", "postgres"]

settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", action="append", choices=BACKENDS, help="run only on these backends")
    parser.addoption(
        "--soak",
        action="store_true",
        help="run the full variants of the reliability scenarios (tests/reliability; minutes, not seconds)",
    )


@pytest.fixture(scope="session")
def soak(pytestconfig: pytest.Config) -> bool:
    """True under ``pytest --soak``: reliability scenarios use their full load instead of the CI one."""
    return bool(pytestconfig.getoption("--soak"))


def _wanted(config: pytest.Config) -> list[str]:
    return config.getoption("--backend") or BACKENDS


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = _wanted(metafunc.config)
        marks = {m.name for m in metafunc.definition.iter_markers()}
        if "sqlite_only" in marks:
            names = [n for n in names if n.startswith("sqlite")]
        if "postgres_only" in marks:
            names = [n for n in names if n == "postgres"]
        if "file_backends" in marks:
            names = [n for n in names if n != "sqlite-memory"]
        metafunc.parametrize("backend", names)


def _reset_postgres(url: str) -> None:
    """Drop every table so each test starts from an empty database (schema made on open)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7)"))
        names = [t.name for t in Base.metadata.sorted_tables] + ["taskstore_alembic_version"]
        conn.execute(text("DROP TABLE IF EXISTS " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
    engine.dispose()


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> str:
    """A URL for an empty database on ``backend``."""
    if backend == "sqlite-memory":
        return "sqlite://"
    if backend == "sqlite-file":
        return f"sqlite:///{tmp_path}/taskstore.db"
    if not PG_URL:
        pytest.skip("PostgreSQL: set TASKSTORE_TEST_POSTGRES_URL to run (see README)")
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def make_store(db_url: str) -> Iterator[Callable[..., TaskStore]]:
    """Open (more) stores on the test's database, e.g. with another company; all closed after."""
    opened: list[TaskStore] = []

    def make(**kwargs: Any) -> TaskStore:
        store = TaskStore(db_url, **kwargs)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(make_store: Callable[..., TaskStore]) -> TaskStore:
    """An empty store on the current backend (company "acme", user "alice")."""
    return make_store(company="acme", user="alice")


@pytest.fixture
def other(store: TaskStore, db_url: str, make_store: Callable[..., TaskStore]) -> TaskStore:
    """A second company on the same database (for memory SQLite: a view of the same connection)."""
    if db_url == "sqlite://":
        return _SameDbOtherCompany(store, "globex", "bob")  # type: ignore[return-value]
    return make_store(company="globex", user="bob")


@pytest.fixture
def statements(store: TaskStore) -> Iterator[list[str]]:
    """The SQL text of every statement the store runs during the test (to show what never reaches it)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store._db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(store._db.engine, "before_cursor_execute", record)


class _SameDbOtherCompany:
    """Another identity on the same in-memory database (a second sqlite:// would be a new DB)."""

    def __init__(self, store: TaskStore, company: str, user: str) -> None:
        self._store, self.company, self.user = store, company, user

    def call(self, endpoint: str, data: Any = None, **kw: Any) -> dict[str, Any]:
        kw.setdefault("company", self.company)
        kw.setdefault("user", self.user)
        return self._store.call(endpoint, data, **kw)
