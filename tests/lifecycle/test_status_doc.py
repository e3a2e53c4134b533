"""docs/status.md is generated from the status machine and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taskstore.ops import statemachine

DOC = Path(__file__).resolve().parents[2] / "docs" / "status.md"


def test_status_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == statemachine.markdown(), (
        "docs/status.md is stale: run `python -m taskstore.ops.statemachine --mermaid docs/status.md`"
    )


def test_the_diagram_has_every_move_of_the_machine() -> None:
    text = statemachine.mermaid()
    for source, dests in statemachine.ALLOWED.items():
        for dest in dests:
            assert f"    {source.value} --> {dest.value}\n" in text + "\n"
    assert text.count(" --> ") == 1 + sum(len(d) for d in statemachine.ALLOWED.values())


def test_the_generator_command_prints_the_document() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "taskstore.ops.statemachine", "--mermaid"], capture_output=True, text=True, check=True
    ).stdout
    assert out == statemachine.markdown()
