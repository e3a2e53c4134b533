"""The ``taskstore`` command line (click + rich).

    taskstore demo                              run a small sweep into ./taskstore.db
    taskstore tasks list | show ID | compare ID ID...
    taskstore queues list
    taskstore call ENDPOINT [BODY]              one endpoint, the response as JSON
    taskstore export / import                   a whole store as JSON lines
    taskstore db current | check | upgrade      the schema revision

One module per concern: app (options, errors, exit codes), render (tables, plain text, JSON),
lookup (ids, names), and the commands.  See docs/cli.md.
"""

from __future__ import annotations

from taskstore.cli.app import cli
from taskstore.cli.calls import call, queues
from taskstore.cli.dbcmd import db
from taskstore.cli.demo import demo
from taskstore.cli.tasks import tasks
from taskstore.cli.transfercmd import export, import_

__all__ = ["cli", "main"]

for command in (demo, tasks, queues, call, export, import_, db):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit code."""
    try:
        cli.main(args=argv, prog_name="taskstore", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
