"""64-bit iterations: ``tasks.last_iteration`` and ``events.iter`` become BIGINT on PostgreSQL.

Why: the reference keeps iterations as signed 64-bit numbers (clients report e.g. epoch
milliseconds as iterations); PostgreSQL's INTEGER is 32-bit, so such an event or
``add_or_update_model(iteration=...)`` failed there while SQLite stored it.  SQLite's INTEGER is
already 64-bit: nothing changes there (no table copy).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE tasks ALTER COLUMN last_iteration TYPE BIGINT")
        op.execute("ALTER TABLE events ALTER COLUMN iter TYPE BIGINT")


def downgrade() -> None:
    """Fails on PostgreSQL if an iteration beyond 32 bits is stored (nothing is truncated silently)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE events ALTER COLUMN iter TYPE INTEGER")
        op.execute("ALTER TABLE tasks ALTER COLUMN last_iteration TYPE INTEGER")
