"""alembic environment for taskstore: always runs on a connection handed in by taskstore.db.migrate,
or on the URL in TASKSTORE_URL when alembic is run by hand."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from taskstore.db.engine import Database
from taskstore.db.migrate import VERSION_TABLE
from taskstore.db.records import Base
from taskstore.db.search import include_object

config = context.config


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        transactional_ddl=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    db = Database(os.environ.get("TASKSTORE_URL"))
    with db.transaction(write=True) as conn:
        _run(conn)
    db.dispose()
