"""``taskstore export | import`` and ``taskstore db current | check | upgrade`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import lines, run, small_store
from sqlalchemy import text
from support import dump

from taskstore import TaskStore
from taskstore.cli.app import display_url
from taskstore.db.engine import Database
from taskstore.db.migrate import HEAD_REVISION

COUNTS = "1 project, 0 models, 3 tasks, 0 queues, 4 events"


@pytest.fixture
def source(tmp_path: Path) -> str:
    path = tmp_path / "source.db"
    with TaskStore(f"sqlite:///{path}") as store:
        small_store(store)
    return str(path)


@pytest.mark.file_backends
def test_export_then_import_into_another_store(db_url: str, source: str, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    exported = run("--db", source, "export", "-o", str(out))
    assert (exported.exit_code, exported.stdout) == (0, "")
    assert exported.stderr == f"exported {COUNTS} from {source} to {out}\n"
    assert len(lines(out.read_text())) == 1 + 1 + 3 + 4
    target = display_url(db_url)
    imported = run("--db", db_url, "import", str(out))
    assert (imported.exit_code, imported.stderr) == (0, f"imported {COUNTS} from {out} into {target}\n")
    with TaskStore(f"sqlite:///{source}") as src, TaskStore(db_url) as dst:
        assert dump(dst) == dump(src)
    again = run("--db", db_url, "import", str(out))
    assert again.exit_code == 1
    assert again.stderr.startswith(f"Error: {out}: the target already has 1 project with the same id (")
    assert again.stderr.endswith("); nothing was imported (--merge replaces them)\n")
    merged = run("--db", db_url, "import", "--merge", str(out), "--json")
    assert json.loads(merged.stdout) == {
        "source": str(out), "target": target,
        "counts": {"project": 1, "task": 3, "event": 4}, "replaced": {"project": 1, "task": 3},
    }  # fmt: skip


@pytest.mark.file_backends
def test_import_straight_from_another_url_and_from_stdin(db_url: str, source: str, tmp_path: Path) -> None:
    copied = run("--db", db_url, "import", f"sqlite:///{source}")
    assert copied.exit_code == 0, copied.output
    assert copied.stderr == f"imported {COUNTS} from {source} into {display_url(db_url)}\n"
    piped = run("--db", db_url, "export")
    assert piped.stderr.startswith(f"exported {COUNTS} from ")
    other = tmp_path / "other.db"
    from_stdin = run("--db", str(other), "import", "-", input=piped.stdout)
    assert from_stdin.stderr == f"imported {COUNTS} from standard input into {other}\n"
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    not_text = run("--db", str(other), "import", str(binary))
    assert (not_text.exit_code, not_text.stderr) == (
        1, f"Error: {binary}: not a text file (expected the JSON lines of `taskstore export`)\n"
    )  # fmt: skip
    again = run("--db", str(tmp_path / "third.db"), "import", source)  # a SQLite file: copied directly
    assert again.stderr == f"imported {COUNTS} from {source} into {tmp_path / 'third.db'}\n"
    same = run("--db", str(other), "import", f"sqlite:///{other}")
    assert same.exit_code == 2 and "SOURCE and --db are the same store" in same.stderr


def test_import_refuses_a_file_that_is_not_an_export(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "task", "id": "x"}\n')
    result = run("--db", str(tmp_path / "t.db"), "import", str(bad))
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {bad}: line 1: not a taskstore-export file (no header line; make one with `taskstore export`)\n"
    )  # fmt: skip


def test_db_commands_on_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    missing = run("--db", str(path), "db", "check")
    assert (missing.exit_code, missing.stdout) == (1, "")
    assert missing.stderr.startswith(f"{path}: no store there: run `taskstore demo`")
    current = run("--db", str(path), "db", "current")
    assert (current.exit_code, current.stdout) == (1, "none\n")
    assert not path.exists()
    created = run("--db", str(path), "db", "upgrade")
    assert (created.exit_code, created.stdout) == (0, f"{path}: created the schema at revision {HEAD_REVISION}\n")
    assert run("--db", str(path), "db", "upgrade").stdout == f"{path}: already at revision {HEAD_REVISION}\n"
    checked = run("--db", str(path), "db", "check")
    assert (checked.exit_code, checked.stdout) == (
        0,
        f"{path}: revision {HEAD_REVISION}: at the newest schema revision\n",
    )
    assert run("--db", str(path), "db", "current").stdout == f"{HEAD_REVISION}\n"
    info = json.loads(run("--db", str(path), "db", "check", "--json").stdout)
    assert (info["revision"], info["state"], info["ok"]) == (HEAD_REVISION, "current", True)


@pytest.mark.file_backends
def test_db_check_and_upgrade_an_older_revision(db_url: str, make_store: object) -> None:
    TaskStore(db_url).close()
    database = Database(db_url)
    with database.transaction() as conn:
        conn.execute(text("UPDATE taskstore_alembic_version SET version_num = '9999'"))
    database.dispose()
    newer = run("--db", db_url, "db", "check")
    assert newer.exit_code == 1
    assert "revision 9999: written by a newer taskstore" in newer.stderr
    refused = run("--db", db_url, "db", "upgrade")
    assert refused.exit_code == 1 and "written by a newer taskstore" in refused.stderr
    opened = run("--db", db_url, "tasks", "list")
    assert opened.exit_code == 1
    assert "schema revision '9999' is unknown to this taskstore" in opened.stderr
