"""Where the two Cypher dialects differ at query time: full-text search.

Schema statements (indexes, constraints) differ too; they live in migrations/<dialect>/.
"""

from __future__ import annotations

from graph.backends.base import Dialect
from graph.repos.cypher import after, visible_pins

# Candidates only: visibility is checked per page (see cypher.filtered_page).
_SEARCH_TAIL = f"""
WITH node AS p, score
WHERE {after("score", "p.id")}
RETURN score AS sortKey, p.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
# The same, with visibility checked in the query (see cypher.filtered_page).
_SEARCH_VISIBLE_TAIL = f"""
WITH node AS p, score
WHERE {after("score", "p.id")}
{visible_pins("score")}
RETURN score AS sortKey, p.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
# How many matches anonymous callers may see: search covers public pins only.
_COUNT_TAIL = f"""
WITH node AS p
{visible_pins()}
RETURN count(p) AS n
"""
_QUERY_NODES = {
    Dialect.NEO4J: "CALL db.index.fulltext.queryNodes('pin_text', $q) YIELD node, score",
    Dialect.FALKORDB: "CALL db.idx.fulltext.queryNodes('Pin', $q) YIELD node, score",
}
SEARCH_PINS = {dialect: call + _SEARCH_TAIL for dialect, call in _QUERY_NODES.items()}
SEARCH_VISIBLE_PINS = {
    dialect: call + _SEARCH_VISIBLE_TAIL for dialect, call in _QUERY_NODES.items()
}
SEARCH_COUNT = {dialect: call + _COUNT_TAIL for dialect, call in _QUERY_NODES.items()}


def search_text(dialect: Dialect, words: list[str]) -> str:
    """The full-text query: every word must match, the last as a prefix."""
    *whole, last = words
    if dialect is Dialect.NEO4J:  # Lucene syntax
        return " AND ".join([*whole, f"{last}*"])
    return " ".join([*whole, f"{last}*"])  # RediSearch syntax: terms are ANDed by default
