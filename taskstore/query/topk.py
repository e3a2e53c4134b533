"""SQLite: the first page of tasks ordered by one hyperparameter, read from its sorted key index.

When a query orders by exactly one ``hyperparams.<section>.<name>.value`` path (W3: "tag + status,
order by lr descending, page of 50"), the candidates are read in order from ``task_param_keys``
(taskstore.db.paramkeys) - a bounded prefix of it - and the filters are applied to those.  If at least
offset + page-size candidates pass, they are the answer: any task outside the prefix sorts after all of
them (the prefix is cut in exactly the query's order: key, insertion order, id).  Otherwise the caller
runs the general query.  Same rows, same order, one index walk instead of a key computed per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, column, select, table

from taskstore.db.functions import natural_key
from taskstore.db.paramkeys import TABLE
from taskstore.query.filters import T, Filters
from taskstore.query.paging import Window
from taskstore.query.paths import field_path

_KEYS = table(TABLE, column("task"), column("section"), column("name"), column("seq"), column("sort_key"))
PREFIX_PER_ROW = 50  # candidates read per row wanted (a 2% selective filter still fills the page)
MAX_ROWS = 2000  # beyond this many rows (offset + page) the general query is as good
_EMPTY_STRING_KEY = natural_key("")


def hyperparam_order(keys: Sequence[tuple[str, bool]]) -> tuple[str, str, bool] | None:
    """(section, name, descending) when the ordering is exactly one hyperparameter value."""
    if len(keys) != 1:
        return None
    path, desc = keys[0]
    if not path.replace("__", ".").startswith("hyperparams."):
        return None
    ref = field_path(path, order=True)
    if ref.field.name != "hyperparams" or len(ref.keys) != 3 or ref.keys[2] != "value":
        return None
    return ref.keys[0], ref.keys[1], desc


def rows(
    conn: Any, order: tuple[str, str, bool], filters: Filters, columns: Sequence[Any], window: Window
) -> list[Row[Any]] | None:
    """The page, or None when the index prefix did not hold enough matching tasks."""
    if window.limit is None or window.offset + window.limit > MAX_ROWS or filters.text is not None:
        return None
    section, name, desc = order
    wanted = window.offset + window.limit
    k = _KEYS.c
    prefix = select(k.task, k.sort_key, k.seq).where(k.section == section, k.name == name, k.sort_key.is_not(None))
    if not desc:  # ascending: empty values come after everything (the empties partition)
        prefix = prefix.where(k.sort_key != _EMPTY_STRING_KEY)
    first = k.sort_key.desc() if desc else k.sort_key.asc()
    cand = prefix.order_by(first, k.seq, k.task).limit(wanted * PREFIX_PER_ROW).subquery("candidates")
    key = cand.c.sort_key.desc() if desc else cand.c.sort_key.asc()
    stmt = (
        select(*columns)
        .select_from(T.join(cand, cand.c.task == T.c.id))
        .where(*filters.conditions)
        .order_by(key, cand.c.seq, cand.c.task)
        .limit(window.limit)
    )
    if window.offset:
        stmt = stmt.offset(window.offset)
    got = list(conn.execute(stmt))
    return got if len(got) == window.limit else None
