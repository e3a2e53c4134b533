"""Seeding, the isolation dump and the generic checks of the I1 matrix (test_isolation_matrix.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from support import create_task, set_status

from taskstore import APIError, TaskStore
from taskstore.db.migrate import version_table
from taskstore.db.records import Base, TaskRecord

A, B = "acme", "globex"
PUBLIC = ""
TASK, QUEUE, PROJECT, MODEL = "task", "queue", "project", "model"

# -- seeding ------------------------------------------------------------------------------------------------

FAST_STATUSES = ("created", "queued", "in_progress", "completed", "published")
ALL_STATUSES = ("created", "queued", "in_progress", "stopped", "failed", "closed", "completed", "publishing",
                "published", "unknown")  # fmt: skip
# A type no public or B task has: get_types must never report it to B.
SECRET_TYPE = "qc"


@dataclass
class Seed:
    private: dict[str, str] = field(default_factory=dict)  # label -> A's private task id
    public: dict[str, str] = field(default_factory=dict)  # label -> public task id
    hidden_public: set[str] = field(default_factory=set)
    a_projects: dict[str, str] = field(default_factory=dict)
    public_projects: dict[str, str] = field(default_factory=dict)
    a_queues: dict[str, str] = field(default_factory=dict)  # label -> queue id
    a_queue_names: dict[str, str] = field(default_factory=dict)
    a_models: dict[str, str] = field(default_factory=dict)
    public_models: dict[str, str] = field(default_factory=dict)
    a_scroll: str = ""
    # public tasks in A's private project "research" (get_types / project filters see them)
    public_in_research: set[str] = field(default_factory=set)

    @property
    def task_ids(self) -> set[str]:
        return set(self.private.values()) | set(self.public.values())

    @property
    def all_ids(self) -> set[str]:
        groups = (self.a_projects, self.public_projects, self.a_queues, self.a_models, self.public_models)
        return self.task_ids.union(*(g.values() for g in groups))


def _docs(label: str, seed: Seed, *, secret: bool) -> dict[str, Any]:
    """Every task document part, so that a write anywhere in a task shows in the dump."""
    word = "secret" if secret else "shared"
    return {
        "name": f"acme {word} {label}",
        "type": SECRET_TYPE if secret else "training",
        "comment": f"acme {word} comment",
        "tags": ["acme-tag"],
        "project": seed.a_projects["research"],
        "hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.25"},
                                 "opt": {"section": "Args", "name": "opt", "value": "adam"}}},
        "configuration": {"cfg": {"name": "cfg", "value": "acme-config"}},
        "execution": {"artifacts": [{"key": "weights", "type": "model", "uri": f"s3://acme/{label}", "mode": "output"},
                                    {"key": "data", "type": "csv", "uri": "s3://acme/in", "mode": "input"}]},
        "models": {"input": [{"name": "in", "model": seed.a_models["ready"]}],
                   "output": [{"name": "out", "model": seed.a_models["draft"]}]},
        "script": {"repository": "https://acme.example/repo", "entry_point": "train.py", "requirements": {"pip": "x"}},
        "runtime": {"gpu": 1},
    }  # fmt: skip


def sample_events(task_id: str) -> list[dict[str, Any]]:
    return [
        {"task": task_id, "type": "training_stats_scalar", "metric": "loss", "variant": "v", "iter": 3, "value": 0.5},
        {"task": task_id, "type": "training_debug_image", "metric": "img", "variant": "v", "iter": 3,
         "url": "s3://acme/img.png"},
        {"task": task_id, "type": "plot", "metric": "p", "variant": "v", "iter": 3,
         "plot_str": '{"data": [{"source": "s3://acme/plot.png"}]}'},
        {"task": task_id, "type": "log", "msg": "hello"},
    ]  # fmt: skip


def _task_in(a: TaskStore, status: str, label: str, seed: Seed, *, secret: bool, hidden: bool = False) -> str:
    fields = _docs(label, seed, secret=secret)
    if hidden:
        fields["system_tags"] = ["hidden"]
        if secret:
            fields["project"] = seed.a_projects["deep"]
    tid = create_task(a, **fields)
    if status in ("in_progress", "stopped", "failed", "completed", "published", "closed"):
        a.call("events.add_batch", sample_events(tid))
    if status == "queued":
        a.call("tasks.enqueue", {"task": tid, "queue": seed.a_queues["gpu"]})
    elif status != "created":
        set_status(a, tid, status)
    return tid


def seed_rows(a: TaskStore, soak: bool) -> Seed:
    seed = Seed()
    project = lambda name, **kw: a.call("projects.create", {"name": name, **kw})["id"]  # noqa: E731
    seed.a_projects["research"] = project("acme research")
    seed.a_projects["deep"] = project("acme research/deep")
    seed.a_projects["hidden"] = project("acme hidden", system_tags=["hidden"])
    for key, extra in (("shared", {}), ("shared hidden", {"system_tags": ["hidden"]})):
        seed.public_projects[key] = a.call("projects.create", {"name": f"public {key}", **extra}, company=PUBLIC)["id"]
    for key in ("gpu", "cpu"):
        seed.a_queue_names[key] = f"acme {key}"
        seed.a_queues[key] = a.call("queues.create", {"name": seed.a_queue_names[key]})["id"]
    seed.a_queues["default"] = a.call("queues.get_default", {})["id"]
    model = lambda name, **kw: a.call("models.create", {"name": name, "uri": f"s3://acme/{name}", **kw})["id"]  # noqa: E731
    seed.a_models["ready"] = model("acme ready")
    seed.a_models["draft"] = model("acme draft", ready=False)
    seed.public_models["ready"] = model("public ready", public=True)
    seed.public_models["draft"] = model("public draft", ready=False, public=True)
    seed.public_models["in shared"] = a.call(
        "models.create", {"name": "public model", "uri": "s3://p", "project": seed.public_projects["shared"]},
        company=PUBLIC)["id"]  # fmt: skip

    copies = 3 if soak else 1
    statuses = ALL_STATUSES if soak else FAST_STATUSES
    for n in range(copies):
        for status in statuses:
            seed.private[f"{status}#{n}"] = _task_in(a, status, f"{status}#{n}", seed, secret=True)
            seed.public[f"{status}#{n}"] = _task_in(a, status, f"pub {status}#{n}", seed, secret=False)
        seed.private[f"hidden#{n}"] = _task_in(a, "created", f"hidden#{n}", seed, secret=True, hidden=True)
        seed.public[f"hidden#{n}"] = _task_in(a, "created", f"pub hidden#{n}", seed, secret=False, hidden=True)
        seed.hidden_public.add(seed.public[f"hidden#{n}"])
        archived = seed.private[f"archived#{n}"] = _task_in(a, "created", f"archived#{n}", seed, secret=True)
        a.call("tasks.archive", {"tasks": [archived]})
    a.call("tasks.make_public", {"ids": list(seed.public.values())})
    seed.public_in_research = set(seed.public.values())
    # a task written by company "" itself (no company_origin: nobody can make it private)
    direct = {"name": "public direct", "type": "testing", "project": seed.public_projects["shared"]}
    seed.public["direct"] = a.call("tasks.create", direct, company=PUBLIC)["id"]
    seed.a_scroll = a.call("tasks.get_all", {"scroll_id": "", "size": 2, "only_fields": ["id"]})["scroll_id"]
    return seed


# -- the dump: A's rows and the seeded public rows, every table ---------------------------------------------


Dump = dict[str, dict[str, dict[str, str]]]  # table -> primary key -> column -> repr(value)


def _rows(rows: Iterable[Any], key: Iterable[str]) -> dict[str, dict[str, str]]:
    key = list(key)
    return {repr(tuple(r[k] for k in key)): {c: repr(v) for c, v in r.items()} for r in rows}


def isolation_dump(a: TaskStore, seed: Seed) -> Dump:
    """Rows of company A (now) and of every id seeded (A's and public): every column's ``repr``."""
    out: Dump = {}
    with a._db.transaction(write=False) as conn:
        acme_tasks = set(conn.execute(text("SELECT id FROM tasks WHERE company = :c"), {"c": A}).scalars())
        acme_queues = set(conn.execute(text("SELECT id FROM queues WHERE company = :c"), {"c": A}).scalars())
        keys = seed.all_ids | acme_tasks
        queues = set(seed.a_queues.values()) | acme_queues
        for table in [*Base.metadata.sorted_tables, version_table]:
            cols = table.columns
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            if "company" in cols and "id" in cols:  # tasks, projects, queues, models, task_scrolls
                kept = [r for r in rows if r["company"] == A or r["id"] in keys]
            elif table.name == "events":
                kept = [r for r in rows if r["company"] in (A, PUBLIC) or r["task"] in keys]
            elif table.name == "task_tags":
                kept = [r for r in rows if r["task"] in keys]
            elif table.name == "queue_entries":
                kept = [r for r in rows if r["queue"] in queues]
            else:
                assert table.name == version_table.name, f"dump: no isolation filter for table {table.name}"
                kept = list(rows)
            out[table.name] = _rows(kept, table.primary_key.columns.keys())
        if conn.dialect.name == "sqlite":  # the side tables the SQLAlchemy metadata does not hold
            fts = conn.exec_driver_sql("SELECT tid, name, comment, models, script FROM tasks_fts").mappings()
            out["tasks_fts"] = _rows((r for r in fts if r["tid"] in keys), ["tid"])
            params = conn.exec_driver_sql("SELECT * FROM task_param_keys").mappings()
            out["task_param_keys"] = _rows((r for r in params if r["task"] in keys), ["task", "section", "name"])
    return out


def dump_changes(before: Dump, after: Dump) -> list[str]:
    """Rows removed, added or changed (with the columns that changed)."""
    out = []
    for table, old in before.items():
        new = after[table]
        out += [f"{table} {k}: removed" for k in old.keys() - new.keys()]
        out += [f"{table} {k}: added {new[k]}" for k in new.keys() - old.keys()]
        for k in old.keys() & new.keys():
            cols = {c: f"{old[k][c]} -> {new[k][c]}" for c in old[k] if old[k][c] != new[k][c]}
            if cols:
                out.append(f"{table} {k}: {cols}")
    return sorted(out)


# -- assertions ---------------------------------------------------------------------------------------------


def subst(value: Any, rid: str) -> Any:
    if isinstance(value, str):
        return value.replace(rid, "<id>")
    if isinstance(value, dict):
        return {subst(k, rid): subst(v, rid) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [subst(v, rid) for v in value]
    return value


def call_error(caller: Any, endpoint: str, body: Any) -> APIError:
    try:
        result = caller.call(endpoint, body)
    except APIError as err:
        return err
    raise AssertionError(f"{endpoint} {body!r}: expected an error, got {result!r}")


def shape(err: APIError, rid: str) -> tuple[Any, ...]:
    return err.code, err.subcode, subst(err.message, rid), subst(err.data, rid)


class Counting:
    """B's calls, counted (the number of isolation probes the matrix made)."""

    def __init__(self, caller: Any) -> None:
        self.caller, self.calls = caller, 0

    def call(self, endpoint: str, data: Any = None) -> Any:
        self.calls += 1
        return self.caller.call(endpoint, data)


@dataclass
class Env:
    a: TaskStore
    b: Any
    seed: Seed
    b_project: str = ""
    b_queue: str = ""
    b_model: str = ""

    @property
    def private(self) -> list[str]:
        return list(self.seed.private.values())

    @property
    def public(self) -> list[str]:
        return list(self.seed.public.values())

    @staticmethod
    def missing() -> str:
        return uuid.uuid4().hex

    def b_task(self, status: str = "created", **fields: Any) -> str:
        """A fresh task of B's (the positive control of a call)."""
        tid = create_task(self.b, "globex task", **fields)
        if status == "queued":
            self.b.call("tasks.enqueue", {"task": tid, "queue": self.b_queue})
        elif status != "created":
            set_status(self.b, tid, status)
        return tid

    def looks_missing(self, endpoint: str, body_of: Callable[[str], Any], ids: Iterable[str],
                      code: tuple[int, int]) -> None:  # fmt: skip
        """B's call on each id fails exactly as on an id that exists nowhere (id substituted)."""
        miss = self.missing()
        expected = shape(call_error(self.b, endpoint, body_of(miss)), miss)
        assert expected[:2] == code, f"{endpoint} on a missing id: {expected}"
        for rid in ids:
            got = shape(call_error(self.b, endpoint, body_of(rid)), rid)
            assert got == expected, f"{endpoint} on foreign {rid}: {got} != missing {expected}"

    def refuses_public(
        self, endpoint: str, body_of: Callable[[str], Any], ids: Iterable[str], kind: str = TASK
    ) -> None:
        for rid in ids:
            err = call_error(self.b, endpoint, body_of(rid))
            assert (err.code, err.subcode) == (403, 21), f"{endpoint} on public {rid}: {err.code}/{err.subcode}"
            assert f"cannot modify public {kind}(s), ids=('{rid}',)" in err.message, err.message

    def same_read(self, endpoint: str, body: Any) -> Any:
        """B reads exactly what A reads (public rows)."""
        mine, theirs = self.a.call(endpoint, body), self.b.call(endpoint, body)
        assert theirs == mine, f"{endpoint} {body!r}: B read {theirs!r}, A read {mine!r}"
        return theirs


# -- generic checks -----------------------------------------------------------------------------------------


def task_write(endpoint: str, body: Callable[[str], Any], *, force: bool = False) -> Callable[[Env], None]:
    """A write on one task: A's private ids look missing (400/101), public ones are 403/21; with
    ``force`` (where the endpoint takes it) the same again with ``force: true``."""

    def check(env: Env) -> None:
        for forced in (False, True) if force else (False,):
            with_force = (lambda t: {**body(t), "force": True}) if forced else body
            env.looks_missing(endpoint, with_force, env.private, (400, 101))
            env.refuses_public(endpoint, with_force, env.public)

    return check


def task_many(endpoint: str, own_status: str, extra: Callable[[Env], dict[str, Any]] | None = None,
              ok_key: str | None = None) -> Callable[[Env], None]:  # fmt: skip
    """A ``*_many`` call over A's private ids, a missing id, public ids and one own task."""

    def check(env: Env) -> None:
        own, miss = env.b_task(own_status), env.missing()
        body = {"ids": [*env.private, miss, *env.public, own], **(extra(env) if extra else {})}
        res = env.b.call(endpoint, body)
        failed = {f["id"]: f for f in res["failed"]}
        expected = subst(failed.pop(miss), miss)
        assert expected["error"]["codes"] == [400, 101], expected
        for rid in env.private:
            assert subst(failed.pop(rid), rid) == expected, f"{endpoint}: foreign {rid} does not look missing"
        for rid in env.public:
            err = failed.pop(rid)["error"]
            assert err["codes"] == [403, 21] and f"ids=('{rid}',)" in err["msg"], (endpoint, rid, err)
        assert failed == {}, failed
        assert [s["id"] for s in res["succeeded"]] == [own], res["succeeded"]
        if ok_key is not None:
            assert res["succeeded"][0][ok_key] is True, res["succeeded"]

    return check


def listed(res: dict[str, Any], key: str) -> set[str]:
    return {row["id"] for row in res[key]}


def same_ids(env: Env, got: set[str], want: set[str], what: Any) -> None:
    """Listing ``got`` equals ``want``; the difference is named by company and label."""
    if got != want:
        names = {v: f"A private {k}" for k, v in env.seed.private.items()}
        names.update({v: f"public {k}" for k, v in env.seed.public.items()})
        with env.a._db.transaction(write=False) as conn:
            rows = conn.execute(text("SELECT id, company, status, system_tags FROM tasks")).all()
        names.update({r[0]: f"{r[0]} of {r[1]!r} {r[2]} {r[3]}" for r in rows if r[0] not in names})
        extra = sorted(names.get(i, i) for i in got - want)
        lacking = sorted(names.get(i, i) for i in want - got)
        raise AssertionError(f"{what}: listed but not expected {extra}, expected but not listed {lacking}")


def b_tasks(env: Env) -> tuple[set[str], set[str]]:
    """B's tasks: all of them, and those get_all lists without search_hidden (not hidden)."""
    with env.a._db.transaction(write=False) as conn:
        rows = conn.execute(select(TaskRecord.id, TaskRecord.system_tags).where(TaskRecord.company == B)).all()
    return {r[0] for r in rows}, {r[0] for r in rows if "hidden" not in (r[1] or [])}


def b_ids(env: Env, table: str) -> set[str]:
    with env.a._db.transaction(write=False) as conn:
        return set(conn.execute(text(f"SELECT id FROM {table} WHERE company = :c"), {"c": B}).scalars())
