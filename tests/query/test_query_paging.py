"""Paging and scrolling (query_edit §1.11): the 500 cap, the errors, scroll states shared through the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from query_support import ids, make
from support import api_error

from taskstore import TaskStore


@pytest.fixture
def seven(store: TaskStore) -> list[str]:
    return [make(store, f"task {i}") for i in range(7)]


def test_pages(store: TaskStore, seven: list[str]) -> None:
    assert ids(store, page=0, page_size=3) == seven[:3]
    assert ids(store, page=2, page_size=3) == seven[6:]
    assert ids(store, page=3, page_size=3) == []
    assert ids(store, page_size=2) == seven[:2]
    assert ids(store, page=0) == seven  # page without page_size: 500
    assert ids(store, page=10**18, page_size=500) == []
    assert ids(store, page_size=10**9) == seven  # clamped to 500


def test_default_cap_is_500(store: TaskStore) -> None:
    from sqlalchemy import insert, select

    from taskstore.db.records import TaskRecord

    tid = make(store, "template")
    with store._db.transaction() as conn:
        row = dict(conn.execute(select(TaskRecord.__table__).where(TaskRecord.id == tid)).mappings().one())
        rows = [{**row, "id": f"{i:032x}", "seq": None} for i in range(1, 520)]
        for r in rows:
            r.pop("seq")
        conn.execute(insert(TaskRecord.__table__), rows)
    assert len(ids(store)) == 500
    assert len(ids(store, page=1, page_size=500)) == 20


@pytest.mark.parametrize(("req", "field"), [({"page": -1}, "page"), ({"page_size": 0}, "page_size"),
                                            ({"page_size": -5}, "page_size"), ({"page": "x"}, "page")])  # fmt: skip
def test_paging_errors(store: TaskStore, req: dict[str, Any], field: str) -> None:
    with api_error(400, 12, field):
        store.call("tasks.get_all", req)


def scroll(store: Any, endpoint: str = "tasks.get_all", **req: Any) -> tuple[list[str], str | None]:
    req.setdefault("only_fields", ["id"])
    got = store.call(endpoint, req)
    return [t["id"] for t in got["tasks"]], got.get("scroll_id")


def test_scroll_walks_everything_once(store: TaskStore, seven: list[str]) -> None:
    first, sid = scroll(store, scroll_id="", size=3)
    assert first == seven[:3] and sid
    second, sid2 = scroll(store, scroll_id=sid, size=3)
    third, _ = scroll(store, scroll_id=sid, size=3)
    fourth, _ = scroll(store, scroll_id=sid, size=3)
    assert (second, third, fourth, sid2) == (seven[3:6], seven[6:], [], sid)


def test_scroll_with_ordering_and_filters_continues_after_the_last_row(store: TaskStore) -> None:
    made = [make(store, f"task {i}", hp={"Args": {"lr": str(i % 4)}}, tags=["x"] if i % 3 else []) for i in range(12)]
    want = ids(store, tags=["x"], order_by=["-hyperparams.Args.lr.value", "-name"])
    got, sid = scroll(store, tags=["x"], order_by=["-hyperparams.Args.lr.value", "-name"], scroll_id="", size=3)
    while True:
        more, sid = scroll(store, tags=["x"], order_by=["-hyperparams.Args.lr.value", "-name"], scroll_id=sid, size=3)
        if not more:
            break
        got += more
    assert got == want and len(want) == 8 and set(made) > set(want)


def test_scroll_sees_rows_added_behind_it_but_never_repeats(store: TaskStore, seven: list[str]) -> None:
    got, sid = scroll(store, scroll_id="", size=4)
    late = make(store, "late task")
    rest, _ = scroll(store, scroll_id=sid, size=10)
    assert got + rest == [*seven, late]


def test_refresh_scroll_rereads_from_the_start(store: TaskStore, seven: list[str]) -> None:
    _, sid = scroll(store, scroll_id="", size=2)
    scroll(store, scroll_id=sid, size=2)
    again, sid2 = scroll(store, scroll_id=sid, size=3, refresh_scroll=True)
    assert again == seven[:4] and sid2 == sid  # max(position 4, size 3)
    nxt, _ = scroll(store, scroll_id=sid, size=2)
    assert nxt == seven[4:6]


def test_unknown_expired_or_foreign_scroll_ids_restart(store: TaskStore, other: Any, seven: list[str]) -> None:
    got, sid = scroll(store, scroll_id="garbage", size=2)
    assert got == seven[:2] and sid != "garbage"
    got, sid3 = scroll(other, scroll_id=sid, size=2)
    assert got == [] and sid3 != sid  # another company: a new scroll of its own (it sees no tasks)
    from sqlalchemy import update

    from taskstore.db.records import ScrollRecord

    with store._db.transaction() as conn:
        conn.execute(update(ScrollRecord).where(ScrollRecord.id == sid).values(
            last_used=ScrollRecord.last_used - timedelta(seconds=601)))  # fmt: skip
    got, sid4 = scroll(store, scroll_id=sid, size=2)
    assert got == seven[:2] and sid4 != sid


@pytest.mark.parametrize("size", [None, 0, -1, "x"])
def test_scroll_size_is_required(store: TaskStore, size: Any) -> None:
    req: dict[str, Any] = {"scroll_id": ""}
    if size is not None:
        req["size"] = size
    with api_error(400, 12, "size"):
        store.call("tasks.get_all", req)


def test_scroll_size_is_not_capped_and_ignores_paging(store: TaskStore, seven: list[str]) -> None:
    got, _ = scroll(store, scroll_id="", size=1000, page=1, page_size=2)
    assert got == seven


def test_get_by_id_ex_consumes_but_returns_no_scroll_id(store: TaskStore, seven: list[str]) -> None:
    got = store.call("tasks.get_by_id_ex", {"id": seven, "scroll_id": "", "size": 2, "only_fields": ["id"]})
    assert "scroll_id" not in got and [t["id"] for t in got["tasks"]] == seven[:2]
    got, sid = scroll(store, "tasks.get_all_ex", scroll_id="", size=5)
    assert got == seven[:5]
    assert scroll(store, "tasks.get_all_ex", scroll_id=sid, size=5)[0] == seven[5:]


def test_start_is_a_raw_offset(store: TaskStore, seven: list[str]) -> None:
    assert ids(store, start=5, size=10) == seven[5:]
    with api_error(400, 12, "size"):
        store.call("tasks.get_all", {"start": 1})


@pytest.mark.file_backends
def test_a_scroll_id_works_in_another_store_on_the_same_database(
    store: TaskStore, make_store: Any, seven: list[str]
) -> None:
    _, sid = scroll(store, scroll_id="", size=3)
    second = make_store(company="acme", user="bob")
    got, sid2 = scroll(second, scroll_id=sid, size=3)
    assert got == seven[3:6] and sid2 == sid
