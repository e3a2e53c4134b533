"""SQLAlchemy 2.0 typed records: the whole persistent data model.

Real columns for everything filtered or sorted; JSON documents for the nested parts of a task.
Tags live both in the task row (to return them in order) and in ``task_tags`` (so that an index
can answer tag filters).  This module imports nothing from the rest of taskstore
but its sibling db modules (column types; the full-text objects hooked onto ``tasks``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from taskstore.db.types import JSONDoc

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(32)
NAME = String(1024)
# Iterations are signed 64-bit in the reference: BIGINT on PostgreSQL (SQLite's INTEGER is 64-bit).
ITERATION = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONDoc(), list[Any]: JSONDoc(), datetime: DateTime(timezone=False)}


class TaskRecord(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    company: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(NAME)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="created")
    project: Mapped[str | None] = mapped_column(ID)
    parent: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime | None]
    started: Mapped[datetime | None]
    completed: Mapped[datetime | None]
    published: Mapped[datetime | None]
    status_changed: Mapped[datetime | None]
    last_update: Mapped[datetime | None]
    last_change: Mapped[datetime | None]
    last_iteration: Mapped[int] = mapped_column(ITERATION, default=0)
    active_duration: Mapped[int | None] = mapped_column(Integer)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_message: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    system_tags: Mapped[list[Any]] = mapped_column(default=list)
    execution: Mapped[dict[str, Any]] = mapped_column(default=dict)
    script: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[dict[str, Any]] = mapped_column(default=dict)
    container: Mapped[dict[str, Any]] = mapped_column(default=dict)
    runtime: Mapped[dict[str, Any]] = mapped_column(default=dict)
    models: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hyperparams: Mapped[dict[str, Any]] = mapped_column(default=dict)
    configuration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Everything else a task document may carry (enqueue_status, last_worker, metric_stats, ...).
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Insertion order: what get_all returns without order_by and its final tie-break (with id).  Set by
    # the INSERT itself, so every writer gets it; concurrent PostgreSQL inserts may share a value.
    seq: Mapped[int | None] = mapped_column(BigInteger, default=text("(SELECT coalesce(max(seq), 0) + 1 FROM tasks)"))

    __table_args__ = (
        Index(None, "seq", "id"),
        # Covering for what every query checks once it has an id (from a tag or id filter): the status
        # and visibility of the task are read from the index, the row only for those that pass.
        Index(None, "id", "status", "company"),
        Index(None, "company", "status"),
        Index(None, "company", "project"),
        Index(None, "company", "last_update"),
        Index(None, "company", "created"),
        Index(None, "company", "name"),
        Index(None, "parent"),
    )


class TaskTagRecord(Base):
    """One row per (task, tag); ``system`` tells tags from system_tags.  Answers tag filters."""

    __tablename__ = "task_tags"

    task: Mapped[str] = mapped_column(ID, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    system: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    tag: Mapped[str] = mapped_column(NAME, primary_key=True)

    # Covering: a tag filter reads task ids from the index alone.
    __table_args__ = (Index(None, "system", "tag", "task"),)


class ProjectRecord(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    company: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(NAME)
    basename: Mapped[str] = mapped_column(NAME)
    parent: Mapped[str | None] = mapped_column(ID)
    # Ancestor ids from the root down, so that "all descendants" is one indexed query.
    path: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    system_tags: Mapped[list[Any]] = mapped_column(default=list)
    default_output_destination: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime | None]
    last_update: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index(None, "company", "name"), Index(None, "parent"))


class QueueRecord(Base):
    __tablename__ = "queues"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    company: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(NAME)
    display_name: Mapped[str | None] = mapped_column(NAME)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    system_tags: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime | None]
    last_update: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index(None, "company", "name"),)


class QueueEntryRecord(Base):
    """A task waiting in a queue; ``seq`` orders the entries (the head has the smallest)."""

    __tablename__ = "queue_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(ID, ForeignKey("queues.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(ID)
    added: Mapped[datetime]

    __table_args__ = (Index(None, "queue", "seq"), Index(None, "task"))


class ModelRecord(Base):
    __tablename__ = "models"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    company: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(NAME)
    uri: Mapped[str | None] = mapped_column(Text)
    # 64, not 32: deleting the task re-points its published models to "__DELETED__<task id>".
    task: Mapped[str | None] = mapped_column(String(64))
    project: Mapped[str | None] = mapped_column(ID)
    parent: Mapped[str | None] = mapped_column(ID)
    ready: Mapped[bool] = mapped_column(Boolean, default=False)
    framework: Mapped[str | None] = mapped_column(String(256))
    comment: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    system_tags: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime | None]
    last_update: Mapped[datetime | None]
    # design, labels, metadata, last_iteration, ... as sent.
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index(None, "company", "name"), Index(None, "task"), Index(None, "company", "project"))


class EventRecord(Base):
    """Task events: scalars feed last_metrics; images and plots keep their URLs for cleanup."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company: Mapped[str] = mapped_column(String(64), default="")
    task: Mapped[str] = mapped_column(ID)
    type: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str | None] = mapped_column(NAME)
    variant: Mapped[str | None] = mapped_column(NAME)
    iter: Mapped[int | None] = mapped_column(ITERATION)
    timestamp: Mapped[datetime | None]
    value: Mapped[float | None] = mapped_column(Float)
    url: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index(None, "task", "type"),)


class ScrollRecord(Base):
    """The position of one get_all / get_all_ex scroll, shared by every process using the database."""

    __tablename__ = "task_scrolls"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    company: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    # Sort-key values of the last row returned (the next call continues after it), and a digest of
    # the query they belong to.
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_used: Mapped[datetime]

    __table_args__ = (Index(None, "last_used"),)


def _install_search() -> None:
    from taskstore.db.search import install

    install(TaskRecord.__table__)  # type: ignore[arg-type]


_install_search()
ALL_TABLES = Base.metadata.sorted_tables
