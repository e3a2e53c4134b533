"""``TaskStore``: open a database (SQLite file by default), bring it to the current schema, call
endpoints.  No business logic lives here."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from taskstore.api.dispatch import Dispatcher
from taskstore.api.facade import Service
from taskstore.db.engine import Database
from taskstore.db.migrate import ensure_current

DEFAULT_COMPANY = "local"
DEFAULT_USER = "local"


class TaskStore:
    """The ClearML tasks API over one database.

    Args:
        url: a SQLAlchemy URL. ``None`` is ``./taskstore.db`` (SQLite, WAL); ``"sqlite://"`` is a
            private in-memory store; ``"postgresql://user@host/db"`` is a shared PostgreSQL store.
        company: the company every call acts for unless a call names another. Tasks of company ``""``
            are public: readable by all, writable by none.
        user: the user id recorded on what calls create.
        strict: reject request keys the schema does not know (400/12) instead of ignoring them.
        upgrade: bring an older database up to this version's schema on open (otherwise refuse it).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        company: str = DEFAULT_COMPANY,
        user: str = DEFAULT_USER,
        strict: bool = False,
        upgrade: bool = True,
    ) -> None:
        self.company = company
        self.user = user
        self.strict = strict
        self._db = Database(url)
        try:
            self.revision = ensure_current(self._db, upgrade=upgrade)
        except BaseException:
            self._db.dispose()
            raise
        self._dispatcher = Dispatcher(self._db, company=company, user=user, strict=strict)

    @property
    def url(self) -> str:
        return self._db.url

    @property
    def dialect(self) -> str:
        return self._db.dialect

    def call(
        self,
        endpoint: str,
        data: Mapping[str, Any] | list[Any] | str | None = None,
        *,
        version: str | None = None,
        company: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Call ``endpoint`` ("tasks.create") and return the response body's ``data``.

        Raises:
            taskstore.errors.APIError: with the reference server's code and subcode.
        """
        return self._dispatcher.call(endpoint, data, version=version, company=company, user=user)

    def service(self, name: str, *, version: str | None = None) -> Service:
        """The typed facade of one service at an API version (``store.service("tasks", version="2.9")``)."""
        return Service(self, name, version)

    @property
    def tasks(self) -> Service:
        return Service(self, "tasks")

    @property
    def projects(self) -> Service:
        return Service(self, "projects")

    @property
    def queues(self) -> Service:
        return Service(self, "queues")

    @property
    def models(self) -> Service:
        return Service(self, "models")

    @property
    def events(self) -> Service:
        return Service(self, "events")

    def close(self) -> None:
        self._db.dispose()

    def __enter__(self) -> TaskStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TaskStore({self.url!r}, company={self.company!r})"
