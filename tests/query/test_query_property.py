"""Property: for random tasks and random requests, get_all returns exactly the ids, in exactly the order,
that a plain-Python reading of the spec (query_edit §1.4-§1.11, with taskstore's documented choices)
gives for the same tasks.  The evaluator below is written from the spec, independently of taskstore's
code.  Each example works in a company of its own, so one store serves every example."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_support import set_fields

from taskstore import TaskStore

TAGS = ["a", "b", "c", "-b"]
STATUSES = ["created", "in_progress", "completed", "failed"]
TYPES = ["training", "testing", "inference"]
HP_VALUES = ["1", "2", "10", "0.5", "1e-05", "-3", "abc", "Abc", "abc10", "abc9", "", "x y", "007", "7", "b2"]
NAMES = ["file10", "file9", "File9", "task 1", "task 10", "task 2", "bbb", "aaa", "10 runs", "9.5"]
BASE = datetime(2022, 7, 1)
TOKENS = ["__$not", "__$all", "__$and", "__$any", "__$or", "__$nop", None]
JSON_NUMBER = re.compile(r"[ \t\n\r]*-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,4})?[ \t\n\r]*\Z")


@dataclass
class Task:
    name: str
    tags: list[str]
    system_tags: list[str]
    status: str
    type: str
    hp: str | None  # hyperparams.Args.p.value
    num: str | None  # hyperparams.Args.n.value: number literals only (SQLite's key index serves these)
    metric: float | None  # last_metrics.m.v.value
    started: datetime | None
    id: str = ""
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


tasks_st = st.lists(
    st.builds(
        Task,
        name=st.sampled_from(NAMES),
        tags=st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        system_tags=st.lists(st.sampled_from(["hidden", "archived", "x"]), max_size=2, unique=True),
        status=st.sampled_from(STATUSES),
        type=st.sampled_from(TYPES),
        hp=st.none() | st.sampled_from(HP_VALUES),
        num=st.none() | st.sampled_from(["1", "2", "10", "0.5", "-3", "1e-05", "2.0", "100"]),
        metric=st.none() | st.sampled_from([-1.5, 0.0, 0.25, 3.0, 1e6]),
        started=st.none() | st.integers(0, 5).map(lambda d: BASE + timedelta(days=d)),
    ),
    max_size=12,
)
list_value = st.lists(st.sampled_from(TAGS + TOKENS + ["a", "-a", "c"]), max_size=4)
order_keys = st.sampled_from(["name", "hyperparams.Args.p.value", "hyperparams.Args.n.value", "last_metrics.m.v.value",
                              "started", "tags",
                              "status", "type"])  # fmt: skip


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    req: dict[str, Any] = {}
    if draw(st.booleans()):
        req["tags"] = draw(list_value)
    if draw(st.integers(0, 3)) == 0:
        req["system_tags"] = draw(
            st.lists(st.sampled_from(["hidden", "-hidden", "x", "-x", "__$not", None]), max_size=3)
        )
    if draw(st.integers(0, 2)) == 0:
        req["status"] = draw(st.lists(st.sampled_from([*STATUSES, "-completed", "__$not", "__$all"]), max_size=3))
    if draw(st.integers(0, 3)) == 0:
        req["type"] = draw(st.sampled_from(TYPES))
    if draw(st.integers(0, 3)) == 0:
        req["hyperparams.Args.p.value"] = draw(st.lists(st.sampled_from([*HP_VALUES[:6], "-abc", "__$not", None]),
                                                        max_size=3))  # fmt: skip
    if draw(st.integers(0, 3)) == 0:
        req["name"] = draw(st.sampled_from(["file", "^task", "0$", "(?i)^f", "[0-9]{2}", "a+"]))
    if draw(st.integers(0, 4)) == 0:
        req["last_metrics.m.v.value"] = [draw(st.none() | st.sampled_from([-1, 0, 0.25])),
                                         draw(st.none() | st.sampled_from([0.25, 3, 10]))]  # fmt: skip
        if req["last_metrics.m.v.value"] == [None, None]:
            req["last_metrics.m.v.value"][1] = 3
    if draw(st.integers(0, 4)) == 0:
        lo = draw(st.none() | st.integers(0, 5))
        req["started"] = [None if lo is None else (BASE + timedelta(days=lo)).isoformat(),
                          (BASE + timedelta(days=draw(st.integers(0, 5)))).isoformat()]  # fmt: skip
    if draw(st.booleans()):
        keys = draw(st.lists(order_keys, max_size=2, unique=True))
        req["order_by"] = [("-" if draw(st.booleans()) else "") + k for k in keys]
    if draw(st.integers(0, 3)) == 0:
        req["search_hidden"] = True
    if draw(st.integers(0, 2)) == 0:
        req["page"], req["page_size"] = draw(st.integers(0, 3)), draw(st.integers(1, 4))
    return req


# -- the evaluator ---------------------------------------------------------------------------------------------
def list_match(value: Any, has: Any, empty: bool) -> bool:
    items = value if isinstance(value, list) else [value]
    first = next((i for i in items if i is not None), None)
    conj = first in ("__$all", "__$and", "__$not")
    inc: list[str] = []
    exc: list[str] = []
    all_: list[str] = []
    allow_empty = False
    cur: list[str] | None = None
    sticky = False
    for i in items:
        if i is None:
            allow_empty = True
        elif i.startswith("__$"):
            ops = {"__$not": (exc, False), "__$nop": (inc, False), "__$all": (all_, True), "__$and": (all_, True),
                   "__$any": (inc, True), "__$or": (inc, True)}  # fmt: skip
            if i in ops:
                cur, sticky = ops[i]
            else:
                cur = inc
        elif cur is not None:
            cur.append(i)
            if not sticky:
                cur = None
        elif i.startswith("-"):
            exc.append(i[1:])
        else:
            inc.append(i)
    conds = []
    if inc:
        conds.append(any(has(v) for v in inc))
    if exc:
        conds.append(not any(has(v) for v in exc))
    if all_:
        conds.append(all(has(v) for v in all_))
    if not conds:
        return empty if allow_empty else True
    result = all(conds) if conj else any(conds)
    return result or (allow_empty and empty)


def matches(t: Task, req: dict[str, Any]) -> bool:
    checks = {
        "tags": lambda v: list_match(v, lambda x: x in t.tags, not t.tags),
        "system_tags": lambda v: list_match(v, lambda x: x in t.system_tags, not t.system_tags),
        "status": lambda v: list_match(v, lambda x: x == t.status, False),
        "type": lambda v: list_match(v, lambda x: x == t.type, False),
        "hyperparams.Args.p.value": lambda v: list_match(v, lambda x: x == t.hp, t.hp is None),
        "name": lambda v: re.search(v, t.name) is not None,
        "last_metrics.m.v.value": lambda v: in_range(t.metric, v[0], v[1]),
        "started": lambda v: in_range(t.started, v[0] and datetime.fromisoformat(v[0]), datetime.fromisoformat(v[1])),
    }
    if not req.get("search_hidden") and "hidden" in t.system_tags:
        return False
    return all(check(req[key]) for key, check in checks.items() if key in req)


def in_range(value: Any, low: Any, high: Any) -> bool:
    if value is None:
        return low is None
    return (low is None or value >= low) and (high is None or value <= high)


def natural(text: str) -> tuple[Any, ...]:
    primary: list[tuple[int, int]] = []
    for run in re.findall(r"[0-9]+|[^0-9]+", text):
        if run[0].isdigit():
            primary.append((ord("0"), int(run)))
        else:
            primary.extend((ord(c.lower() if c.isascii() else c), 0) for c in run)
    swapped = "".join(c.swapcase() if c.isascii() else c for c in text)
    return (primary, swapped)


def value_key(value: Any, nat: bool) -> tuple[Any, ...] | None:
    """Missing/null lowest; numbers (and number-literal strings in natural mode); then strings."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value))
    if isinstance(value, datetime):
        return (1, value.timestamp())
    if nat and len(value) <= 100 and JSON_NUMBER.match(value):
        return (1, float(value))
    return (2, natural(value) if nat else value)


