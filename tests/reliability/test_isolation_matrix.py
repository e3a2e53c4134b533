"""I1: company isolation over every served endpoint (issue 6, reliability and security).

Company A ("acme", the ``store`` fixture) seeds private tasks in several statuses (one hidden, one
archived) with hyperparameters, configuration, artifacts, task models and events, plus queues, projects
(one hidden, one nested), models and a scroll.  Public rows are tasks A made public (``make_public``),
a task, projects and models written as company "", and public models of A.  Company B ("globex", the
``other`` fixture) then calls every served endpoint against A's ids:

* A's private tasks, queues, projects and models look missing: the error equals the one for an id that
  does not exist (code, subcode, message and data, the id substituted), and listings never hold them;
* public rows are readable (B reads what A reads) and refuse writes with 403/21; the endpoints that
  look in the caller's company only (ping, archive, make_public/private, events, move) treat them as
  missing, as the reference does (lifecycle §1.4, §10, §11, §13; compatibility "Queues and dispatch");
* hidden tasks and projects are listed only with ``search_hidden`` (or an ``id`` filter).

Pass: every table restricted to A's rows and the rows that were public after seeding (side tables
included: ``task_tags``, ``queue_entries``, ``events``, ``task_scrolls`` and, on SQLite, the FTS table
and ``task_param_keys``) has the same rows, value for value (``repr``), after the whole matrix.

``MATRIX`` classifies every served endpoint (read/write, the kinds of ids it takes) and holds its
check: an endpoint served without an entry fails ``test_every_served_endpoint_is_classified``.

Fast variant: one private and one public task in each of 5 statuses, plus hidden, archived and a task
written by company "" (14 task ids), every endpoint against each, both ``force`` values where the
endpoint takes it.  ``--soak``: all 10 statuses x 3 copies, private and public (70 task ids); the same
queues, projects and models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from isolation_support import (
    ALL_STATUSES,
    MODEL,
    PROJECT,
    PUBLIC,
    QUEUE,
    SECRET_TYPE,
    TASK,
    A,
    B,
    Counting,
    Env,
    b_ids,
    b_tasks,
    call_error,
    dump_changes,
    isolation_dump,
    listed,
    same_ids,
    sample_events,
    seed_rows,
    subst,
    task_many,
    task_write,
)
from sqlalchemy import text
from support import set_status

from taskstore import APIError, TaskStore
from taskstore.api.registry import handlers

# -- per-endpoint checks ------------------------------------------------------------------------------------


def check_get_by_id(env: Env) -> None:
    env.looks_missing("tasks.get_by_id", lambda t: {"task": t}, env.private, (400, 101))
    for rid in env.public:
        assert env.same_read("tasks.get_by_id", {"task": rid})["task"]["company"] == PUBLIC


def _task_listing(endpoint: str) -> Callable[[Env], None]:
    def check(env: Env) -> None:
        seed = env.seed
        b_own, b_shown = b_tasks(env)
        shown = set(env.public) - seed.hidden_public
        call = lambda body: listed(env.b.call(endpoint, {"page_size": 500, **body}), "tasks")  # noqa: E731
        same_ids(env, call({}), b_shown | shown, "no filter")
        same_ids(env, call({"search_hidden": True}), b_own | set(env.public), "search_hidden")
        # an id filter shows hidden public tasks, never A's private ones
        same_ids(env, call({"id": [*env.private, *env.public]}), set(env.public), "id filter")
        # filters that match A's private tasks alone (their names, comments, type, children)
        for body in ({"name": "secret"}, {"_any_": {"pattern": "secret", "fields": ["name", "comment"]}},
                     {"search_text": "secret"}, {"type": [SECRET_TYPE]}, {"parent": env.private}):  # fmt: skip
            same_ids(env, call({**body, "search_hidden": True}), set(), body)
        everything = {"status": list(ALL_STATUSES), "search_hidden": True, "name": "acme"}
        assert call(everything) & set(env.private) == set()
        research = seed.a_projects["research"]
        assert call({"project": [research], "search_hidden": True}) == seed.public_in_research | (
            b_own & _b_tasks_in(env, research)
        )
        if endpoint == "tasks.get_all_ex":  # A's hidden private tasks are in "deep", below "research"
            below = {"project": [research], "include_subprojects": True, "search_hidden": True}
            in_tree = _b_tasks_in(env, research) | _b_tasks_in(env, seed.a_projects["deep"])
            same_ids(env, call(below), seed.public_in_research | (b_own & in_tree), "include_subprojects")
        # A's scroll id starts a new scroll for B, which pages B's view
        res = env.b.call(endpoint, {"scroll_id": seed.a_scroll, "size": 500, "only_fields": ["id"]})
        assert res["scroll_id"] != seed.a_scroll
        same_ids(env, listed(res, "tasks"), b_shown | shown, "scroll")
        if endpoint != "tasks.get_all_ex":  # joins are get_all_ex's
            return
        # joins name no private entity of A (the public tasks point at A's project, model and queue)
        one = seed.public["created#0"]
        row = env.b.call(endpoint, {"id": [one], "only_fields": ["project.name", "models.input.model.name"]})
        assert row["tasks"] == [{"id": one, "project": {"id": research},
                                 "models": {"input": [{"model": {"id": seed.a_models["ready"]}}]}}]  # fmt: skip
        queued = seed.public["queued#0"]
        row = env.b.call(endpoint, {"id": [queued], "only_fields": ["execution.queue.name"]})
        assert row["tasks"] == [{"id": queued, "execution": {"queue": {"id": seed.a_queues["gpu"]}}}]

    return check


def _b_tasks_in(env: Env, project: str) -> set[str]:
    with env.a._db.transaction(write=False) as conn:
        return set(conn.execute(text("SELECT id FROM tasks WHERE project = :p"), {"p": project}).scalars())


def check_get_by_id_ex(env: Env) -> None:
    res = env.b.call("tasks.get_by_id_ex", {"id": [*env.private, *env.public]})
    assert listed(res, "tasks") == set(env.public)
    for rid in env.private:
        assert env.b.call("tasks.get_by_id_ex", {"id": [rid]}) == {"tasks": []}
    env.same_read("tasks.get_by_id_ex", {"id": env.public, "only_fields": ["id", "name", "company", "status"]})


def check_get_types(env: Env) -> None:
    # A's private tasks alone have SECRET_TYPE (the hidden ones are in "deep", below "research")
    for body in ({}, {"projects": [env.seed.a_projects["research"]]}, {"projects": [env.seed.a_projects["deep"]]}):
        types = env.b.call("tasks.get_types", body)["types"]
        assert SECRET_TYPE not in types, (body, types)
    assert "training" in env.b.call("tasks.get_types", {"projects": [env.seed.a_projects["research"]]})["types"]


def _params_read(endpoint: str, body: Callable[[list[str]], dict[str, Any]]) -> Callable[[Env], None]:
    def check(env: Env) -> None:
        env.looks_missing(endpoint, lambda t: body([t]), env.private, (400, 101))
        # one foreign id among public ones fails the whole call, as a missing one does
        env.looks_missing(endpoint, lambda t: body([env.public[0], t]), env.private[:1], (400, 101))
        res = env.same_read(endpoint, body(env.public))
        assert len(next(iter(res.values()))) == len(env.public)

    return check


def check_configuration_names(env: Env) -> None:
    body = {"tasks": [*env.private, env.missing(), *env.public]}
    names = env.b.call("tasks.get_configuration_names", body)["configurations"]
    assert {n["task"] for n in names} == set(env.public) - {env.seed.public["direct"]}
    assert names == env.a.call("tasks.get_configuration_names", {"tasks": env.public})["configurations"]


def _references(endpoint: str) -> Callable[[Env], None]:
    """create / validate / edit / clone: references to A's private rows look missing, to public ones 403/21."""

    def check(env: Env) -> None:
        seed = env.seed
        own = env.b_task()
        if endpoint == "tasks.clone":
            body = lambda **f: {"task": own, **{"new_task_" + k: v for k, v in f.items()}}  # noqa: E731
            inputs = lambda m: {"input_models": [{"name": "in", "model": m}]}  # noqa: E731
        else:
            base = {"task": own} if endpoint == "tasks.edit" else {"name": "globex made", "type": "training"}
            body = lambda **f: {**base, **f}  # noqa: E731
            inputs = lambda m: {"models": {"input": [{"name": "in", "model": m}]}}  # noqa: E731
        for label in ("research", "deep", "hidden"):
            env.looks_missing(endpoint, lambda p: body(project=p), [seed.a_projects[label]], (400, 401))
        for pid in seed.public_projects.values():
            err = call_error(env.b, endpoint, body(project=pid))
            assert (err.code, err.subcode) == (403, 21) and pid in err.message, (endpoint, err)
        env.looks_missing(endpoint, lambda m: body(**inputs(m)), seed.a_models.values(), (400, 201))
        if endpoint == "tasks.clone":  # parent: missing and A's private one are the same 400/101
            env.looks_missing(endpoint, lambda t: body(parent=t), env.private, (400, 101))
        else:
            # [reference] the parent must exist in *any* company (400/16 "expecting Task id") and then be
            # visible (400/101 "invalid parent"): an existence oracle the spec pins (query_edit §2.2 steps 1, 12).
            for rid in env.private:
                err = call_error(env.b, endpoint, body(parent=rid))
                assert (err.code, err.subcode, err.data) == (400, 101, {"parent": rid}), (endpoint, err)
            err = call_error(env.b, endpoint, body(parent=env.missing()))
            assert (err.code, err.subcode, err.data) == (400, 16, {"field": "parent"}), (endpoint, err)
        # public references are fine: a public parent and public input models
        ok = body(parent=env.public[0], **inputs(seed.public_models["ready"]))
        result = env.b.call(endpoint, ok)
        if endpoint == "tasks.create":
            assert env.b.call("tasks.get_by_id", {"task": result["id"]})["task"]["company"] == B

    return check


