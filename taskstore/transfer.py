"""Export a whole store as JSON lines and import it into another, at the records level.

One line per entity, each with a ``kind``; the first line is a header::

    {"kind": "header", "format": "taskstore-export", "version": 1, "revision": "0003", ...}
    {"kind": "project", "id": ..., "company": ..., "name": ..., "created": "2024-...+00:00", ...}
    {"kind": "model", ...}
    {"kind": "task", ...}                       # every column of the tasks table, documents as JSON
    {"kind": "queue", ..., "entries": [{"task": ..., "added": ...}, ...]}   # entries in queue order
    {"kind": "event", "task": ..., "type": ..., "metric": ..., ...}

Rows are written straight from the records (every company, every column; times as ISO-8601 UTC),
so an import reproduces the store exactly, whatever the API would show.  Derived tables are rebuilt,
not exported: ``task_tags`` from the tasks' tags, SQLite's search and sort-key tables by their
triggers; scroll states are transient.  Tasks come before queues so that a merge can drop the
queue entries of a replaced task before the imported queues bring theirs.

An import is one transaction: it either lands whole or changes nothing.  It refuses ids that the
target already has (:class:`ImportConflict`) unless ``merge=True``, which replaces those entities
(a replaced task loses its old events and queue entries; the imported ones take their place).
Imported tasks keep their relative insertion order and come after the tasks already in the target.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Table, delete, func, insert, select, text

from taskstore.db.engine import Database
from taskstore.db.migrate import KNOWN_REVISIONS, ensure_current
from taskstore.db.records import (
    Base,
    EventRecord,
    ModelRecord,
    ProjectRecord,
    QueueEntryRecord,
    QueueRecord,
    TaskRecord,
    TaskTagRecord,
)
from taskstore.db.types import render_time

__all__ = ["FORMAT", "FORMAT_VERSION", "ImportConflict", "ImportResult", "TransferError", "export", "import_"]

FORMAT = "taskstore-export"
FORMAT_VERSION = 1
BATCH = 500

_TASKS: Table = TaskRecord.__table__  # type: ignore[assignment]
_TAGS: Table = TaskTagRecord.__table__  # type: ignore[assignment]
_ENTRIES: Table = QueueEntryRecord.__table__  # type: ignore[assignment]
_EVENTS: Table = EventRecord.__table__  # type: ignore[assignment]
# Export order (see the module doc): kind -> table.
KINDS: dict[str, Table] = {
    "project": ProjectRecord.__table__,  # type: ignore[dict-item]
    "model": ModelRecord.__table__,  # type: ignore[dict-item]
    "task": _TASKS,
    "queue": QueueRecord.__table__,  # type: ignore[dict-item]
    "event": _EVENTS,
}
# Tables that are not exported as kinds of their own, and why (a test checks every table is covered).
DERIVED = {
    "task_tags": "rebuilt from the tasks' tags and system_tags",
    "queue_entries": "exported inside their queue",
    "task_scrolls": "transient get_all scroll positions",
}
# Columns not carried: events are numbered anew in the target (their seq is only an arrival order).
_SKIPPED = {"event": {"seq"}}


class TransferError(ValueError):
    """The input is not a taskstore export this version can read (the message says why and where)."""


class ImportConflict(TransferError):
    """The target already has entities with these ids (and ``merge`` was not asked for)."""

    def __init__(self, kind: str, ids: list[str]) -> None:
        self.kind = kind
        self.ids = ids
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        super().__init__(
            f"the target already has {len(ids)} {kind}{'' if len(ids) == 1 else 's'} with the same id ({shown}); "
            "nothing was imported"
        )


@dataclass
class ImportResult:
    """What an import did: entities written per kind, and how many of them replaced existing ones."""

    counts: Counter[str] = field(default_factory=Counter)
    replaced: Counter[str] = field(default_factory=Counter)
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def open_database(url: str | None) -> Database:
    """A database at the current schema (created or upgraded as ``TaskStore`` does on open)."""
    db = Database(url)
    try:
        ensure_current(db)
    except BaseException:
        db.dispose()
        raise
    return db


# -- export -------------------------------------------------------------------------------------------


def _times(table: Table) -> set[str]:
    return {c.name for c in table.columns if isinstance(c.type, DateTime)}


def _encode(row: Mapping[str, Any], times: set[str], skip: set[str]) -> dict[str, Any]:
    return {k: (render_time(v) if k in times else v) for k, v in row.items() if k not in skip}


def header(db: Database) -> dict[str, Any]:
    with db.transaction(write=False) as conn:
        revision = conn.execute(text("SELECT version_num FROM taskstore_alembic_version")).scalar()
    return {
        "kind": "header",
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "revision": revision,
        "dialect": db.dialect,
        "exported": render_time(datetime.now(UTC)),
    }


def export(db: Database) -> Iterator[dict[str, Any]]:
    """Every entity of ``db`` as export documents, header first, from one consistent snapshot."""
    yield header(db)
    with db.transaction(write=False) as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in conn.execute(select(_ENTRIES.c.queue, _ENTRIES.c.task, _ENTRIES.c.added).order_by(_ENTRIES.c.seq)):
            entries[e.queue].append({"task": e.task, "added": render_time(e.added)})
        for kind, table in KINDS.items():
            times, skip = _times(table), _SKIPPED.get(kind, set())
            order = [table.c.seq] if "seq" in table.c else []
            query = select(table).order_by(*order, *table.primary_key.columns)
            for row in conn.execution_options(yield_per=1000).execute(query).mappings():
                doc = {"kind": kind, **_encode(dict(row), times, skip)}
                if kind == "queue":
                    doc["entries"] = entries.get(row["id"], [])
                yield doc


def export_lines(db: Database, *, with_kind: bool = False) -> Iterator[Any]:
    """:func:`export` as JSON lines (without newlines); ``(kind, line)`` pairs with ``with_kind``."""
    for doc in export(db):
        line = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        yield (doc["kind"], line) if with_kind else line


# -- import -------------------------------------------------------------------------------------------


def _decode_time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise TransferError(f"{where}: not an ISO-8601 time: {value!r}") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


class _Importer:
    def __init__(self, conn: Connection, merge: bool, result: ImportResult) -> None:
        self.conn = conn
        self.merge = merge
        self.result = result
        self.seq_offset = int(conn.execute(select(func.coalesce(func.max(_TASKS.c.seq), 0))).scalar() or 0)
        self.columns = {kind: {c.name for c in table.columns} for kind, table in KINDS.items()}
        self.times = {kind: _times(table) for kind, table in KINDS.items()}

    def row(self, kind: str, doc: Mapping[str, Any], where: str) -> dict[str, Any]:
        known = self.columns[kind] | ({"entries"} if kind == "queue" else set())
        unknown = sorted(set(doc) - known - {"kind"} - _SKIPPED.get(kind, set()))
        if unknown:
            raise TransferError(
                f"{where}: unknown {kind} field(s) {', '.join(unknown)} (exported by a newer taskstore?)"
            )
        if kind != "event" and not isinstance(doc.get("id"), str):
            raise TransferError(f"{where}: {kind} without an id")
        row = {k: v for k, v in doc.items() if k in self.columns[kind] and k not in _SKIPPED.get(kind, set())}
        for name in self.times[kind] & row.keys():
            row[name] = _decode_time(row[name], f"{where}: {name}")
        if kind == "task" and row.get("seq") is not None:
            row["seq"] = int(row["seq"]) + self.seq_offset
        return row

    def flush(self, kind: str, rows: list[dict[str, Any]], queue_entries: dict[str, list[Any]]) -> None:
        if not rows:
            return
        table = KINDS[kind]
        if kind != "event":
            ids = [r["id"] for r in rows]
            if len(set(ids)) != len(ids):
                dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
                raise TransferError(f"the input has {kind} id(s) {', '.join(dupes)} more than once")
            existing = list(self.conn.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())
            if existing and not self.merge:
                raise ImportConflict(kind, sorted(existing))
            if existing:
                self._drop(kind, table, existing)
                self.result.replaced[kind] += len(existing)
        self.conn.execute(insert(table), rows)
        if kind == "task":
            tags = [
                {"task": r["id"], "system": system, "tag": tag}
                for r in rows
                for system, key in ((False, "tags"), (True, "system_tags"))
                for tag in sorted(set(r.get(key) or ()))
            ]
            if tags:
                self.conn.execute(insert(_TAGS), tags)
        if kind == "queue":
            entries = [
                {"queue": r["id"], "task": e["task"], "added": _decode_time(e["added"], f"queue {r['id']} entry")}
                for r in rows
                for e in queue_entries.get(r["id"], [])
            ]
            if entries:
                self.conn.execute(insert(_ENTRIES), entries)
        self.result.counts[kind] += len(rows)

    def _drop(self, kind: str, table: Table, ids: list[str]) -> None:
        if kind == "task":
            self.conn.execute(delete(_EVENTS).where(_EVENTS.c.task.in_(ids)))
            self.conn.execute(delete(_ENTRIES).where(_ENTRIES.c.task.in_(ids)))
            self.conn.execute(delete(_TAGS).where(_TAGS.c.task.in_(ids)))
        if kind == "queue":
            self.conn.execute(delete(_ENTRIES).where(_ENTRIES.c.queue.in_(ids)))
        self.conn.execute(delete(table).where(table.c.id.in_(ids)))


def _documents(source: Iterable[Mapping[str, Any] | str]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for n, item in enumerate(source, 1):
        if isinstance(item, str):
            if not item.strip():
                continue
            try:
                item = json.loads(item)
            except ValueError as exc:
                raise TransferError(f"line {n}: not JSON ({exc})") from None
        if not isinstance(item, Mapping):
            raise TransferError(f"line {n}: not a JSON object")
        yield n, item


def check_header(doc: Mapping[str, Any]) -> dict[str, Any]:
    if doc.get("kind") != "header" or doc.get("format") != FORMAT:
        raise TransferError(f"line 1: not a {FORMAT} file (no header line; make one with `taskstore export`)")
    if doc.get("version") != FORMAT_VERSION:
        raise TransferError(
            f"line 1: export format version {doc.get('version')!r}; this taskstore reads {FORMAT_VERSION}"
        )
    if doc.get("revision") not in KNOWN_REVISIONS:
        raise TransferError(f"line 1: exported at schema revision {doc.get('revision')!r}, unknown to this taskstore")
    return dict(doc)


def import_(
    db: Database,
    source: Iterable[Mapping[str, Any] | str],
    *,
    merge: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import export documents (or JSON lines) into ``db`` in one transaction.

    ``progress(n)`` is called after each batch with the number of input lines it consumed.

    Raises:
        ImportConflict: an id exists in ``db`` and ``merge`` is false (nothing imported).
        TransferError: the input is not a readable export (nothing imported).
    """
    result = ImportResult()
    with db.transaction(write=True) as conn:
        importer = _Importer(conn, merge, result)
        kind: str | None = None
        rows: list[dict[str, Any]] = []
        entries: dict[str, list[Any]] = {}
        consumed = 0
        for n, doc in _documents(source):
            if not result.header:
                result.header = check_header(doc)
                consumed += 1
                continue
            where = f"line {n}"
            new_kind = doc.get("kind")
            if new_kind not in KINDS:
                raise TransferError(f"{where}: unknown kind {new_kind!r}")
            if new_kind != kind or len(rows) >= BATCH:
                if kind is not None:
                    importer.flush(kind, rows, entries)
                if progress is not None and consumed:
                    progress(consumed)
                kind, rows, entries, consumed = str(new_kind), [], {}, 0
            rows.append(importer.row(str(kind), doc, where))
            if kind == "queue":
                entries[doc["id"]] = list(doc.get("entries") or [])
            consumed += 1
        if not result.header:
            raise TransferError(f"empty input: not a {FORMAT} file")
        if kind is not None:
            importer.flush(kind, rows, entries)
        if progress is not None and consumed:
            progress(consumed)
    return result


def covered_tables() -> set[str]:
    """Every table name the export handles (as a kind or as derived)."""
    return {t.name for t in KINDS.values()} | set(DERIVED)


def all_tables() -> set[str]:
    return {t.name for t in Base.metadata.sorted_tables}
