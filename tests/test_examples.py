"""Every example in examples/ runs, as a user would run it (a subprocess), on the file backends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: str, cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TASKSTORE_URL"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.file_backends
def test_local_runner(db_url: str) -> None:
    result = run(str(EXAMPLES / "local_runner.py"), "--db", db_url, "--workers", "3", "--tasks", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "enqueued 8 tasks on 'local runner'; starting 3 workers"
    assert re.fullmatch(r"tasks per worker: worker-\d=\d(, worker-\d=\d)*", out[1]), out[1]
    assert sum(int(n) for n in re.findall(r"=(\d)", out[1])) == 8
    assert out[2] == "completed 7, failed 1"
    assert re.fullmatch(r"best: run 3 lr=0.3 depth=5 \([0-9a-f]{32}\) accuracy/val=0.9515 run by worker-\d", out[3])


@pytest.mark.file_backends
def test_offline_tracking(db_url: str) -> None:
    result = run(str(EXAMPLES / "offline_tracking.py"), "--db", db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("tracked 8 runs in ")
    assert out[1:3] == [
        "adam runs by val loss: optimizer=adam lr=0.01 dropout=0.0, optimizer=adam lr=0.01 dropout=0.3, "
        "optimizer=adam lr=0.1 dropout=0.0, optimizer=adam lr=0.1 dropout=0.3",
        "runs with accuracy/val >= 0.81: 2",
    ]
    assert re.fullmatch(r"best: sweep optimizer=adam lr=0.01 dropout=0.0 \([0-9a-f]{32}\)", out[3])
    assert out[4] == "comparison of the two best runs:"
    assert [re.sub(r"[0-9a-f]{8}", "<id>", line) for line in out[5:]] == [
        "                  <id>    <id>",
        "* dropout              0.0         0.3",
        "  lr                  0.01        0.01",
        "  optimizer           adam        adam",
        "* accuracy/val      0.8267      0.8167",
        "* loss/val            0.52        0.55",
    ]


def test_downstream_project_tests_pass_with_only_the_plugin() -> None:
    project = EXAMPLES / "downstream_pytest"
    assert not (project / "conftest.py").exists() and not (project / "tests" / "conftest.py").exists()
    result = run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^7 passed in ", result.stdout, re.MULTILINE), result.stdout


@pytest.mark.postgres_only
def test_shared_postgres(db_url: str) -> None:
    result = run(str(EXAMPLES / "shared_postgres.py"), db_url, "--tasks", "15")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert re.fullmatch(r"postgresql://.+: queue 'shared \d+', 15 tasks", out[0])
    assert sorted(out[1:3]) == ["scheduler exited with 0", "worker exited with 0"]
    assert out[3] == "completed by the worker: 15; left in the queue: 0"


def test_shared_postgres_wants_a_postgresql_url() -> None:
    result = run(str(EXAMPLES / "shared_postgres.py"), "sqlite:///x.db")
    assert result.returncode == 2
    assert "give a PostgreSQL URL (or set TASKSTORE_URL)" in result.stderr
