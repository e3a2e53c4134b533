"""Full-text search storage for ``search_text`` (query_edit §1.7), one design per backend.

SQLite: an FTS5 table ``tasks_fts`` (porter stemming, case and diacritics folded) with one row per task
over the searched fields - the task id, name, comment (weight 10), input/output model ids (2), script
repository and entry point (1).  Triggers on ``tasks`` keep it in step with every writer (create,
edit, update, clone, reset, delete, any future code path) inside the writer's own transaction, so no
operation has to remember to call a hook.  A row is found by its ``tid`` column (a MATCH on the task id
token, then an exact comparison), so nothing depends on ``tasks.rowid`` (which VACUUM may renumber).

PostgreSQL: no extra table.  An expression GIN index over the weighted tsvector of the same fields
(``search_vector``) answers ``@@`` queries, and ``ts_rank`` gives ``@text_score``; being an index it is
always current.

The SQLite hyperparameter sort-key index (taskstore.db.paramkeys) is created and hidden the same way.

These objects are not SQLAlchemy tables (FTS5 virtual tables and expression indexes have no portable
metadata form): they are created by migration 0002 and, for fresh databases, by ``after_create``
hooks on the ``tasks`` table.  ``include_object`` hides them from alembic's autogenerate comparison.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, cast, event, func, literal_column
from sqlalchemy.schema import Table

from taskstore.db import paramkeys

FTS_TABLE = "tasks_fts"
# Column order of tasks_fts and their bm25 weights (the reference's text index weights).
FTS_COLUMNS = ("tid", "name", "comment", "models", "script")
FTS_WEIGHTS = (10.0, 10.0, 10.0, 2.0, 1.0)
PG_SEARCH_INDEX = "ix_tasks_search"
# ts_rank weights for D, C, B, A (PostgreSQL wants them in [0, 1]): A=10, B=2, C=1 relative.
PG_RANK_WEIGHTS = "{0, 0.1, 0.2, 1.0}"
PG_TEXT_CONFIG = "english"

_MODEL_IDS = (
    "coalesce((SELECT group_concat(json_extract(m.value, '$.model'), ' ') "
    "FROM json_each(new.models, '$.{}') m), '')"
)
_SCRIPT = "coalesce(json_extract(new.script, '$.{}'), '')"
_SQLITE_VALUES = (
    f"new.id, new.name, coalesce(new.comment, ''), "
    f"{_MODEL_IDS.format('input')} || ' ' || {_MODEL_IDS.format('output')}, "
    f"{_SCRIPT.format('repository')} || ' ' || {_SCRIPT.format('entry_point')}"
)
_SQLITE_DELETE = (
    f"DELETE FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH 'tid : \"' || replace(old.id, '\"', '\"\"') || '\"' "
    "AND tid = old.id;"
)
_SQLITE_INSERT = f"INSERT INTO {FTS_TABLE} ({', '.join(FTS_COLUMNS)}) VALUES ({_SQLITE_VALUES});"

SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({', '.join(FTS_COLUMNS)}, "
    "tokenize = 'porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS tasks_fts_insert AFTER INSERT ON tasks BEGIN {_SQLITE_INSERT} END",
    "CREATE TRIGGER IF NOT EXISTS tasks_fts_update AFTER UPDATE OF id, name, comment, models, script ON tasks "
    f"BEGIN {_SQLITE_DELETE} {_SQLITE_INSERT} END",
    f"CREATE TRIGGER IF NOT EXISTS tasks_fts_delete AFTER DELETE ON tasks BEGIN {_SQLITE_DELETE} END",
)
# Fill the index from the rows already there (migration 0002).
SQLITE_POPULATE = (
    f"INSERT INTO {FTS_TABLE} ({', '.join(FTS_COLUMNS)}) SELECT {_SQLITE_VALUES.replace('new.', 'tasks.')} FROM tasks"
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS tasks_fts_insert",
    "DROP TRIGGER IF EXISTS tasks_fts_update",
    "DROP TRIGGER IF EXISTS tasks_fts_delete",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)


def search_vector(table: Any) -> ColumnElement[Any]:
    """The weighted tsvector of a task row (PostgreSQL); the GIN index is built on exactly this.

    Every constant is a literal (no bound parameter), so that a query's expression is textually the
    index's and the planner can use the index.
    """
    cfg: ColumnElement[Any] = literal_column(f"'{PG_TEXT_CONFIG}'::regconfig")
    empty: ColumnElement[Any] = literal_column("''")
    space: ColumnElement[Any] = literal_column("' '")

    def weighted(value: ColumnElement[Any], weight: str) -> ColumnElement[Any]:
        # Words are split at every non-alphanumeric character, as FTS5's tokenizer does (PostgreSQL's
        # parser would keep "github.com/acme/resnet-tools" as one URL token).
        words = func.regexp_replace(value, literal_column("'[^[:alnum:]]+'"), space, literal_column("'g'"))
        return func.setweight(func.to_tsvector(cfg, words), literal_column(f"'{weight}'"))

    models = cast(func.jsonb_path_query_array(table.c.models, literal_column("'$.*[*].model'::jsonpath")), Text)
    script = (
        func.coalesce(table.c.script.op("->>")(literal_column("'repository'")), empty)
        .op("||")(space)
        .op("||")(func.coalesce(table.c.script.op("->>")(literal_column("'entry_point'")), empty))
    )
    return (
        weighted(table.c.id, "A")
        .op("||")(weighted(func.coalesce(table.c.name, empty), "A"))
        .op("||")(weighted(func.coalesce(table.c.comment, empty), "A"))
        .op("||")(weighted(models, "B"))
        .op("||")(weighted(script, "C"))
    )


def pg_create_statements(table: Any, dialect: Any) -> list[str]:
    from taskstore.db.functions import PG_NATKEY_FUNCTION

    expr = search_vector(table).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return [
        PG_NATKEY_FUNCTION,
        f"CREATE INDEX IF NOT EXISTS {PG_SEARCH_INDEX} ON tasks USING gin (({expr}))",
    ]


def _after_create(target: Table, connection: Any, **_: Any) -> None:
    if connection.dialect.name == "sqlite":
        for statement in (*SQLITE_CREATE, *paramkeys.SQLITE_CREATE):
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        for statement in pg_create_statements(target, connection.dialect):
            connection.exec_driver_sql(statement)


def _before_drop(_target: Table, connection: Any, **_: Any) -> None:
    if connection.dialect.name == "sqlite":
        for statement in (*SQLITE_DROP, *paramkeys.SQLITE_DROP):
            connection.exec_driver_sql(statement)


def install(tasks_table: Table) -> None:
    """Create the search objects whenever ``tasks`` is created by ``metadata.create_all``."""
    event.listen(tasks_table, "after_create", _after_create)
    event.listen(tasks_table, "before_drop", _before_drop)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """alembic ``include_object``: leave the search objects (and FTS5's shadow tables) out of comparisons."""
    if type_ == "table" and name is not None and (name.startswith(FTS_TABLE) or name in paramkeys.TABLES):
        return False
    return not (type_ == "index" and name == PG_SEARCH_INDEX)