def check_create(env: Env) -> None:
    _references("tasks.create")(env)
    # a company in the body is not the caller's company
    tid = env.b.call("tasks.create", {"name": "sneaky", "type": "training", "company": A})["id"]
    assert env.b.call("tasks.get_by_id", {"task": tid})["task"]["company"] == B


def check_edit(env: Env) -> None:
    task_write("tasks.edit", lambda t: {"task": t, "comment": "globex was here"}, force=True)(env)
    _references("tasks.edit")(env)


def check_clone(env: Env) -> None:
    seed = env.seed
    env.looks_missing("tasks.clone", lambda t: {"task": t}, env.private, (400, 101))
    _references("tasks.clone")(env)
    for rid in env.public:
        if rid == seed.public["direct"]:
            # its project is public: the clone would be written into it
            with pytest.raises(APIError) as info:
                env.b.call("tasks.clone", {"task": rid})
            assert (info.value.code, info.value.subcode) == (403, 21)
            continue
        clone = env.b.call("tasks.clone", {"task": rid})["id"]
        doc = env.b.call("tasks.get_by_id", {"task": clone})["task"]
        # the clone is B's; it keeps the source's project (A's, invisible to B) as the reference does
        assert (doc["company"], doc["status"], doc.get("project")) == (B, "created", seed.a_projects["research"])
    # B's own task in A's project: B's writes on it (status changes, update, move, delete) touch no row of A
    clone = env.b.call("tasks.clone", {"task": seed.public["created#0"]})["id"]
    env.b.call("tasks.started", {"task": clone})
    env.b.call("tasks.update", {"task": clone, "project": seed.a_projects["deep"]})
    env.b.call("tasks.update", {"task": clone, "project": seed.public_projects["shared"]})
    env.b.call("tasks.update", {"task": clone, "project": seed.a_projects["research"]})
    env.b.call("tasks.move", {"ids": [clone], "project_name": "globex moved"})
    env.b.call("tasks.update", {"task": clone, "project": seed.a_projects["research"]})
    env.b.call("tasks.delete", {"task": clone, "force": True})


