"""SQLite: the first pages of tasks ordered by one hyperparameter, read from its sorted key index.

When a query orders by exactly one ``hyperparams.<section>.<name>.value`` path (W3: "tag + status,
order by lr descending, page of 50"), candidates are read in order from ``task_param_keys``
(taskstore.db.paramkeys: the numeric values) - a bounded prefix of it - and the filters are applied to
those.  If at least offset + page-size candidates pass, they are the answer: the prefix is cut in
exactly the query's order (number, insertion order, id), and every other task sorts after it - other
numbers by construction, missing values always, and values that are not numbers too, because
ascending they come after all numbers and descending the walk is only used for a hyperparameter that
never held one (no marker row).  Otherwise the caller runs the general query.  Same rows, same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, column, select, table

from taskstore.db.paramkeys import TABLE, TEXT_MARK
from taskstore.query.filters import Filters, T
from taskstore.query.paging import Window
from taskstore.query.paths import field_path

_KEYS = table(TABLE, column("task"), column("section"), column("name"), column("seq"), column("sort_key"))
PREFIX_PER_ROW = 50  # candidates read per row wanted (a 2% selective filter still fills the page)
MAX_ROWS = 2000  # beyond this many rows (offset + page) the general query is as good


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
    if desc:
        k = _KEYS.c
        marker = select(k.task).where(k.task == TEXT_MARK, k.section == section, k.name == name)
        if conn.execute(marker).first() is not None:
            return None
    wanted = window.offset + window.limit
    k = _KEYS.c
    prefix = select(k.task, k.sort_key, k.seq).where(k.section == section, k.name == name, k.sort_key.is_not(None))
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
