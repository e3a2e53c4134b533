"""Timing helpers, the result rows and the table they print, and the machine description."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any


# ---------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------
def timed(fn: Callable[..., Any], *a: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    r = fn(*a)
    return time.perf_counter() - t0, r


def pct(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def run_py(code: str, *args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    if r.returncode != 0:
        raise RuntimeError(f"subprocess failed ({r.returncode}): {r.stderr.strip()[-800:]}")
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


class Row:
    """One line of the table: a workload's number for taskstore and for the raw floor."""

    def __init__(
        self,
        backend: str,
        workload: str,
        unit: str,
        ts: float | None,
        raw: float | None,
        target: tuple[str, float] | None = None,
        note: str = "",
    ) -> None:
        self.backend, self.workload, self.unit, self.ts, self.raw = backend, workload, unit, ts, raw
        self.target, self.note = target, note

    @property
    def ratio(self) -> float | None:
        """taskstore time per operation / raw time per operation."""
        if self.ts is None or self.raw is None or not self.ts or not self.raw:
            return None
        return self.raw / self.ts if self.unit == "/s" else self.ts / self.raw

    @property
    def ok(self) -> bool | None:
        if self.target is None or self.ts is None:
            return None
        op, val = self.target
        return self.ts >= val if op == ">=" else self.ts <= val

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "workload": self.workload,
            "unit": self.unit,
            "taskstore": self.ts,
            "raw": self.raw,
            "ratio": self.ratio,
            "target": list(self.target) if self.target else None,
            "meets_target": self.ok,
            "note": self.note,
        }


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "/s":
        return f"{v:,.0f}/s"
    if unit == "ms":
        digits = 0 if v >= 100 else 1 if v >= 10 else 2 if v >= 0.1 else 3
        return f"{v:,.{digits}f} ms"
    return f"{v:g} {unit}"


def fmt_target(t: tuple[str, float] | None, unit: str) -> str:
    if t is None:
        return ""
    op, val = t
    return ("≥ " if op == ">=" else "≤ ") + fmt(val, unit)


def render(rows: Iterable[Row]) -> str:
    head = ("backend", "workload", "taskstore", "raw", "ts/raw", "target", "")
    lines = []
    for r in rows:
        ts = r.note if r.ts is None and r.note else fmt(r.ts, r.unit)
        ratio = "" if r.ratio is None else f"{r.ratio:.1f}x"
        ok = "" if r.ok is None else ("ok" if r.ok else "MISS")
        note = r.note if r.ts is not None and r.note else ""
        lines.append(
            (
                r.backend,
                r.workload,
                ts,
                fmt(r.raw, r.unit),
                ratio,
                fmt_target(r.target, r.unit),
                (ok + ("  " + note if note else "")).strip(),
            )
        )
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]
    right = {2, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(x) for x in lines]
    return "\n".join(out)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": "",
    }
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    for pkg in ("taskstore", "sqlalchemy", "psycopg"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            info[pkg] = None
    return info
