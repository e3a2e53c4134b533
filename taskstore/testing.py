"""The taskstore pytest plugin: a ClearML tasks API for your tests, no server needed.

Registered through the ``pytest11`` entry point, so it is active wherever taskstore is installed.
Fixtures (names chosen not to clash with common ``store``/``db`` fixtures of a project):

``taskstore``
    A fresh in-memory :class:`~taskstore.TaskStore` per test (a few milliseconds).
``clearml_api``
    An :class:`~taskstore.client.APIClient` over ``taskstore``, in the style of the ClearML server's
    test client: ``clearml_api.tasks.create(name="train", type="training").id``,
    ``clearml_api.queues.get_next_task(queue=qid).entry.task``; failures raise ``APIError``.
``taskstore_factory``
    Opens more stores: on the test's own SQLite file (shared by every store the factory opens without
    a URL, so several companies and users see one database), on a file path, or on any URL::

        alice = taskstore_factory(company="acme", user="alice")
        bob = taskstore_factory(company="acme", user="bob")          # same database as alice
        other = taskstore_factory("sqlite://")                        # a private in-memory store
        shared = taskstore_factory("postgresql://u@host/db")          # your database, as it is
        api = taskstore_factory.api(company="globex", user="carol")   # an APIClient on the test's file

    Every store it opened is closed after the test.  Files live in pytest's ``tmp_path``.

Importing this module is cheap: the database layer loads when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from taskstore.client import APICallResult, APIClient, APIError, AttrDict

if TYPE_CHECKING:
    from taskstore.store import TaskStore

__all__ = ["APICallResult", "APIClient", "APIError", "AttrDict", "StoreFactory"]

DEFAULT_COMPANY = "local"
DEFAULT_USER = "local"


def _as_url(target: str | Path) -> str:
    """A URL as is; a file path (``Path`` or a string without ``://``) as a SQLite file URL."""
    text = str(target)
    if isinstance(target, Path) or "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    return text


class StoreFactory:
    """Open stores for one test; :meth:`close` closes them all (the fixture does it after the test)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.url = _as_url(directory / "taskstore.db")
        self.opened: list[TaskStore] = []

    def __call__(
        self,
        url: str | Path | None = None,
        *,
        company: str = DEFAULT_COMPANY,
        user: str = DEFAULT_USER,
        **options: Any,
    ) -> TaskStore:
        """A new store on ``url`` (default: this test's SQLite file) acting as ``company``/``user``.

        ``options`` go to :class:`~taskstore.TaskStore` (``strict=True``, ...).
        """
        from taskstore.store import TaskStore

        store = TaskStore(self.url if url is None else _as_url(url), company=company, user=user, **options)
        self.opened.append(store)
        return store

    def api(
        self,
        url: str | Path | None = None,
        *,
        company: str = DEFAULT_COMPANY,
        user: str = DEFAULT_USER,
        version: str | None = None,
        **options: Any,
    ) -> APIClient:
        """An :class:`~taskstore.client.APIClient` on a new store (same arguments as calling the factory)."""
        return APIClient(self(url, company=company, user=user, **options), version=version)

    def close(self) -> None:
        while self.opened:
            self.opened.pop().close()


@pytest.fixture
def taskstore() -> Iterator[TaskStore]:
    """A fresh, private in-memory store (company and user ``"local"``), closed after the test."""
    from taskstore.store import TaskStore

    store = TaskStore("sqlite://", company=DEFAULT_COMPANY, user=DEFAULT_USER)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def clearml_api(taskstore: TaskStore) -> APIClient:
    """A ClearML-style API client over the test's ``taskstore``."""
    return APIClient(taskstore)


@pytest.fixture
def taskstore_factory(tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores on the test's SQLite file, a path or a URL; closes them after the test."""
    factory = StoreFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()
