"""events.add / events.add_batch: stored events, last_metrics, last_iteration, metric_stats
(spec: query_edit §4), and what reset/delete read back from them (lifecycle §5)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from params_support import age, stamps, task_in
from sqlalchemy import func, select
from support import api_error, create_task, dump, get_task

from taskstore import TaskStore
from taskstore.db.records import EventRecord


def h(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()


def scalar(task: str, metric: str = "loss", variant: str = "total", value: Any = 1.0, it: int | None = None,
           ts: int | None = None, **kw: Any) -> dict[str, Any]:  # fmt: skip
    event: dict[str, Any] = {"task": task, "type": "training_stats_scalar", "metric": metric, "variant": variant,
                             "value": value, **kw}  # fmt: skip
    if it is not None:
        event["iter"] = it
    if ts is not None:
        event["timestamp"] = ts
    return event


def batch(store: Any, events: Any, **kw: Any) -> dict[str, Any]:
    return dict(store.call("events.add_batch", events, **kw))


def metric(store: Any, task: str, name: str = "loss", variant: str = "total") -> dict[str, Any]:
    return dict(get_task(store, task)["last_metrics"][h(name)][h(variant)])


def events_of(store: TaskStore, task: str) -> list[tuple[Any, ...]]:
    with store._db.transaction(write=False) as conn:
        rows = conn.execute(
            select(EventRecord.type, EventRecord.metric, EventRecord.variant, EventRecord.iter, EventRecord.value,
                   EventRecord.url, EventRecord.data).where(EventRecord.task == task).order_by(EventRecord.seq)
        )  # fmt: skip
        return [tuple(r) for r in rows]


# -- events.add ------------------------------------------------------------------------------------------------


def test_add_one_scalar(store: TaskStore) -> None:
    tid = create_task(store)
    age(store, tid)
    assert store.call("events.add", scalar(tid, value=0.5, it=3)) == {"added": 1, "errors": 0, "errors_info": {}}
    doc = get_task(store, tid)
    assert doc["last_metrics"] == {
        h("loss"): {h("total"): {"metric": "loss", "variant": "total", "value": 0.5, "min_value": 0.5,
                                 "max_value": 0.5}}
    }  # fmt: skip
    assert doc["last_iteration"] == 3
    assert stamps(store, tid) == (True, True)
    assert events_of(store, tid) == [("training_stats_scalar", "loss", "total", 3, 0.5, None, {})]


def test_metric_stats_per_metric_and_type(store: TaskStore) -> None:
    tid = create_task(store)
    batch(store, [scalar(tid, ts=5), scalar(tid, ts=9), scalar(tid, ts=7),
                  {"task": tid, "type": "log", "msg": "x", "timestamp": 3}])  # fmt: skip
    batch(store, [{"task": tid, "type": "plot", "metric": "loss", "plot_str": "{}", "timestamp": 11},
                  {"task": tid, "type": "plot", "metric": "other", "plot_str": "{}", "timestamp": 12}])  # fmt: skip
    assert get_task(store, tid)["metric_stats"] == {
        h("loss"): {"metric": "loss", "event_stats_by_type": {"training_stats_scalar": {"last_update": 9},
                                                               "plot": {"last_update": 11}}},
        h("other"): {"metric": "other", "event_stats_by_type": {"plot": {"last_update": 12}}},
    }  # fmt: skip


# -- the fold ----------------------------------------------------------------------------------------------------


def test_newest_event_by_iteration_then_timestamp_supplies_the_value(store: TaskStore) -> None:
    tid = create_task(store)
    batch(store, [scalar(tid, value=5, it=2, ts=1), scalar(tid, value=1, it=1, ts=9), scalar(tid, value=3, it=2, ts=1)])
    # (2, 1) ties with (2, 1): the later event wins; the it=1 event is older and does not count for min/max
    assert metric(store, tid) == {"metric": "loss", "variant": "total", "value": 3, "min_value": 3, "max_value": 5}
    assert get_task(store, tid)["last_iteration"] == 2


def test_a_later_batch_overwrites_value_whatever_its_iteration_and_widens_min_max(store: TaskStore) -> None:
    tid = create_task(store)
    batch(store, [scalar(tid, value=2.5, it=10)])
    batch(store, [scalar(tid, value=7, it=1), scalar(tid, value=-1.5, it=0)])
    assert metric(store, tid) == {"metric": "loss", "variant": "total", "value": 7, "min_value": 2.5, "max_value": 7}
    assert get_task(store, tid)["last_iteration"] == 10
    batch(store, [scalar(tid, value=-3, it=11)])
    assert metric(store, tid) == {"metric": "loss", "variant": "total", "value": -3, "min_value": -3, "max_value": 7}
    assert get_task(store, tid)["last_iteration"] == 11


def test_missing_iteration_counts_as_zero_for_newest_and_leaves_last_iteration(store: TaskStore) -> None:
    tid = create_task(store)
    batch(store, [scalar(tid, value=1, it=1, ts=1), scalar(tid, value=2, ts=99)])
    assert metric(store, tid)["value"] == 1
    assert get_task(store, tid)["last_iteration"] == 1


def test_what_does_not_affect_last_metrics(store: TaskStore) -> None:
    tid = create_task(store)
    result = batch(store, [scalar(tid, variant=""), scalar(tid, metric=""), scalar(tid, value=None),
                           {"task": tid, "type": "training_stats_vector", "metric": "m", "variant": "v",
                            "values": [1, 2], "iter": 4}])  # fmt: skip
    assert result == {"added": 4, "errors": 0, "errors_info": {}}
    doc = get_task(store, tid)
    assert (doc["last_metrics"], doc["last_iteration"]) == ({}, 4)
    assert events_of(store, tid)[-1] == ("training_stats_vector", "m", "v", 4, None, None, {"value": [1, 2]})


def test_monitoring_metrics_do_not_advance_last_iteration(store: TaskStore) -> None:
    tid = create_task(store)
    batch(store, [scalar(tid, metric=":monitor:machine", it=100), scalar(tid, metric=":monitor:gpu", it=100),
                  {"task": tid, "type": "log", "msg": "m", "iter": 5}])  # fmt: skip
    doc = get_task(store, tid)
    assert doc["last_iteration"] == 5
    assert doc["last_metrics"][h(":monitor:machine")][h("total")]["value"] == 1.0


def test_events_on_a_running_task_set_active_duration(store: TaskStore) -> None:
    tid = create_task(store)
    store.call("tasks.started", {"task": tid})
    batch(store, [scalar(tid)])
    assert get_task(store, tid)["active_duration"] == 0


def test_iterations_and_values_use_64_bits(store: TaskStore) -> None:
    tid = create_task(store)
    big = 2**62
    batch(store, [scalar(tid, value=2**53 + 1, it=big)])
    assert get_task(store, tid)["last_iteration"] == big
    assert metric(store, tid)["value"] == 2**53 + 1
    assert events_of(store, tid)[0][3] == big


# -- what is refused ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["publishing", "published"])
def test_events_of_locked_tasks_are_invalid_task_id_unless_allow_locked(store: TaskStore, status: str) -> None:
    locked, fine = task_in(store, status), task_in(store, "completed")
    result = batch(store, [scalar(locked, it=5), scalar(fine, it=2), scalar(locked, allow_locked=True)])
    assert result == {"added": 1, "errors": 2, "errors_info": {"Invalid task id": 2}}
    assert get_task(store, fine)["last_iteration"] == 2
    before = dump(store)
    with api_error(400, 131) as info:
        store.call("events.add", scalar(locked, it=5))
    assert info.value.data == {"Invalid task id": 1}
    assert info.value.message == "events not added: Invalid task id=1"
    assert dump(store) == before
    assert store.call("events.add", {**scalar(locked, it=5), "allow_locked": True})["added"] == 1
    assert get_task(store, locked)["last_iteration"] == 5


def test_events_of_missing_foreign_and_public_tasks_are_invalid(store: TaskStore, other: TaskStore) -> None:
    theirs = create_task(other)
    public = store.call("tasks.create", {"name": "public one", "type": "training"}, company="")["id"]
    mine = create_task(store)
    result = batch(store, [scalar(t) for t in ("f" * 32, theirs, public, mine)])
    assert result == {"added": 1, "errors": 3, "errors_info": {"Invalid task id": 3}}
    assert get_task(other, theirs)["last_metrics"] == {}


def test_malformed_events_are_counted_by_reason(store: TaskStore) -> None:
    tid = create_task(store)
    events = [
        {"task": tid, "metric": "m"},
        {"task": tid, "type": "bogus"},
        {"task": tid, "type": "training stats scalar", "metric": "spaces", "variant": "v", "value": 1},
        {"type": "log"},
        {"task": 5, "type": "log"},
        scalar(tid, value="high"),
        scalar(tid, it="x"),
        scalar(tid, it=1e20),
        scalar(tid, metric=5),
        scalar(tid, ts="yesterday"),
        {"task": tid, "type": "training_debug_image", "url": 5},
        scalar(tid, value=True),
    ]
    result = batch(store, events)
    assert result == {
        "added": 1,
        "errors": 11,
        "errors_info": {
            "Event must have a 'type' field": 1,
            "Invalid event type bogus": 1,
            "Event must have a 'task' field": 1,
            "Invalid task id": 1,
            "Scalar event value must be a number": 2,
            "Iteration must be an integer": 1,
            f"Iteration number should not exceed {2**63 - 1}": 1,
            "Event metric and variant must be strings": 1,
            "Event timestamp must be a number (epoch milliseconds)": 1,
            "Event url must be a string": 1,
        },
    }
    assert metric(store, tid, "spaces", "v")["value"] == 1


def test_empty_batch_is_400_17(store: TaskStore) -> None:
    for body in ([], "", "\n\n", None):
        with api_error(400, 17):
            batch(store, body)


def test_a_batch_item_outside_the_value_policy_refuses_the_whole_call(store: TaskStore) -> None:
    tid = create_task(store)
    before = dump(store)
    for bad, field in ((float("nan"), "value"), (float("inf"), "value"), ("a\x00b", "value")):
        with api_error(400, 12, field) as info:
            batch(store, [scalar(tid), scalar(tid, value=bad)])
        assert info.value.data["item"] == 1
    with api_error(400, 12, "iter"):
        batch(store, [scalar(tid, it=2**63)])
    with api_error(400, 12, "value"):
        store.call("events.add", scalar(tid, value=float("-inf")))
    assert dump(store) == before


def test_json_lines_body_and_iteration_conversion(store: TaskStore) -> None:
    tid = create_task(store)
    text = "\n".join(json.dumps(e) for e in (scalar(tid, value=1, it=3), scalar(tid, value=2, it="4", ts=1),
                                             scalar(tid, value=3, ts=5, it=4.0)))  # fmt: skip
    assert batch(store, text) == {"added": 3, "errors": 0, "errors_info": {}}
    assert metric(store, tid)["value"] == 3
    assert get_task(store, tid)["last_iteration"] == 4


def test_ts_is_the_old_name_of_timestamp(store: TaskStore) -> None:
    tid = create_task(store)
    batch(store, [{"task": tid, "type": "log", "metric": "m", "ts": 42}])
    assert get_task(store, tid)["metric_stats"][h("m")]["event_stats_by_type"] == {"log": {"last_update": 42}}


# -- with reset / delete / delete_for_task -----------------------------------------------------------------------


def test_image_and_plot_urls_come_back_from_reset_and_delete(store: TaskStore) -> None:
    plot = {"data": [{"source": "s3://b/plot.png"}], "layout": {"images": [{"source": "https://x/y.jpg"}]}}
    tid = create_task(store)
    store.call("tasks.started", {"task": tid})
    batch(store, [
        {"task": tid, "type": "training_debug_image", "metric": "img", "variant": "v", "iter": 1,
         "url": "s3://b/a.png", "key": "k"},
        {"task": tid, "type": "training_debug_image", "url": "s3://b/a.png", "iter": 2},
        {"task": tid, "type": "plot", "metric": "p", "plot_str": json.dumps(plot)},
        scalar(tid, it=9),
    ])  # fmt: skip
    assert get_task(store, tid)["last_iteration"] == 9
    res = store.call("tasks.reset", {"task": tid, "force": True, "return_file_urls": True})
    assert res["urls"]["event_urls"] == ["https://x/y.jpg", "s3://b/a.png", "s3://b/plot.png"]
    doc = get_task(store, tid)
    assert (doc["last_iteration"], doc["last_metrics"], doc["metric_stats"]) == (0, {}, {})
    assert events_of(store, tid) == []
    batch(store, [{"task": tid, "type": "training_debug_image", "url": "s3://c.png"}])
    res = store.call("tasks.delete", {"task": tid, "force": True, "return_file_urls": True})
    assert res["urls"]["event_urls"] == ["s3://c.png"]


def test_delete_for_task_keeps_last_metrics(store: TaskStore) -> None:
    tid = create_task(store)
    batch(store, [scalar(tid, it=1), {"task": tid, "type": "log", "msg": "hello"}])
    assert store.call("events.delete_for_task", {"task": tid}) == {"deleted": 2}
    assert metric(store, tid)["value"] == 1.0
    with store._db.transaction(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(EventRecord)).scalar_one() == 0


# -- get_all over last_metrics / last_iteration ------------------------------------------------------------------


def test_get_all_filters_and_orders_by_last_metrics_and_last_iteration(store: TaskStore) -> None:
    a, b, c, none = (create_task(store, f"task {n}") for n in "abcd")
    batch(store, [scalar(a, value=0.5, it=10), scalar(b, value=2.0, it=20), scalar(c, value=-1, it=5)])
    path = f"last_metrics.{h('loss')}.{h('total')}"

    def ids(**req: Any) -> list[str]:
        return [t["id"] for t in store.call("tasks.get_all", {"only_fields": ["id"], **req})["tasks"]]

    assert ids(order_by=[f"-{path}.value"]) == [b, a, c, none]
    assert ids(order_by=[f"{path}.value"]) == [c, a, b, none]
    assert set(ids(**{f"{path}.value": [0, "1e3"]})) == {a, b}
    # a null min also matches tasks without the metric (§1.5)
    assert set(ids(**{f"{path}.max_value": [None, 0.5]})) == {a, c, none}
    assert set(ids(last_iteration=[6, None])) == {a, b}
    assert ids(order_by=["-last_iteration"]) == [b, a, c, none]
    assert ids(order_by=["last_iteration"]) == [none, c, a, b]


def test_a_strict_store_accepts_every_event_field(make_store: Any) -> None:
    strict = make_store(company="acme", user="alice", strict=True)
    tid = create_task(strict)
    events = [
        {**scalar(tid, it=1, ts=5), "allow_locked": False},
        {"task": tid, "type": "plot", "metric": "p", "variant": "v", "plot_str": "{}", "skip_validation": True},
        {"task": tid, "type": "log", "msg": "x", "level": "info", "worker": "w", "ts": 1},
        {"task": tid, "type": "training_debug_image", "key": "k", "url": "s3://i", "iter": 2},
        {"task": tid, "type": "training_stats_vector", "metric": "m", "variant": "v", "values": [1, 2]},
    ]
    assert strict.call("events.add_batch", events)["added"] == 5
    with api_error(400, 12, "bogus"):
        strict.call("events.add", {**scalar(tid), "bogus": 1})
