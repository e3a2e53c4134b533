"""The golden revision-0001 database (tests/reliability/golden): its fixed ids, what is read back from
it after the upgrade, an exact comparison, a loader for PostgreSQL, and a worker for the concurrent-open
test (importable by ``spawn`` children).

``probe`` is used twice: by ``golden/make_golden.py`` once, to write ``golden/expected.json`` (then
reviewed by hand and committed), and by the test on every run, to compare with it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, func, insert, select, text

from taskstore import TaskStore
from taskstore.db import migrate
from taskstore.db.engine import Database
from taskstore.db.records import Base
from taskstore.db.types import render_time

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
GOLDEN_DB = GOLDEN_DIR / "golden_0001.db"
EXPECTED_JSON = GOLDEN_DIR / "expected.json"
GOLDEN_REVISION = "0001"
# Tables of revision 0001, parents first (the order rows are copied in).
TABLES_0001 = ("projects", "models", "queues", "tasks", "task_tags", "queue_entries", "events")


def gid(kind: str, name: str) -> str:
    """A fixed 32-hex id (md5 of a readable name): ids do not sort like the insertion order."""
    return hashlib.md5(f"golden {kind} {name}".encode()).hexdigest()


# Tasks in insertion (= creation) order; the generator and the checks refer to them by these names.
TASK_NAMES = (
    "sink", "queued_head", "running", "queued_second", "published", "failed", "archived", "hidden",
    "public", "globex", "legacy", "minimal", "long_name", "draft_child",
)  # fmt: skip
TASKS = {name: gid("task", name) for name in TASK_NAMES}
PROJECTS = {name: gid("project", name) for name in ("root", "deep", "public")}
MODELS = {name: gid("model", name) for name in ("best", "checkpoint", "pretrained")}
QUEUES = {name: gid("queue", name) for name in ("default", "gpu", "globex")}
ACME_VISIBLE = [n for n in TASK_NAMES if n != "globex"]
# What get_all shows acme without search_hidden: its own and public tasks, not hidden ones.
ACME_LISTED = [n for n in ACME_VISIBLE if n != "hidden"]


def _rows(conn: Any, table: str) -> list[dict[str, Any]]:
    """Every row of a table (typed by the records), in primary-key order, times rendered."""
    t = Base.metadata.tables[table]
    rows = conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()
    return [{k: render_time(v) if isinstance(v, datetime) else v for k, v in row.items()} for row in rows]


def probe(store: TaskStore) -> dict[str, Any]:
    """Everything the golden data must read back as after the upgrade (read-only calls only)."""
    acme = {"company": "acme", "user": "alice"}
    globex = {"company": "globex", "user": "bob"}
    ids = [TASKS[n] for n in ACME_VISIBLE]
    out: dict[str, Any] = {}
    out["tasks.get_by_id"] = {
        n: store.call("tasks.get_by_id", {"task": TASKS[n]}, **acme)["task"] for n in ACME_VISIBLE
    }
    out["tasks.get_by_id globex"] = store.call("tasks.get_by_id", {"task": TASKS["globex"]}, **globex)["task"]
    # The legacy views (execution.parameters / model_desc below 2.9, execution.model / docker_cmd below
    # 2.13, merged tags below 2.3) computed from the upgraded documents.
    for version in ("2.1", "2.8", "2.12"):
        out[f"tasks.get_by_id@{version}"] = {
            n: store.call("tasks.get_by_id", {"task": TASKS[n]}, version=version, **acme)["task"]
            for n in ("sink", "legacy")
        }
    out["tasks.get_all_ex"] = store.call("tasks.get_all_ex", {}, **acme)["tasks"]
    out["tasks.get_all search_hidden"] = store.call(
        "tasks.get_all", {"search_hidden": True, "only_fields": ["id", "name", "status", "system_tags"]}, **acme
    )["tasks"]
    out["tasks.get_all globex"] = store.call("tasks.get_all", {"only_fields": ["id", "company"]}, **globex)["tasks"]
    out["tasks.get_by_id_ex"] = store.call(
        "tasks.get_by_id_ex", {"id": [TASKS["sink"], TASKS["legacy"]], "only_fields": ["id", "project", "execution"]},
        **acme,
    )["tasks"]  # fmt: skip
    out["tasks.get_hyper_params"] = store.call("tasks.get_hyper_params", {"tasks": ids}, **acme)["params"]
    out["tasks.get_configurations"] = store.call("tasks.get_configurations", {"tasks": ids}, **acme)["configurations"]
    out["tasks.get_configuration_names"] = store.call("tasks.get_configuration_names", {"tasks": ids}, **acme)[
        "configurations"
    ]
    out["queues.get_by_id"] = {n: store.call("queues.get_by_id", {"queue": QUEUES[n]}, **acme)["queue"]
                               for n in ("default", "gpu")}  # fmt: skip
    out["queues.get_by_id globex"] = store.call("queues.get_by_id", {"queue": QUEUES["globex"]}, **globex)["queue"]
    out["queues.get_all"] = store.call("queues.get_all", {"order_by": ["name"]}, **acme)["queues"]
    out["projects.get_by_id"] = {
        n: store.call("projects.get_by_id", {"project": p}, **acme)["project"] for n, p in PROJECTS.items()
    }
    out["projects.get_all"] = store.call("projects.get_all", {"order_by": ["name"]}, **acme)["projects"]
    out["models.get_by_id"] = {
        n: store.call("models.get_by_id", {"model": m}, **acme)["model"] for n, m in MODELS.items()
    }
    out["models.get_all"] = store.call("models.get_all", {"order_by": ["name"]}, **acme)["models"]
    with store._db.transaction(write=False) as conn:
        out["events"] = _rows(conn, "events")
        out["task_tags"] = [[r["task"], r["system"], r["tag"]] for r in _rows(conn, "task_tags")]
        out["queue_entries"] = _rows(conn, "queue_entries")
        out["counts"] = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES_0001}
    return out


def differences(got: Any, want: Any, path: str = "$") -> list[str]:
    """Where ``got`` differs from ``want``, type included (1 is not 1.0, True is not 1); dicts compare
    without key order (PostgreSQL's JSONB does not keep it), lists with order."""
    if type(got) is not type(want):
        return [f"{path}: {got!r} ({type(got).__name__}) != {want!r} ({type(want).__name__})"]
    if isinstance(want, dict):
        out = [f"{path}.{k}: missing" for k in want if k not in got]
        out += [f"{path}.{k}: unexpected {got[k]!r}" for k in got if k not in want]
        for k in want:
            if k in got:
                out += differences(got[k], want[k], f"{path}.{k}")
        return out
    if isinstance(want, list):
        if len(got) != len(want):
            return [f"{path}: {len(got)} items != {len(want)}: {got!r}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in differences(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def load_golden(url: str, source: Path = GOLDEN_DB) -> None:
    """Make the golden database on ``url`` (an empty database, e.g. PostgreSQL): the project's migrations
    up to revision 0001 only, then every row of the golden SQLite file, as taskstore 0001 would hold them."""
    db = Database(url)
    src = create_engine(f"sqlite:///{source}")
    try:
        with db.transaction(write=True) as conn:
            migrate.run_alembic_upgrade(conn, GOLDEN_REVISION)
        src_meta, dst_meta = MetaData(), MetaData()
        with src.connect() as sconn, db.transaction(write=True) as conn:
            src_meta.reflect(sconn, only=TABLES_0001)
            dst_meta.reflect(conn, only=TABLES_0001)
            for name in TABLES_0001:
                rows = [dict(r) for r in sconn.execute(select(src_meta.tables[name])).mappings()]
                if rows:
                    conn.execute(insert(dst_meta.tables[name]), rows)
            if db.dialect == "postgresql":  # as if the rows had been inserted one by one
                for name in ("events", "queue_entries"):
                    top = conn.execute(select(func.max(dst_meta.tables[name].c.seq))).scalar()
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'seq'), {int(top or 1)})"))
    finally:
        src.dispose()
        db.dispose()


