"""Inboxes, notification settings and push subscriptions, stored in the graph.

A notification is a `(:Notification)` node keyed by `key` = recipient, kind, subject and
aggregation window, so that recording the same actor twice (a redelivered event) changes
nothing and a burst of actors lands on one node. What a recipient may still see (a pin
deleted or made secret since) is decided when the inbox is read (`notifications/inbox.py`),
not here. These writes are derived from domain events, so they publish none themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from graph.backends.base import GraphBackend
from graph.model import Page
from graph.repos.cypher import ListQuery, after, filtered_page
from notifications.model import Notification, NotificationKind, NotificationSettings

MAX_ACTORS = 20  # the most `actors(first:)` lists
# Actors kept per notification, newest first: who they are (a repeat is no new actor), where
# and when they acted (checked against the graph when the inbox is read). `actorCount` goes on
# counting past them, so beyond this many distinct actors in one window it is approximate.
KEPT_ACTORS = 100
MAX_INBOX = 200  # a recipient's newest notifications kept; older ones are pruned

RECORD = """
UNWIND $rows AS row
MERGE (n:Notification {key: row.key})
ON CREATE SET n.id = row.id, n.recipient = row.recipient, n.kind = row.kind,
              n.createdAt = row.at, n.at = row.at, n.read = false,
              n.actorIds = [], n.actorBoards = [], n.actorAts = [], n.actorCount = 0
WITH n, row, row.actor IN n.actorIds AS seen, n.actorCount = 0 AS created
SET n.pin = CASE WHEN seen AND NOT row.digest THEN n.pin ELSE row.pin END,
    n.board = CASE WHEN seen THEN n.board ELSE row.board END,
    n.topic = row.topic,
    n.actorIds = CASE WHEN seen THEN n.actorIds
                      ELSE ([row.actor] + n.actorIds)[0..$keptActors] END,
    n.actorBoards = CASE WHEN seen THEN n.actorBoards
                         ELSE ([row.actorBoard] + n.actorBoards)[0..$keptActors] END,
    n.actorAts = CASE WHEN seen THEN n.actorAts
                      ELSE ([row.at] + n.actorAts)[0..$keptActors] END,
    n.actorCount = n.actorCount + CASE WHEN seen THEN 0 ELSE 1 END,
    n.read = n.read AND seen,
    n.at = CASE WHEN seen OR n.at > row.at THEN n.at ELSE row.at END
RETURN n.id AS id, n.recipient AS recipient, row.key AS key, seen, created
"""
EXISTING_KEYS = """
UNWIND $keys AS key
MATCH (n:Notification {key: key})
RETURN key
"""
PRUNE = """
UNWIND $recipients AS recipient
MATCH (n:Notification {recipient: recipient})
WITH recipient, n
ORDER BY n.at DESC, n.id DESC
WITH recipient, collect(n) AS newest
UNWIND newest[$keep..] AS old
DELETE old
RETURN count(old) AS n
"""
NOTIFICATION_ITEM = "n {.*}"
INBOX = f"""
MATCH (n:Notification {{recipient: $recipient}})
WHERE ($unreadOnly = false OR n.read = false) AND {after("n.at", "n.id")}
RETURN n.at AS sortKey, n.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
BY_IDS = f"""
UNWIND $ids AS id
MATCH (n:Notification {{id: id, recipient: $recipient}})
RETURN {NOTIFICATION_ITEM} AS item
"""
LISTED = f"""
MATCH (n:Notification {{recipient: $recipient}})
WHERE $unreadOnly = false OR n.read = false
RETURN {NOTIFICATION_ITEM} AS item
LIMIT $limit
"""
MARK_READ = """
MATCH (n:Notification {recipient: $recipient})
WHERE n.read = false AND ($ids IS NULL OR n.id IN $ids)
SET n.read = true
RETURN count(n) AS n
"""
SETTINGS = """
UNWIND $ids AS id
MATCH (u:User {id: id})
RETURN id, coalesce(u.notifyMuted, []) AS muted, coalesce(u.topicDigest, false) AS topicDigest
"""
UPDATE_SETTINGS = """
MATCH (u:User {id: $id})
SET u.notifyMuted = coalesce($muted, u.notifyMuted, []),
    u.topicDigest = coalesce($topicDigest, u.topicDigest, false)
RETURN $id AS id, u.notifyMuted AS muted, u.topicDigest AS topicDigest
"""
# From the topic (WITH keeps FalkorDB's planner from scanning every User for the filter).
TOPIC_FOLLOWER_IDS = """
MATCH (t:Topic {name: $topic})
WITH t
MATCH (t)<-[:FOLLOWS]-(u:User)
WHERE u.id <> $exclude
RETURN u.id AS id
"""
REGISTER_PUSH = """
MATCH (u:User {id: $user})
MERGE (s:PushSubscription {ref: $ref})
SET s.user = $user, s.sealed = $sealed, s.at = $now
RETURN s.ref AS ref
"""
UNREGISTER_PUSH = """
MATCH (s:PushSubscription {ref: $ref})
WHERE $user IS NULL OR s.user = $user
DELETE s
RETURN count(*) AS n
"""
PUSH_SUBSCRIPTIONS = """
UNWIND $users AS user
MATCH (s:PushSubscription {user: user})
RETURN s.ref AS ref, s.user AS user, s.sealed AS sealed
"""
PUSH_COUNT = "MATCH (s:PushSubscription {user: $user}) RETURN count(s) AS n"
PUSH_OWNER = "MATCH (s:PushSubscription {ref: $ref}) RETURN s.user AS user"