def check_validate(env: Env) -> None:
    _references("tasks.validate")(env)


def check_update(env: Env) -> None:
    task_write("tasks.update", lambda t: {"task": t, "comment": "globex was here"})(env)
    # [reference] no project check on update (query_edit §2.5): B's own task may name A's project, and
    # that touches nothing of A's
    own = env.b_task()
    for pid in (*env.seed.a_projects.values(), *env.seed.public_projects.values()):
        assert env.b.call("tasks.update", {"task": own, "project": pid})["fields"]["project"] == pid


def check_update_batch(env: Env) -> None:
    own = env.b_task()
    env.looks_missing("tasks.update_batch", lambda t: [{"task": own, "comment": "x"}, {"task": t, "comment": "x"}],
                      env.private, (400, 101))  # fmt: skip
    env.refuses_public("tasks.update_batch", lambda t: [{"task": t, "comment": "x"}], env.public)
    # all or nothing: B's own item is not written
    assert env.b.call("tasks.get_by_id", {"task": own})["task"].get("comment") in (None, "")


def check_enqueue(env: Env) -> None:
    task_write("tasks.enqueue", lambda t: {"task": t, "queue": env.b_queue}, force=True)(env)
    own = env.b_task()
    for key in env.seed.a_queues:
        env.looks_missing("tasks.enqueue", lambda q: {"task": own, "queue": q}, [env.seed.a_queues[key]], (400, 701))
    # A's queue name is a new queue of B's
    res = env.b.call("tasks.enqueue", {"task": own, "queue_name": env.seed.a_queue_names["gpu"]})
    queue = res["fields"]["execution.queue"]
    assert queue not in env.seed.a_queues.values()
    assert env.b.call("queues.get_by_id", {"queue": queue})["queue"]["company"] == B


