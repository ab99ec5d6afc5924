"""Shared boards: the owner invites users, who accept or decline; collaborators save into
the board and see it when it is secret; the owner removes them, or they leave.

Membership is the `COLLABORATES_ON` edge, and its ids are repeated on the board
(`Board.memberIds`) in the same statement, because visibility filters on it in WHERE where
FalkorDB cannot filter on a pattern (`cypher.BOARD_MEMBER`, docs/graph-model.md). A pending
invite is an `INVITED_TO` edge with an opaque id of its own: only its invitee can accept or
decline it, and its id names neither the board nor when it was made.

Only the owner manages: invites, removals (and the statements in boards.py: rename, privacy,
deletion). Every write is one statement, checked in the statement itself; when it matches
nothing, a read explains why, with the errors the rest of the API uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from domain.errors import BadInput, Conflict, Forbidden, NotFound
from domain.ids import opaque_id
from events.bus import EventSink
from events.model import Event, EventType
from graph.backends.base import GraphBackend
from graph.model import Board, Page, Privacy, User, now_ms
from graph.repos.cypher import BOARD_ITEM, BOARD_VISIBLE, USER_ITEM, after, keyset_page

MAX_COLLABORATORS = 50  # per board, the owner not counted; pending invites count too
MAX_INVITES_LISTED = 100  # `boardInvites` shows the newest this many
ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

# The owner invites a user who is neither the owner nor a collaborator, while members and
# pending invites together stay under the cap. Inviting again keeps the first invite. The
# board is locked (`membersAt`) before members and invites are counted, so that concurrent
# invites and accepts on Neo4j cannot pass the cap together.
INVITE = f"""
MATCH (o:User {{id: $viewer}})-[:OWNS]->(b:Board {{id: $boardId}})
WITH o, b
MATCH (u:User {{id: $userId}})
WHERE u.id <> o.id
SET b.membersAt = $now
WITH o, b, u
WITH o, b, u, size([(b)<-[:INVITED_TO]-(x:User) WHERE x.id <> $userId | 1]) AS others
WHERE u.id <> o.id AND NOT u.id IN coalesce(b.memberIds, [])
  AND size(coalesce(b.memberIds, [])) + others < $cap
MERGE (u)-[i:INVITED_TO]->(b)
ON CREATE SET i.id = $inviteId, i.at = $now, i.by = $viewer
RETURN i.id AS id, i.at AS at, i.by AS by, {BOARD_ITEM} AS board
"""
# Why INVITE matched nothing.
INVITE_STATE = """
MATCH (b:Board {id: $boardId})
WITH b
MATCH (b)<-[:OWNS]-(o:User)
OPTIONAL MATCH (u:User {id: $userId})
RETURN o.id AS ownerId, b.privacy AS privacy, coalesce(b.memberIds, []) AS members,
       u.id AS userId, size([(b)<-[:INVITED_TO]-(:User) | 1]) AS pending
