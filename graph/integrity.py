"""Integrity checks of the graph model (`pingraph doctor`): edges that join the wrong kinds of
node, and nodes without the one owner or creator the model gives them.

The repositories never write such data, but a store can: an engine defect, a hand-made
write, a restore of a bad backup. Each check is one read-only statement that returns the
number of offending items and a few examples.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.backends.base import GraphBackend

EXAMPLES = 5


def _wrong_ends(kind: str, sources: list[str], targets: list[str]) -> str:
    return f"""
MATCH (a)-[r:{kind}]->(z)
WHERE none(l IN labels(a) WHERE l IN {sources!r}) OR none(l IN labels(z) WHERE l IN {targets!r})
WITH a, z
RETURN count(*) AS n,
       collect(coalesce(a.id, '?') + ' -> ' + coalesce(z.id, '?'))[0..{EXAMPLES}] AS examples
"""


OWNS_WRONG_ENDS = _wrong_ends("OWNS", ["User"], ["Board"])
CREATED_WRONG_ENDS = _wrong_ends("CREATED", ["User"], ["Pin"])
SAVED_TO_WRONG_ENDS = _wrong_ends("SAVED_TO", ["Pin"], ["Board"])
TAGGED_WRONG_ENDS = _wrong_ends("TAGGED", ["Pin"], ["Topic"])
ABOUT_WRONG_ENDS = _wrong_ends("ABOUT", ["Board"], ["Topic"])
FOLLOWS_WRONG_ENDS = _wrong_ends("FOLLOWS", ["User"], ["User", "Board", "Topic"])
COLLABORATES_ON_WRONG_ENDS = _wrong_ends("COLLABORATES_ON", ["User"], ["Board"])
INVITED_TO_WRONG_ENDS = _wrong_ends("INVITED_TO", ["User"], ["Board"])
HAS_SECTION_WRONG_ENDS = _wrong_ends("HAS_SECTION", ["Board"], ["Section"])
SECTIONS_WITHOUT_ONE_BOARD = f"""
MATCH (s:Section)
OPTIONAL MATCH (b)-[:HAS_SECTION]->(s)
WITH s, count(b) AS boards
WHERE boards <> 1
RETURN count(s) AS n,
       collect(s.id + ' is on ' + toString(boards) + ' boards')[0..{EXAMPLES}] AS examples
"""
BOARDS_WITHOUT_ONE_OWNER = f"""
MATCH (b:Board)
OPTIONAL MATCH (o)-[:OWNS]->(b)
WITH b, count(o) AS owners
WHERE owners <> 1
RETURN count(b) AS n,
       collect(b.id + ' has ' + toString(owners) + ' owners')[0..{EXAMPLES}] AS examples
"""
PINS_WITHOUT_ONE_CREATOR = f"""
MATCH (p:Pin)
OPTIONAL MATCH (c)-[:CREATED]->(p)
WITH p, count(c) AS creators, collect(c.id) AS ids
WHERE creators <> 1 OR NOT p.creatorId IN ids
RETURN count(p) AS n,
       collect(p.id + ' has ' + toString(creators) + ' creators')[0..{EXAMPLES}] AS examples
"""
# `Board.memberIds` repeats the ids at the other end of the board's COLLABORATES_ON edges.
BOARD_MEMBER_IDS_OFF = f"""
MATCH (b:Board)
OPTIONAL MATCH (u)-[:COLLABORATES_ON]->(b)
WITH b, collect(u.id) AS ids
WITH b, ids, coalesce(b.memberIds, []) AS listed
WHERE size(ids) <> size(listed) OR any(x IN listed WHERE NOT x IN ids)
   OR any(x IN ids WHERE NOT x IN listed)
RETURN count(b) AS n,
       collect(b.id + ' lists ' + toString(size(listed)) + ' of '
               + toString(size(ids)) + ' collaborators')[0..{EXAMPLES}] AS examples
"""

RULES = (
    ("OWNS joins a user to a board", OWNS_WRONG_ENDS),
    ("CREATED joins a user to a pin", CREATED_WRONG_ENDS),
    ("SAVED_TO joins a pin to a board", SAVED_TO_WRONG_ENDS),
    ("TAGGED joins a pin to a topic", TAGGED_WRONG_ENDS),
    ("ABOUT joins a board to a topic", ABOUT_WRONG_ENDS),
    ("FOLLOWS joins a user to a user, board or topic", FOLLOWS_WRONG_ENDS),
    ("every board has one owner", BOARDS_WITHOUT_ONE_OWNER),
    ("every pin has one creator, the one its creatorId names", PINS_WITHOUT_ONE_CREATOR),
    ("COLLABORATES_ON joins a user to a board", COLLABORATES_ON_WRONG_ENDS),
    ("INVITED_TO joins a user to a board", INVITED_TO_WRONG_ENDS),
    ("a board's memberIds are its collaborators' ids", BOARD_MEMBER_IDS_OFF),
    ("HAS_SECTION joins a board to a section", HAS_SECTION_WRONG_ENDS),
    ("every section is on one board", SECTIONS_WITHOUT_ONE_BOARD),
)


@dataclass(frozen=True)
class Finding:
    rule: str
    count: int
    examples: list[str]


async def check(backend: GraphBackend, *, timeout_ms: int = 600_000) -> list[Finding]:
    """Every rule, with how many items break it (0 for a sound graph)."""
    findings = []
    for rule, query in RULES:
        rows = await backend.read(query, {}, timeout_ms=timeout_ms)
        count = int(rows[0]["n"]) if rows else 0
        findings.append(Finding(rule, count, list(rows[0]["examples"]) if count else []))
    return findings
