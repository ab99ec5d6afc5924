"""What a notification is, as stored in a recipient's inbox and shown to them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class NotificationKind(StrEnum):
    PIN_SAVED = "PIN_SAVED"  # someone saved a pin you created
    USER_FOLLOWED = "USER_FOLLOWED"  # someone followed you
    BOARD_FOLLOWED = "BOARD_FOLLOWED"  # someone followed a board you own
    NEW_PIN_IN_TOPIC = "NEW_PIN_IN_TOPIC"  # a new public pin in a topic you follow
    BOARD_INVITE = "BOARD_INVITE"  # a board's owner invited you to collaborate
    PIN_COMMENTED = "PIN_COMMENTED"  # someone commented on a pin you created
    PIN_REACTED = "PIN_REACTED"  # someone reacted to a pin you created


@dataclass(frozen=True)
class Notification:
    """One inbox entry: a burst of the same kind about the same subject, aggregated.

    `actor_ids` are the latest distinct actors (newest first, at most KEPT_ACTORS are kept),
    `actor_boards` the board each one acted on ("" when none) and `actor_ats` when; `actor_count`
    counts every distinct actor, also those no longer kept."""

    id: str
    recipient: str
    kind: NotificationKind
    at: int  # when the newest actor acted
    read: bool
    actor_ids: tuple[str, ...]
    actor_boards: tuple[str, ...]
    actor_ats: tuple[int, ...]  # when each acted
    actor_count: int
    pin: str | None
    board: str | None
    topic: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Notification:
        actors = tuple(row.get("actorIds") or ())
        boards = tuple(row.get("actorBoards") or ())
        boards += ("",) * (len(actors) - len(boards))
        ats = tuple(int(at) for at in row.get("actorAts") or ())
        ats += (int(row["at"]),) * (len(actors) - len(ats))
        # Newest first by when they acted: events are handled concurrently, not in order.
        ordered = sorted(zip(actors, boards, ats, strict=True), key=lambda a: -a[2])
        return cls(
            id=row["id"],
            recipient=row["recipient"],
            kind=NotificationKind(row["kind"]),
            at=int(row["at"]),
            read=bool(row["read"]),
            actor_ids=tuple(a for a, _, _ in ordered),
            actor_boards=tuple(b for _, b, _ in ordered),
            actor_ats=tuple(at for _, _, at in ordered),
            actor_count=int(row.get("actorCount") or len(actors)),
            pin=row.get("pin") or None,
            board=row.get("board") or None,
            topic=row.get("topic") or None,
        )


@dataclass(frozen=True)
class NotificationSettings:
    muted: frozenset[NotificationKind] = frozenset()
    topic_digest: bool = False  # one NEW_PIN_IN_TOPIC a day per topic instead of one per pin

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> NotificationSettings:
        muted = row.get("muted") or []
        return cls(
            frozenset(NotificationKind(kind) for kind in muted if kind in KIND_NAMES),
            bool(row.get("topicDigest")),
        )


KIND_NAMES = frozenset(kind.value for kind in NotificationKind)


@dataclass(frozen=True)
class PushTarget:
    """A browser's push subscription (the Push API's PushSubscription)."""

    user: str
    endpoint: str
    p256dh: str  # the browser's P-256 public key, base64url
    auth: str  # the 16-byte authentication secret, base64url
    ref: str = ""  # its stored id (notifications/subscriptions.py)

    def subscription_info(self) -> dict[str, Any]:
        """As pywebpush takes it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def summary(kind: NotificationKind, actor_handles: list[str], actor_count: int) -> str:
    """The sentence a push message or a client shows: "ana and 4 others saved your pin"."""
    who = actor_handles[0] if actor_handles else "someone"
    others = actor_count - 1
    if others == 1 and len(actor_handles) > 1:
        who = f"{who} and {actor_handles[1]}"
    elif others >= 1:
        who = f"{who} and {others} {'other' if others == 1 else 'others'}"
    return {
        NotificationKind.PIN_SAVED: f"{who} saved your pin",
        NotificationKind.USER_FOLLOWED: f"{who} followed you",
        NotificationKind.BOARD_FOLLOWED: f"{who} followed your board",
        NotificationKind.NEW_PIN_IN_TOPIC: f"new pin from {who} in a topic you follow",
        NotificationKind.BOARD_INVITE: f"{who} invited you to collaborate on a board",
        NotificationKind.PIN_COMMENTED: f"{who} commented on your pin",
        NotificationKind.PIN_REACTED: f"{who} reacted to your pin",
    }[kind]
