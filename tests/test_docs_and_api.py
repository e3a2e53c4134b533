"""The public surface and the generated docs stay what they claim to be."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import taskstore
import taskstore.errors
from taskstore.api import coverage

ROOT = Path(__file__).resolve().parent.parent


def test_public_names_are_pinned() -> None:
    assert taskstore.__all__ == ["APIError", "TaskStore", "__version__"]
    assert taskstore.APIError is taskstore.errors.APIError
    assert taskstore.TaskStore.__name__ == "TaskStore"


def test_compatibility_coverage_table_is_current() -> None:
    text = (ROOT / "docs" / "compatibility.md").read_text("utf-8")
    assert coverage.render(text) == text, "run: python -m taskstore.api.coverage"


def test_import_is_cheap_and_touches_no_database(tmp_path: Path) -> None:
    # Importing taskstore must not import SQLAlchemy, pydantic or parse the schema.
    code = "import sys, taskstore; print(sorted(m for m in ('sqlalchemy', 'pydantic', 'pyhocon') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_catalogue_names_are_unique() -> None:
    names = [name for name, _ in taskstore.errors.CATALOGUE.values()]
    assert len(names) == len(set(names))
    err = taskstore.errors.error("invalid_task_id", id="x", company="c")
    assert (err.code, err.subcode, err.message, err.data) == (
        400, 101, "invalid task id: id=x, company=c", {"id": "x", "company": "c"}
    )  # fmt: skip