def check_enqueue_many(env: Env) -> None:
    task_many("tasks.enqueue_many", "created", lambda e: {"queue": e.b_queue}, "queued")(env)
    own, qa = env.b_task(), env.seed.a_queues["gpu"]
    miss = env.missing()
    failed = env.b.call("tasks.enqueue_many", {"ids": [own], "queue": qa})["failed"]
    expected = env.b.call("tasks.enqueue_many", {"ids": [own], "queue": miss})["failed"]
    assert subst(failed, qa) == subst(expected, miss) and failed[0]["error"]["codes"] == [400, 701]


def check_move(env: Env) -> None:
    seed = env.seed
    own = env.b_task()
    for pid in (*seed.a_projects.values(), *seed.public_projects.values()):  # into the caller's projects only
        env.looks_missing("tasks.move", lambda p: {"ids": [own], "project": p}, [pid], (400, 401))
    # A's ids (private and public) are skipped silently; B's own task moves
    res = env.b.call("tasks.move", {"ids": [*env.private, *env.public, own], "project": env.b_project})
    assert res == {"project_id": env.b_project}
    res = env.b.call("tasks.move", {"ids": [*env.private, *env.public], "project_name": "acme research"})
    assert res["project_id"] not in seed.a_projects.values()
    assert env.b.call("projects.get_by_id", {"project": res["project_id"]})["project"]["company"] == B


def check_archive(env: Env) -> None:
    own = env.b_task()
    for rid in (*env.private, *env.public):  # the caller's company only: public ones are missing too
        env.looks_missing("tasks.archive", lambda t: {"tasks": [own, t]}, [rid], (400, 101))
    assert "archived" not in env.b.call("tasks.get_by_id", {"task": own})["task"]["system_tags"]


def check_ping(env: Env) -> None:
    for rid in (*env.private, *env.public):  # silently nothing (the dump shows that nothing changed)
        assert env.b.call("tasks.ping", {"task": rid}) == {}


def _publicity(endpoint: str) -> Callable[[Env], None]:
    def check(env: Env) -> None:
        own = env.b_task()
        for rid in (*env.private, *env.public):
            env.looks_missing(endpoint, lambda t: {"ids": [t]}, [rid], (400, 101))
        if endpoint == "tasks.make_public":
            # all or nothing: an own id next to a foreign one is not made public either
            env.looks_missing(endpoint, lambda t: {"ids": [own, t]}, env.private[:1], (400, 101))
            assert env.b.call("tasks.make_public", {"ids": [own]}) == {"updated": 1}
            assert env.b.call("tasks.make_private", {"ids": [own]}) == {"updated": 1}

    return check


def check_events_add(env: Env) -> None:
    event = lambda t: {"task": t, "type": "training_stats_scalar", "metric": "m", "variant": "v", "value": 1}  # noqa: E731
    env.looks_missing("events.add", event, (*env.private, *env.public), (400, 131))
    assert env.b.call("events.add", event(env.b_task()))["added"] == 1


def check_events_add_batch(env: Env) -> None:
    ids = [*env.private, *env.public, env.missing()]
    events = [e for t in [*ids, env.b_task()] for e in sample_events(t)]
    res = env.b.call("events.add_batch", events)
    assert res == {"added": 4, "errors": 4 * len(ids), "errors_info": {"Invalid task id": 4 * len(ids)}}


def check_events_delete(env: Env) -> None:
    env.looks_missing("events.delete_for_task", lambda t: {"task": t}, (*env.private, *env.public), (400, 101))
    env.looks_missing("events.delete_for_task", lambda t: {"task": t, "allow_locked": True}, env.private, (400, 101))


