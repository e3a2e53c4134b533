"""Build the golden database of schema revision 0001 (the first released one) and its expected reads.

Run from the repository root::

    .venv/bin/python tests/reliability/golden/make_golden.py            # writes both files
    .venv/bin/python tests/reliability/golden/make_golden.py --force    # overwrite them

* ``golden_0001.db``: an SQLite file brought to revision ``0001`` ONLY by the project's own migrations
  (alembic ``upgrade 0001``), then filled with fixed rows written as taskstore 0001 stores them: every
  task column and every JSON field of a task (script, execution with artifacts / model labels / stored
  legacy parameters / model_desc / docker_cmd, several hyperparameter sections, configuration, input and
  output models, container, runtime, output, tags and system tags, last_metrics with 64-bit integers and
  extreme floats, unicode, nested and empty values, nulls), plus projects, models, queues with entries,
  events and task tags.  Ids are fixed (tests/reliability/golden_support.py), times are fixed, nothing
  depends on the clock or on random numbers.
* ``expected.json``: what taskstore answers for that data once upgraded to the head revision
  (``golden_support.probe``), generated ONCE from a temporary copy, then reviewed by hand and committed.
  The test compares with it and never regenerates it.

Both files are committed: never regenerate them to make a failing test pass.  If a change of taskstore
changes what the golden data reads back as, that is either a bug or a deliberate change that must be
reviewed (and documented) before ``expected.json`` is rewritten with ``--force``.

Values stay within what revision 0001 can hold on both backends (e.g. ``tasks.last_iteration`` was a
32-bit INTEGER on PostgreSQL until 0003), so that the same rows load into PostgreSQL at 0001 too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # golden_support

from golden_support import (  # noqa: E402
    EXPECTED_JSON,
    GOLDEN_DB,
    GOLDEN_REVISION,
    MODELS,
    PROJECTS,
    QUEUES,
    TABLES_0001,
    TASKS,
    probe,
)
from sqlalchemy import MetaData, insert, text  # noqa: E402

from taskstore import TaskStore  # noqa: E402
from taskstore.db import migrate  # noqa: E402
from taskstore.db.engine import Database  # noqa: E402

T0 = datetime(2024, 3, 1, 12, 0, 0)


def at(minutes: float, micro: int = 0) -> datetime:
    """A fixed time: ``minutes`` after T0, plus ``micro`` microseconds (stored as is)."""
    return T0 + timedelta(minutes=minutes, microseconds=micro)


def iso(t: datetime) -> str:
    return t.isoformat() + "+00:00"


def md5(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()


def artifact(key: str, mode: str = "output", **fields: Any) -> tuple[str, dict[str, Any]]:
    """A stored artifact: keyed by md5(key)_mode, with its key and mode inside."""
    return f"{md5(key)}_{mode}", {"key": key, "mode": mode, **fields}


def hp(section: str, name: str, value: str, **more: Any) -> dict[str, Any]:
    return {"section": section, "name": name, "value": value, **more}


def last_metric(metric: str, variant: str, value: Any, low: Any, high: Any) -> tuple[str, str, dict[str, Any]]:
    return md5(metric), md5(variant), {"metric": metric, "variant": variant, "value": value, "min_value": low,
                                       "max_value": high}  # fmt: skip


def metrics_doc(*items: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mh, vh, doc in items:
        out.setdefault(mh, {})[vh] = doc
    return out


def metric_stats(**by_metric: dict[str, int]) -> dict[str, Any]:
    return {md5(m): {"metric": m, "event_stats_by_type": {t: {"last_update": ms} for t, ms in types.items()}}
            for m, types in by_metric.items()}  # fmt: skip


EMPTY_DOCS = {k: {} for k in ("execution", "script", "output", "container", "runtime", "models", "hyperparams",
                              "configuration", "last_metrics", "extra")}  # fmt: skip
NULL_COLUMNS = {k: None for k in ("project", "parent", "comment", "created", "started", "completed", "published",
                                  "status_changed", "last_update", "last_change", "active_duration", "status_reason",
                                  "status_message")}  # fmt: skip


def task(key: str, minute: int, **fields: Any) -> dict[str, Any]:
    """A task row: defaults of a just-created acme task, overridden by ``fields``."""
    row: dict[str, Any] = {
        **NULL_COLUMNS,
        **EMPTY_DOCS,
        "id": TASKS[key],
        "company": "acme",
        "user": "alice",
        "name": key.replace("_", " "),
        "type": "training",
        "status": "created",
        "created": at(minute),
        "last_update": at(minute),
        "last_change": at(minute),
        "last_iteration": 0,
        "tags": [],
        "system_tags": [],
    }
    row.update(fields)
    return row


def projects() -> list[dict[str, Any]]:
    return [
        {"id": PROJECTS["root"], "company": "acme", "user": "alice", "name": "Golden", "basename": "Golden",
         "parent": None, "path": [], "description": "the root project", "tags": ["team-a", "Ωmega"],
         "system_tags": [], "default_output_destination": "s3://bucket/golden", "created": at(-30),
         "last_update": at(-29), "extra": {}},
        {"id": PROJECTS["deep"], "company": "acme", "user": "alice", "name": "Golden/Deep ✓", "basename": "Deep ✓",
         "parent": PROJECTS["root"], "path": [PROJECTS["root"]], "description": "", "tags": [], "system_tags": [],
         "default_output_destination": None, "created": at(-29), "last_update": at(-29), "extra": {}},
        {"id": PROJECTS["public"], "company": "", "user": "system", "name": "Examples", "basename": "Examples",
         "parent": None, "path": [], "description": None, "tags": [], "system_tags": ["example"],
         "default_output_destination": None, "created": at(-60), "last_update": at(-60), "extra": {}},
    ]  # fmt: skip


def models() -> list[dict[str, Any]]:
    return [
        {"id": MODELS["best"], "company": "acme", "user": "alice", "name": "resnet50 🧠 best", "ready": True,
         "uri": "s3://bucket/models/resnet50.pt", "task": TASKS["sink"], "project": PROJECTS["deep"], "parent": None,
         "framework": "PyTorch", "comment": "best of the sweep ✓", "tags": ["prod", "cv"], "system_tags": [],
         "created": at(40), "last_update": at(41, 500000),
         "extra": {"design": {"net": "resnet", "layers": [3, 4, 6, 3], "dropout": 0.1},
                   "labels": {"background": 0, "cat": 1, "dog": 2},
                   "metadata": {"acc": {"key": "acc", "value": "0.9", "type": "float"}},
                   "last_iteration": 49}},
        {"id": MODELS["checkpoint"], "company": "acme", "user": "bob", "name": "last checkpoint", "ready": False,
         "uri": None, "task": "__DELETED__" + "0" * 32, "project": None, "parent": MODELS["best"],
         "framework": None, "comment": None, "tags": [], "system_tags": [], "created": at(42), "last_update": at(42),
         "extra": {}},
        {"id": MODELS["pretrained"], "company": "", "user": "system", "name": "imagenet pretrained", "ready": True,
         "uri": "https://download.example/imagenet.pt", "task": None, "project": PROJECTS["public"], "parent": None,
         "framework": "PyTorch", "comment": "", "tags": ["public"], "system_tags": [], "created": at(-60),
         "last_update": at(-60), "extra": {"labels": {}}},
    ]  # fmt: skip


def queues() -> list[dict[str, Any]]:
    return [
        {"id": QUEUES["default"], "company": "acme", "user": "alice", "name": "default", "display_name": None,
         "tags": [], "system_tags": ["default"], "created": at(-20), "last_update": at(4),
         "meta": {"owner": {"key": "owner", "value": "ml-team", "type": "str"}}},
        {"id": QUEUES["gpu"], "company": "acme", "user": "alice",
         "name": "gpu-α", "display_name": "GPU α (A100)",  # noqa: RUF001 (unicode on purpose)
         "tags": ["gpu", "fast"], "system_tags": [], "created": at(-19), "last_update": at(-19), "meta": {}},
        {"id": QUEUES["globex"], "company": "globex", "user": "bob", "name": "default", "display_name": None,
         "tags": [], "system_tags": ["default"], "created": at(-18), "last_update": at(10), "meta": {}},
    ]  # fmt: skip


def tasks() -> list[dict[str, Any]]:
    sink = task(
        "sink", 0,
        name="kitchen sink: every field ✓",
        type="training",
        status="completed",
        project=PROJECTS["deep"],
        comment="Every field set.\nLine 2 — ünïcødé ✓ 🚀 中文 עברית\ttab",
        started=at(1),
        completed=at(50),
        status_changed=at(50),
        last_update=at(51, 123456),
        last_change=at(52, 999000),
        last_iteration=2147483647,  # the largest 32-bit value: INTEGER on PostgreSQL until 0003
        active_duration=2940,
        status_reason="completed by worker",
        status_message="done ✓",
        tags=["vision", "β-test", "Alpha", "resnet"],
        system_tags=["custom-sys"],
        execution={
            "queue": QUEUES["gpu"],
            "framework": "PyTorch",
            "test_split": 0,
            "model_labels": {"background": 0, "cat": 1, "dog": 2, "ünï.$key": 3},
            "artifacts": dict([
                artifact("data.csv", "input", type="csv", uri="s3://bucket/data.csv", content_size=1234567890123,
                         hash="sha256:" + "ab" * 32, timestamp=1709294400, display_data=[]),
                artifact("results", "output", type="pandas", uri="s3://bucket/results.csv.gz", content_size=0,
                         hash="", timestamp=1709297400,
                         type_data={"preview": "a,b\n1,2", "content_type": "text/csv", "data_hash": "d41d8cd9"},
                         display_data=[["rows", "2"], ["cols", "2"]]),
                artifact("results", "input", type="pandas", uri="s3://bucket/results-in.csv", display_data=[]),
            ]),
        },
        script={
            "binary": "python3.11",
            "repository": "https://github.com/acme/resnet-tools.git",
            "tag": "v1.2",
            "branch": "main",
            "version_num": "0123456789abcdef0123456789abcdef01234567",
            "entry_point": "train.py",
            "working_dir": "src",
            "requirements": {"pip": "torch==2.1\nnumpy>=1.26\n", "conda": ["python=3.11", "cudatoolkit"],
                             "org_pip": None},
            "diff": "diff --git a/train.py b/train.py\n-lr = 1\n+lr = 0.5  # ünï\n",
        },
        output={"destination": "s3://bucket/out", "result": "success", "error": ""},
        container={"image": "nvidia/cuda:12.1-runtime", "arguments": "--ipc=host -e A=1",
                   "setup_shell_script": "apt-get update\napt-get install -y git\n", "network": None, "empty": ""},
        runtime={
            "gpu_count": 2,
            "int64_max": 9223372036854775807,
            "int64_min": -9223372036854775808,
            "beyond_int64": 123456789012345678901234567890,
            "float": 0.30000000000000004,
            "float_big": 1e20,
            "float_tiny": 5e-324,
            "nested": {"deep": {"deeper": [1, "two", None, {"x": [], "y": {}}, [[[]]]]}},
            "empty_obj": {},
            "empty_list": [],
            "empty_str": "",
            "null": None,
            "bool": True,
            "false": False,
            "unicode ключ": "значение 🚀",
        },
        models={
            "input": [{"name": "pretrained", "model": MODELS["pretrained"], "updated": iso(at(0))}],
            "output": [
                {"name": "best", "model": MODELS["best"], "updated": iso(at(40))},
                {"name": "last ✓", "model": MODELS["checkpoint"], "updated": iso(at(42))},
            ],
        },
        hyperparams={
            "Args": {
                "lr": hp("Args", "lr", "0.5", type="float", description="learning rate"),
                "batch_size": hp("Args", "batch_size", "32", type="int"),
                "empty": hp("Args", "empty", ""),
            },
            "General": {
                "seed": hp("General", "seed", "42"),
                "unicode ключ": hp("General", "unicode ключ", "значение", description="ünïcødé"),
            },
            "sec.tion$": {"a.b": hp("sec.tion$", "a.b", "1e-3", type="float")},
            "_private": {"__dunder": hp("_private", "__dunder", "x y z")},
            "TF_DEFINE": {"steps": hp("TF_DEFINE", "steps", "1000", type="legacy")},
        },
        configuration={
            "General": {"name": "General", "value": '{"a": 1, "b": [1, 2]}', "type": "dictionary",
                        "description": "connected dict"},
            "config.yaml": {"name": "config.yaml", "value": "lr: 0.5\nlayers:\n  - 64\n  - ünï\n", "type": "yaml"},
            "empty": {"name": "empty", "value": ""},
        },
        last_metrics=metrics_doc(
            last_metric("loss", "total", 0.125, 0.125, 2.5),
            last_metric("loss", "ünï variant", 1e-300, -1.5e-10, 1e300),
            last_metric("acc", "top1", 0.30000000000000004, 0.1, 0.9),
            last_metric("big", "ints", 9007199254740993, -9223372036854775808, 9223372036854775807),
            last_metric("huge", "floats", 1.7976931348623157e308, 5e-324, 1e20),
        ),
        extra={
            "metric_stats": metric_stats(loss={"training_stats_scalar": 1709297340000},
                                         acc={"training_stats_scalar": 1709297340000},
                                         samples={"training_debug_image": 1709294700000, "plot": 1709294710000}),
            "last_worker": "worker-01:gpu0",
            "last_worker_report": "2024-03-01T12:50:00+00:00",
            "duration": 2940,
        },
    )  # fmt: skip
    queued = {"status": "queued", "status_changed": at(4), "status_reason": "", "status_message": "",
              "extra": {"enqueue_status": "created"}}  # fmt: skip
    return [
        sink,
        task("queued_head", 2, **queued, execution={"queue": QUEUES["default"]}, tags=["sweep"],
             hyperparams={"Args": {"lr": hp("Args", "lr", "10")}}, comment="sweep member, resnet backbone"),
        task("running", 3, status="in_progress", started=at(5), status_changed=at(5), last_update=at(9),
             last_change=at(9), active_duration=240, last_iteration=7, parent=TASKS["sink"],
             execution={"queue": QUEUES["gpu"]}, hyperparams={"Args": {"lr": hp("Args", "lr", "9")}},
             last_metrics=metrics_doc(last_metric("loss", "total", -1.5e-10, -1.5e-10, 3)),
             extra={"last_worker": "worker-02", "enqueue_status": "created",
                    "metric_stats": metric_stats(loss={"training_stats_scalar": 1709294820000})}),
        task("queued_second", 4, **queued, execution={"queue": QUEUES["default"]}, tags=["sweep"],
             hyperparams={"Args": {"lr": hp("Args", "lr", "1e-3")}}),
        task("published", 6, status="published", started=at(6), completed=at(7), published=at(8),
             status_changed=at(8), status_reason="", status_message="", last_iteration=100, type="inference",
             models={"input": [], "output": [{"name": "final", "model": MODELS["best"], "updated": iso(at(7))}]},
             output={"destination": "file:///tmp/out"}, extra={"duration": 60}),
        task("failed", 7, status="failed", started=at(7), status_changed=at(8),
             status_reason="Traceback (most recent call last):\n  ValueError: ünï", status_message="worker died",
             hyperparams={"Args": {"lr": hp("Args", "lr", "abc")}}, extra={"duration": 60}),
        task("archived", 8, status="stopped", started=at(8), completed=at(9), status_changed=at(9),
             system_tags=["archived"], tags=["old"], extra={"duration": 60}),
        task("hidden", 9, type="controller", system_tags=["hidden", "pipeline"], tags=["pipeline"],
             runtime={"_pipeline_hash": "abc", "version": "1.0"}),
        task("public", 10, company="", user="alice", comment="shared with everyone",
             extra={"company_origin": "acme"}, tags=["public"]),
        task("globex", 11, company="globex", user="bob", comment="globex only", tags=["secret"],
             status="queued", status_changed=at(11), execution={"queue": QUEUES["globex"]},
             extra={"enqueue_status": "created"}),
        task("legacy", 12, type="testing", comment="imported from an old server",
             # Stored the way an old client's fields look: legacy-typed hyperparameters and configuration,
             # artifacts as a list, and the raw legacy execution fields kept in the document.
             execution={"parameters": {"lr": 0.1, "TF_DEFINE/steps": 100, "nested": {"a": 1}},
                        "model_desc": {"design": "layers: 3"}, "docker_cmd": "python:3.8 -v",
                        "model": MODELS["pretrained"], "framework": "TensorFlow", "test_split": 0,
                        "artifacts": [{"key": "z-last", "type": "str", "mode": "output", "uri": "u1"},
                                      {"key": "a-first", "type": "str", "mode": "output", "uri": "u2"}]},
             hyperparams={"Args": {"lr": hp("Args", "lr", "0.1", type="legacy")},
                          "TF_DEFINE": {"steps": hp("TF_DEFINE", "steps", "100", type="legacy")}},
             configuration={"design": {"name": "design", "value": "layers: 3", "type": "legacy"}},
             container={"image": "python:3.8", "arguments": "-v"},
             models={"input": [{"name": "Input Model", "model": MODELS["pretrained"], "updated": iso(at(12))}]},
             script={"repository": "", "entry_point": "", "binary": "python"}),
        task("minimal", 13, user="", type="testing", last_update=None, last_change=None),
        task("long_name", 14, name="ü" * 100 + " " + "長" * 100 + " " + "x" * 98, type="inference", comment="",
             tags=[f"tag{n:02d}" for n in range(20, 0, -1)], status_reason="", status_message=""),
        task("draft_child", 15, type="data_processing", project=PROJECTS["root"], parent=TASKS["sink"],
             comment="uses the ResNet backbone", hyperparams={"Args": {"lr": hp("Args", "lr", "0.5")}},
             tags=["Alpha"]),
    ]  # fmt: skip


def queue_entries() -> list[dict[str, Any]]:
    return [
        {"seq": 1, "queue": QUEUES["default"], "task": TASKS["queued_head"], "added": at(4)},
        {"seq": 2, "queue": QUEUES["globex"], "task": TASKS["globex"], "added": at(11)},
        {"seq": 3, "queue": QUEUES["default"], "task": TASKS["queued_second"], "added": at(4, 1000)},
    ]


def events() -> list[dict[str, Any]]:
    sink, running = TASKS["sink"], TASKS["running"]
    rows = [
        ("acme", sink, "training_stats_scalar", "loss", "total", 0, at(1), 2.5, None, {}),
        ("acme", sink, "training_stats_scalar", "loss", "total", 49, at(49), 0.125, None, {}),
        ("acme", sink, "training_stats_scalar", "acc", "top1", 49, at(49), 0.30000000000000004, None, {}),
        ("acme", sink, "training_stats_scalar", "loss", "ünï variant", 3, at(4), 1e300, None, {}),
        ("acme", sink, "log", "", "", 10, at(10), None, None, {"msg": "epoch 10 ✓\nnext", "level": "info"}),
        ("acme", sink, "training_debug_image", "samples", "v0", 5, at(5), None, "https://files.example/a/img 1.png",
         {"key": "samples/v0", "nested": {"n": [1, 2, None]}}),
        ("acme", sink, "plot", "samples", "confusion", 5, at(5, 10000), None, None,
         {"plot_str": '{"data": [{"z": [[1, 2], [3, 4]]}]}'}),
        ("acme", running, "training_stats_scalar", "loss", "total", 7, at(9), -1.5e-10, None, {}),
        ("acme", running, "log", None, None, None, None, None, None, {"msg": ""}),
        ("globex", TASKS["globex"], "training_stats_scalar", "m", "v", 2147483647, at(11), 1.0, None, {}),
    ]  # fmt: skip
    keys = ("company", "task", "type", "metric", "variant", "iter", "timestamp", "value", "url", "data")
    return [{"seq": n, **dict(zip(keys, row, strict=True))} for n, row in enumerate(rows, 1)]


def task_tags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tag index of revision 0001: one row per (task, system, tag)."""
    return [{"task": r["id"], "system": system, "tag": tag}
            for r in rows for system, key in ((False, "tags"), (True, "system_tags"))
            for tag in sorted(set(r[key]))]  # fmt: skip


