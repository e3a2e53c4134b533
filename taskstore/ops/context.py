"""The call context: one session inside the call's transaction, the caller's identity and clock.

Every company filter lives here: handlers and ops ask the context for records, never write their
own ``company == ...`` conditions.  Visibility follows the reference: a record is readable when its
company is the caller's or empty ("public"); writing a public record is 403/21.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, Row, Select, Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from taskstore.api.schema import Version
from taskstore.db.records import ModelRecord, ProjectRecord, QueueRecord, ScrollRecord, TaskRecord
from taskstore.db.types import utcnow
from taskstore.errors import APIError, error

R = TypeVar("R", TaskRecord, ProjectRecord, QueueRecord, ModelRecord, ScrollRecord)

# What "not found" is called for each kind of record, as the reference names it.
_MISSING = {
    TaskRecord: "invalid_task_id",
    ProjectRecord: "invalid_project_id",
    QueueRecord: "invalid_queue_id",
    ModelRecord: "invalid_model_id",
}
_KIND = {TaskRecord: "task", ProjectRecord: "project", QueueRecord: "queue", ModelRecord: "model"}


_GET_VISIBLE: dict[type[Any], Select[Any]] = {}
_TASKS = cast(Table, TaskRecord.__table__)


def visible_bound(company: Any) -> ColumnElement[bool]:
    """``visible()`` with the company as the bound parameter ``company``, for statements built once."""
    return or_(company == bindparam("company"), company == "")


def own_bound(company: Any, name: str = "company") -> ColumnElement[bool]:
    """``own()`` with the company as the bound parameter ``name``, for statements built once (an UPDATE
    of a table with a ``company`` column needs another name: that one is reserved for its SET clause)."""
    return cast(ColumnElement[bool], company == bindparam(name))


@lru_cache(maxsize=128)
def _task_columns(columns: tuple[str, ...], locked: bool) -> Select[Any]:
    stmt = select(*(_TASKS.c[c] for c in columns)).where(
        _TASKS.c.id == bindparam("task_id"), visible_bound(_TASKS.c.company)
    )
    return stmt.with_for_update() if locked else stmt


@dataclass
class OpContext:
    conn: Connection
    company: str
    user: str
    version: Version
    dialect: str
    now: datetime = field(default_factory=utcnow)
    _session: Session | None = None

    @property
    def session(self) -> Session:
        """The ORM session of this call, inside the call's transaction (made on first use)."""
        if self._session is None:
            self._session = Session(bind=self.conn, autoflush=True, expire_on_commit=False)
        return self._session

    def finish(self) -> None:
        """Flush what the ORM holds (end of a successful call)."""
        if self._session is not None:
            self._session.flush()

    def discard(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- visibility -------------------------------------------------------------------------------
    def visible(self, record: type[R]) -> ColumnElement[bool]:
        """The condition for records this caller can read: own company or public."""
        return or_(record.company == self.company, record.company == "")

    def own(self, record: type[R]) -> ColumnElement[bool]:
        return record.company == self.company

    def made_public_by_own(self) -> ColumnElement[bool]:
        """Public tasks that this caller's company made public (what tasks.make_private may take back)."""
        return and_(TaskRecord.company == "", TaskRecord.extra["company_origin"].as_string() == self.company)

    def missing(self, record: type[R], rid: str) -> APIError:
        return error(_MISSING[record], id=rid, company=self.company)

    def get(self, record: type[R], rid: str) -> R:
        """A record the caller can read, or the reference's "invalid id" error."""
        stmt = _GET_VISIBLE.get(record)
        if stmt is None:  # built once per record type: a hot path (every get_by_id)
            stmt = _GET_VISIBLE[record] = select(record).where(
                record.id == bindparam("task_id"), visible_bound(record.company)
            )
        found: R | None = self.session.scalars(stmt, {"task_id": rid, "company": self.company}).first()
        if found is None:
            raise self.missing(record, rid)
        return found

    def get_for_write(self, record: type[R], rid: str) -> R:
        """A record the caller may change: missing -> 400/<invalid id>, public -> 403/21."""
        stmt = select(record).where(record.id == rid, self.visible(record))
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        found = self.session.scalars(stmt).first()
        if found is None:
            raise self.missing(record, rid)
        if found.company != self.company:
            raise public_error(record, [rid])
        return found

    def task_columns_for_write(self, task_id: str, columns: tuple[str, ...]) -> Row[Any]:
        """Some columns of a task the caller may change, without the ORM (the hot paths of status
        changes and fine-grained edits); ``columns`` must include ``company``.  Missing -> 400/101,
        public -> 403/21; the row is locked on PostgreSQL (SQLite write transactions are exclusive)."""
        stmt = _task_columns(columns, self.dialect == "postgresql")
        row = self.conn.execute(stmt, {"task_id": task_id, "company": self.company}).first()
        if row is None:
            raise self.missing(TaskRecord, task_id)
        if row.company != self.company:
            raise public_error(TaskRecord, [task_id])
        return row

    def get_many_for_write(self, record: type[R], ids: Sequence[str]) -> dict[str, R]:
        """All of ``ids`` for writing, locked in sorted id order (no deadlocks between batches)."""
        wanted = sorted(set(ids))
        found: dict[str, R] = {}
        for chunk in chunks(wanted):
            stmt = select(record).where(record.id.in_(chunk), self.visible(record)).order_by(record.id)
            if self.dialect == "postgresql":
                stmt = stmt.with_for_update()
            found.update((r.id, r) for r in self.session.scalars(stmt))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise error(_MISSING[record], ids=missing)
        public = [i for i in wanted if found[i].company != self.company]
        if public:
            raise public_error(record, public)
        return found

    def exists(self, record: type[R], rid: str, *, any_company: bool = False) -> bool:
        cond: Any = record.id == rid
        stmt = select(record.id).where(cond) if any_company else select(record.id).where(cond, self.visible(record))
        return self.session.execute(stmt.limit(1)).first() is not None


def public_error(record: type[R], ids: Sequence[str]) -> APIError:
    """403/21 as the reference words it: the ids are in the message, not in the data."""
    return error("no_write_permission", f"cannot modify public {_KIND[record]}(s), ids={tuple(ids)!r}")


def chunks(items: Sequence[str], size: int = 1000) -> Iterable[Sequence[str]]:
    """Split long id lists: PostgreSQL refuses more than 65,535 bound parameters per statement."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