@dataclass(frozen=True)
class NewNotification:
    """One actor's part in a notification (see RECORD). Empty strings stand for "none"."""

    key: str
    id: str
    recipient: str
    kind: str
    actor: str
    at: int
    actor_board: str = ""
    pin: str = ""
    board: str = ""
    topic: str = ""
    digest: bool = False  # a daily digest: delivered live when created, not on each update

    def row(self) -> dict[str, Any]:
        row = asdict(self)
        row["actorBoard"] = row.pop("actor_board")
        return row


@dataclass(frozen=True)
class SealedSubscription:
    """A push subscription as stored: found by `ref`, readable only by whoever holds the
    sealing key (`notifications/subscriptions.py`)."""

    ref: str
    user: str
    sealed: str


@dataclass(frozen=True)
class Recorded:
    id: str
    recipient: str
    key: str
    new_actor: bool  # False: this actor was already on it (a redelivery, or a repeat)
    created: bool


class NotificationRepo:
    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend

    async def record(self, notifications: list[NewNotification]) -> list[Recorded]:
        if not notifications:
            return []
        rows = await self.backend.write(
            RECORD, {"rows": [n.row() for n in notifications], "keptActors": KEPT_ACTORS}
        )
        return [
            Recorded(row["id"], row["recipient"], row["key"], not row["seen"], bool(row["created"]))
            for row in rows
        ]

    async def existing_keys(self, keys: list[str]) -> set[str]:
        rows = await self.backend.read(EXISTING_KEYS, {"keys": keys})
        return {row["key"] for row in rows}

    async def prune(self, recipients: list[str], keep: int = MAX_INBOX) -> int:
        rows = await self.backend.write(
            PRUNE, {"recipients": sorted(set(recipients)), "keep": keep}
        )
        return sum(int(row["n"]) for row in rows)

    async def page(
        self,
        recipient: str,
        *,
        first: int,
        after_cursor: str | None,
        unread_only: bool,
        visible: Any,
    ) -> Page[Notification]:
        """Newest first; `visible(ids)` keeps and shapes what the recipient may see."""
        # The inbox is short (MAX_INBOX): its candidates need no second, filtering form.
        listing = ListQuery(INBOX, INBOX)
        params = {"recipient": recipient, "unreadOnly": unread_only}
        return await filtered_page(
            self.backend, listing, params,
            viewer=recipient, first=first, after_cursor=after_cursor, visible=visible,
        )  # fmt: skip

    async def get_many(self, recipient: str, ids: list[str]) -> dict[str, Notification]:
        rows = await self.backend.read(
            BY_IDS, {"ids": list(dict.fromkeys(ids)), "recipient": recipient}
        )
        found = (Notification.from_row(row["item"]) for row in rows)
        return {n.id: n for n in found}

    async def listed(self, recipient: str, *, unread_only: bool) -> list[Notification]:
        """The whole inbox (it is at most about MAX_INBOX long), or its unread part."""
        params = {"recipient": recipient, "unreadOnly": unread_only, "limit": 2 * MAX_INBOX}
        rows = await self.backend.read(LISTED, params)
        return [Notification.from_row(row["item"]) for row in rows]

    async def mark_read(self, recipient: str, ids: list[str] | None) -> int:
        rows = await self.backend.write(MARK_READ, {"recipient": recipient, "ids": ids})
        return int(rows[0]["n"]) if rows else 0

    async def settings_of(self, ids: list[str]) -> dict[str, NotificationSettings]:
        rows = await self.backend.read(SETTINGS, {"ids": list(dict.fromkeys(ids))})
        return {row["id"]: NotificationSettings.from_row(row) for row in rows}

    async def update_settings(
        self, user: str, muted: list[NotificationKind] | None, topic_digest: bool | None
    ) -> NotificationSettings:
        names = sorted({kind.value for kind in muted}) if muted is not None else None
        rows = await self.backend.write(
            UPDATE_SETTINGS, {"id": user, "muted": names, "topicDigest": topic_digest}
        )
        return NotificationSettings.from_row(rows[0]) if rows else NotificationSettings()

    async def topic_follower_ids(self, topic: str, exclude: str) -> list[str]:
        """Every follower of a topic, in one read: the fan-out keeps the list and works
        through it a batch at a time (a keyset cursor over followers would make every batch
        scan them all: FalkorDB took a second a batch at 100,000 followers)."""
        rows = await self.backend.read(TOPIC_FOLLOWER_IDS, {"topic": topic, "exclude": exclude})
        return [str(row["id"]) for row in rows]

    async def register_push(self, subscription: SealedSubscription, now: int) -> bool:
        """False when the user does not exist."""
        rows = await self.backend.write(REGISTER_PUSH, {**asdict(subscription), "now": now})
        return bool(rows)

    async def unregister_push(self, ref: str, user: str | None = None) -> bool:
        rows = await self.backend.write(UNREGISTER_PUSH, {"ref": ref, "user": user})
        return bool(rows and int(rows[0]["n"]))

    async def push_subscriptions(self, users: list[str]) -> list[SealedSubscription]:
        rows = await self.backend.read(PUSH_SUBSCRIPTIONS, {"users": list(dict.fromkeys(users))})
        return [SealedSubscription(row["ref"], row["user"], row["sealed"]) for row in rows]

    async def push_owner(self, ref: str) -> str | None:
        rows = await self.backend.read(PUSH_OWNER, {"ref": ref})
        return str(rows[0]["user"]) if rows else None

    async def push_count(self, user: str) -> int:
        rows = await self.backend.read(PUSH_COUNT, {"user": user})
        return int(rows[0]["n"]) if rows else 0