def replicate(url: str, copies: int) -> dict[str, str]:
    """Add ``copies`` copies of every golden task (with its tags and events) to the database at ``url``,
    still at revision 0001; return {copy id: original name}.  Ids: ``c0`` + the copy number + the rest of
    the original's."""
    db = Database(url)
    made: dict[str, str] = {}
    try:
        with db.transaction(write=True) as conn:
            assert migrate.current_revision(conn) == GOLDEN_REVISION
            meta = MetaData()
            meta.reflect(conn, only=("tasks", "task_tags", "events"))
            tasks, tags, events = (meta.tables[t] for t in ("tasks", "task_tags", "events"))
            task_rows = [dict(r) for r in conn.execute(select(tasks).order_by(tasks.c.created, tasks.c.id)).mappings()]
            tag_rows = [dict(r) for r in conn.execute(select(tags)).mappings()]
            event_rows = [dict(r) for r in conn.execute(select(events).order_by(events.c.seq)).mappings()]
            names = {tid: name for name, tid in TASKS.items()}
            for k in range(1, copies + 1):
                new = {r["id"]: f"c0{k:06x}{r['id'][8:]}" for r in task_rows}
                conn.execute(insert(tasks), [{**r, "id": new[r["id"]]} for r in task_rows])
                conn.execute(insert(tags), [{**r, "task": new[r["task"]]} for r in tag_rows])
                conn.execute(insert(events), [{**{c: v for c, v in r.items() if c != "seq"}, "task": new[r["task"]]}
                                              for r in event_rows])  # fmt: skip
                made.update((new[tid], names[tid]) for tid in new)
    finally:
        db.dispose()
    assert len(made) == copies * len(TASKS) and not set(made) & set(TASKS.values())
    return made


# Tables the tests may leave in their PostgreSQL database besides taskstore's own.
FOREIGN_TABLES = ("alembic_version", "taskstore_future")


def reset_database(url: str) -> None:
    """Drop every table of taskstore's (and the tests' foreign ones): an empty database again."""
    db = Database(url)
    try:
        with db.transaction(write=True) as conn:
            names = [t.name for t in Base.metadata.sorted_tables] + [migrate.VERSION_TABLE, *FOREIGN_TABLES]
            conn.execute(text("DROP TABLE IF EXISTS " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
    finally:
        db.dispose()


def open_golden(url: str, barrier: Any, results: Any, n: int, golden: bool) -> None:
    """Concurrent-open worker: wait for every sibling, open the database (old or fresh; upgraded or created
    on open), read the golden kitchen-sink task if ``golden``, create one task; report
    ``(n, revision, golden task name, new task id, error)``."""
    try:
        barrier.wait(timeout=120)
        with TaskStore(url, company="acme", user=f"opener{n}") as store:
            name = store.call("tasks.get_by_id", {"task": TASKS["sink"]})["task"]["name"] if golden else None
            tid = store.call("tasks.create", {"name": f"opened by {n}", "type": "training"})["id"]
            results.put((n, store.revision, name, tid, None))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((n, None, None, None, f"{type(exc).__name__}: {exc}"))
