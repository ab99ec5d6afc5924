"""What the home feed reads from the graph: the fresh pins of what a user follows, and the
signals (saves, engagements, followed topics) its walk query is built from.

A pin is fresh for a viewer when it is saved to a board the viewer follows, saved by a user
the viewer follows (to a public board), saved by someone else to a board the viewer
collaborates on (secret ones too: members see them), or tagged with a topic the viewer
follows; its feed time is the newest of those events (save time, or creation time for topic
pins). Pins the viewer saved or hid are left out, and so are all pins on boards they own.
`resolvers/walked.py` interleaves these with walk-ranked pins (two walked for every fresh
one).
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.backends.base import GraphBackend
from graph.model import Page, Pin
from graph.repos.cypher import ListQuery, after, filtered_page, visible_pins
from graph.repos.pins import visible_pins_of

# Pattern comprehensions, not OPTIONAL MATCH + collect: each aggregation would group by the
# lists collected before it, and hashing those per row made the query quadratic. A followed
# board must be public: the viewer's own boards add nothing (their pins are all in `skip`).
# A removed collaborator's boards drop out at once: the edge is gone, and every page is
# checked for visibility anyway.
_CANDIDATES = """
MATCH (v:User {id: $viewer})
WITH v,
     [(v)-[:OWNS]->(:Board)<-[:SAVED_TO]-(mine:Pin) | mine.id]
     + [(v)-[:COLLABORATES_ON]->(:Board)<-[ms:SAVED_TO]-(m2:Pin) WHERE ms.by = $viewer
        | m2.id] AS mine,
     [(v)-[e:ENGAGED]->(hidden:Pin) WHERE e.kind = 'HIDE' | hidden.id] AS hidden,
     [(v)-[:FOLLOWS]->(fb:Board)<-[s1:SAVED_TO]-(p1:Pin) WHERE fb.privacy = 'PUBLIC'
      | {id: p1.id, at: s1.at}] AS fromBoards,
     [(v)-[:FOLLOWS]->(:User)-[:OWNS]->(ub:Board)<-[s2:SAVED_TO]-(p2:Pin)
      WHERE ub.privacy = 'PUBLIC' | {id: p2.id, at: s2.at}] AS fromUsers,
     [(v)-[:FOLLOWS]->(:Topic)<-[:TAGGED]-(p3:Pin) | {id: p3.id, at: p3.createdAt}] AS fromTopics,
     [(v)-[:COLLABORATES_ON]->(:Board)<-[s4:SAVED_TO]-(p4:Pin)
      WHERE coalesce(s4.by, '') <> $viewer | {id: p4.id, at: s4.at}] AS fromShared
UNWIND fromBoards + fromUsers + fromTopics + fromShared AS c
WITH c, mine + hidden AS skip
WHERE NOT c.id IN skip
WITH c.id AS pinId, max(c.at) AS at
"""
_NEWEST_FIRST = """
RETURN at AS sortKey, pinId AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
# Candidates only: visibility is checked per page (see cypher.filtered_page).
HOME = f"""{_CANDIDATES}
WHERE {after("at", "pinId")}
{_NEWEST_FIRST}"""
HOME_VISIBLE = f"""{_CANDIDATES}
WHERE {after("at", "pinId")}
MATCH (p:Pin {{id: pinId}})
{visible_pins("at", "pinId")}
{_NEWEST_FIRST}"""
# What a user did lately, for walk-based personalisation: their saves and engagements. Saves
# are the user's own (`SAVED_TO.by`), on boards they own or collaborate on, so co-members do
# not steer each other's walks; saves from before `by` was recorded were the owner's.
_MY_SAVES = """
MATCH (:User {id: $viewer})-[m:OWNS|COLLABORATES_ON]->(b:Board)<-[s:SAVED_TO]-(p:Pin)
WITH m, b, s, p
WHERE (s.by = $viewer OR (s.by IS NULL AND type(m) = 'OWNS'))"""
_NEWEST_SAVES = """
RETURN p.id AS id, max(s.at) AS at
ORDER BY at DESC
LIMIT $limit
"""
RECENT_SAVES = _MY_SAVES + _NEWEST_SAVES
RECENT_PUBLIC_SAVES = _MY_SAVES + " AND b.privacy = 'PUBLIC'" + _NEWEST_SAVES
RECENT_ENGAGEMENTS = """
MATCH (:User {id: $viewer})-[e:ENGAGED]->(p:Pin)
RETURN p.id AS id, e.kind AS kind, e.at AS at
ORDER BY at DESC
LIMIT $limit
"""
FOLLOWED_TOPIC_NAMES = """
MATCH (:User {id: $viewer})-[:FOLLOWS]->(t:Topic)
RETURN t.name AS name
"""


@dataclass(frozen=True)
class Signals:
    saves: list[tuple[str, int]]  # (pin id, epoch ms), newest first
    engagements: list[tuple[str, str, int]]  # (pin id, kind, epoch ms), newest first
    topics: list[str]  # followed topic names


class FeedRepo:
    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend

    async def home(self, viewer: str, first: int, after_: str | None) -> Page[Pin]:
        return await filtered_page(
            self.backend, ListQuery(HOME, HOME_VISIBLE), {"viewer": viewer}, viewer=viewer,
            first=first, after_cursor=after_, visible=visible_pins_of(self.backend, viewer),
        )  # fmt: skip

    async def signals(self, viewer: str, *, public_only: bool, limit: int = 200) -> Signals:
        """What the user did lately. `public_only` leaves out their saves to secret boards:
        a recommendation job must not be steered by them (the user's own feed may)."""
        params = {"viewer": viewer, "limit": limit}
        saves = await self.backend.read(
            RECENT_PUBLIC_SAVES if public_only else RECENT_SAVES, params
        )
        engagements = await self.backend.read(RECENT_ENGAGEMENTS, params)
        topics = await self.backend.read(FOLLOWED_TOPIC_NAMES, {"viewer": viewer})
        return Signals(
            [(row["id"], int(row["at"])) for row in saves],
            [(row["id"], row["kind"], int(row["at"])) for row in engagements],
            sorted(row["name"] for row in topics),
        )
