"""Reliability S1: one hypothesis state machine over all task endpoints, against a pure-Python model.

Rules call create, clone (with and without overrides), edit / update, the hyperparameter,
configuration and artifact endpoints, the status endpoints (single and ``*_many``), enqueue / dequeue /
queues.get_next_task, archive / unarchive, delete, make_public / make_private, with random tasks
(deleted ones too), values and ``force``. ``stateful_model.SpecModel`` (written from the specs, not
from taskstore) predicts the error code of every call and the resulting state. After every step the
test compares, for every live task, the get_by_id fields of ``TaskModel.view``, the entries of both
queues in order, the ids listed by get_all (with and without hidden tasks; a deleted task is
400/101 for get_by_id), and the step's error code (per id for ``*_many``).

Each example runs as its own company, so examples on one database do not see each other's tasks.
CI runs 15 examples x 20 steps per backend; ``pytest --soak`` runs 150 x 40.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from stateful_model import SIGNAL_TARGETS, STATUSES, Code, SpecModel
from support import api_error, create_task, dump

from taskstore import APIError, TaskStore

MAX_TASKS = 4
NAMES = ["train run", "  padded name  ", "evaluation", "ab"]  # "ab": too short (400/800)
COMMENTS = ["", "first note", "second note"]
TAGS = ["a", "b", "c", "d", "e", "__$bad"]  # "__$...": an unsupported prefix (400/16)
SYSTEM_TAGS = ["development", "archived", "hidden", "x", "__$sys"]
SECTIONS = ["Args", "General", "properties", "Properties"]
PARAM_NAMES = ["lr", "batch", "epochs"]
VALUES = ["1", "0.5", ""]
CONFIG_NAMES = ["net", "data", "env"]
ARTIFACT_KEYS = ["weights", "dataset", "log"]

tags = st.lists(st.sampled_from(TAGS), max_size=2)
system_tags = st.lists(st.sampled_from(SYSTEM_TAGS), max_size=2)
param_items = st.lists(
    st.fixed_dictionaries(
        {"section": st.sampled_from(SECTIONS), "name": st.sampled_from(PARAM_NAMES), "value": st.sampled_from(VALUES)},
        optional={"type": st.sampled_from(["float", "str"])},
    ),
    min_size=1,
    max_size=3,
)
param_keys = st.lists(
    st.fixed_dictionaries({"section": st.sampled_from(SECTIONS)}, optional={"name": st.sampled_from(PARAM_NAMES)}),
    min_size=1,
    max_size=2,
)
config_items = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(CONFIG_NAMES), "value": st.sampled_from(VALUES)},
        optional={"type": st.sampled_from(["yaml", "json"]), "description": st.just("about it")},
    ),
    min_size=1,
    max_size=2,
)
artifacts = st.lists(
    st.fixed_dictionaries(
        {"key": st.sampled_from(ARTIFACT_KEYS), "type": st.sampled_from(["custom", "pandas"])},
        optional={"mode": st.sampled_from(["input", "output"]), "uri": st.sampled_from(["s3://b/x", "file:///y"])},
    ),
    min_size=1,
    max_size=2,
)
artifact_keys = st.lists(
    st.fixed_dictionaries(
        {"key": st.sampled_from(ARTIFACT_KEYS)}, optional={"mode": st.sampled_from(["input", "output"])}
    ),
    min_size=1,
    max_size=2,
)
# fields of tasks.edit / tasks.update
edit_fields = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(NAMES),
        "comment": st.sampled_from(COMMENTS),
        "tags": tags,
        "system_tags": system_tags,
    },
)
CLONE_HYPERPARAMS = {"Args": {"lr": {"section": "Args", "name": "lr", "value": "9"}}}
CLONE_CONFIGURATION = {"net": {"name": "net", "value": "cloned"}}


def observed(doc: dict[str, Any]) -> dict[str, Any]:
    """The get_by_id fields compared with ``TaskModel.view``."""
    return {
        "company": doc["company"],
        "status": doc["status"],
        "name": doc["name"],
        "comment": doc.get("comment"),
        "tags": doc["tags"],
        "system_tags": doc["system_tags"],
        "hyperparams": doc["hyperparams"],
        "configuration": doc["configuration"],
        "execution.artifacts": doc["execution"]["artifacts"],
        "execution.queue": doc["execution"].get("queue"),
        "parent": doc.get("parent"),
    }


class TaskStoreMachine(RuleBasedStateMachine):
    store: TaskStore

    def __init__(self) -> None:
        super().__init__()
        self.company = f"s1-{uuid.uuid4().hex}"  # a fresh company per example
        self.queues = [self.call("queues.create", {"name": f"queue {i}"})["id"] for i in (1, 2)]
        self.model = SpecModel(self.queues)
        self.known: list[str] = []  # every task id created in this example, deleted ones too

    # -- plumbing --------------------------------------------------------------------------------------
    def call(self, endpoint: str, data: dict[str, Any]) -> Any:
        return self.store.call(endpoint, data, company=self.company, user="alice")

    def run(self, endpoint: str, data: dict[str, Any]) -> tuple[Code, Any]:
        try:
            return None, self.call(endpoint, data)
        except APIError as exc:
            return (exc.code, exc.subcode), None

    def check(self, expected: Code, got: Code, what: str) -> None:
        assert got == expected, f"{what}: expected {expected}, got {got}"

    def single(self, endpoint: str, data: dict[str, Any], model: Callable[[], Code]) -> Any:
        got, result = self.run(endpoint, data)
        self.check(model(), got, endpoint)
        return result

    def many(self, endpoint: str, ids: list[str], data: dict[str, Any], model: Callable[[str], Code]) -> None:
        """A ``*_many`` call: the ids that succeeded and the code of each failure, in order."""
        result = self.call(f"tasks.{endpoint}", {"ids": ids, **data})
        expected = [(tid, model(tid)) for tid in ids]
        assert [i["id"] for i in result["succeeded"]] == [t for t, c in expected if c is None], endpoint
        assert [(i["id"], tuple(i["error"]["codes"])) for i in result["failed"]] == [
            (t, c) for t, c in expected if c is not None
        ], endpoint

    def pick(self, data: st.DataObject, label: str = "task") -> str:
        """A live task mostly, a deleted one now and then (positions, not ids: ids are random)."""
        live = list(self.model.tasks)
        dead = [t for t in self.known if t not in self.model.tasks]
        if dead and (not live or data.draw(st.integers(0, 7), label=f"{label} deleted?") == 0):
            return dead[data.draw(st.integers(0, len(dead) - 1), label=f"{label} (deleted)")]
        return live[data.draw(st.integers(0, len(live) - 1), label=label)]

    def picks(self, data: st.DataObject) -> list[str]:
        """One or two ids for a batch (possibly the same twice)."""
        return [self.pick(data, f"id {i}") for i in range(data.draw(st.integers(1, 2), label="ids"))]

    def new_task(self, result: Any) -> str:
        tid = str(result["id"]) if result else "<not created>"
        if result:
            self.known.append(tid)
        return tid

    # -- creating --------------------------------------------------------------------------------------
    create_args = {
        "name": st.sampled_from(NAMES),
        "extra": st.fixed_dictionaries(
            {}, optional={"comment": st.sampled_from(COMMENTS), "tags": tags, "system_tags": system_tags}
        ),
        "with_parent": st.booleans(),
    }

    @initialize(data=st.data(), count=st.integers(1, 3))
    def start(self, data: st.DataObject, count: int) -> None:
        """A few tasks to begin with (through the create rule, so with its checks)."""
        for _ in range(count):
            self.create(data, data.draw(self.create_args["name"]), data.draw(self.create_args["extra"]), False)

    @rule(data=st.data(), **create_args)
    @precondition(lambda self: len(self.model.tasks) < MAX_TASKS)
    def create(self, data: st.DataObject, name: str, extra: dict[str, Any], with_parent: bool) -> None:
        fields = {"name": name, **extra}
        if with_parent and self.known:
            fields["parent"] = self.pick(data, "parent")
        got, result = self.run("tasks.create", {"type": "training", **fields})
        self.check(self.model.create(self.new_task(result), fields), got, "create")

    @rule(
        data=st.data(),
        over=st.fixed_dictionaries(
            {},
            optional={
                "new_task_name": st.sampled_from(["cloned run", "another clone"]),
                "new_task_comment": st.sampled_from(COMMENTS),
                "new_task_tags": tags,
                "new_task_system_tags": system_tags,
                "new_task_hyperparams": st.sampled_from([{}, CLONE_HYPERPARAMS]),
                "new_task_configuration": st.sampled_from([{}, CLONE_CONFIGURATION]),
            },
        ),
        with_parent=st.booleans(),
    )
    @precondition(lambda self: self.known and len(self.model.tasks) < MAX_TASKS)
    def clone(self, data: st.DataObject, over: dict[str, Any], with_parent: bool) -> None:
        src = self.pick(data, "source")
        if with_parent:
            over = {**over, "new_task_parent": self.pick(data, "new parent")}
        got, result = self.run("tasks.clone", {"task": src, **over})
        self.check(self.model.clone(src, self.new_task(result), over), got, "clone")

    # -- editing ---------------------------------------------------------------------------------------
    @rule(data=st.data(), fields=edit_fields, force=st.booleans(), with_parent=st.booleans())
    @precondition(lambda self: self.known)
    def edit(self, data: st.DataObject, fields: dict[str, Any], force: bool, with_parent: bool) -> None:
        tid = self.pick(data)
        if with_parent:
            fields = {**fields, "parent": self.pick(data, "parent")}
        req = {"task": tid, "force": force, **fields}
        self.single("tasks.edit", req, lambda: self.model.edit(tid, fields, force))

    @rule(data=st.data(), fields=edit_fields)
    @precondition(lambda self: self.known)
    def update(self, data: st.DataObject, fields: dict[str, Any]) -> None:
        tid = self.pick(data)
        self.single("tasks.update", {"task": tid, **fields}, lambda: self.model.update(tid, fields))

    @rule(data=st.data(), status=st.sampled_from(STATUSES))
    @precondition(lambda self: self.known)
    def edit_status(self, data: st.DataObject, status: str) -> None:
        tid = self.pick(data)
        req = {"task": tid, "status": status, "force": True}
        self.single("tasks.edit", req, lambda: self.model.edit_status(tid, status))

    @rule(
        data=st.data(),
        items=param_items,
        replace=st.sampled_from(["none", "section", "all"]),
        force=st.booleans(),
    )
    @precondition(lambda self: self.known)
    def edit_hyper_params(self, data: st.DataObject, items: list[dict[str, Any]], replace: str, force: bool) -> None:
        tid = self.pick(data)
        req = {"task": tid, "hyperparams": items, "replace_hyperparams": replace, "force": force}
        self.single("tasks.edit_hyper_params", req, lambda: self.model.edit_hyper_params(tid, items, replace, force))

    @rule(data=st.data(), items=param_keys, force=st.booleans())
    @precondition(lambda self: self.known)
    def delete_hyper_params(self, data: st.DataObject, items: list[dict[str, Any]], force: bool) -> None:
        tid = self.pick(data)
        req = {"task": tid, "hyperparams": items, "force": force}
        self.single("tasks.delete_hyper_params", req, lambda: self.model.delete_hyper_params(tid, items, force))

    @rule(data=st.data(), items=config_items, replace=st.booleans(), force=st.booleans())
    @precondition(lambda self: self.known)
    def edit_configuration(self, data: st.DataObject, items: list[dict[str, Any]], replace: bool, force: bool) -> None:
        tid = self.pick(data)
        req = {"task": tid, "configuration": items, "replace_configuration": replace, "force": force}
        self.single("tasks.edit_configuration", req, lambda: self.model.edit_configuration(tid, items, replace, force))

    @rule(data=st.data(), names=st.lists(st.sampled_from(CONFIG_NAMES), min_size=1, max_size=2), force=st.booleans())
    @precondition(lambda self: self.known)
    def delete_configuration(self, data: st.DataObject, names: list[str], force: bool) -> None:
        tid = self.pick(data)
        req = {"task": tid, "configuration": names, "force": force}
        self.single("tasks.delete_configuration", req, lambda: self.model.delete_configuration(tid, names, force))

    @rule(data=st.data(), items=artifacts, force=st.booleans())
    @precondition(lambda self: self.known)
    def add_or_update_artifacts(self, data: st.DataObject, items: list[dict[str, Any]], force: bool) -> None:
        tid = self.pick(data)
        req = {"task": tid, "artifacts": items, "force": force}  # force is ignored by the endpoint
        self.single("tasks.add_or_update_artifacts", req, lambda: self.model.add_or_update_artifacts(tid, items))

    @rule(data=st.data(), keys=artifact_keys)
    @precondition(lambda self: self.known)
    def delete_artifacts(self, data: st.DataObject, keys: list[dict[str, Any]]) -> None:
        tid = self.pick(data)
        req = {"task": tid, "artifacts": keys}
        self.single("tasks.delete_artifacts", req, lambda: self.model.delete_artifacts(tid, keys))

    # -- status ----------------------------------------------------------------------------------------
    @rule(data=st.data(), force=st.booleans())
    @precondition(lambda self: self.known)
    def started(self, data: st.DataObject, force: bool) -> None:
        """Its own rule (the other signals share one): most rules want in_progress tasks."""
        tid = self.pick(data)
        self.single("tasks.started", {"task": tid, "force": force}, lambda: self.model.signal(tid, "started", force))

    @rule(data=st.data(), op=st.sampled_from(sorted(set(SIGNAL_TARGETS) - {"started"})), force=st.booleans(),
          publish=st.booleans())  # fmt: skip
    @precondition(lambda self: self.known)
    def signal(self, data: st.DataObject, op: str, force: bool, publish: bool) -> None:
        tid = self.pick(data)
        publish = publish and op == "completed"
        req = {"task": tid, "force": force, **({"publish": True} if publish else {})}
        self.single(f"tasks.{op}", req, lambda: self.model.signal(tid, op, force, publish))

    @rule(data=st.data(), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.known)
    def stop(self, data: st.DataObject, force: bool, batch: bool) -> None:
        if batch:
            self.many("stop_many", self.picks(data), {"force": force}, lambda t: self.model.stop(t, force))
        else:
            tid = self.pick(data)
            self.single("tasks.stop", {"task": tid, "force": force}, lambda: self.model.stop(tid, force))

    @rule(data=st.data(), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.known)
    def publish(self, data: st.DataObject, force: bool, batch: bool) -> None:
        if batch:
            self.many("publish_many", self.picks(data), {"force": force}, lambda t: self.model.publish(t, force))
        else:
            tid = self.pick(data)
            self.single("tasks.publish", {"task": tid, "force": force}, lambda: self.model.publish(tid, force))

    @rule(data=st.data(), force=st.booleans(), clear_all=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.known)
    def reset(self, data: st.DataObject, force: bool, clear_all: bool, batch: bool) -> None:
        opts = {"force": force, "clear_all": clear_all}
        if batch:
            self.many("reset_many", self.picks(data), opts, lambda t: self.model.reset(t, force, clear_all))
        else:
            tid = self.pick(data)
            self.single("tasks.reset", {"task": tid, **opts}, lambda: self.model.reset(tid, force, clear_all))

    # -- queues ----------------------------------------------------------------------------------------
    @rule(data=st.data(), queue=st.sampled_from([0, 1]), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.known)
    def enqueue(self, data: st.DataObject, queue: int, force: bool, batch: bool) -> None:
        q = self.queues[queue]
        if batch:  # enqueue_many has no force
            self.many("enqueue_many", self.picks(data), {"queue": q}, lambda t: self.model.enqueue(t, q))
        else:
            tid = self.pick(data)
            req = {"task": tid, "queue": q, "force": force}
            self.single("tasks.enqueue", req, lambda: self.model.enqueue(tid, q, force))

    @rule(data=st.data(), batch=st.booleans())
    @precondition(lambda self: self.known)
    def dequeue(self, data: st.DataObject, batch: bool) -> None:
        if batch:
            self.many("dequeue_many", self.picks(data), {}, self.model.dequeue)
        else:
            tid = self.pick(data)
            self.single("tasks.dequeue", {"task": tid}, lambda: self.model.dequeue(tid))

    @rule(queue=st.sampled_from([0, 1]))
    def get_next_task(self, queue: int) -> None:
        q = self.queues[queue]
        entry = self.call("queues.get_next_task", {"queue": q}).get("entry")
        assert (entry["task"] if entry else None) == self.model.get_next_task(q)

    # -- archive, delete, visibility -------------------------------------------------------------------
    @rule(data=st.data(), batch=st.booleans())
    @precondition(lambda self: self.known)
    def archive(self, data: st.DataObject, batch: bool) -> None:
        ids = self.picks(data)
        if batch:
            self.many("archive_many", ids, {}, self.model.archive_one)
        else:
            self.single("tasks.archive", {"tasks": ids}, lambda: self.model.archive(ids))

    @rule(data=st.data())
    @precondition(lambda self: self.known)
    def unarchive(self, data: st.DataObject) -> None:
        self.many("unarchive_many", self.picks(data), {}, self.model.unarchive_one)

    @rule(data=st.data(), force=st.booleans(), batch=st.booleans())
    @precondition(lambda self: self.known)
    def delete(self, data: st.DataObject, force: bool, batch: bool) -> None:
        if batch:
            self.many("delete_many", self.picks(data), {"force": force}, lambda t: self.model.delete(t, force))
        else:
            tid = self.pick(data)
            self.single("tasks.delete", {"task": tid, "force": force}, lambda: self.model.delete(tid, force))

    @rule(data=st.data(), public=st.booleans())
    @precondition(lambda self: self.known)
    def make_public_or_private(self, data: st.DataObject, public: bool) -> None:
        ids = self.picks(data)
        if public:
            self.single("tasks.make_public", {"ids": ids}, lambda: self.model.make_public(ids))
        else:
            self.single("tasks.make_private", {"ids": ids}, lambda: self.model.make_private(ids))

    # -- after every step ------------------------------------------------------------------------------
    def listed(self, search_hidden: bool) -> list[str]:
        tasks = self.call("tasks.get_all", {"only_fields": ["id", "company"], "search_hidden": search_hidden})["tasks"]
        # Public tasks of earlier examples (other companies) are visible too; they are not this example's.
        return [t["id"] for t in tasks if t["id"] in self.known or t["company"] != ""]

    @invariant()
    def store_matches_model(self) -> None:
        for tid, task in self.model.tasks.items():
            doc = self.call("tasks.get_by_id", {"task": tid})["task"]
            assert observed(doc) == task.view(self.company), tid
        dead = [t for t in self.known if t not in self.model.tasks]
        if dead:  # the last one deleted is gone for get_by_id too
            self.check((400, 101), self.run("tasks.get_by_id", {"task": dead[-1]})[0], "get_by_id of a deleted task")
        assert self.listed(search_hidden=True) == self.model.listed(search_hidden=True)
        assert self.listed(search_hidden=False) == self.model.listed(search_hidden=False)
        for q in self.queues:
            entries = [e["task"] for e in self.call("queues.get_by_id", {"queue": q})["queue"]["entries"]]
            assert entries == self.model.entries[q], q


def test_stateful_tasks(store: TaskStore, soak: bool) -> None:
    examples, steps = (150, 40) if soak else (15, 20)

    class Machine(TaskStoreMachine):
        pass

    Machine.store = store
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.parametrize("endpoint", ["tasks.update", "tasks.edit"])
def test_tag_prefix_is_checked_before_the_name(store: TaskStore, endpoint: str) -> None:
    """Found by the machine: tasks.update answered 400/800 (short name) where tasks.edit and create
    answer 400/16 (the tag check of field processing comes before the document's validation,
    query_edit §2.2 steps 4 and 13); nothing is written."""
    tid = create_task(store, "original")
    before = dump(store)
    with api_error(400, 16):
        store.call(endpoint, {"task": tid, "name": "ab", "tags": [], "system_tags": ["__$sys"]})
    with api_error(400, 800):
        store.call(endpoint, {"task": tid, "name": "ab", "system_tags": ["__$sys"]})  # tags not sent: not checked
    assert dump(store) == before
