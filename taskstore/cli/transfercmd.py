"""``taskstore export`` and ``taskstore import``: a whole store as JSON lines (taskstore.transfer)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, Any

import click

from taskstore.cli.app import HINT_NO_STORE, State, common, display_url, pass_state, to_url
from taskstore.cli.render import print_json


def _plural(kind: str, n: int) -> str:
    return f"{n} {kind}{'' if n == 1 else 's'}"


def _counts(counts: dict[str, int], *, all_kinds: bool = True) -> str:
    from taskstore.transfer import KINDS

    shown = [kind for kind in KINDS if all_kinds or counts.get(kind)]
    return ", ".join(_plural(kind, counts.get(kind, 0)) for kind in shown) or "nothing"


@click.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default="-",
              show_default=True, help="Write to this file (- is standard output).")  # fmt: skip
@common
@pass_state
def export(state: State, output: str) -> None:
    """Export every entity of the store as JSON lines.

    \b
    One line per project, model, task, queue (with its waiting tasks) and event, each with a "kind",
    after a header line; every company's data, straight from the database.  Read it back into
    another store with `taskstore --db URL import FILE`.
    """
    from taskstore.transfer import export_lines, open_database

    if not state.exists():
        raise click.ClickException(f"no store at {display_url(state.url)}: {HINT_NO_STORE}")
    db = open_database(state.url)  # brings an older schema up to date, as opening a store does
    counts: dict[str, int] = {}
    try:
        with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as out:
            for kind, line in export_lines(db, with_kind=True):
                out.write(line + "\n")
                counts[kind] = counts.get(kind, 0) + 1
    finally:
        db.dispose()
    counts.pop("header", None)
    where = "standard output" if output == "-" else output
    if state.json and output != "-":
        print_json({"output": output, "counts": counts})
    else:
        click.echo(f"exported {_counts(counts)} from {display_url(state.url)} to {where}", err=True)


def _lines(stream: IO[str]) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\n")


def _is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


@click.command("import")
@click.argument("source", metavar="SOURCE")
@click.option("--merge", is_flag=True, help="Replace entities whose ids the store already has (default: refuse).")
@common
@pass_state
def import_(state: State, source: str, merge: bool) -> None:
    """Import an export into the store (--db), in one transaction.

    \b
    SOURCE is a file written by `taskstore export`, - (standard input), or another store to copy
    from directly (a URL or a SQLite file), e.g. from a SQLite file into PostgreSQL:
      taskstore --db postgresql://me@dbhost/experiments import taskstore.db
    Ids the store already has are refused (nothing is imported) unless --merge replaces them.
    """
    from taskstore import transfer

    target_url = state.url
    if "://" not in source and source != "-" and _is_sqlite(source):
        source = to_url(source)  # a store's SQLite file: copy from it directly
    with ExitStack() as stack:
        total: int | None = None
        documents: Any
        if "://" in source:
            if to_url(source) == target_url:
                raise click.UsageError("SOURCE and --db are the same store")
            if not state.exists(source):
                raise click.ClickException(f"no store at {display_url(source)}")
            src = transfer.open_database(source)
            stack.callback(src.dispose)
            documents = transfer.export(src)
            label = display_url(source)
        else:
            stream = click.open_file(source, "r", encoding="utf-8")
            stack.enter_context(stream)
            documents = _lines(stream)
            total = None if source == "-" else _count_lines(source)
            label = "standard input" if source == "-" else source
        target = transfer.open_database(target_url)
        stack.callback(target.dispose)
        progress = _progress(state, total, stack)
        try:
            result = transfer.import_(target, documents, merge=merge, progress=progress)
        except transfer.ImportConflict as exc:
            raise click.ClickException(f"{label}: {exc} (--merge replaces them)") from None
        except transfer.TransferError as exc:
            raise click.ClickException(f"{label}: {exc}") from None
        except UnicodeDecodeError:
            raise click.ClickException(
                f"{label}: not a text file (expected the JSON lines of `taskstore export`)"
            ) from None
    counts = dict(result.counts)
    if state.json:
        print_json({"source": label, "target": display_url(target_url), "counts": counts,
                    "replaced": dict(result.replaced)})  # fmt: skip
        return
    replaced = f" (replaced {_counts(dict(result.replaced), all_kinds=False)})" if result.replaced else ""
    click.echo(f"imported {_counts(counts)}{replaced} from {label} into {display_url(target_url)}", err=True)


def _progress(state: State, total: int | None, stack: ExitStack) -> Any:
    """A progress callback drawing a rich bar on a terminal's standard error (else nothing)."""
    if not state.err.is_terminal:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=state.err,
        transient=True,
    )  # fmt: skip
    stack.enter_context(bar)
    job = bar.add_task("import", total=total)

    def advance(n: int) -> None:
        bar.advance(job, n)

    return advance