def check_cleanup_models(env: Env) -> None:
    """reset / delete of B's own tasks listing A's and public models as outputs touch none of them."""
    seed = env.seed
    outputs = [*seed.a_models.values(), *seed.public_models.values()]
    for last in outputs:
        # B's own draft model first: the positive control (reset deletes it, as the only one)
        mine = env.b.call("models.create", {"name": "globex draft", "uri": "s3://g/d", "ready": False})["id"]
        listed = [mine, *(m for m in outputs if m != last), last]
        models = {"output": [{"name": f"o{i}", "model": m} for i, m in enumerate(listed)]}
        own = env.b_task("in_progress", models=models)
        res = env.b.call("tasks.reset", {"task": own})
        assert res["deleted_models"] == 1, res
        env.b.call("tasks.edit", {"task": own, "models": models})
        set_status(env.b, own, "completed")
        assert env.b.call("tasks.publish", {"task": own})["fields"]["status"] == "published"
        res = env.b.call("tasks.delete", {"task": own, "force": True})
        assert (res["deleted_models"], res["updated_models"]) == (0, 0), res


def check_add_or_update_model(env: Env) -> None:
    task_write("tasks.add_or_update_model", lambda t: {"task": t, "name": "m", "model": "x", "type": "output"})(env)
    check_cleanup_models(env)


def check_models_create(env: Env) -> None:
    seed = env.seed
    body = lambda **f: {"name": "globex model", "uri": "s3://g", **f}  # noqa: E731
    env.looks_missing("models.create", lambda t: body(task=t), env.private, (400, 101))
    env.refuses_public("models.create", lambda t: body(task=t), env.public)
    env.looks_missing("models.create", lambda p: body(project=p), seed.a_projects.values(), (400, 401))
    for pid in seed.public_projects.values():  # a model of B's in a public project: reading the project
        made = env.b.call("models.create", body(project=pid))["id"]
        assert env.b.call("models.get_by_id", {"model": made})["model"]["company"] == B


def check_models_edit(env: Env) -> None:
    seed = env.seed
    env.looks_missing("models.edit", lambda m: {"model": m, "name": "x"}, seed.a_models.values(), (400, 201))
    env.refuses_public("models.edit", lambda m: {"model": m, "name": "x"}, seed.public_models.values(), MODEL)
    env.looks_missing("models.edit", lambda t: {"model": env.b_model, "task": t}, env.private, (400, 101))
    env.refuses_public("models.edit", lambda t: {"model": env.b_model, "task": t}, env.public)
    env.looks_missing("models.edit", lambda p: {"model": env.b_model, "project": p}, seed.a_projects.values(),
                      (400, 401))  # fmt: skip


def check_models_delete(env: Env) -> None:
    seed = env.seed
    for force in (False, True):
        body = lambda m, force=force: {"model": m, "force": force}  # noqa: E731
        env.looks_missing("models.delete", body, seed.a_models.values(), (400, 201))
        env.refuses_public("models.delete", body, seed.public_models.values(), MODEL)
    own = env.b.call("models.create", {"name": "globex doomed", "uri": "s3://g/doomed"})["id"]
    assert env.b.call("models.delete", {"model": own}) == {"deleted": True, "url": "s3://g/doomed"}


def check_models_get_by_id(env: Env) -> None:
    env.looks_missing("models.get_by_id", lambda m: {"model": m}, env.seed.a_models.values(), (400, 201))
    for mid in env.seed.public_models.values():
        assert env.same_read("models.get_by_id", {"model": mid})["model"]["company"] == PUBLIC


def check_models_get_all(env: Env) -> None:
    seed = env.seed
    public, b_own = set(seed.public_models.values()), b_ids(env, "models")
    call = lambda body: listed(env.b.call("models.get_all", body), "models")  # noqa: E731
    assert call({}) == b_own | public
    assert call({"id": [*seed.a_models.values(), *public]}) == public
    assert call({"name": "acme"}) == set()
    assert call({"task": env.private}) == set()
    assert call({"project": [seed.public_projects["shared"]]}) == {seed.public_models["in shared"]} | (
        b_own & _b_models_in(env, seed.public_projects["shared"])
    )


def _b_models_in(env: Env, project: str) -> set[str]:
    with env.a._db.transaction(write=False) as conn:
        return set(conn.execute(text("SELECT id FROM models WHERE project = :p"), {"p": project}).scalars())


