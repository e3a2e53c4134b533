"""An attribute-style API client over a store, in the style of the ClearML server's test client.

Code (and tests) written against a ClearML server read the same against a store::

    api = APIClient(store)
    task = api.tasks.create(name="train", type="training", project=project_id)
    api.tasks.enqueue(task=task.id, queue=queue_id)
    entry = api.queues.get_next_task(queue=queue_id).entry
    assert api.tasks.get_by_id(task=entry.task).task.status == "queued"
    with api.raises((400, 101)):
        api.tasks.get_by_id(task="nope")

Every call returns the response's ``data`` as an :class:`AttrDict`: a ``dict`` whose keys are also
attributes, recursively (``resp.task.execution.queue``, ``resp.tasks[0].hyperparams["Args"]["lr"].value``).
Failures raise :class:`APIError`, a :class:`taskstore.errors.APIError` that also carries the
server-style ``result.meta`` (``result_code``, ``result_subcode``, ``result_msg``, ``codes``), so both
``except taskstore.APIError`` and code written for the ClearML test client work.

This module imports neither pytest nor the database layer: it is usable anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from taskstore import errors

if TYPE_CHECKING:
    from taskstore.store import TaskStore

__all__ = ["APICallResult", "APIClient", "APIError", "AttrDict", "ResultMeta"]


class _Caller(Protocol):
    def call(
        self,
        endpoint: str,
        data: Any = None,
        *,
        version: str | None = None,
        company: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]: ...


def _wrap(value: Any) -> Any:
    if isinstance(value, AttrDict):
        return value
    if isinstance(value, Mapping):
        return AttrDict(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class AttrDict(dict[str, Any]):
    """A ``dict`` whose keys are attributes too, nested dicts (also inside lists) included.

    A missing attribute raises ``AttributeError`` (so ``getattr(x, "k", None)`` and ``hasattr`` work);
    keys that are not identifiers (``last_metrics`` hashes, ``"Args"`` sections) read with ``[...]``.
    """

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        for key, value in {**(data or {}), **kwargs}.items():
            super().__setitem__(key, _wrap(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, _wrap(value))

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self if isinstance(k, str) and k.isidentifier()})

    def to_dict(self) -> dict[str, Any]:
        """A plain (JSON-ready) copy."""
        return json.loads(json.dumps(self))  # type: ignore[no-any-return]


class ResultMeta:
    """The ``meta`` part of a ClearML response envelope, as the server's test client exposes it."""

    def __init__(self, endpoint: str, version: str | None, code: int = 200, subcode: int = 0, msg: str = "OK") -> None:
        self.endpoint_name = endpoint
        self.requested_endpoint_version = version
        self.result_code = code
        self.result_subcode = subcode
        self.result_msg = msg
        self.error_stack = ""
        self.codes = (code, subcode)

    def __repr__(self) -> str:
        return f"ResultMeta({self.endpoint_name!r}, {self.result_code}/{self.result_subcode}, {self.result_msg!r})"


class APICallResult:
    """One call's result: ``data`` (an AttrDict) and ``meta``."""

    def __init__(self, data: Mapping[str, Any], meta: ResultMeta) -> None:
        self.data = AttrDict(data)
        self.meta = meta

    def as_dict(self) -> dict[str, Any]:
        meta = self.meta
        return {
            "meta": {
                "endpoint": {"name": meta.endpoint_name, "requested_version": meta.requested_endpoint_version},
                "result_code": meta.result_code,
                "result_subcode": meta.result_subcode,
                "result_msg": meta.result_msg,
            },
            "data": self.data.to_dict(),
        }


class APIError(errors.APIError):
    """A failed call: everything :class:`taskstore.errors.APIError` has, plus ``endpoint`` and ``result``."""

    def __init__(self, error: errors.APIError, endpoint: str, version: str | None = None) -> None:
        super().__init__(error.code, error.subcode, error.message, error.data)
        self.endpoint = endpoint
        self.result = APICallResult({}, ResultMeta(endpoint, version, error.code, error.subcode, error.message))

    def __str__(self) -> str:
        return f"APIClient got {self.code}/{self.subcode} from {self.endpoint}: {self.message}"


