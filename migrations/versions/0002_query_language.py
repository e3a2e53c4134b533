"""Query language: insertion order, covering tag index, scroll states, full-text search.

Why: tasks.get_all / get_all_ex (issue 3/6) need
* ``tasks.seq`` - insertion order, which the reference returns without ``order_by`` and which breaks
  ties stably; existing rows are numbered in their current insertion order (SQLite rowid; on
  PostgreSQL by ``created``, then id);
* ``tasks (id, status, company)`` - a covering index: a query driven by ids (from a tag or id filter)
  checks status and visibility without reading rows;
* ``task_tags (system, tag, task)`` - a covering index, so a tag filter reads task ids from the index
  alone (replaces the ``(system, tag)`` index);
* ``task_scrolls`` - scroll positions kept in the database, so that a ``scroll_id`` works in every
  process sharing it;
* full-text search for ``search_text`` (see taskstore.db.search): on SQLite an FTS5 table kept current
  by triggers and filled here from the existing rows; on PostgreSQL an expression GIN index over the
  weighted tsvector, plus ``taskstore_natkey(text)``, the natural-order key function used by ordering;
* SQLite only: ``task_param_keys`` / ``task_param_text`` (taskstore.db.paramkeys), numeric
  hyperparameter values under a sorted index, kept by triggers and filled here, so that ordering by a
  hyperparameter reads an index.

Nothing is rewritten or dropped except the replaced index; ``tasks`` is altered in place (no table
copy, which on SQLite would cascade-delete ``task_tags`` while foreign keys are on).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from taskstore.db import paramkeys, search
from taskstore.db.functions import PG_DROP_NATKEY_FUNCTION

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name

    with op.batch_alter_table("tasks", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    if dialect == "sqlite":
        op.execute("UPDATE tasks SET seq = rowid")
    else:
        op.execute(
            "UPDATE tasks SET seq = numbered.n FROM "
            "(SELECT id, row_number() OVER (ORDER BY created, id) AS n FROM tasks) AS numbered "
            "WHERE tasks.id = numbered.id"
        )
    with op.batch_alter_table("tasks", schema=None, recreate="never") as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_seq_id"), ["seq", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_id_status_company"), ["id", "status", "company"], unique=False)

    with op.batch_alter_table("task_tags", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_tags_system_tag"))
        batch_op.create_index(batch_op.f("ix_task_tags_system_tag_task"), ["system", "tag", "task"], unique=False)

    op.create_table(
        "task_scrolls",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("company", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column(
            "state", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("last_used", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_scrolls")),
    )
    with op.batch_alter_table("task_scrolls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_scrolls_last_used"), ["last_used"], unique=False)

    if dialect == "sqlite":
        for statement in (*search.SQLITE_CREATE, *paramkeys.SQLITE_CREATE):
            op.execute(statement)
        op.execute(search.SQLITE_POPULATE)
        for statement in paramkeys.SQLITE_POPULATE:
            op.execute(statement)
    elif dialect == "postgresql":
        tasks = sa.table("tasks", sa.column("id"), sa.column("name"), sa.column("comment"),
                         sa.column("models", postgresql.JSONB()), sa.column("script", postgresql.JSONB()))  # fmt: skip
        for statement in search.pg_create_statements(tasks, bind.dialect):
            op.execute(statement)


def downgrade() -> None:
    """Drops the search objects, the scroll states (open scrolls restart) and the insertion order."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in (*search.SQLITE_DROP, *paramkeys.SQLITE_DROP):
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {search.PG_SEARCH_INDEX}")
        op.execute(PG_DROP_NATKEY_FUNCTION)

    with op.batch_alter_table("task_scrolls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_scrolls_last_used"))
    op.drop_table("task_scrolls")

    with op.batch_alter_table("task_tags", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_tags_system_tag_task"))
        batch_op.create_index(batch_op.f("ix_task_tags_system_tag"), ["system", "tag"], unique=False)

    with op.batch_alter_table("tasks", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_id_status_company"))
        batch_op.drop_index(batch_op.f("ix_tasks_seq_id"))
    # SQLite >= 3.35 drops a column in place (no table copy, so task_tags rows survive).
    op.execute("ALTER TABLE tasks DROP COLUMN seq")
