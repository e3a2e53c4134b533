"""``only_fields`` / ``projection`` and the response documents of get_all / get_all_ex (query_edit §1.12).

get_all uses paths verbatim: only what is asked for is returned (``id`` too), ``-path`` excludes, an
unknown or reference-crossing path (``project.name``) is 400/14.  The ``_ex`` endpoints add ``id``,
accept ``*`` (every field) and ``path.*``, expand every reference to ``{"id": ...}`` and join the
referenced entities for ``ref.sub`` paths (``project.name``, ``parent.name``, ``execution.queue.name``,
``models.input.model.name``; joins recurse).

Only the columns a projection needs are read, and documents are built field by field from the row
(``base_document``, which equals ``shaping.task_document`` for a whole task - a test keeps them
equal); the version conversions run after projecting, on what is left, as the reference's do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from taskstore.api import shaping
from taskstore.db.records import ModelRecord, ProjectRecord, QueueEntryRecord, QueueRecord, TaskRecord
from taskstore.db.types import render_time
from taskstore.ops.context import OpContext, chunks
from taskstore.query.paths import FIELDS, REFERENCES, invalid, resolve, split

T = TaskRecord.__table__
Path = tuple[str, ...]
_SIMPLE = ("id", "name", "type", "status", "company", "user")
_TIMES = ("created", "started", "completed", "published", "status_changed", "last_update", "last_change")
_OPTIONAL = ("comment", "project", "parent", "active_duration", "status_reason", "status_message")
_DOCS = ("output", "hyperparams", "configuration", "container", "runtime", "last_metrics")
ENTITY_REFS: dict[str, dict[Path, str]] = {
    "task": dict(REFERENCES),
    "project": {("company",): "company", ("user",): "user", ("parent",): "project"},
    "queue": {("company",): "company", ("user",): "user"},
    "model": {("company",): "company", ("user",): "user", ("task",): "task", ("project",): "project",
              ("parent",): "model"},
}  # fmt: skip


@dataclass
class Projection:
    includes: list[Path] = field(default_factory=list)
    excludes: list[Path] = field(default_factory=list)
    joins: dict[Path, list[Path] | None] = field(default_factory=dict)  # ref -> sub-paths (None: all)
    star: bool = False  # every field, the ones hidden by default too

    @property
    def tops(self) -> set[str] | None:
        """Top-level fields to build (None: all)."""
        if self.star or not self.includes:
            return None
        return {p[0] for p in self.includes}

    def columns(self) -> list[Any]:
        tops = self.tops
        if tops is None:
            return list(T.columns)
        names = {FIELDS[t].column for t in tops if t in FIELDS}
        return [c for c in T.columns if c.name in names]


def _outer_only(paths: list[Path]) -> list[Path]:
    """Drop paths inside another requested path; keep order and uniqueness."""
    out: list[Path] = []
    for p in paths:
        if p in out or any(p[: len(q)] == q for q in paths if len(q) < len(p)):
            continue
        out.append(p)
    return out


def split_joins(paths: Iterable[Path], refs: Mapping[Path, str]) -> tuple[list[Path], dict[Path, list[Path] | None]]:
    """Separate ``ref.sub`` paths into joins; the reference itself stays a projected path."""
    own: list[Path] = []
    joins: dict[Path, list[Path] | None] = {}
    by_length = sorted(refs, key=len, reverse=True)
    for p in paths:
        ref = next((r for r in by_length if p[: len(r)] == r and len(p) > len(r)), None)
        if ref is None:
            own.append(p)
            continue
        own.append(ref)
        sub = p[len(ref) :]
        if sub == ("*",):
            joins[ref] = None
        elif joins.get(ref, []) is not None:
            joins.setdefault(ref, []).append(sub)  # type: ignore[union-attr]
    return own, joins


def parse_projection(entries: Sequence[str] | None, *, ex: bool) -> Projection:
    """Parse ``only_fields``; unknown fields are 400/14."""
    out = Projection()
    includes: list[Path] = []
    for raw in entries or ():
        if not isinstance(raw, str):
            raise invalid(str(raw))
        text = raw.strip()
        negative = text.startswith("-")
        text = text[1:].strip() if negative else text
        if ex and text == "*":
            out.star = not negative or out.star
            continue
        star_suffix = ex and text.endswith(".*")
        if star_suffix:
            text = text[:-2]
        if not text:
            raise invalid(raw)
        parts = split(text)
        if star_suffix and parts in REFERENCES:
            parts = (*parts, "*")
        (includes if not negative else out.excludes).append(parts)
    if ex:
        includes, out.joins = split_joins(includes, REFERENCES)
    for p in [*includes, *out.excludes]:
        resolve(p)
    out.includes = _outer_only(includes)
    if ex and out.includes and ("id",) not in out.includes and not out.star:
        out.includes.insert(0, ("id",))
    if out.star:
        out.includes = []
    return out


# --------------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------------
def base_document(row: Mapping[Any, Any], tops: set[str] | None, *, hidden: bool = False) -> dict[str, Any]:
    """A task in response form (before version conversions), with only ``tops`` (None: all fields).

    ``hidden``: include the fields list endpoints leave out by default (company_origin, enqueue_status).
    """

    def want(name: str) -> bool:
        return tops is None or name in tops

    doc: dict[str, Any] = {}
    for name in _SIMPLE:
        if want(name):
            doc[name] = row[name]
    if want("last_iteration"):
        doc["last_iteration"] = row["last_iteration"] or 0
    for name in ("tags", "system_tags"):
        if want(name):
            doc[name] = sorted(row[name] or [])
    for name in _TIMES:
        if want(name) and row[name] is not None:
            doc[name] = render_time(row[name])
    for name in _OPTIONAL:
        if want(name) and row[name] is not None:
            doc[name] = row[name]
    if want("output"):
        doc["output"] = row["output"] or {}
    if want("execution"):
        execution = {
            "test_split": 0,
            "parameters": {},
            "model_desc": {},
            "model_labels": {},
            **(row["execution"] or {}),
        }
        execution["artifacts"] = shaping.artifacts_list(execution.get("artifacts"))
        doc["execution"] = execution
    if want("script"):
        doc["script"] = {"binary": "python", "repository": "", "entry_point": "", "requirements": {},
                         **(row["script"] or {})}  # fmt: skip
    for name in _DOCS[1:]:
        if want(name):
            doc[name] = row[name] or {}
    if want("models"):
        doc["models"] = {"input": [], "output": [], **(row["models"] or {})}
    if tops is None or any(t in tops for t in ("metric_stats", *_EXTRA_TOPS)):
        extra = row["extra"] or {}
        if want("metric_stats"):
            doc["metric_stats"] = {}
        for key, value in extra.items():
            if tops is None:
                if hidden or key not in shaping.HIDDEN_BY_DEFAULT:
                    doc[key] = value
            elif key in tops:
                doc[key] = value
    return doc


_EXTRA_TOPS = tuple(name for name, f in FIELDS.items() if f.column == "extra")


def _pick(value: Any, tree: Mapping[str, Any] | None) -> Any:
    if tree is None:  # the whole value
        return value
    if isinstance(value, list):
        return [_pick(v, tree) for v in value if isinstance(v, dict)]
    if not isinstance(value, dict):
        return _MISSING
    out = {}
    for key, sub in tree.items():
        if key in value:
            got = _pick(value[key], sub)
            if got is not _MISSING:
                out[key] = got
    return out


_MISSING = object()


def _tree(paths: Iterable[Path]) -> dict[str, Any]:
    """Paths as a tree: a key maps to None (the whole value) or to the tree of its sub-paths."""
    root: dict[str, Any] = {}
    for p in paths:
        node: dict[str, Any] | None = root
        for part in p[:-1]:
            assert node is not None
            if part in node and node[part] is None:
                node = None  # inside a path already taken whole
                break
            node = node.setdefault(part, {})
        if node is not None:
            node[p[-1]] = None
    return root


def _drop(value: Any, tree: Mapping[str, Any]) -> None:
    if isinstance(value, list):
        for v in value:
            _drop(v, tree)
        return
    if not isinstance(value, dict):
        return
    for key, sub in tree.items():
        if key not in value:
            continue
        if sub is None:
            del value[key]
        else:
            _drop(value[key], sub)


def project(doc: dict[str, Any], includes: Sequence[Path], excludes: Sequence[Path]) -> dict[str, Any]:
    """Keep ``includes`` (all when empty), then remove ``excludes``; through lists, per element."""
    if includes:
        doc = _pick(doc, _tree(includes))
    if excludes:
        _drop(doc, _tree(excludes))
    return doc


def shape(rows: Iterable[Any], proj: Projection, ctx: OpContext) -> list[dict[str, Any]]:
    """Rows of ``tasks`` -> response documents (projected, version conversions applied)."""
    tops = proj.tops
    hidden = proj.star
    hidden_tops = {p[0] for p in proj.includes} & set(shaping.HIDDEN_BY_DEFAULT)
    out = []
    for row in rows:
        doc = base_document(row._mapping, tops, hidden=hidden or bool(hidden_tops))
        doc = project(doc, proj.includes, proj.excludes)
        asked = set(doc) if proj.includes else None
        doc = shaping.apply_version(doc, ctx.version)
        if asked is not None:  # legacy views of fields that were not asked for stay out
            doc = {k: v for k, v in doc.items() if k in asked}
        out.append(doc)
    return out


# --------------------------------------------------------------------------------------------------
# References (_ex endpoints)
# --------------------------------------------------------------------------------------------------
def _ref(value: Any, joined: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    if not value:
        return {}
    found = joined.get(value) if joined is not None and isinstance(value, str) else None
    return {"id": value, **{k: v for k, v in (found or {}).items() if k != "id"}}


def expand_refs(doc: dict[str, Any], refs: Mapping[Path, str], joined: Mapping[Path, dict[str, Any]]) -> None:
    """Replace every present reference by ``{"id": ...}`` (plus the joined entity's fields)."""
    for path in refs:
        table = joined.get(path)
        *parents, last = path
        holders: list[Any] = [doc]
        for part in parents:
            nxt: list[Any] = []
            for h in holders:
                v = h.get(part) if isinstance(h, dict) else None
                nxt.extend(v if isinstance(v, list) else [v])
            holders = nxt
        for h in holders:
            if isinstance(h, dict) and last in h:
                h[last] = _ref(h[last], table)


def _values_at(docs: Iterable[dict[str, Any]], path: Path) -> set[str]:
    found: set[str] = set()
    for doc in docs:
        holders: list[Any] = [doc]
        for part in path:
            nxt: list[Any] = []
            for h in holders:
                v = h.get(part) if isinstance(h, dict) else None
                nxt.extend(v if isinstance(v, list) else [v])
            holders = nxt
        found.update(h for h in holders if isinstance(h, str) and h)
    return found


def resolve_joins(
    ctx: OpContext, docs: list[dict[str, Any]], kind: str, joins: Mapping[Path, list[Path] | None]
) -> None:
    """Expand the references of ``docs`` (entities of ``kind``), joining what ``joins`` asks for."""
    refs = ENTITY_REFS[kind]
    joined: dict[Path, dict[str, Any]] = {}
    for ref, subpaths in joins.items():
        target = refs.get(ref)
        ids = _values_at(docs, ref)
        if target in ENTITY_REFS and ids:
            joined[ref] = load_entities(ctx, target, sorted(ids), subpaths)
    for doc in docs:
        expand_refs(doc, refs, joined)


_RECORDS: dict[str, Any] = {"project": ProjectRecord, "queue": QueueRecord, "model": ModelRecord, "task": TaskRecord}


def load_entities(ctx: OpContext, kind: str, ids: list[str], subpaths: list[Path] | None) -> dict[str, dict[str, Any]]:
    """Visible entities of ``kind`` by id, projected to ``subpaths`` (None: all), references expanded."""
    record = _RECORDS[kind]
    own, nested = split_joins(subpaths or [], ENTITY_REFS[kind])
    includes = _outer_only(own)
    if includes and ("id",) not in includes:
        includes.insert(0, ("id",))
    docs: dict[str, dict[str, Any]] = {}
    for chunk in chunks(ids):
        if kind == "task":
            rows = ctx.conn.execute(select(T).where(T.c.id.in_(chunk), ctx.visible(TaskRecord)))
            for row in rows:
                doc = shaping.apply_version(base_document(row._mapping, None), ctx.version)
                docs[row.id] = doc
            continue
        for entity in ctx.session.scalars(select(record).where(record.id.in_(chunk), ctx.visible(record))):
            docs[entity.id] = _entity_document(ctx, kind, entity, includes)
    out = {k: project(v, includes, []) for k, v in docs.items()}
    resolve_joins(ctx, list(out.values()), kind, nested)
    return out


def _entity_document(ctx: OpContext, kind: str, entity: Any, includes: list[Path]) -> dict[str, Any]:
    if kind == "project":
        return shaping.project_document(entity)
    if kind == "model":
        return shaping.model_document(entity)
    entries: list[tuple[str, Any]] = []
    if not includes or any(p[0] == "entries" for p in includes):
        entries = [
            (e.task, e.added)
            for e in ctx.session.scalars(
                select(QueueEntryRecord).where(QueueEntryRecord.queue == entity.id).order_by(QueueEntryRecord.seq)
            )
        ]
    return shaping.queue_document(entity, entries)