class _Service:
    """``api.<service>``: attribute access gives a callable per endpoint."""

    def __init__(self, api: APIClient, name: str) -> None:
        self._api = api
        self._name = name

    def __getattr__(self, action: str) -> Any:
        if action.startswith("_"):
            raise AttributeError(action)
        endpoint = f"{self._name}.{action}"

        def call(**fields: Any) -> AttrDict:
            data: AttrDict = self._api.send(endpoint, fields)[1]
            return data

        call.__name__ = action
        call.__qualname__ = endpoint
        return call

    def __repr__(self) -> str:
        return f"<APIClient service {self._name}>"


class APIClient:
    """ClearML-style client over a store: ``api.tasks.create(name=..., type=...)`` -> :class:`AttrDict`.

    Args:
        store: a :class:`taskstore.TaskStore` (or anything with its ``call`` signature).
        version: the API version every call asks for ("2.13"); ``None`` is the newest.
        company, user: the identity calls act as (default: the store's own).
    """

    def __init__(
        self,
        store: TaskStore | _Caller,
        *,
        version: str | None = None,
        company: str | None = None,
        user: str | None = None,
    ) -> None:
        self.store = store
        self.version = version
        self.company = company
        self.user = user

    def send(
        self,
        endpoint: str,
        data: Mapping[str, Any] | Sequence[Any] | str | None = None,
        *,
        version: str | None = None,
        raise_errors: bool = True,
        extract: str | None = None,
    ) -> tuple[APICallResult, Any]:
        """Call ``endpoint``; return ``(result, data)`` (``data[extract]`` with ``extract``).

        With ``raise_errors=False`` a failure is returned as a result whose ``meta`` has the error's codes.
        """
        version = version or self.version
        body: Any = dict(data) if isinstance(data, Mapping) else data
        try:
            response = self.store.call(endpoint, body, version=version, company=self.company, user=self.user)
        except errors.APIError as exc:
            failure = exc if isinstance(exc, APIError) else APIError(exc, endpoint, version)
            if raise_errors:
                raise failure from None
            return failure.result, failure.result.data
        result = APICallResult(response, ResultMeta(endpoint, version))
        return result, (result.data.get(extract) if extract is not None else result.data)

    def send_batch(self, endpoint: str, items: Sequence[Mapping[str, Any]], **kwargs: Any) -> tuple[APICallResult, Any]:
        """A JSON-lines batch call (``tasks.update_batch``), as the server's test client sends it."""
        return self.send(endpoint, "\n".join(json.dumps(dict(item)) for item in items), **kwargs)

    def impersonate(self, user: str, *, company: str | None = None) -> APIClient:
        """The same client acting as another user (and optionally another company)."""
        return APIClient(self.store, version=self.version, company=company or self.company, user=user)

    def for_version(self, version: str) -> APIClient:
        """The same client asking for another API version."""
        return APIClient(self.store, version=version, company=self.company, user=self.user)

    @staticmethod
    @contextmanager
    def raises(codes: tuple[int, int] | errors.APIError | str) -> Iterator[None]:
        """Expect the block to fail with ``codes``: ``(400, 101)``, an APIError, or a catalogue name
        (``"invalid_task_id"``).  Another error is re-raised; no error is an ``AssertionError``."""
        if isinstance(codes, errors.APIError):
            want = (codes.code, codes.subcode)
        elif isinstance(codes, str):
            want = (errors.error(codes).code, errors.error(codes).subcode)
        else:
            want = (int(codes[0]), int(codes[1]))
        try:
            yield
        except errors.APIError as exc:
            if (exc.code, exc.subcode) != want:
                raise
        else:
            raise AssertionError(f"call should fail with {want[0]}/{want[1]}")

    def __getattr__(self, name: str) -> _Service:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Service(self, name)

    def __repr__(self) -> str:
        who = f", company={self.company!r}" if self.company else ""
        return f"APIClient({self.store!r}{who})"