"""
# The board is locked (`membersAt`) before the invite is matched again and the cap checked
# again, so that on Neo4j concurrent accepts cannot pass the cap together and an invite
# withdrawn (REMOVE) while this waited for the lock gives no membership; FalkorDB runs one
# write at a time.
ACCEPT = f"""
MATCH (:User {{id: $viewer}})-[:INVITED_TO {{id: $inviteId}}]->(b:Board)
WITH b
MATCH (b)<-[:OWNS]-(o:User)
WHERE size(coalesce(b.memberIds, [])) < $cap
SET b.membersAt = $now
WITH b, o
MATCH (u:User {{id: $viewer}})-[i:INVITED_TO {{id: $inviteId}}]->(b)
WITH u, i, b, o, i.by AS by
WHERE size(coalesce(b.memberIds, [])) < $cap
DELETE i
MERGE (u)-[c:COLLABORATES_ON]->(b)
ON CREATE SET c.at = $now, c.by = by
SET b.memberIds = [x IN coalesce(b.memberIds, []) WHERE x <> u.id] + u.id
RETURN {BOARD_ITEM} AS item
"""
INVITE_OF = """
MATCH (:User {id: $viewer})-[i:INVITED_TO {id: $inviteId}]->(b:Board)
RETURN b.id AS boardId
"""
DECLINE = """
MATCH (:User {id: $viewer})-[i:INVITED_TO {id: $inviteId}]->(b:Board)
WITH i, b.id AS boardId
DELETE i
RETURN boardId
"""
# The owner removes a collaborator, or withdraws a pending invite. The board is locked
# (`membersAt`) first; the list is then updated from itself as re-read under the lock, never
# recomputed from edges deleted in the same statement.
REMOVE = f"""
MATCH (o:User {{id: $viewer}})-[:OWNS]->(b:Board {{id: $boardId}})
WITH o, b
MATCH (u:User {{id: $userId}})
WHERE u.id <> o.id
SET b.membersAt = $now
WITH o, b, u
SET b.memberIds = [x IN coalesce(b.memberIds, []) WHERE x <> u.id]
WITH o, b, u
OPTIONAL MATCH (u)-[c:COLLABORATES_ON]->(b)
DELETE c
WITH o, b, u, count(c) AS removed
OPTIONAL MATCH (u)-[i:INVITED_TO]->(b)
DELETE i
WITH o, b, u, removed, count(i) AS withdrawn
OPTIONAL MATCH (u)-[f:FOLLOWS]->(b)
WHERE b.privacy = 'SECRET'
DELETE f
WITH o, b, removed, withdrawn, count(f) AS unfollowed
RETURN {BOARD_ITEM} AS item, removed, withdrawn
"""
# A collaborator leaves. The board is locked (`membersAt`) first, then the membership is
# matched again (a removal may have taken it meanwhile) and the list updated from itself. A
# follow of a secret board goes with the membership that let them see it.
LEAVE = """
MATCH (b:Board {id: $boardId})
WITH b
MATCH (:User {id: $viewer})-[:COLLABORATES_ON]->(b)
SET b.membersAt = $now
WITH b
MATCH (u:User {id: $viewer})-[c:COLLABORATES_ON]->(b)
SET b.memberIds = [x IN coalesce(b.memberIds, []) WHERE x <> u.id]
DELETE c
WITH u, b
OPTIONAL MATCH (u)-[f:FOLLOWS]->(b)
WHERE b.privacy = 'SECRET'
DELETE f
WITH b, count(f) AS unfollowed
RETURN b.id AS boardId
"""
# Collaborators of a board the caller has found visible to the viewer, newest first.
MEMBERS_OF = f"""
MATCH (:Board {{id: $id}})<-[c:COLLABORATES_ON]-(u:User)
WHERE {after("c.at", "u.id")}
RETURN {USER_ITEM} AS item, c.at AS sortKey, u.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
MEMBER_COUNTS = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
RETURN id, size(coalesce(b.memberIds, [])) AS n
"""
# Which of some boards the viewer collaborates on (their `viewerRole`).
MEMBER_OF = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
WHERE $viewer IN coalesce(b.memberIds, [])
RETURN id
"""
# Boards the viewer collaborates on that are visible to them (all of them), newest first.
SHARED_WITH = f"""
MATCH (:User {{id: $viewer}})-[c:COLLABORATES_ON]->(b:Board)<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE} AND {after("c.at", "b.id")}
RETURN {BOARD_ITEM} AS item, c.at AS sortKey, b.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
SHARED_WITH_COUNT = """
MATCH (:User {id: $viewer})-[:COLLABORATES_ON]->(b:Board)
RETURN count(b) AS n
"""
# The viewer's pending invites, with the board each is to: shown to its invitee alone.
INVITES_OF = f"""
MATCH (:User {{id: $viewer}})-[i:INVITED_TO]->(b:Board)<-[:OWNS]-(o:User)
RETURN i.id AS id, i.at AS at, i.by AS by, {BOARD_ITEM} AS board
ORDER BY at DESC, id DESC
LIMIT $limit
"""
# Which of some boards the viewer has a pending invite to (BOARD_INVITE notifications).
INVITED_TO = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
WITH id, b
MATCH (:User {id: $viewer})-[:INVITED_TO]->(b)
RETURN DISTINCT id
"""