def check_projects_create(env: Env) -> None:
    # names are per company: A's names and the public ones are free for B, and make B's own projects
    for name in ("acme research/deep", "acme hidden", "public shared", "public shared hidden"):
        made = env.b.call("projects.create", {"name": name})["id"]
        assert made not in env.seed.a_projects.values() and made not in env.seed.public_projects.values()
        assert env.b.call("projects.get_by_id", {"project": made})["project"]["company"] == B


def check_projects_get_by_id(env: Env) -> None:
    env.looks_missing("projects.get_by_id", lambda p: {"project": p}, env.seed.a_projects.values(), (400, 401))
    for pid in env.seed.public_projects.values():
        assert env.same_read("projects.get_by_id", {"project": pid})["project"]["company"] == PUBLIC


def check_projects_get_all(env: Env) -> None:
    seed = env.seed
    b_own = b_ids(env, "projects")
    shared, hidden = seed.public_projects["shared"], seed.public_projects["shared hidden"]
    call = lambda body: listed(env.b.call("projects.get_all", body), "projects")  # noqa: E731
    assert call({}) == b_own | {shared}
    assert call({"search_hidden": True}) == b_own | {shared, hidden}
    assert call({"id": [*seed.a_projects.values(), shared, hidden]}) == {shared, hidden}
    assert call({"name": "^acme", "search_hidden": True}) == {p for p in b_own if _name_of(env, p).startswith("acme")}


def _name_of(env: Env, project: str) -> str:
    return str(env.b.call("projects.get_by_id", {"project": project})["project"]["name"])


def check_queues_get_by_id(env: Env) -> None:
    env.looks_missing("queues.get_by_id", lambda q: {"queue": q}, env.seed.a_queues.values(), (400, 701))


def check_queues_get_all(env: Env) -> None:
    seed = env.seed
    b_own = b_ids(env, "queues")
    call = lambda body: listed(env.b.call("queues.get_all", body), "queues")  # noqa: E731
    assert call({}) == b_own
    assert call({"id": list(seed.a_queues.values())}) == set()
    assert call({"name": "acme"}) == {q for q in b_own if "acme" in env.b.call(
        "queues.get_by_id", {"queue": q})["queue"]["name"]}  # fmt: skip


def check_queues_create(env: Env) -> None:
    for name in env.seed.a_queue_names.values():
        made = env.b.call("queues.create", {"name": name})["id"]
        assert made not in env.seed.a_queues.values()


def check_queues_get_default(env: Env) -> None:
    res = env.b.call("queues.get_default", {})
    assert res["id"] not in env.seed.a_queues.values()
    assert env.b.call("queues.get_by_id", {"queue": res["id"]})["queue"]["company"] == B


def check_queues_delete(env: Env) -> None:
    for force in (False, True):
        body = lambda q, force=force: {"queue": q, "force": force}  # noqa: E731
        env.looks_missing("queues.delete", body, env.seed.a_queues.values(), (400, 701))


def check_queues_add_task(env: Env) -> None:
    own, queue = env.b_task(), env.b.call("queues.create", {"name": "globex pops"})["id"]
    env.looks_missing("queues.add_task", lambda q: {"queue": q, "task": own}, env.seed.a_queues.values(), (400, 701))
    env.looks_missing("queues.add_task", lambda t: {"queue": queue, "task": t}, env.private, (400, 101))
    # a public task may be put into B's own queue (the entry is B's; the task is not written), and popped
    for rid in env.public:
        assert env.b.call("queues.add_task", {"queue": queue, "task": rid}) == {"added": 1}
    popped = [env.b.call("queues.get_next_task", {"queue": queue, "get_task_info": True}) for _ in env.public]
    assert [p["entry"]["task"] for p in popped] == env.public
    assert all(p["task_info"]["company"] == PUBLIC for p in popped)


def check_queues_remove_task(env: Env) -> None:
    seed = env.seed
    queued = [t for label, t in seed.private.items() if label.startswith("queued")]
    own = env.b_task("queued")
    for tid in (*queued, own):
        env.looks_missing("queues.remove_task", lambda q, tid=tid: {"queue": q, "task": tid}, seed.a_queues.values(),
                          (400, 703))  # fmt: skip
    env.looks_missing("queues.remove_task", lambda t: {"queue": env.b_queue, "task": t}, env.private, (400, 703))


def check_queues_get_next_task(env: Env) -> None:
    for info in (False, True):
        env.looks_missing("queues.get_next_task", lambda q, info=info: {"queue": q, "get_task_info": info},
                          env.seed.a_queues.values(), (400, 701))  # fmt: skip


