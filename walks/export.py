"""Streaming the public pin-board graph out of the store, for the walk snapshot.

Only public boards are exported: what is saved to secret boards never reaches the walks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from graph.backends.base import GraphBackend

# Boards in id order, a batch at a time (keyset on the unique id index), with their pins.
EXPORT_BOARDS = """
MATCH (b:Board)
WHERE b.id > $after AND b.privacy = 'PUBLIC'
WITH b
ORDER BY b.id
LIMIT $limit
MATCH (b)<-[:OWNS]-(o:User)
OPTIONAL MATCH (b)<-[:SAVED_TO]-(p:Pin)
RETURN b.id AS board, o.lang AS lang, [(b)-[:ABOUT]->(t:Topic) | t.name] AS topics,
       collect(p.id) AS pins
"""


@dataclass(frozen=True)
class BoardRow:
    board: str
    lang: str
    topics: list[str]
    pins: list[str]


async def public_boards(backend: GraphBackend, *, batch: int = 2000) -> AsyncIterator[BoardRow]:
    """Every public board with its owner's language, its topics and the pins saved to it."""
    after = ""
    while True:
        rows = await backend.read(EXPORT_BOARDS, {"after": after, "limit": batch})
        rows.sort(key=lambda row: row["board"])
        for row in rows:
            yield BoardRow(row["board"], row["lang"] or "en", row["topics"], row["pins"])
        if len(rows) < batch:
            return
        after = rows[-1]["board"]


# The current truth of some boards, for live walk updates: only public ones come back.
PUBLIC_BOARDS_BY_ID = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
WHERE b.privacy = 'PUBLIC'
MATCH (b)<-[:OWNS]-(o:User)
OPTIONAL MATCH (b)<-[:SAVED_TO]-(p:Pin)
RETURN b.id AS board, o.lang AS lang, [(b)-[:ABOUT]->(t:Topic) | t.name] AS topics,
       collect(p.id) AS pins
"""


async def public_boards_by_id(backend: GraphBackend, ids: set[str]) -> dict[str, BoardRow]:
    """Those of `ids` that are public boards now; secret and deleted ones are left out."""
    if not ids:
        return {}
    rows = await backend.read(PUBLIC_BOARDS_BY_ID, {"ids": sorted(ids)})
    return {
        row["board"]: BoardRow(row["board"], row["lang"] or "en", row["topics"], row["pins"])
        for row in rows
    }


# Topic names of pins in the walk graph, for topic-aware pruning (walks/graph.py).
PIN_TOPICS = """
UNWIND $ids AS id
MATCH (p:Pin {id: id})
RETURN p.id AS pin, [(p)-[:TAGGED]->(t:Topic) | t.name] AS topics
"""


async def pin_topics(
    backend: GraphBackend, ids: list[str], *, batch: int = 5000
) -> dict[str, list[str]]:
    """The topic names of each of `ids` (pins deleted meanwhile are left out)."""
    topics: dict[str, list[str]] = {}
    for start in range(0, len(ids), batch):
        rows = await backend.read(PIN_TOPICS, {"ids": ids[start : start + batch]})
        topics.update((row["pin"], row["topics"]) for row in rows)
    return topics
