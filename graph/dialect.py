"""Where the two Cypher dialects differ at query time: full-text search.

Schema statements (indexes, constraints) differ too; they live in migrations/<dialect>/.
"""

from __future__ import annotations

from graph.backend import Dialect
from graph.cypher import after

# Candidates only: visibility is checked per page (see cypher.filtered_page).
_SEARCH_TAIL = f"""
WITH node AS p, score
WHERE {after("score", "p.id")}
RETURN score AS sortKey, p.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
SEARCH_PINS = {
    Dialect.NEO4J: "CALL db.index.fulltext.queryNodes('pin_text', $q) YIELD node, score"
    + _SEARCH_TAIL,
    Dialect.FALKORDB: "CALL db.idx.fulltext.queryNodes('Pin', $q) YIELD node, score" + _SEARCH_TAIL,
}


def search_pins_query(dialect: Dialect, words: list[str]) -> tuple[str, str]:
    """The search statement and its query text: every word must match, the last as a prefix."""
    *whole, last = words
    if dialect is Dialect.NEO4J:  # Lucene syntax
        text = " AND ".join([*whole, f"{last}*"])
    else:  # RediSearch syntax: terms are ANDed by default
        text = " ".join([*whole, f"{last}*"])
    return SEARCH_PINS[dialect], text