@dataclass(frozen=True)
class Invite:
    id: str
    board: Board
    invited_by: str
    created_at: int
    invitee: str
    created: bool = False  # made by the `invite` call that returned it (not an earlier one)

    @classmethod
    def from_row(cls, row: dict[str, Any], invitee: str) -> Invite:
        return cls(row["id"], Board.from_row(row["board"]), row["by"], row["at"], invitee)


def check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise BadInput(f"{what} is not an id")
    return value


class CollaboratorRepo:
    def __init__(self, backend: GraphBackend, events: EventSink) -> None:
        self.backend = backend
        self.events = events

    async def invite(self, viewer: str, board_id: str, user_id: str) -> Invite:
        """Invite a user to a board the viewer owns; inviting again returns the same invite."""
        params = {
            "viewer": viewer,
            "boardId": check_id(board_id, "boardId"),
            "userId": check_id(user_id, "userId"),
            "inviteId": opaque_id(),
            "now": now_ms(),
            "cap": MAX_COLLABORATORS,
        }
        rows = await self.backend.write(INVITE, params)
        if not rows:
            await self._refuse_invite(viewer, board_id, user_id)
        invite = Invite.from_row(rows[0], user_id)
        if invite.id == params["inviteId"]:
            invite = replace(invite, created=True)
            await self.events.publish(
                Event(EventType.BOARD_INVITED, actor=viewer, board=board_id, user=user_id)
            )
        return invite

    async def _owners_view(
        self, viewer: str, board_id: str, user_id: str, action: str
    ) -> dict[str, Any]:
        """The board and user as the owner sees them, for saying why a write changed
        nothing; NotFound for a board hidden from the viewer, Forbidden for a non-owner."""
        rows = await self.backend.read(INVITE_STATE, {"boardId": board_id, "userId": user_id})
        state = rows[0] if rows else None
        if state is None or (
            state["privacy"] == Privacy.SECRET
            and viewer != state["ownerId"]
            and viewer not in state["members"]
        ):
            raise NotFound(f"no board {board_id!r}")
        if state["ownerId"] != viewer:
            raise Forbidden(f"only the board's owner can {action}")
        found: dict[str, Any] = state
        return found

    async def _refuse_invite(self, viewer: str, board_id: str, user_id: str) -> None:
        state = await self._owners_view(viewer, board_id, user_id, "invite collaborators")
        if state["userId"] is None:
            raise NotFound(f"no user {user_id!r}")
        if user_id == viewer:
            raise Conflict("you own this board")
        if user_id in state["members"]:
            raise Conflict("already a collaborator on this board")
        raise BadInput(f"a board has at most {MAX_COLLABORATORS} collaborators and pending invites")

    async def accept(self, viewer: str, invite_id: str) -> Board:
        params = {
            "viewer": viewer,
            "inviteId": check_id(invite_id, "inviteId"),
            "now": now_ms(),
            "cap": MAX_COLLABORATORS,
        }
        rows = await self.backend.write(ACCEPT, params)
        if not rows:
            if not await self.backend.read(INVITE_OF, params):
                raise NotFound(f"no invite {invite_id!r}")
            raise BadInput(f"the board already has {MAX_COLLABORATORS} collaborators")
        board = Board.from_row(rows[0]["item"])
        await self.events.publish(
            Event(EventType.COLLABORATOR_ADDED, actor=viewer, board=board.id, user=viewer)
        )
        return board

    async def decline(self, viewer: str, invite_id: str) -> bool:
        params = {"viewer": viewer, "inviteId": check_id(invite_id, "inviteId")}
        rows = await self.backend.write(DECLINE, params)
        if not rows:
            raise NotFound(f"no invite {invite_id!r}")
        await self.events.publish(
            Event(EventType.BOARD_INVITE_DECLINED, actor=viewer, board=rows[0]["boardId"],
                  user=viewer)
        )  # fmt: skip
        return True

    async def remove(self, viewer: str, board_id: str, user_id: str) -> Board:
        """Remove a collaborator, or withdraw a pending invite; removing someone who is
        neither changes nothing."""
        params = {
            "viewer": viewer,
            "boardId": check_id(board_id, "boardId"),
            "userId": check_id(user_id, "userId"),
            "now": now_ms(),
        }
        rows = await self.backend.write(REMOVE, params)
        if not rows:
            await self._refuse_remove(viewer, board_id, user_id)
        row = rows[0]
        if row["removed"] or row["withdrawn"]:
            await self.events.publish(
                Event(EventType.COLLABORATOR_REMOVED, actor=viewer, board=board_id, user=user_id)
            )
        return Board.from_row(row["item"])

    async def _refuse_remove(self, viewer: str, board_id: str, user_id: str) -> None:
        await self._owners_view(viewer, board_id, user_id, "remove collaborators")
        if user_id == viewer:
            raise BadInput("the owner cannot be removed from their board")
        raise NotFound(f"no user {user_id!r}")

    async def leave(self, viewer: str, board_id: str) -> bool:
        """Stop collaborating on a board; False when the viewer was not a collaborator."""
        params = {"viewer": viewer, "boardId": check_id(board_id, "boardId"), "now": now_ms()}
        rows = await self.backend.write(LEAVE, params)
        if rows:
            await self.events.publish(
                Event(EventType.COLLABORATOR_REMOVED, actor=viewer, board=board_id, user=viewer)
            )
            return True
        state = await self.backend.read(INVITE_STATE, {"boardId": board_id, "userId": viewer})
        if not state or (state[0]["privacy"] == Privacy.SECRET and state[0]["ownerId"] != viewer):
            raise NotFound(f"no board {board_id!r}")
        if state[0]["ownerId"] == viewer:
            raise BadInput("the owner cannot leave their board; delete it instead")
        return False

    async def members(self, board_id: str, first: int, after_: str | None) -> Page[User]:
        """Collaborators of a board the caller has found visible to the viewer."""
        return await keyset_page(
            self.backend, MEMBERS_OF, {"id": board_id},
            first=first, after_cursor=after_, build=User.from_row,
        )  # fmt: skip

    async def member_counts(self, ids: list[str]) -> dict[str, int]:
        rows = await self.backend.read(MEMBER_COUNTS, {"ids": ids})
        found = {row["id"]: int(row["n"]) for row in rows}
        return {id_: found.get(id_, 0) for id_ in ids}

    async def member_of(self, ids: list[str], viewer: str | None) -> set[str]:
        """Which of `ids` the viewer collaborates on."""
        if viewer is None or not ids:
            return set()
        rows = await self.backend.read(MEMBER_OF, {"ids": ids, "viewer": viewer})
        return {row["id"] for row in rows}

    async def shared_with(self, viewer: str, first: int, after_: str | None) -> Page[Board]:
        """Boards the viewer collaborates on (and may save to), newest membership first."""
        return await keyset_page(
            self.backend, SHARED_WITH, {"viewer": viewer},
            first=first, after_cursor=after_, build=Board.from_row,
        )  # fmt: skip

    async def shared_with_count(self, viewer: str) -> int:
        rows = await self.backend.read(SHARED_WITH_COUNT, {"viewer": viewer})
        return int(rows[0]["n"]) if rows else 0

    async def invites_of(self, viewer: str) -> list[Invite]:
        """The viewer's pending invites, newest first."""
        rows = await self.backend.read(INVITES_OF, {"viewer": viewer, "limit": MAX_INVITES_LISTED})
        return [Invite.from_row(row, viewer) for row in rows]

    async def invited_to(self, ids: list[str], viewer: str) -> set[str]:
        """Which of `ids` the viewer has a pending invite to."""
        if not ids:
            return set()
        rows = await self.backend.read(INVITED_TO, {"ids": list(set(ids)), "viewer": viewer})
        return {row["id"] for row in rows}