@dataclass(frozen=True)
class Entry:
    write: bool  # as the registry says (a read may still keep a scroll state)
    ids: frozenset[str]  # the kinds of ids the endpoint takes (the isolation surface)
    check: Callable[[Env], None]


def _e(write: bool, ids: str, check: Callable[[Env], None]) -> Entry:
    return Entry(write, frozenset(ids.split()), check)


_ART = [{"key": "weights", "type": "model", "uri": "s3://globex/w", "mode": "output"}]
_HP = [{"section": "Args", "name": "lr", "value": "9"}]

MATRIX: dict[str, Entry] = {
    "events.add": _e(True, "task", check_events_add),
    "events.add_batch": _e(True, "task", check_events_add_batch),
    "events.delete_for_task": _e(True, "task", check_events_delete),
    "models.create": _e(True, "task project", check_models_create),
    "models.delete": _e(True, "model", check_models_delete),
    "models.edit": _e(True, "model task project", check_models_edit),
    "models.get_all": _e(False, "model task project", check_models_get_all),
    "models.get_by_id": _e(False, "model", check_models_get_by_id),
    "projects.create": _e(True, "", check_projects_create),
    "projects.get_all": _e(False, "project", check_projects_get_all),
    "projects.get_by_id": _e(False, "project", check_projects_get_by_id),
    "queues.add_task": _e(True, "queue task", check_queues_add_task),
    "queues.create": _e(True, "", check_queues_create),
    "queues.delete": _e(True, "queue", check_queues_delete),
    "queues.get_all": _e(False, "queue", check_queues_get_all),
    "queues.get_by_id": _e(False, "queue", check_queues_get_by_id),
    "queues.get_default": _e(True, "", check_queues_get_default),
    "queues.get_next_task": _e(True, "queue", check_queues_get_next_task),
    "queues.remove_task": _e(True, "queue task", check_queues_remove_task),
    "tasks.add_or_update_artifacts": _e(True, "task", task_write(
        "tasks.add_or_update_artifacts", lambda t: {"task": t, "artifacts": _ART})),
    "tasks.add_or_update_model": _e(True, "task model", check_add_or_update_model),
    "tasks.archive": _e(True, "task", check_archive),
    "tasks.archive_many": _e(True, "task", task_many("tasks.archive_many", "created", ok_key="archived")),
    "tasks.clone": _e(True, "task project model", check_clone),
    "tasks.close": _e(True, "task", task_write("tasks.close", lambda t: {"task": t}, force=True)),
    "tasks.completed": _e(True, "task", task_write("tasks.completed", lambda t: {"task": t}, force=True)),
    "tasks.create": _e(True, "task project model", check_create),
    "tasks.delete": _e(True, "task", task_write("tasks.delete", lambda t: {"task": t}, force=True)),
    "tasks.delete_artifacts": _e(True, "task", task_write(
        "tasks.delete_artifacts", lambda t: {"task": t, "artifacts": [{"key": "weights", "mode": "output"}]})),
    "tasks.delete_configuration": _e(True, "task", task_write(
        "tasks.delete_configuration", lambda t: {"task": t, "configuration": ["cfg"]}, force=True)),
    "tasks.delete_hyper_params": _e(True, "task", task_write(
        "tasks.delete_hyper_params", lambda t: {"task": t, "hyperparams": [{"section": "Args", "name": "lr"}]},
        force=True)),
    "tasks.delete_many": _e(True, "task", task_many("tasks.delete_many", "created", lambda e: {"force": True},
                                                    "deleted")),
    "tasks.delete_models": _e(True, "task", task_write(
        "tasks.delete_models", lambda t: {"task": t, "models": [{"name": "out", "type": "output"}]})),
    "tasks.dequeue": _e(True, "task", task_write("tasks.dequeue", lambda t: {"task": t})),
    "tasks.dequeue_many": _e(True, "task", task_many("tasks.dequeue_many", "queued", ok_key="dequeued")),
    "tasks.edit": _e(True, "task project model", check_edit),
    "tasks.edit_configuration": _e(True, "task", task_write(
        "tasks.edit_configuration", lambda t: {"task": t, "configuration": [{"name": "cfg", "value": "g"}]},
        force=True)),
    "tasks.edit_hyper_params": _e(True, "task", task_write(
        "tasks.edit_hyper_params", lambda t: {"task": t, "hyperparams": _HP}, force=True)),
    "tasks.enqueue": _e(True, "task queue", check_enqueue),
    "tasks.enqueue_many": _e(True, "task queue", check_enqueue_many),
    "tasks.failed": _e(True, "task", task_write("tasks.failed", lambda t: {"task": t}, force=True)),
    "tasks.get_all": _e(False, "task project", _task_listing("tasks.get_all")),
    "tasks.get_all_ex": _e(False, "task project", _task_listing("tasks.get_all_ex")),
    "tasks.get_by_id": _e(False, "task", check_get_by_id),
    "tasks.get_by_id_ex": _e(False, "task", check_get_by_id_ex),
    "tasks.get_configuration_names": _e(False, "task", check_configuration_names),
    "tasks.get_configurations": _e(False, "task", _params_read(
        "tasks.get_configurations", lambda ids: {"tasks": ids})),
    "tasks.get_hyper_params": _e(False, "task", _params_read("tasks.get_hyper_params", lambda ids: {"tasks": ids})),
    "tasks.get_types": _e(False, "project", check_get_types),
    "tasks.make_private": _e(True, "task", _publicity("tasks.make_private")),
    "tasks.make_public": _e(True, "task", _publicity("tasks.make_public")),
    "tasks.move": _e(True, "task project", check_move),
    "tasks.ping": _e(True, "task", check_ping),
    "tasks.publish": _e(True, "task", task_write("tasks.publish", lambda t: {"task": t}, force=True)),
    "tasks.publish_many": _e(True, "task", task_many("tasks.publish_many", "completed")),
    "tasks.reset": _e(True, "task", task_write("tasks.reset", lambda t: {"task": t}, force=True)),
    "tasks.reset_many": _e(True, "task", task_many("tasks.reset_many", "in_progress", lambda e: {"force": True})),
    "tasks.set_requirements": _e(True, "task", task_write(
        "tasks.set_requirements", lambda t: {"task": t, "requirements": {"pip": "globex"}})),
    "tasks.started": _e(True, "task", task_write("tasks.started", lambda t: {"task": t}, force=True)),
    "tasks.stop": _e(True, "task", task_write("tasks.stop", lambda t: {"task": t}, force=True)),
    "tasks.stop_many": _e(True, "task", task_many("tasks.stop_many", "in_progress")),
    "tasks.stopped": _e(True, "task", task_write("tasks.stopped", lambda t: {"task": t}, force=True)),
    "tasks.unarchive_many": _e(True, "task", task_many("tasks.unarchive_many", "created", ok_key="unarchived")),
    "tasks.update": _e(True, "task project", check_update),
    "tasks.update_batch": _e(True, "task", check_update_batch),
    "tasks.validate": _e(False, "task project model", check_validate),
}  # fmt: skip


