"""Domain events: what a committed write changed, in ids only.

An event names the actor and the subjects a write touched; it never carries text, secrets or
tokens, so a consumer that needs more reads the graph store (the source of truth) itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from domain.ids import new_id


class EventType(StrEnum):
    USER_CREATED = "UserCreated"
    PIN_CREATED = "PinCreated"
    PIN_DELETED = "PinDeleted"
    PIN_SAVED = "PinSaved"
    PIN_UNSAVED = "PinUnsaved"
    BOARD_CREATED = "BoardCreated"
    BOARD_UPDATED = "BoardUpdated"  # name, description, topics or privacy
    BOARD_DELETED = "BoardDeleted"
    USER_FOLLOWED = "UserFollowed"
    USER_UNFOLLOWED = "UserUnfollowed"
    BOARD_FOLLOWED = "BoardFollowed"
    BOARD_UNFOLLOWED = "BoardUnfollowed"
    TOPIC_FOLLOWED = "TopicFollowed"
    TOPIC_UNFOLLOWED = "TopicUnfollowed"
    IMAGE_STORED = "ImageStored"
    ENGAGEMENT_RECORDED = "EngagementRecorded"
    BOARD_INVITED = "BoardInvited"  # board, user: the invitee
    BOARD_INVITE_DECLINED = "BoardInviteDeclined"  # board, user: the invitee
    COLLABORATOR_ADDED = "CollaboratorAdded"  # board, user: who accepted an invite
    COLLABORATOR_REMOVED = "CollaboratorRemoved"  # board, user: removed, withdrawn or left
    PIN_COMMENTED = "PinCommented"  # pin, comment
    COMMENT_DELETED = "CommentDeleted"  # pin, comment
    PIN_REACTED = "PinReacted"  # a new or a changed reaction
    PIN_UNREACTED = "PinUnreacted"
    SECTION_CREATED = "SectionCreated"  # board
    SECTION_DELETED = "SectionDeleted"  # board; its pins stay on the board
    PIN_MOVED = "PinMoved"  # pin, board: a pin already on the board saved into a section
    # Not a write: published first after events were lost while Redis was away, so that
    # consumers rebuild what they derive (the walk graph) instead of trusting the stream.
    EVENTS_LOST = "EventsLost"


@dataclass(frozen=True)
class Event:
    """One committed write. `actor` is the user who wrote, or "" for an operator (CLI)."""

    type: EventType
    actor: str = ""
    pin: str = ""
    board: str = ""
    user: str = ""  # a followed user; a board's invitee or collaborator
    topic: str = ""  # a topic name
    image: str = ""  # an image key
    boards: tuple[str, ...] = ()  # every board a deleted pin left, secret ones included
    comment: str = ""  # a comment's id
    id: str = field(default_factory=new_id)
    at: int = field(default_factory=lambda: time.time_ns() // 1_000_000)

    def touched_boards(self) -> tuple[str, ...]:
        """Boards whose cached pages this write made stale."""
        if self.type in BOARD_PAGE_CHANGES and self.board:
            return (self.board,)
        return self.boards

    def fields(self) -> dict[str, str]:
        """The stream entry: flat strings, empty ones left out."""
        values = {
            "id": self.id, "type": self.type.value, "actor": self.actor, "pin": self.pin,
            "board": self.board, "user": self.user, "topic": self.topic, "image": self.image,
            "boards": ",".join(self.boards), "comment": self.comment, "at": str(self.at),
        }  # fmt: skip
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_fields(cls, raw: dict[bytes, bytes]) -> Event:
        values = {key.decode(): value.decode() for key, value in raw.items()}
        boards = values.get("boards", "")
        return cls(
            type=EventType(values["type"]),
            actor=values.get("actor", ""),
            pin=values.get("pin", ""),
            board=values.get("board", ""),
            user=values.get("user", ""),
            topic=values.get("topic", ""),
            image=values.get("image", ""),
            boards=tuple(boards.split(",")) if boards else (),
            comment=values.get("comment", ""),
            id=values["id"],
            at=int(values["at"]),
        )


BOARD_PAGE_CHANGES = frozenset({
    EventType.PIN_CREATED, EventType.PIN_SAVED, EventType.PIN_UNSAVED,
    EventType.BOARD_UPDATED, EventType.BOARD_DELETED,
    EventType.COLLABORATOR_ADDED, EventType.COLLABORATOR_REMOVED,
    EventType.SECTION_CREATED, EventType.SECTION_DELETED, EventType.PIN_MOVED,
})  # fmt: skip
