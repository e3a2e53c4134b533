"""Paging and scrolling (query_edit §1.11).

Paging: ``page`` (default 0) and ``page_size`` (default and cap: 500); the offset is page x page_size.
Scrolling (get_all, get_all_ex; ``scroll_id`` present): ``size`` rows per call from a position kept in
``task_scrolls``, so a scroll id works in every process sharing the database.  An unknown, expired
(600 s after last use) or other company's id starts a new scroll at 0.  Each state also keeps the sort
values of the last row returned: the next call continues strictly after that row (a keyset seek, not
an ever-growing OFFSET), as long as the query is the same one (a digest of it is kept too).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, literal, or_, select, tuple_

from taskstore.db.records import ScrollRecord
from taskstore.errors import error
from taskstore.ops.context import OpContext
from taskstore.query.ordering import SortKey

MAX_PAGE_SIZE = 500
SCROLL_TTL = timedelta(seconds=600)
MAX_OFFSET = 2**62  # beyond it nothing can be there; avoids integer overflow in the database
# Request keys that do not change which rows a scroll walks through.
_NOT_QUERY = ("scroll_id", "refresh_scroll", "size", "page", "page_size", "only_fields", "projection", "start")


@dataclass
class Window:
    offset: int = 0
    limit: int | None = MAX_PAGE_SIZE
    after: list[Any] | None = None  # sort values of the row to continue after (keyset)
    scroll: ScrollRecord | None = None
    digest: str = ""
    empty: bool = False  # an offset beyond any possible row
    refresh: bool = False  # a scroll re-read from its start


def page_window(req: Mapping[str, Any]) -> Window:
    """The rows a paged (non-scroll) request asks for."""
    page, size = req.get("page"), req.get("page_size")
    if "start" in req and req.get("start") is not None:  # undocumented raw offset; requires size
        start, n = req.get("start"), req.get("size")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise error("validation_error", "start must be an integer >= 0", field="start")
        return Window(offset=min(start, MAX_OFFSET), limit=_size(n), empty=start >= MAX_OFFSET)
    if page is not None and page < 0:
        raise error("validation_error", "page must be >=0", field="page")
    if size is not None and size < 1:
        raise error("validation_error", "page_size must be >0", field="page_size")
    limit = min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = (page or 0) * limit
    if offset >= MAX_OFFSET:
        return Window(offset=0, limit=0, empty=True)
    return Window(offset=offset, limit=limit)


def _size(size: Any) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise error(
            "validation_error", "Integer size parameter greater than 1 should be provided when working with scroll",
            field="size",
        )  # fmt: skip
    return size


def query_digest(req: Mapping[str, Any], endpoint: str) -> str:
    body = {k: v for k, v in req.items() if k not in _NOT_QUERY}
    text = json.dumps([endpoint, body], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def scroll_window(ctx: OpContext, req: Mapping[str, Any], endpoint: str) -> Window:
    """Load (or start) the scroll state of a request carrying ``scroll_id``."""
    size = _size(req.get("size"))
    digest = query_digest(req, endpoint)
    ctx.conn.execute(delete(ScrollRecord).where(ScrollRecord.last_used < ctx.now - SCROLL_TTL))
    sid = req.get("scroll_id")
    state = None
    if isinstance(sid, str) and sid:
        state = ctx.session.scalars(
            select(ScrollRecord).where(ScrollRecord.id == sid, ctx.own(ScrollRecord))
        ).first()
    if state is None:
        state = ScrollRecord(id=uuid.uuid4().hex, company=ctx.company, position=0, state={}, last_used=ctx.now)
        ctx.session.add(state)
    if req.get("refresh_scroll"):
        return Window(offset=0, limit=max(state.position, size), scroll=state, digest=digest, refresh=True)
    window = Window(offset=state.position, limit=size, scroll=state, digest=digest)
    saved = state.state or {}
    if state.position and saved.get("digest") == digest and saved.get("after") is not None:
        window.offset, window.after = 0, [decode(v) for v in saved["after"]]
    return window


def save_scroll(ctx: OpContext, window: Window, count: int, last: Sequence[Any] | None) -> str:
    """Advance the scroll past the ``count`` rows returned; returns its id."""
    state = window.scroll
    assert state is not None
    state.position = count if window.refresh else state.position + count
    if last is not None:
        state.state = {"digest": window.digest, "after": [encode(v) for v in last]}
    state.last_used = ctx.now
    return state.id


def after_condition(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after the row whose sort values are ``values`` (in ``keys`` order)."""
    flat = [(e, k.desc, k.nulls_first) for k in keys for e in k.exprs]
    assert len(flat) == len(values)
    if all(n is None and d == flat[0][1] for _, d, n in flat) and all(v is not None for v in values):
        # one direction, no NULLs (the default order: seq, id): a row-value comparison, which both
        # databases answer with an index range instead of a scan from the start
        row, last = tuple_(*(e for e, _, _ in flat)), tuple_(*(literal(v) for v in values))
        return row < last if flat[0][1] else row > last
    alternatives: list[ColumnElement[bool]] = []
    equal_so_far: list[ColumnElement[bool]] = []
    for (expr, desc, nulls_first), value in zip(flat, values, strict=True):
        if value is None:
            beyond: ColumnElement[bool] = expr.is_not(None) if nulls_first else false()
            same = expr.is_(None)
        else:
            beyond = expr < value if desc else expr > value
            if nulls_first is False:
                beyond = or_(beyond, expr.is_(None))
            same = expr == value
        alternatives.append(and_(*equal_so_far, beyond))
        equal_so_far.append(same)
    return or_(*alternatives)


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": "dt", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"t": "dec", "v": str(value)}
    if isinstance(value, float):
        return {"t": "f", "v": repr(value)}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        kind, text = value.get("t"), str(value.get("v"))
        if kind == "dt":
            return datetime.fromisoformat(text)
        if kind == "dec":
            return Decimal(text)
        if kind == "f":
            return float(text)
    return value