def sort_value(t: Task, key: str, desc: bool) -> Any:
    if key == "tags":
        return (max if desc else min)(t.tags) if t.tags else None
    return {"name": t.name, "hyperparams.Args.p.value": t.hp, "hyperparams.Args.n.value": t.num,
            "last_metrics.m.v.value": t.metric,
            "started": t.started, "status": t.status, "type": t.type}[key]  # fmt: skip


def is_empty(t: Task, key: str) -> bool:
    v = sort_value(t, key, False)
    return v is None or v == "" or v == []


def evaluate(tasks: list[Task], req: dict[str, Any]) -> list[str]:
    found = [t for t in tasks if matches(t, req)]
    keys = [(k.lstrip("-"), k.startswith("-")) for k in req.get("order_by", [])]
    nat = any(k.startswith(("hyperparams.", "last_metrics.")) for k in req if k != "order_by") or bool(
        keys and keys[0][0].startswith(("hyperparams.", "last_metrics.")))  # fmt: skip

    def cmp(a: Task, b: Task) -> int:
        if keys and not keys[0][1]:
            ea, eb = is_empty(a, keys[0][0]), is_empty(b, keys[0][0])
            if ea != eb:
                return 1 if ea else -1
        for key, desc in keys:
            ka = value_key(sort_value(a, key, desc), nat)
            kb = value_key(sort_value(b, key, desc), nat)
            if ka == kb:
                continue
            lower = -1 if ka is None or (kb is not None and ka < kb) else 1
            return -lower if desc else lower
        return a.seq - b.seq

    ordered = sorted(found, key=functools.cmp_to_key(cmp))
    size = min(req.get("page_size") or 500, 500)
    start = (req.get("page") or 0) * size
    return [t.id for t in ordered[start : start + size]]


