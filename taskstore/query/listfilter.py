"""The list-field filter algorithm of the reference (query_edit §1.4), as pure data.

``parse_list(value)`` turns a request value (``["a", "-b"]``, ``["__$all", "a", "__$not", "b"]``,
``[None, "a"]``...) into a ``ListFilter``: which values must be present (any of them), absent, or all
present, how the bucket conditions combine, and whether an empty field also matches.  The SQL side
(filters.py) compiles a ListFilter per kind of field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from taskstore.errors import error

OP_PREFIX = "__$"
_AND_TOKENS = frozenset({"__$all", "__$and", "__$not"})


@dataclass
class ListFilter:
    include: list[str] = field(default_factory=list)  # has any of these
    exclude: list[str] = field(default_factory=list)  # has none of these
    all: list[str] = field(default_factory=list)  # has every one of these
    allow_empty: bool = False  # OR: the field is missing, null or an empty list
    conjunction: bool = False  # the bucket conditions are AND-ed (else OR-ed)

    @property
    def empty(self) -> bool:
        """No condition at all."""
        return not (self.include or self.exclude or self.all or self.allow_empty)


def _add(bucket: dict[str, None], value: str) -> None:
    bucket[value] = None  # an ordered set: de-duplicated in O(1) (id lists may hold 70,000 values)


def parse_list(value: Any, name: str) -> ListFilter:
    """§1.4 steps 1-2 (a scalar is a one-element list; elements must be strings or null: 400/12)."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if item is not None and not isinstance(item, str):
            raise error("validation_error", f"{name}: list values must be strings or null", field=name)
    out = ListFilter()
    first = next((i for i in items if i is not None), None)
    out.conjunction = first in _AND_TOKENS
    include: dict[str, None] = {}
    exclude: dict[str, None] = {}
    all_: dict[str, None] = {}
    current: dict[str, None] | None = None
    sticky = False
    for item in items:
        if item is None:
            out.allow_empty = True
            continue
        if item.startswith(OP_PREFIX):
            if item == "__$not":
                current, sticky = exclude, False
            elif item == "__$nop":
                current, sticky = include, False
            elif item in ("__$all", "__$and"):
                current, sticky = all_, True
            elif item in ("__$any", "__$or"):
                current, sticky = include, True
            else:
                current = include  # an unknown operator includes, stickiness unchanged
            continue
        if current is not None:
            _add(current, item)
            if not sticky:
                current = None
        elif item.startswith("-"):
            _add(exclude, item[1:])
        else:
            _add(include, item)
    out.include, out.exclude, out.all = list(include), list(exclude), list(all_)
    return out
