"""``taskstore call``: bodies, JSON output, API errors as exit codes; where the store is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import run

from taskstore import TaskStore
from taskstore.cli.app import display_url, to_url
from taskstore.cli.calls import parse_body

# The CLI opens its own store: a SQLite file or PostgreSQL, not a test's private in-memory database.
pytestmark = pytest.mark.file_backends


@pytest.fixture
def db(db_url: str) -> str:
    return db_url


def test_call_prints_the_response_as_json(db: str) -> None:
    created = run("--db", db, "call", "tasks.create", '{"name": "train", "type": "training"}')
    assert created.exit_code == 0, created.output
    task_id = json.loads(created.stdout)["id"]
    got = run("--db", db, "call", "tasks.get_by_id", f"task={task_id}")
    assert got.exit_code == 0
    task = json.loads(got.stdout)["task"]
    assert (task["id"], task["name"], task["status"], task["company"]) == (task_id, "train", "created", "local")
    assert got.stdout.startswith('{\n  "task": {\n')
    assert got.stderr == ""


def test_call_reads_the_body_from_a_file_and_from_stdin(db: str, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"name": "from a file", "type": "testing"}')
    from_file = run("--db", db, "call", "tasks.create", f"@{body}")
    from_stdin = run("--db", db, "call", "tasks.create", "-", input='{"name": "from stdin", "type": "testing"}')
    assert from_file.exit_code == from_stdin.exit_code == 0
    listed = run("--db", db, "call", "tasks.get_all", 'order_by:=["name"]', 'only_fields:=["name","type"]')
    assert json.loads(listed.stdout) == {
        "tasks": [{"name": "from a file", "type": "testing"}, {"name": "from stdin", "type": "testing"}]
    }


def test_call_api_error_exit_code_and_message(db: str) -> None:
    missing = run("--db", db, "call", "tasks.get_by_id", "task=nope")
    assert missing.exit_code == 4
    assert missing.stdout == ""
    assert missing.stderr == "error 400/101 (invalid_task_id): invalid task id: id=nope, company=local\n"
    unknown = run("--db", db, "call", "tasks.no_such_thing")
    assert (unknown.exit_code, unknown.stderr) == (
        4,
        "error 404/0 (not_found): endpoint not found: tasks.no_such_thing\n",
    )


def test_call_api_error_as_json(db: str) -> None:
    result = run("--db", db, "--json", "call", "tasks.get_by_id", '{"task": "nope"}')
    assert result.exit_code == 4
    assert json.loads(result.stdout) == {
        "error": {"code": 400, "subcode": 101, "name": "invalid_task_id",
                  "message": "invalid task id: id=nope, company=local", "data": {"id": "nope", "company": "local"}}
    }  # fmt: skip


def test_call_version_company_and_user(db: str) -> None:
    created = run("--db", db, "call", "--company", "acme", "--user", "alice", "tasks.create", "name=train",
                  "type=training")  # fmt: skip
    task_id = json.loads(created.stdout)["id"]
    assert run("--db", db, "call", "tasks.get_by_id", f"task={task_id}").exit_code == 4  # another company's
    as_acme = run("--db", db, "call", "--company", "acme", "tasks.get_by_id", f"task={task_id}")
    task = json.loads(as_acme.stdout)["task"]
    assert (task["company"], task["user"]) == ("acme", "alice")
    too_old = run("--db", db, "call", "--api-version", "2.9", "tasks.add_or_update_artifacts", f"task={task_id}")
    assert (too_old.exit_code, too_old.stderr) == (
        4,
        "error 404/0 (not_found): endpoint not found: tasks.add_or_update_artifacts (version 2.9)\n",
    )


@pytest.mark.parametrize(
    ("args", "body"),
    [
        ((), None),
        (('{"a": 1}',), {"a": 1}),
        (("a=1", "b:=1", "c:=[1, 2]", "hyperparams.Args.lr.value=0.1"),
         {"a": "1", "b": 1, "c": [1, 2], "hyperparams.Args.lr.value": "0.1"}),
        (('{"task": "x"}\n{"task": "y"}',), '{"task": "x"}\n{"task": "y"}'),  # JSON lines pass through
    ],
)  # fmt: skip
def test_parse_body(args: tuple[str, ...], body: object) -> None:
    assert parse_body(args) == body


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("{bad",), "not valid JSON: {bad"),
        (("a=1", "oops"), "expected key=string or key:=json"),
        (("a:=nope",), "the value after := must be JSON"),
        (("@/no/such/file",), "cannot read /no/such/file"),
    ],
)
def test_call_bad_bodies_are_usage_errors(db: str, args: tuple[str, ...], message: str) -> None:
    result = run("--db", db, "call", "tasks.create", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_db_option_env_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert to_url(None) == "sqlite:///taskstore.db"
    assert to_url("x.db") == "sqlite:///x.db"
    assert to_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert display_url("sqlite:///taskstore.db") == "./taskstore.db"
    assert display_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    # the default: ./taskstore.db
    assert run("call", "tasks.create", "name=train", "type=training").exit_code == 0
    assert os.path.exists(tmp_path / "taskstore.db")
    # TASKSTORE_URL, and --db after the command wins over it
    env_db = tmp_path / "env.db"
    assert run("call", "tasks.create", "name=train", "type=training", env={"TASKSTORE_URL": str(env_db)}).exit_code == 0
    with TaskStore(f"sqlite:///{env_db}") as store:
        assert len(store.call("tasks.get_all", {})["tasks"]) == 1
    listed = run("tasks", "list", "--db", str(tmp_path / "taskstore.db"), "--json", env={"TASKSTORE_URL": "nowhere.db"})
    assert [t["name"] for t in json.loads(listed.stdout)] == ["train"]


def test_reading_commands_do_not_create_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    hint = "run `taskstore demo` to make one, or pass --db URL (or set TASKSTORE_URL)"
    for args in (("tasks", "list"), ("tasks", "show", "abcd"), ("queues", "list"), ("export",)):
        result = run(*args)
        assert (result.exit_code, result.stderr) == (1, f"Error: no store at ./taskstore.db: {hint}\n"), args
    assert not os.path.exists(tmp_path / "taskstore.db")


def test_unreachable_database_is_a_message_not_a_traceback() -> None:
    result = run("--db", "postgresql://nobody@127.0.0.1:1/none", "tasks", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: database error on postgresql://nobody@127.0.0.1:1/none: ")


def test_version_and_help() -> None:
    assert run("--version").stdout == "taskstore, version 0.1.0\n"
    helped = run("--help")
    assert helped.exit_code == 0
    for command in ("call", "db", "demo", "export", "import", "queues", "tasks"):
        assert f"\n  {command} " in helped.stdout
