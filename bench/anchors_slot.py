#!/usr/bin/env python3
"""Run the shared performance anchors (anchors.py) with taskstore in its TASKSTORE SLOT, same run.

    .venv/bin/python bench/anchors_slot.py --quick --systems sqlite-json-wal,sqlite-jsontag-wal,sa-orm-wal,taskstore
    .venv/bin/python bench/anchors_slot.py --out anchors.json          # every system, ~40 min + taskstore

Every argument except ``--anchors PATH`` goes to anchors.py unchanged.  anchors.py is found at
``--anchors``, else ``$TASKSTORE_ANCHORS``, else ``../shared/bench/anchors.py`` next to this checkout
(/work/shared/bench/anchors.py here).  It is loaded as a module, not copied or edited.

Why a launcher: anchors.py's slot (class ``TaskstoreSystem``) speaks the planned contract, including
endpoints later issues add (``tasks.started`` / ``tasks.completed`` for W2, ``tasks.get_all`` for W3).
Called today it would stop at the first missing endpoint and lose the rest of taskstore's row.  This
launcher keeps the slot's own code for everything taskstore serves and, for what it does not serve
yet, leaves the cell empty ("-") instead of failing:

* W2 (and the status mix of the W3/W4 database) only when ``tasks.started`` and ``tasks.completed`` exist;
* W3 only when ``tasks.get_all`` exists; W4 (get_by_id at the largest size) always, on a database
  built with ``tasks.create`` calls (all tasks "created");
* W5's row count reads the SQLite file directly while ``tasks.get_all`` is missing.

As the endpoints land, each part switches to the slot's code by itself; nothing here needs editing.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import has_endpoints  # noqa: E402


def anchors_path(argv: list[str]) -> tuple[Path, list[str]]:
    rest, path = [], None
    it = iter(argv)
    for arg in it:
        if arg == "--anchors":
            path = next(it)
        elif arg.startswith("--anchors="):
            path = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    found = Path(path or os.environ.get("TASKSTORE_ANCHORS") or HERE.parent.parent / "shared" / "bench" / "anchors.py")
    if not found.is_file():
        raise SystemExit(f"anchors.py not found at {found} (give --anchors PATH or set TASKSTORE_ANCHORS)")
    return found, rest


def load_anchors(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("anchors", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["anchors"] = mod
    spec.loader.exec_module(mod)
    return mod


def install(an: Any) -> type:
    """Fill the slot: subclass anchors.TaskstoreSystem and wrap the two workload runners."""
    base: type = an.TaskstoreSystem

    class Slot(base):  # type: ignore[misc]
        label = "taskstore via store.call(...)"

        def available(self) -> Any:
            why = super().available()
            if why:
                return why
            self.has_w2 = has_endpoints("tasks.started", "tasks.completed")
            self.has_query = has_endpoints("tasks.get_all")
            return None

        def bulk_build(self, path: str, tasks: list[Any]) -> list[str]:
            if self.has_w2:
                return list(super().bulk_build(path, tasks))
            self.open(path, fresh=True)
            return [self.create(t) for t in tasks]  # no status changes yet: every task "created"

        def rows(self, path: str) -> tuple[int, int]:
            if self.has_query:
                n, partial = super().rows(path)
                return n, partial
            c = sqlite3.connect(path)
            try:
                n = c.execute("SELECT count(*) FROM tasks").fetchone()[0]
                partial = c.execute(
                    "SELECT count(*) FROM tasks WHERE "
                    "(SELECT count(*) FROM json_each(tasks.hyperparams, '$.Args')) <> ? OR "
                    "(SELECT count(*) FROM task_tags g WHERE g.task = tasks.id) <> ?",
                    (an.N_HPARAMS, len(an.TAG_KEYS)),
                ).fetchone()[0]
            finally:
                c.close()
            return n, partial

    orig_w1_w2, orig_w3_w4 = an.w1_w2, an.w3_w4

    def w1_w2(sys_: Any, work: str, n: int, repeats: int, log: Any) -> Any:
        if not isinstance(sys_, Slot) or sys_.has_w2:
            return orig_w1_w2(sys_, work, n, repeats, log)
        c_rates = []
        for r in range(repeats):  # anchors.w1_w2 without the W2 loop
            p = os.path.join(work, f"{sys_.name}-w1-{n}-{r}.db")
            tasks = [an.make_task(1_000_000 + r * n + i) for i in range(n)]
            sys_.open(p, fresh=True)
            t0 = time.perf_counter()
            for t in tasks:
                sys_.create(t)
            c_rates.append(n / (time.perf_counter() - t0))
            sys_.close()
            an.rm_db(p)
            log(f"  {sys_.name} W1 n={n} rep={r}: create {c_rates[-1]:.0f}/s (W2: tasks.started/completed not yet)")
        return c_rates, [], []

    def w3_w4(sys_: Any, work: str, n: int, do_get: bool, log: Any, keep: bool = False) -> Any:
        if not isinstance(sys_, Slot) or sys_.has_query:
            return orig_w3_w4(sys_, work, n, do_get, log, keep)
        if not do_get:
            log(f"  {sys_.name} n={n}: W3 skipped (tasks.get_all not yet)")
            return dict(build_s=None, size=0, q=[], order="", get=[])  # renders as "-"
        # W4 only (anchors.w3_w4's get part, same sampling).
        p = os.path.join(work, f"{sys_.name}-scale-{n}.db")
        tasks = an.tasks_for(n)
        build_s, ids = an.timed(sys_.bulk_build, p, tasks)
        size = an.db_size(p)
        sys_.close()
        sys_.open(p, fresh=False)
        rng = random.Random(3)
        sample = [(ids[rng.randrange(len(ids))],) for _ in range(300)]
        get_lat, _ = an.latencies(sys_.get, sample, min_reps=20, max_reps=300, budget_s=10.0)
        g = sys_.get(ids[len(ids) // 2])
        order = "n/a (no get_all yet)"
        if g["n_params"] != an.N_HPARAMS or g["n_tags"] != len(an.TAG_KEYS):
            order = f"GET INCOMPLETE {g}"
        sys_.close()
        if not keep:
            an.rm_db(p)
        log(
            f"  {sys_.name} n={n}: build {build_s:.1f}s (tasks.create calls), size {size / 2**20:.1f} MiB, "
            f"W3 skipped (tasks.get_all not yet), get p50 {an.statistics.median(get_lat) * 1e3:.2f} ms"
        )
        return dict(build_s=build_s, size=size, q=[], order=order, get=get_lat)

    an.TaskstoreSystem = Slot
    an.w1_w2 = w1_w2
    an.w3_w4 = w3_w4
    return Slot


def main() -> None:
    path, rest = anchors_path(sys.argv[1:])
    an = load_anchors(path)
    install(an)
    sys.argv = [str(path), *rest]
    an.main()


if __name__ == "__main__":
    main()