def test_every_served_endpoint_is_classified() -> None:
    """A newly served endpoint must get an isolation entry here before it can ship."""
    served = handlers()
    missing, stale = sorted(set(served) - set(MATRIX)), sorted(set(MATRIX) - set(served))
    assert (missing, stale) == ([], []), f"served but not classified: {missing}; classified but not served: {stale}"
    for name, entry in MATRIX.items():
        assert entry.write == served[name].write, f"{name}: the registry now says write={served[name].write}"
        assert entry.ids <= {TASK, QUEUE, PROJECT, MODEL}, (name, entry.ids)


def test_company_isolation_matrix(store: TaskStore, other: Any, soak: bool) -> None:
    seed = seed_rows(store, soak)
    before = isolation_dump(store, seed)
    assert len(before["tasks"]) == len(seed.task_ids) and before["events"] and before["task_scrolls"]
    assert before["queue_entries"] and before["task_tags"]
    env = Env(store, Counting(other), seed)
    env.b_project = other.call("projects.create", {"name": "globex project"})["id"]
    env.b_queue = other.call("queues.create", {"name": "globex queue"})["id"]
    env.b_model = other.call("models.create", {"name": "globex model", "uri": "s3://g"})["id"]
    failures: list[str] = []
    for name, entry in MATRIX.items():
        try:
            entry.check(env)
        except Exception as exc:  # an unexpected APIError too: report every endpoint, then the dump
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    changed = dump_changes(before, isolation_dump(store, seed))
    if changed:
        failures.append(f"rows of {A} or public rows changed:\n  " + "\n  ".join(changed))
    assert not failures, "\n".join(failures)
    print(f"I1: {len(seed.task_ids)} task ids of {A}/public, {env.b.calls} calls by {B}")  # shown with -s
