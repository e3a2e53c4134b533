"""The endpoint registry: ``@endpoint("tasks.create")`` binds a handler to an endpoint name.

A handler is ``handler(ctx, request) -> dict``: the request is already validated against the schema
of the requested version and the handler runs inside the call's one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from taskstore.api.schema import Version, parse_version

if TYPE_CHECKING:
    from taskstore.ops.context import OpContext

HandlerFunc = Callable[["OpContext", dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Handler:
    name: str
    func: HandlerFunc
    write: bool
    # The reference's code-level gate: below it the endpoint is 404/0 whatever the schema lists.
    min_version: Version | None
    # Request paths whose JSON type is not checked (the reference accepts more than the schema says,
    # and leaves the check to the data layer).  A ``*`` segment is any key or any list item.
    loose: frozenset[str]
    # Request fields the reference accepts that no schema version of the endpoint lists (JSON schemas).
    extra: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Read endpoints that write in some calls (get_all keeps scroll states): a write transaction then.
    writes_when: Callable[[dict[str, Any]], bool] | None = None
    # Prefixes of request keys that are known though not listed (``hyperparams.`` filters): accepted
    # by ``strict`` and passed through unchecked.
    key_prefixes: tuple[str, ...] = ()

    def writes(self, request: dict[str, Any]) -> bool:
        return self.write or (self.writes_when is not None and self.writes_when(request))


HANDLERS: dict[str, Handler] = {}


def endpoint(
    name: str,
    *,
    write: bool = True,
    min_version: str | None = None,
    loose: tuple[str, ...] = (),
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    writes_when: Callable[[dict[str, Any]], bool] | None = None,
    key_prefixes: tuple[str, ...] = (),
) -> Callable[[HandlerFunc], HandlerFunc]:
    """Register ``func`` as the handler of ``name`` (``service.action``)."""

    def register(func: HandlerFunc) -> HandlerFunc:
        if name in HANDLERS:
            raise RuntimeError(f"endpoint {name} registered twice")
        version = parse_version(min_version)
        HANDLERS[name] = Handler(
            name, func, write, version, frozenset(loose), dict(extra or {}), writes_when, key_prefixes
        )
        return func

    return register


def handlers() -> dict[str, Handler]:
    """Every registered handler (importing the endpoint modules on first use)."""
    import taskstore.endpoints  # noqa: F401  (registration happens on import)

    return HANDLERS


