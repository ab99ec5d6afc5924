"""Boards: create, edit, delete, list, follow, and the pins saved to them."""

from __future__ import annotations

from typing import Any

from domain.errors import Forbidden, NotFound
from domain.ids import new_id, opaque_id
from events.bus import EventSink
from events.model import Event, EventType
from graph.backends.base import GraphBackend
from graph.model import (
    MAX_DESCRIPTION,
    MAX_NAME,
    Board,
    Page,
    Pin,
    Privacy,
    now_ms,
    required_text,
    text,
    topic_names,
)
from graph.repos.cypher import (
    BOARD_ITEM,
    BOARD_VISIBLE,
    PIN_ITEM,
    after,
    count_map,
    fetch_by_ids,
    grouped,
    keyset_page,
    the_one,
)

TOPICS = """
FOREACH (t IN $topics |
  MERGE (x:Topic {name: t.name}) ON CREATE SET x.id = t.id
  MERGE (b)-[:ABOUT]->(x))
"""
# The node is created in a clause of its own and joined to its owner after a WITH. In
# FalkorDB 4.22, a read that fails (a timeout, a runtime error) while a write that creates a
# node waits for the lock leaves the node-id reservation off by one, and from then on
# `CREATE (o)-[:OWNS]->(b:Board)` in one pattern joins `o` to the node created before `b`.
# This shape stays correct even then (docs/operations.md, "Security").
CREATE = f"""
MATCH (o:User {{id: $viewer}})
CREATE (b:Board {{id: $id, name: $name, description: $description, privacy: $privacy,
                 createdAt: $now}})
WITH o, b
CREATE (o)-[:OWNS]->(b)
WITH o, b
{TOPICS}
RETURN {BOARD_ITEM} AS item
"""
UPDATE = f"""
MATCH (o:User {{id: $viewer}})-[:OWNS]->(b:Board {{id: $id}})
SET b.name = coalesce($name, b.name),
    b.description = CASE WHEN $setDescription THEN $description ELSE b.description END,
    b.privacy = coalesce($privacy, b.privacy)
WITH o, b
OPTIONAL MATCH (b)-[a:ABOUT]->(:Topic)
WHERE $replaceTopics
DELETE a
WITH DISTINCT o, b
{TOPICS}
RETURN {BOARD_ITEM} AS item
"""
# Pins the owner created that are saved nowhere else go with the board, with their comments;
# others' pins stay. Its sections go with it.
DELETE = """
MATCH (o:User {id: $viewer})-[:OWNS]->(b:Board {id: $id})
OPTIONAL MATCH (b)-[:HAS_SECTION]->(sec:Section)
WITH o, b, collect(sec) AS sections
FOREACH (x IN sections | DETACH DELETE x)
WITH o, b
OPTIONAL MATCH (o)-[:CREATED]->(p:Pin)-[:SAVED_TO]->(b)
OPTIONAL MATCH (p)-[:SAVED_TO]->(other:Board)
WITH b, p, count(other) AS boards
OPTIONAL MATCH (p)<-[:ON_PIN]-(c:Comment)
WITH b, p, boards, collect(CASE WHEN boards = 1 THEN c END) AS doomed
WITH b, collect(CASE WHEN boards = 1 THEN p END) AS orphans, collect(doomed) AS comments
FOREACH (cs IN comments | FOREACH (c IN cs | DETACH DELETE c))
DETACH DELETE b
FOREACH (x IN orphans | DETACH DELETE x)
RETURN size(orphans) AS deletedPins
"""
OWNER_OF = """
MATCH (b:Board {id: $id})
OPTIONAL MATCH (o:User)-[:OWNS]->(b)
RETURN o.id AS ownerId, b.privacy AS privacy, coalesce(b.memberIds, []) AS memberIds
"""
BY_IDS = f"""
UNWIND $ids AS id
MATCH (b:Board {{id: id}})
WITH b
MATCH (b)<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE}
RETURN {BOARD_ITEM} AS item
"""
OF_USER = f"""
MATCH (o:User {{id: $id}})-[:OWNS]->(b:Board)
WHERE {BOARD_VISIBLE} AND {after("b.createdAt", "b.id")}
RETURN {BOARD_ITEM} AS item, b.createdAt AS sortKey, b.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
# Newest save first. The caller has checked that the board is visible to the viewer.
PINS = f"""
MATCH (:Board {{id: $id}})<-[s:SAVED_TO]-(p:Pin)
WHERE {after("s.at", "p.id")}
WITH p, s
ORDER BY s.at DESC, p.id DESC
LIMIT $limit
RETURN {PIN_ITEM} AS item, s.at AS sortKey, p.id AS sortId
"""
PIN_COUNTS = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
RETURN id, size([(b)<-[:SAVED_TO]-(:Pin) | 1]) AS n
"""
FOLLOWER_COUNTS = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
RETURN id, size([(b)<-[:FOLLOWS]-(:User) | 1]) AS n
"""
FOLLOW = f"""
MATCH (v:User {{id: $viewer}})
MATCH (b:Board {{id: $id}})<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE}
MERGE (v)-[f:FOLLOWS]->(b)
ON CREATE SET f.at = $now
RETURN {BOARD_ITEM} AS item
"""
UNFOLLOW = f"""
MATCH (b:Board {{id: $id}})<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE}
OPTIONAL MATCH (:User {{id: $viewer}})-[f:FOLLOWS]->(b)
DELETE f
RETURN {BOARD_ITEM} AS item
"""
COUNTS_OF_OWNERS = f"""
UNWIND $ids AS id
MATCH (o:User {{id: id}})
WITH id, o
MATCH (o)-[:OWNS]->(b:Board)
WHERE {BOARD_VISIBLE}
RETURN id, count(b) AS n
"""
TOPICS_OF = """
UNWIND $ids AS id
MATCH (:Board {id: id})-[:ABOUT]->(t:Topic)
RETURN id, t {.*} AS topic
ORDER BY t.name
"""


def _topic_params(names: list[str]) -> list[dict[str, str]]:
    return [{"name": name, "id": opaque_id()} for name in names]


class BoardRepo:
    def __init__(self, backend: GraphBackend, events: EventSink) -> None:
        self.backend = backend
        self.events = events

    async def create(
        self,
        viewer: str,
        name: str,
        description: str | None = None,
        privacy: Privacy = Privacy.PUBLIC,
        topics: list[str] | None = None,
    ) -> Board:
        rows = await self.backend.write(
            CREATE,
            {
                "viewer": viewer,
                "id": new_id(),
                "name": required_text(name, "name", max_len=MAX_NAME),
                "description": text(
                    description, "description", max_len=MAX_DESCRIPTION, required=False
                ),
                "privacy": Privacy(privacy).value,
                "now": now_ms(),
                "topics": _topic_params(topic_names(topics)),
            },
        )
        if not rows:
            raise NotFound(f"no user {viewer!r}")
        board = Board.from_row(rows[0]["item"])
        await self.events.publish(Event(EventType.BOARD_CREATED, actor=viewer, board=board.id))
        return board

    async def update(
        self,
        viewer: str,
        board_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        set_description: bool = False,
        privacy: Privacy | None = None,
        topics: list[str] | None = None,
    ) -> Board:
        params: dict[str, Any] = {
            "viewer": viewer,
            "id": board_id,
            "name": None if name is None else required_text(name, "name", max_len=MAX_NAME),
            "setDescription": set_description,
            "description": text(
                description, "description", max_len=MAX_DESCRIPTION, required=False
            ),
            "privacy": None if privacy is None else Privacy(privacy).value,
            "replaceTopics": topics is not None,
            "topics": _topic_params(topic_names(topics)),
        }
        rows = await self.backend.write(UPDATE, params)
        if not rows:
            await self._refuse(viewer, board_id)
        await self.events.publish(Event(EventType.BOARD_UPDATED, actor=viewer, board=board_id))
        return Board.from_row(rows[0]["item"])

    async def delete(self, viewer: str, board_id: str) -> int:
        """Delete a board the viewer owns; returns how many orphaned pins went with it."""
        rows = await self.backend.write(DELETE, {"viewer": viewer, "id": board_id})
        if not rows:
            await self._refuse(viewer, board_id)
        await self.events.publish(Event(EventType.BOARD_DELETED, actor=viewer, board=board_id))
        return int(rows[0]["deletedPins"])

    async def get(self, board_id: str, viewer: str | None) -> Board:
        return the_one(await self.get_many([board_id], viewer), board_id, "board")

    async def get_many(self, ids: list[str], viewer: str | None) -> dict[str, Board]:
        return await fetch_by_ids(self.backend, BY_IDS, ids, Board.from_row, viewer=viewer)

    async def of_user(
        self, user_id: str, viewer: str | None, first: int, after_: str | None
    ) -> Page[Board]:
        return await keyset_page(
            self.backend, OF_USER, {"id": user_id, "viewer": viewer},
            first=first, after_cursor=after_, build=Board.from_row,
        )  # fmt: skip

    async def pins(
        self, board_id: str, viewer: str | None, first: int, after_: str | None
    ) -> Page[Pin]:
        await self.get(board_id, viewer)
        return await self.pins_of_visible(board_id, first, after_)

    async def pins_of_visible(self, board_id: str, first: int, after_: str | None) -> Page[Pin]:
        """Pins of a board the caller has already found visible to the viewer."""
        return await keyset_page(
            self.backend, PINS, {"id": board_id},
            first=first, after_cursor=after_, build=Pin.from_row,
        )  # fmt: skip

    async def pin_counts(self, ids: list[str]) -> dict[str, int]:
        return count_map(await self.backend.read(PIN_COUNTS, {"ids": ids}), ids)

    async def follower_counts(self, ids: list[str]) -> dict[str, int]:
        return count_map(await self.backend.read(FOLLOWER_COUNTS, {"ids": ids}), ids)

    async def counts_of_owners(self, ids: list[str], viewer: str | None) -> dict[str, int]:
        """How many boards each user owns that the viewer can see."""
        rows = await self.backend.read(COUNTS_OF_OWNERS, {"ids": ids, "viewer": viewer})
        return count_map(rows, ids)

    async def topics_of(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        return grouped(await self.backend.read(TOPICS_OF, {"ids": ids}), ids, "topic")

    async def follow(self, viewer: str, board_id: str) -> Board:
        rows = await self.backend.write(FOLLOW, {"viewer": viewer, "id": board_id, "now": now_ms()})
        if not rows:
            raise NotFound(f"no board {board_id!r}")
        await self.events.publish(Event(EventType.BOARD_FOLLOWED, actor=viewer, board=board_id))
        return Board.from_row(rows[0]["item"])

    async def unfollow(self, viewer: str, board_id: str) -> Board:
        rows = await self.backend.write(UNFOLLOW, {"viewer": viewer, "id": board_id})
        if not rows:
            raise NotFound(f"no board {board_id!r}")
        await self.events.publish(Event(EventType.BOARD_UNFOLLOWED, actor=viewer, board=board_id))
        return Board.from_row(rows[0]["item"])

    async def _refuse(self, viewer: str, board_id: str) -> None:
        await check_board_owner(
            self.backend, viewer, board_id, "only the board's owner can change it"
        )
        raise Forbidden("only the board's owner can change it")


async def check_board_owner(
    backend: GraphBackend, viewer: str, board_id: str, forbidden: str
) -> None:
    """Explain why a write on a board matched nothing: NotFound (secret boards stay
    unknown to all but their members) or Forbidden(`forbidden`) unless the viewer owns it."""
    rows = await backend.read(OWNER_OF, {"id": board_id})
    if not rows or (rows[0]["privacy"] == Privacy.SECRET and not _member(rows[0], viewer)):
        raise NotFound(f"no board {board_id!r}")
    if rows[0]["ownerId"] != viewer:
        raise Forbidden(forbidden)


async def check_board_member(
    backend: GraphBackend, viewer: str, board_id: str, forbidden: str
) -> None:
    """Like `check_board_owner`, for writes its collaborators may make too (saves)."""
    rows = await backend.read(OWNER_OF, {"id": board_id})
    if not rows or (rows[0]["privacy"] == Privacy.SECRET and not _member(rows[0], viewer)):
        raise NotFound(f"no board {board_id!r}")
    if not _member(rows[0], viewer):
        raise Forbidden(forbidden)


def _member(row: dict[str, Any], viewer: str) -> bool:
    return bool(row["ownerId"] == viewer or viewer in row["memberIds"])
