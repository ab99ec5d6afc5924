"""Users and who follows whom."""

from __future__ import annotations

from collections.abc import Callable

from domain.errors import BadInput, Conflict, NotFound
from domain.ids import new_id
from domain.recent import Recent
from events.bus import EventSink
from events.model import Event, EventType
from graph.backends.base import GraphBackend
from graph.model import MAX_NAME, Page, User, handle, lang, now_ms, text
from graph.repos.cypher import USER_ITEM, after, count_map, fetch_by_ids, keyset_page, the_one

CREATE = f"""
CREATE (u:User {{id: $id, handle: $handle, displayName: $displayName, createdAt: $now,
                 lang: $lang}})
RETURN {USER_ITEM} AS item
"""
# Signing up: the user and its password credential (`graph/repos/credentials.py`) in one
# transaction, so that there is never one without the other.
CREATE_WITH_CREDENTIAL = f"""
CREATE (u:User {{id: $id, handle: $handle, displayName: $displayName, createdAt: $now,
                 lang: $lang}})
CREATE (:Credential {{user: $id, sealed: $sealed, generation: 0, updatedAt: $now}})
RETURN {USER_ITEM} AS item
"""
BY_IDS = f"""
UNWIND $ids AS id
MATCH (u:User {{id: id}})
RETURN {USER_ITEM} AS item
"""
BY_HANDLE = f"MATCH (u:User {{handle: $handle}}) RETURN {USER_ITEM} AS item"
FOLLOW = """
MATCH (a:User {id: $viewer})
MATCH (u:User {id: $target})
MERGE (a)-[f:FOLLOWS]->(u)
ON CREATE SET f.at = $now
RETURN u.id AS id
"""
UNFOLLOW = """
MATCH (u:User {id: $target})
OPTIONAL MATCH (:User {id: $viewer})-[f:FOLLOWS]->(u)
DELETE f
RETURN u.id AS id
"""
FOLLOWERS = f"""
MATCH (:User {{id: $id}})<-[f:FOLLOWS]-(u:User)
WHERE {after("f.at", "u.id")}
RETURN {USER_ITEM} AS item, f.at AS sortKey, u.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
FOLLOWING = f"""
MATCH (:User {{id: $id}})-[f:FOLLOWS]->(u:User)
WHERE {after("f.at", "u.id")}
RETURN {USER_ITEM} AS item, f.at AS sortKey, u.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
FOLLOWER_COUNTS = """
UNWIND $ids AS id
MATCH (u:User {id: id})
RETURN id, size([(u)<-[:FOLLOWS]-(:User) | 1]) AS n
"""
FOLLOWING_COUNTS = """
UNWIND $ids AS id
MATCH (u:User {id: id})
RETURN id, size([(u)-[:FOLLOWS]->(:User) | 1]) AS n
"""
VIEWER_FOLLOWS = {
    label: f"""
UNWIND $ids AS id
MATCH (:User {{id: $viewer}})-[:FOLLOWS]->(x:{label} {{id: id}})
RETURN id
"""
    for label in ("User", "Board", "Topic")
}


# Users are never changed once created (no mutation edits a handle, name or language, and
# users are not deleted), so a process keeps the records it has read. A write that ever
# changes a user must drop it from `_known` in every process (through its domain event).
KNOWN_USERS = 50_000


class UserRepo:
    def __init__(self, backend: GraphBackend, events: EventSink) -> None:
        self.backend = backend
        self.events = events
        self._known: Recent[str, User] = Recent(KNOWN_USERS)

    async def create(
        self,
        handle_: str,
        display_name: str | None = None,
        lang_: str | None = None,
        *,
        sealed_password: Callable[[str], str] | None = None,
    ) -> User:
        """A new user; with `sealed_password` (the sealed hash to store, given the new
        user's id) also its password credential."""
        clean_handle = handle(handle_)
        name = text(display_name, "displayName", max_len=MAX_NAME, required=False)
        user_id = new_id()
        params = {
            "id": user_id,
            "handle": clean_handle,
            "displayName": name or clean_handle,
            "now": now_ms(),
            "lang": lang(lang_),
        }
        query = CREATE
        if sealed_password is not None:
            params["sealed"] = sealed_password(user_id)
            query = CREATE_WITH_CREDENTIAL
        try:
            rows = await self.backend.write(query, params)
        except Conflict:
            raise Conflict(f"handle {clean_handle!r} is already taken") from None
        user = User.from_row(rows[0]["item"])
        await self.events.publish(Event(EventType.USER_CREATED, actor=user.id, user=user.id))
        return user

    async def get(self, user_id: str) -> User:
        return the_one(await self.get_many([user_id]), user_id, "user")

    def known(self, user_id: str) -> User | None:
        """The user if this process has read it before (no query)."""
        return self._known.get(user_id)

    async def get_many(self, ids: list[str]) -> dict[str, User]:
        known = {id_: user for id_ in ids if (user := self._known.get(id_)) is not None}
        missing = [id_ for id_ in ids if id_ not in known]
        if missing:
            found = await fetch_by_ids(self.backend, BY_IDS, missing, User.from_row)
            self._known.update(found)
            known.update(found)
        return known

    async def by_handle(self, handle_: str) -> User:
        try:
            clean = handle(handle_)
        except BadInput:
            raise NotFound(f"no user with handle {handle_!r}") from None
        rows = await self.backend.read(BY_HANDLE, {"handle": clean})
        if not rows:
            raise NotFound(f"no user with handle {clean!r}")
        return User.from_row(rows[0]["item"])

    async def follow(self, viewer: str, target: str) -> None:
        if viewer == target:
            raise BadInput("you cannot follow yourself")
        rows = await self.backend.write(
            FOLLOW, {"viewer": viewer, "target": target, "now": now_ms()}
        )
        if not rows:
            raise NotFound(f"no user {target!r}")
        await self.events.publish(Event(EventType.USER_FOLLOWED, actor=viewer, user=target))

    async def unfollow(self, viewer: str, target: str) -> None:
        rows = await self.backend.write(UNFOLLOW, {"viewer": viewer, "target": target})
        if not rows:
            raise NotFound(f"no user {target!r}")
        await self.events.publish(Event(EventType.USER_UNFOLLOWED, actor=viewer, user=target))

    async def followers(self, user_id: str, first: int, after_: str | None) -> Page[User]:
        return await keyset_page(
            self.backend, FOLLOWERS, {"id": user_id},
            first=first, after_cursor=after_, build=User.from_row,
        )  # fmt: skip

    async def following(self, user_id: str, first: int, after_: str | None) -> Page[User]:
        return await keyset_page(
            self.backend, FOLLOWING, {"id": user_id},
            first=first, after_cursor=after_, build=User.from_row,
        )  # fmt: skip

    async def follower_counts(self, ids: list[str]) -> dict[str, int]:
        return count_map(await self.backend.read(FOLLOWER_COUNTS, {"ids": ids}), ids)

    async def following_counts(self, ids: list[str]) -> dict[str, int]:
        return count_map(await self.backend.read(FOLLOWING_COUNTS, {"ids": ids}), ids)

    async def viewer_follows(
        self, viewer: str | None, label: str, ids: list[str]
    ) -> dict[str, bool]:
        """Which of `ids` (of label User, Board or Topic) the viewer follows."""
        if viewer is None:
            return dict.fromkeys(ids, False)
        query = VIEWER_FOLLOWS[label]
        rows = await self.backend.read(query, {"viewer": viewer, "ids": ids})
        followed = {row["id"] for row in rows}
        return {id_: id_ in followed for id_ in ids}
