"""SQLite: an index of hyperparameter sort keys, so that "order by a hyperparameter" reads a sorted index.

``get_all(order_by=["-hyperparams.Args.lr.value"], ...)`` has to order every matching task by the
natural-order key of one hyperparameter value.  Computing that key per row means parsing the
task's hyperparams JSON and calling a Python function for each of them (thousands per query at 100k
tasks).  ``task_param_keys`` keeps the key of every hyperparameter value, with the task's insertion
order, under an index sorted the way get_all sorts: the query compiler walks that index from the top
and stops after enough tasks passed the filters (taskstore.query.topk), and falls back to the general
query when they do not.

Triggers on ``tasks`` keep it exact for every writer inside the writer's transaction.  They call
``ts_sortkey`` (taskstore's SQL function, registered on every taskstore connection): rows whose
hyperparameters change must be written through taskstore, not by a bare ``sqlite3`` shell.
PostgreSQL computes the same keys per row from JSONB, which is fast enough there; it has no such table.
"""

from __future__ import annotations

TABLE = "task_param_keys"

_KEYS_OF_NEW = (
    f"INSERT INTO {TABLE} (task, section, name, seq, sort_key) "
    "SELECT new.id, s.key, p.key, new.seq, ts_sortkey(p.value -> '$.value', 1) "
    "FROM json_each(new.hyperparams) AS s, json_each(s.value) AS p "
    "WHERE s.type = 'object' AND p.type = 'object';"
)
_DROP_OLD = f"DELETE FROM {TABLE} WHERE task = old.id;"

SQLITE_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (task TEXT NOT NULL, section TEXT NOT NULL, name TEXT NOT NULL, "
    "seq INTEGER, sort_key, PRIMARY KEY (task, section, name))",
    f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_order ON {TABLE} (section, name, sort_key, seq, task)",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON tasks BEGIN {_KEYS_OF_NEW} END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF id, hyperparams, seq ON tasks "
    f"BEGIN {_DROP_OLD} {_KEYS_OF_NEW} END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON tasks BEGIN {_DROP_OLD} END",
)
# Fill the table from the rows already there (migration 0002).
SQLITE_POPULATE = (
    f"INSERT INTO {TABLE} (task, section, name, seq, sort_key) "
    "SELECT tasks.id, s.key, p.key, tasks.seq, ts_sortkey(p.value -> '$.value', 1) "
    "FROM tasks, json_each(tasks.hyperparams) AS s, json_each(s.value) AS p "
    "WHERE s.type = 'object' AND p.type = 'object'"
)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {TABLE}_update",
    f"DROP TRIGGER IF EXISTS {TABLE}_delete",
    f"DROP TABLE IF EXISTS {TABLE}",
)
