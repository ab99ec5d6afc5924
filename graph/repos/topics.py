"""Topics: normalised names, who follows them, and their pins."""

from __future__ import annotations

from domain.errors import BadInput, NotFound
from domain.ids import opaque_id
from events.bus import EventSink
from events.model import Event, EventType
from graph.backends.base import GraphBackend
from graph.model import Page, Pin, Topic, now_ms, topic_name
from graph.repos.cypher import (
    BOARD_VISIBLE,
    ListQuery,
    after,
    count_map,
    filtered_page,
    keyset_page,
    newest_pins_first,
    visible_pins,
)
from graph.repos.pins import visible_pins_of

BY_NAME = "MATCH (t:Topic {name: $name}) RETURN t {.*} AS item"
FOLLOW = """
MATCH (v:User {id: $viewer})
MERGE (t:Topic {name: $name})
ON CREATE SET t.id = $id
MERGE (v)-[f:FOLLOWS]->(t)
ON CREATE SET f.at = $now
RETURN t {.*} AS item
"""
UNFOLLOW = """
MATCH (t:Topic {name: $name})
OPTIONAL MATCH (:User {id: $viewer})-[f:FOLLOWS]->(t)
DELETE f
RETURN t {.*} AS item
"""
# Candidates only: visibility is checked per page (see cypher.filtered_page).
_PINS_OF_TOPIC = f"""
MATCH (t:Topic {{name: $name}})
WITH t
MATCH (t)<-[:TAGGED]-(p:Pin)
WHERE {after("p.createdAt", "p.id")}
"""
PINS = _PINS_OF_TOPIC + newest_pins_first()
VISIBLE_PINS = _PINS_OF_TOPIC + visible_pins() + newest_pins_first()
PIN_COUNTS = f"""
UNWIND $ids AS id
MATCH (t:Topic {{id: id}})
WITH id, t
MATCH (t)<-[:TAGGED]-(p:Pin)
{visible_pins("id")}
RETURN id, count(p) AS n
"""
FOLLOWED_BY = f"""
MATCH (:User {{id: $id}})-[f:FOLLOWS]->(t:Topic)
WHERE {after("f.at", "t.id")}
RETURN t {{.*}} AS item, f.at AS sortKey, t.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
HAS_FOLLOWER = "MATCH (:Topic {name: $name})<-[:FOLLOWS]-(u:User) RETURN u.id AS id LIMIT 1"
HAS_VISIBLE_BOARD = f"""
MATCH (:Topic {{name: $name}})<-[:ABOUT]-(b:Board)<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE}
RETURN b.id AS id
LIMIT 1
"""
FOLLOWED_COUNT = """
MATCH (:User {id: $id})-[:FOLLOWS]->(t:Topic)
RETURN count(t) AS n
"""
FOLLOWER_COUNTS = """
UNWIND $ids AS id
MATCH (t:Topic {id: id})
RETURN id, size([(t)<-[:FOLLOWS]-(:User) | 1]) AS n
"""


class TopicRepo:
    def __init__(self, backend: GraphBackend, events: EventSink) -> None:
        self.backend = backend
        self.events = events

    async def get(self, name: str, viewer: str | None) -> Topic:
        """A topic the viewer can know of: one with a follower, or a pin or board the viewer
        sees. A topic named only by secret pins or boards is someone's secret: NotFound."""
        try:
            clean = topic_name(name)
        except BadInput:
            raise NotFound(f"no topic {name!r}") from None
        rows = await self.backend.read(BY_NAME, {"name": clean})
        if not rows or not await self._known_to(clean, viewer):
            raise NotFound(f"no topic {clean!r}")
        return Topic.from_row(rows[0]["item"])

    async def _known_to(self, name: str, viewer: str | None) -> bool:
        params = {"name": name, "viewer": viewer}
        if await self.backend.read(HAS_FOLLOWER, params):
            return True
        if await self.backend.read(HAS_VISIBLE_BOARD, params):
            return True
        return bool((await self.pins(name, viewer, 1, None)).items)

    async def follow(self, viewer: str, name: str) -> Topic:
        """Follow a topic by name, creating it if it is new."""
        rows = await self.backend.write(
            FOLLOW, {"viewer": viewer, "name": topic_name(name), "id": opaque_id(), "now": now_ms()}
        )
        if not rows:
            raise NotFound(f"no user {viewer!r}")
        topic = Topic.from_row(rows[0]["item"])
        await self.events.publish(Event(EventType.TOPIC_FOLLOWED, actor=viewer, topic=topic.name))
        return topic

    async def unfollow(self, viewer: str, name: str) -> Topic:
        rows = await self.backend.write(UNFOLLOW, {"viewer": viewer, "name": topic_name(name)})
        if not rows:
            raise NotFound(f"no topic {name!r}")
        topic = Topic.from_row(rows[0]["item"])
        await self.events.publish(Event(EventType.TOPIC_UNFOLLOWED, actor=viewer, topic=topic.name))
        return topic

    async def pins(
        self, name: str, viewer: str | None, first: int, after_: str | None
    ) -> Page[Pin]:
        return await filtered_page(
            self.backend, ListQuery(PINS, VISIBLE_PINS), {"name": topic_name(name)}, viewer=viewer,
            first=first, after_cursor=after_, visible=visible_pins_of(self.backend, viewer),
        )  # fmt: skip

    async def follower_counts(self, ids: list[str]) -> dict[str, int]:
        return count_map(await self.backend.read(FOLLOWER_COUNTS, {"ids": ids}), ids)

    async def pin_counts(self, ids: list[str], viewer: str | None) -> dict[str, int]:
        """How many pins of each topic the viewer can see."""
        rows = await self.backend.read(PIN_COUNTS, {"ids": ids, "viewer": viewer})
        return count_map(rows, ids)

    async def followed_by(self, user_id: str, first: int, after_: str | None) -> Page[Topic]:
        return await keyset_page(
            self.backend, FOLLOWED_BY, {"id": user_id},
            first=first, after_cursor=after_, build=Topic.from_row,
        )  # fmt: skip

    async def followed_count(self, user_id: str) -> int:
        rows = await self.backend.read(FOLLOWED_COUNT, {"id": user_id})
        return int(rows[0]["n"]) if rows else 0
