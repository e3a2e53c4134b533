"""SQLite: numeric hyperparameter values under a sorted index, so "order by lr" reads an index.

``get_all(order_by=["-hyperparams.Args.lr.value"], ...)`` orders tasks by one hyperparameter value in
natural order, where a value that is a number literal sorts as that number.  Computing the key per row
means parsing every matching task's hyperparams JSON.  Instead:

* ``task_param_keys`` holds, for every hyperparameter whose value is a number literal, that number
  (a REAL, exactly what the general ORDER BY computes) and the task's insertion order, under an index
  in get_all's order.  The query compiler walks it from the top and stops once enough tasks passed the
  filters (taskstore.query.topk), else it runs the general query.
* A marker row (task ``''``, no key) per (section, name) that has ever held a value that is not a
  number literal: such values sort among strings (before all numbers when descending), so for them a
  descending walk of the numbers alone would not be the answer, and the general query runs.  Markers
  are never removed (a stale one only costs speed, never correctness).

Only numeric values get a row of their own (other values one ignored insert of a marker), in one pass
over the hyperparameters, and the triggers that keep the table exact for every writer use SQLite's own
functions only.
PostgreSQL computes the keys per row from JSONB; it has no such tables.
"""

from __future__ import annotations

TABLE = "task_param_keys"
TABLES = (TABLE,)
TEXT_MARK = ""  # the task of a row marking "this hyperparameter has held a value that is not a number"

# A number literal, exactly as taskstore.db.functions.NUMBER_RE says: only number characters (a cheap
# first test that refuses words), the JSON number grammar (json_valid/json_type, which accept no JSON5
# extensions), at most 100 characters and 4 exponent digits.  taskstore.query.sql builds the same test.
NUMBER_TEST = (
    "({v} NOT GLOB '*[^0-9eE.+ \t\n\r-]*' AND length({v}) <= 100 "
    "AND CASE WHEN json_valid({v}) THEN json_type({v}) END IN ('integer', 'real') "
    "AND {v} NOT GLOB '*[eE][0-9][0-9][0-9][0-9][0-9]*' AND {v} NOT GLOB '*[eE][+-][0-9][0-9][0-9][0-9][0-9]*')"
)
_VALUES = (  # the "value" of every parameter object (json_each yields it parsed once)
    "SELECT {row}.id AS task, {row}.seq AS seq, s.key AS section, p.key AS name, f.type AS t, f.value AS v "
    "FROM json_each({row}.hyperparams) AS s, json_each(s.value) AS p, json_each(p.value) AS f "
    "WHERE s.type = 'object' AND p.type = 'object' AND f.key = 'value'"
)
_IS_NUMBER = f"(t IN ('integer', 'real') OR (t = 'text' AND {NUMBER_TEST.format(v='v')}))"


def _fill(row: str) -> str:
    """A row per number; a marker row (task '') for each other value's hyperparameter not marked yet."""
    values = _VALUES.format(row=row)
    marked = f"SELECT 1 FROM {TABLE} AS m WHERE m.task = '' AND m.section = x.section AND m.name = x.name"
    return (
        f"INSERT INTO {TABLE} (task, section, name, seq, sort_key) "
        f"SELECT task, section, name, seq, CAST(v AS REAL) FROM ({values}) WHERE {_IS_NUMBER}; "
        f"INSERT INTO {TABLE} (task, section, name) SELECT DISTINCT '', section, name FROM ({values}) AS x "
        f"WHERE t IS NOT NULL AND t <> 'null' AND NOT {_IS_NUMBER} AND NOT EXISTS ({marked});"
    )


_DROP_OLD = f"DELETE FROM {TABLE} WHERE task = old.id;"

SQLITE_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (task TEXT NOT NULL, section TEXT NOT NULL, name TEXT NOT NULL, "
    "seq INTEGER, sort_key REAL, PRIMARY KEY (task, section, name))",
    f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_order ON {TABLE} (section, name, sort_key, seq, task)",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON tasks BEGIN {_fill('new')} END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF id, hyperparams, seq ON tasks "
    f"BEGIN {_DROP_OLD} {_fill('new')} END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON tasks BEGIN {_DROP_OLD} END",
)
# Fill both tables from the rows already there (migration 0002).
_FILL_ALL = _fill("tasks").replace("FROM json_each(tasks.", "FROM tasks, json_each(tasks.")
SQLITE_POPULATE = tuple(s.strip() for s in _FILL_ALL.split(";") if s.strip())
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {TABLE}_update",
    f"DROP TRIGGER IF EXISTS {TABLE}_delete",
    f"DROP TABLE IF EXISTS {TABLE}",
)
