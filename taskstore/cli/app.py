"""The ``taskstore`` command group: global options, opening the store, errors and exit codes.

Exit codes: 0 success; 1 a failure that is not an API error (no such store, a refused import, a
schema that needs upgrading, a database that cannot be reached); 2 a usage error (click's); 4 an
API error with a 4xx code and 5 one with a 5xx code (``call`` and every command that calls the API),
the code, subcode and message printed on standard error.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from taskstore import __version__
from taskstore.errors import APIError

if TYPE_CHECKING:
    from rich.console import Console

    from taskstore.store import TaskStore

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_FILE = "taskstore.db"
ENV_URL = "TASKSTORE_URL"
HINT_NO_STORE = "run `taskstore demo` to make one, or pass --db URL (or set TASKSTORE_URL)"


def to_url(value: str | None) -> str:
    """A SQLAlchemy URL from ``--db``: URLs as given, anything else is a SQLite file path."""
    if not value:
        return f"sqlite:///{DEFAULT_FILE}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser()}"


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite file URL (``None`` for other URLs and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("://", 1)[1]
    path = path[1:] if path.startswith("/") else path
    return path.split("?", 1)[0] or None


def display_url(url: str) -> str:
    """How a URL is shown to the user: the path of a SQLite file, a URL without its password."""
    path = sqlite_path(url)
    if path is not None:
        return path if os.path.isabs(path) or path.startswith(".") else f"./{path}"
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _as_typed(path: str) -> str:
    """``path`` as the user would type it: its bare name when PATH finds it there, else relative."""
    name = os.path.basename(path)
    found = shutil.which(name)
    if found and os.path.realpath(found) == os.path.realpath(path):
        return name
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


def program() -> str:
    """How to run taskstore again, for hints: ``taskstore``, ``.venv/bin/taskstore`` or
    ``.venv/bin/python -m taskstore``, whichever matches how it was started."""
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0.endswith(os.path.join("taskstore", "__main__.py")):
        return f"{_as_typed(sys.executable)} -m taskstore"
    if os.path.basename(argv0) == "taskstore" and os.path.exists(argv0):
        return _as_typed(argv0)
    return "taskstore"


class State:
    """Per-invocation state: where the store is, how to print, and the stores opened so far."""

    def __init__(self, db: str | None, as_json: bool) -> None:
        self.db = db
        self.json = as_json
        self._stores: list[TaskStore] = []
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def url(self) -> str:
        return to_url(self.db)

    def exists(self, url: str | None = None) -> bool:
        path = sqlite_path(url or self.url)
        return path is None or os.path.exists(path)

    def open(self, url: str | None = None, *, create: bool = False) -> TaskStore:
        """Open the store (``url`` or ``--db``); without ``create`` a missing SQLite file is an error."""
        from taskstore.store import TaskStore

        url = url or self.url
        if not create and not self.exists(url):
            raise click.ClickException(f"no store at {display_url(url)}: {HINT_NO_STORE}")
        store = TaskStore(url)
        self._stores.append(store)
        return store

    def close(self) -> None:
        while self._stores:
            self._stores.pop().close()

    @property
    def out(self) -> Console:
        if self._out is None:
            from taskstore.cli.render import make_console

            self._out = make_console(stderr=False)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from taskstore.cli.render import make_console

            self._err = make_console(stderr=True)
        return self._err

    @property
    def fancy(self) -> bool:
        """Is standard output a terminal (colours, boxes, short ids)?"""
        return bool(self.out.is_terminal)


pass_state = click.make_pass_decorator(State)


def exit_code(exc: APIError) -> int:
    return 5 if exc.code >= 500 else 4


def _state(ctx: click.Context) -> State:
    state = ctx.find_object(State)
    if state is None:  # a command invoked without the root group (tests of one command)
        state = ctx.obj = State(os.environ.get(ENV_URL), False)
    return state


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _state(ctx).db = value


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _state(ctx).json = True


def common(func: F) -> F:
    """``--db`` and ``--json`` accepted after a command too (``taskstore tasks list --json``)."""
    func = click.option(
        "--db",
        metavar="URL",
        expose_value=False,
        callback=_set_db,
        help="Database URL or SQLite file (default: $TASKSTORE_URL, else ./taskstore.db).",
    )(func)
    func = click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_set_json, help="Print JSON.")(
        func
    )
    return func


class Group(click.Group):
    """The root group: API errors and database failures become messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except APIError as exc:
            state = ctx.find_object(State)
            from taskstore.cli.render import print_api_error

            print_api_error(exc, as_json=bool(state and state.json))
            ctx.exit(exit_code(exc))
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("psycopg"):
                raise click.ClickException(
                    "PostgreSQL needs the psycopg driver: pip install 'taskstore[postgres]'"
                ) from None
            raise
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            from taskstore.db.migrate import SchemaVersionError

            if isinstance(exc, SchemaVersionError):
                raise click.ClickException(str(exc)) from None
            if isinstance(exc, SQLAlchemyError):
                detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                state = ctx.find_object(State)
                where = display_url(state.url) if state else "the database"
                raise click.ClickException(f"database error on {where}: {detail}") from None
            raise
        finally:
            state = ctx.find_object(State)
            if state is not None:
                state.close()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    metavar="URL",
    envvar=ENV_URL,
    show_envvar=True,
    help="Database: a SQLAlchemy URL (sqlite:///file.db, postgresql://user@host/db) or a SQLite file path. "
    "Default: ./taskstore.db.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.version_option(__version__, "--version", prog_name="taskstore")
@click.pass_context
def cli(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """The ClearML tasks API over a local SQLite file or a shared PostgreSQL database.

    \b
    Start with `taskstore demo`, then `taskstore tasks list`.
    Output is a table on a terminal, plain text in a pipe, JSON with --json.
    """
    ctx.obj = State(db, as_json)