# -- the property -----------------------------------------------------------------------------------------------
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(tasks=tasks_st, reqs=st.lists(requests(), min_size=1, max_size=4))
def test_get_all_equals_the_spec(store: TaskStore, tasks: list[Task], reqs: list[dict[str, Any]]) -> None:
    company = uuid.uuid4().hex[:12]
    for n, t in enumerate(tasks):
        body: dict[str, Any] = {"name": t.name, "type": t.type, "tags": t.tags, "system_tags": t.system_tags}
        pairs = (("p", t.hp), ("n", t.num))
        params = {k: {"section": "Args", "name": k, "value": v} for k, v in pairs if v is not None}
        if params:
            body["hyperparams"] = {"Args": params}
        t.id = store.call("tasks.create", body, company=company)["id"]
        t.seq = n
        store.call("tasks.edit", {"task": t.id, "status": t.status, "force": True}, company=company)
        fields: dict[str, Any] = {"started": t.started}
        if t.metric is not None:
            fields["last_metrics"] = {"m": {"v": {"value": t.metric}}}
        set_fields(store, t.id, **fields)
    for req in reqs:
        got = [x["id"] for x in store.call("tasks.get_all", {**req, "only_fields": ["id"]}, company=company)["tasks"]]
        assert got == evaluate(tasks, req), req
    # scrolling through the first request in small steps gives its whole unpaged result, in order
    req = {k: v for k, v in reqs[0].items() if k not in ("page", "page_size")}
    scrolled: list[str] = []
    scroll_id = ""
    while True:
        body = {**req, "only_fields": ["id"], "scroll_id": scroll_id, "size": 1 + len(scrolled) % 3}
        page = store.call("tasks.get_all_ex", body, company=company)
        scroll_id = page["scroll_id"]
        if not page["tasks"]:
            break
        scrolled += [x["id"] for x in page["tasks"]]
    assert scrolled == evaluate(tasks, req), req
