"""Output for the command line: rich tables on a terminal, plain aligned text in a pipe, JSON on demand.

On a terminal: coloured headers, light boxes, short (8-character) ids.  Anywhere else: no colour, no
box characters, full ids and no line wrapping, so that ``grep``/``awk``/``cut`` work on the output.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from taskstore.errors import APIError

# Wide enough that nothing wraps when the output is a file or a pipe.
PLAIN_WIDTH = 10_000
SHORT_ID = 8
STATUS_STYLE = {
    "completed": "green",
    "published": "green",
    "in_progress": "cyan",
    "queued": "blue",
    "failed": "red",
    "stopped": "yellow",
    "closed": "yellow",
    "created": "dim",
}


def make_console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, highlight=False, width=PLAIN_WIDTH, no_color=True, emoji=False)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def print_api_error(exc: APIError, *, as_json: bool) -> None:
    name = exc.name
    sys.stderr.write(f"error {exc.code}/{exc.subcode} ({name}): {exc.message}\n")
    if as_json:
        error = {"code": exc.code, "subcode": exc.subcode, "name": name, "message": exc.message, "data": exc.data}
        print_json({"error": error})


def table(console: Console, columns: Sequence[str], *, right: Iterable[str] = (), wrap: Iterable[str] = ()) -> Table:
    """An empty table styled for ``console`` (add rows with :func:`cells`).

    On a narrow terminal only the ``wrap`` columns (names, values) are folded; ids, times, statuses
    and numbers keep one line."""
    right, wrap = set(right), set(wrap)
    if console.is_terminal:
        t = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False, collapse_padding=True)
    else:
        t = Table(box=None, show_edge=False, pad_edge=False, header_style="")
    for name in columns:
        t.add_column(name, justify="right" if name in right else "left", overflow="fold", no_wrap=name not in wrap)
    return t


def emit(console: Console, renderable: Any) -> None:
    """Print a table (or text); in plain mode without the padding rich leaves at the ends of lines."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.file.write(text + "\n" if text else "")


def cells(*values: Any, style: str = "") -> list[Text]:
    """Table cells as literal text (names may contain ``[...]``, which rich would read as markup)."""
    return [v if isinstance(v, Text) else Text("" if v is None else str(v), style=style) for v in values]


def heading(console: Console, text: str) -> None:
    if console.is_terminal:
        console.print(Text(text, style="bold underline"))
    else:
        console.print(Text(f"{text}:"))


def short(task_id: str | None, console: Console) -> str:
    if not task_id:
        return ""
    return task_id[:SHORT_ID] if console.is_terminal else task_id


def status_text(status: str | None, console: Console) -> Text:
    return Text(status or "", style=STATUS_STYLE.get(status or "", "") if console.is_terminal else "")


def fmt_time(value: str | None, console: Console | None = None) -> str:
    """An API time (ISO-8601 UTC) in local time: to the second, to the minute on a terminal."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone().strftime("%Y-%m-%d %H:%M" if console and console.is_terminal else "%Y-%m-%d %H:%M:%S")


def fmt_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# -- task documents -----------------------------------------------------------------------------------


def metric_hash(name: str) -> str:
    """The key of a metric or variant in ``last_metrics`` (md5 of the name, as the reference)."""
    return hashlib.md5(name.encode("utf-8")).hexdigest()  # a key, not a secret


def metric_path(title: str, series: str, field: str = "value") -> str:
    """``last_metrics.<md5 title>.<md5 series>.value``: what get_all filters and orders metrics by."""
    return f"last_metrics.{metric_hash(title)}.{metric_hash(series)}.{field}"


def metrics(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The task's last metrics as ``{metric, variant, value, min_value, max_value}``, sorted by name."""
    out: list[dict[str, Any]] = []
    for variants in (task.get("last_metrics") or {}).values():
        if isinstance(variants, Mapping):
            out.extend(dict(v) for v in variants.values() if isinstance(v, Mapping) and "metric" in v)
    return sorted(out, key=lambda m: (str(m.get("metric")), str(m.get("variant"))))


def metric_key(m: Mapping[str, Any]) -> str:
    return f"{m.get('metric')}/{m.get('variant')}"


def metric_values(task: Mapping[str, Any]) -> dict[str, Any]:
    """``{"metric/variant": last value}``."""
    return {metric_key(m): m.get("value") for m in metrics(task)}


def hyperparams(task: Mapping[str, Any]) -> dict[str, str]:
    """``{"Section/name": value}`` in section, then name order."""
    out: dict[str, str] = {}
    for section, params in sorted((task.get("hyperparams") or {}).items()):
        if isinstance(params, Mapping):
            for name, param in sorted(params.items()):
                value = param.get("value") if isinstance(param, Mapping) else param
                out[f"{section}/{name}"] = fmt_value(value)
    return out


def key_metrics(tasks: Sequence[Mapping[str, Any]], wanted: Sequence[str], limit: int = 3) -> list[str]:
    """The metric columns of a task table: ``wanted``, else the ``limit`` most common across ``tasks``
    (machine-monitoring metrics left out)."""
    if wanted:
        return list(wanted)
    counts: dict[str, int] = {}
    for task in tasks:
        for m in metrics(task):
            if not str(m.get("metric", "")).startswith(":monitor:"):
                counts[metric_key(m)] = counts.get(metric_key(m), 0) + 1
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:limit]