def build(path: Path) -> None:
    """Create ``path`` at revision 0001 with the golden rows."""
    db = Database(f"sqlite:///{path}")
    try:
        with db.transaction(write=True) as conn:
            migrate.run_alembic_upgrade(conn, GOLDEN_REVISION)
        with db.transaction(write=True) as conn:
            assert migrate.current_revision(conn) == GOLDEN_REVISION
            meta = MetaData()
            meta.reflect(conn)
            assert "seq" not in meta.tables["tasks"].c and "task_scrolls" not in meta.tables, "not revision 0001"
            all_tasks = tasks()
            data = {
                "projects": projects(), "models": models(), "queues": queues(), "tasks": all_tasks,
                "task_tags": task_tags(all_tasks), "queue_entries": queue_entries(), "events": events(),
            }  # fmt: skip
            assert tuple(data) == TABLES_0001
            for name, rows in data.items():
                conn.execute(insert(meta.tables[name]), rows)
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    finally:
        db.dispose()
    # A self-contained, compact file: no WAL, no free pages.
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA journal_mode = DELETE")
    raw = sqlite3.connect(path)
    raw.execute("VACUUM")
    raw.close()


def expected(path: Path) -> dict[str, Any]:
    """What taskstore reads back from a copy of the golden file, upgraded to head."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "golden.db"
        shutil.copyfile(path, copy)
        with TaskStore(f"sqlite:///{copy}", company="acme", user="alice") as store:
            assert store.revision == migrate.HEAD_REVISION
            return probe(store)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="overwrite the committed files")
    parser.add_argument("--db-only", action="store_true", help="write golden_0001.db only")
    args = parser.parse_args(argv)
    targets = [GOLDEN_DB] if args.db_only else [GOLDEN_DB, EXPECTED_JSON]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not args.force:
        parser.error(f"{', '.join(existing)} exist(s): they are committed and reviewed; use --force to rewrite")
    for p in (GOLDEN_DB, Path(f"{GOLDEN_DB}-wal"), Path(f"{GOLDEN_DB}-shm")):
        p.unlink(missing_ok=True)
    build(GOLDEN_DB)
    print(f"wrote {GOLDEN_DB} ({GOLDEN_DB.stat().st_size} bytes)")
    if not args.db_only:
        doc = expected(GOLDEN_DB)
        EXPECTED_JSON.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {EXPECTED_JSON} ({EXPECTED_JSON.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
