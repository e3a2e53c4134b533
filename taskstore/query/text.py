"""``search_text``: free-text search over the task text index (query_edit §1.7).

The search string is read the way MongoDB reads a ``$text`` search: whitespace-separated terms (any of
them matches), ``"quoted phrases"`` (all of them must appear; when there are phrases the plain terms
only rank), ``-term`` / ``-"phrase"`` (excluded).  Matching is case-insensitive and stemmed (English):
FTS5 with the porter tokenizer on SQLite, ``english`` tsvector/tsquery on PostgreSQL
(see taskstore.db.search).  The query is compiled into a bound FTS5 query string or into tsquery
function calls over bound terms; no user text is ever SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Float, FromClause, Text, bindparam, column, false, func, literal_column, table

from taskstore.db.search import FTS_TABLE, FTS_WEIGHTS, PG_RANK_WEIGHTS, PG_TEXT_CONFIG, search_vector

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]")
_SEPARATORS = re.compile(r"[\W_]+")  # split words as the index does


@dataclass
class TextQuery:
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)

    @property
    def matches_nothing(self) -> bool:
        return not self.terms and not self.phrases


def parse_search(text: str) -> TextQuery:
    """Split a search string into terms, phrases and negations (tokens with no word character are dropped)."""
    out = TextQuery()
    for neg, phrase, word in _TOKEN.findall(text):
        if word:
            negated = word.startswith("-")
            token = word[1:] if negated else word
            target = out.negated if negated else out.terms
        else:
            token = phrase
            target = out.negated if neg else out.phrases
        token = token.strip()
        if token and _WORD.search(token) and token not in target:
            target.append(token)
    return out


def _fts5_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def fts5_query(q: TextQuery) -> str | None:
    """The FTS5 MATCH expression of ``q`` (None: nothing can match)."""
    if q.matches_nothing:
        return None
    positive = (" AND " if q.phrases else " OR ").join(_fts5_string(t) for t in (q.phrases or q.terms))
    expr = f"({positive})"
    if q.negated:
        expr += " NOT (" + " OR ".join(_fts5_string(t) for t in q.negated) + ")"
    return expr


@dataclass
class TextSearch:
    """What a query needs to search text: a condition, a FROM to join (SQLite), and the score."""

    condition: ColumnElement[bool]
    score: ColumnElement[Any]  # higher is more relevant
    join: FromClause | None = None  # SQLite: the FTS5 result to join on ``join.c.tid == tasks.id``


def compile_search(text: str, tasks: Any, dialect: str) -> TextSearch | None:
    """The search of ``text`` over ``tasks`` (None: empty text, no condition)."""
    if not text.strip():
        return None
    q = parse_search(text)
    if dialect == "postgresql":
        return _pg_search(q, tasks)
    match = fts5_query(q)
    if match is None:
        return TextSearch(false(), literal_column("0", Float()))
    fts = table(FTS_TABLE, column("tid"))
    weights = ", ".join(str(w) for w in FTS_WEIGHTS)
    rank = literal_column(f"bm25({FTS_TABLE}, {weights})", Float())
    hits = (
        fts.select()
        .with_only_columns(fts.c.tid, rank.label("score"))
        .where(literal_column(FTS_TABLE).op("MATCH", is_comparison=True)(bindparam(None, match, type_=Text())))
        .subquery("text_hits")
    )
    # bm25 is lower for better matches: negate it so that higher is more relevant on both backends.
    return TextSearch(hits.c.tid.is_not(None), -hits.c.score, hits)


def _pg_search(q: TextQuery, tasks: Any) -> TextSearch:
    if q.matches_nothing:
        return TextSearch(false(), literal_column("0", Float()))
    cfg: ColumnElement[Any] = literal_column(f"'{PG_TEXT_CONFIG}'::regconfig")

    def term(t: str, phrase: bool) -> ColumnElement[Any]:
        fn = func.phraseto_tsquery if phrase else func.plainto_tsquery
        return fn(cfg, bindparam(None, _SEPARATORS.sub(" ", t), type_=Text()))

    def combine(parts: list[ColumnElement[Any]], fn: Any) -> ColumnElement[Any]:
        out = parts[0]
        for p in parts[1:]:
            out = fn(out, p)
        return out

    if q.phrases:
        query = combine([term(p, True) for p in q.phrases], func.tsquery_and)
    else:
        query = combine([term(t, False) for t in q.terms], func.tsquery_or)
    for neg in q.negated:
        query = func.tsquery_and(query, func.tsquery_not(term(neg, True)))
    vector = search_vector(tasks)
    condition = vector.op("@@", is_comparison=True)(query)
    score = func.ts_rank(literal_column(f"'{PG_RANK_WEIGHTS}'::float4[]"), vector, query)
    return TextSearch(condition, score)
