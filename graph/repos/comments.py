"""Comments on pins and reactions to them.

A comment or a reaction is seen exactly where its pin is. Writes check, in the statement
itself, that the viewer may see the pin (`visible_pins()`, as `pins.ENGAGE` does), so they
follow board visibility wherever `graph/repos/cypher.py` defines it. Reads take the id of a
pin the caller has already resolved for this viewer (a `Pin` in a GraphQL answer only ever
comes from the visible loaders), like `boards.pins_of_visible`.

Comments are plain text: line breaks normalised to "\\n", trimmed, 1-`MAX_COMMENT`
characters, no control characters but line breaks and tabs, no bidirectional controls or
Unicode line/paragraph separators, not only zero-width characters; stored as given otherwise
(never rendered as HTML here).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import BadInput, Forbidden, NotFound
from domain.ids import new_id
from events.bus import EventSink
from events.model import Event, EventType
from graph.backends.base import GraphBackend
from graph.model import Page, Pin, now_ms
from graph.repos.cypher import PIN_ITEM, after, count_map, keyset_page, visible_pins

MAX_COMMENT = 500
ALLOWED_CONTROLS = frozenset("\n\t")

COMMENT_ITEM = "c {.id, .text, .createdAt, .authorId, .pinId, pinCreatorId: p.creatorId}"

# The node is created in a clause of its own and joined after a WITH: see boards.CREATE.
ADD = f"""
MATCH (v:User {{id: $viewer}})
MATCH (p:Pin {{id: $pinId}})
{visible_pins("v")}
CREATE (c:Comment {{id: $id, text: $text, createdAt: $now, authorId: v.id, pinId: p.id}})
WITH v, p, c
CREATE (v)-[:WROTE]->(c)
CREATE (c)-[:ON_PIN]->(p)
RETURN {COMMENT_ITEM} AS item
"""
# The author, whether or not they still see the pin (a collaborator removed from the secret
# board it is on deletes what they wrote there), or the pin's creator, who always sees their
# pin (`visible_pins()` keeps `p.creatorId = $viewer`), so neither needs the visibility check.
DELETE = """
MATCH (c:Comment {id: $id})
WITH c
MATCH (c)-[:ON_PIN]->(p:Pin)
WHERE c.authorId = $viewer OR p.creatorId = $viewer
DETACH DELETE c
RETURN p.id AS pinId
"""
PIN_OF = """
MATCH (c:Comment {id: $id})
WITH c
MATCH (c)-[:ON_PIN]->(p:Pin)
RETURN p.id AS pinId
"""
# Newest first. The caller has checked that the pin is visible to the viewer.
OF_PIN = f"""
MATCH (p:Pin {{id: $id}})
WITH p
MATCH (p)<-[:ON_PIN]-(c:Comment)
WHERE {after("c.createdAt", "c.id")}
WITH p, c
ORDER BY c.createdAt DESC, c.id DESC
LIMIT $limit
RETURN {COMMENT_ITEM} AS item, c.createdAt AS sortKey, c.id AS sortId
"""
COUNTS = """
UNWIND $ids AS id
MATCH (p:Pin {id: id})
RETURN id, size([(p)<-[:ON_PIN]-(:Comment) | 1]) AS n
"""
# One reaction per user and pin: MERGE, then the kind replaces whatever it was.
REACT = f"""
MATCH (v:User {{id: $viewer}})
MATCH (p:Pin {{id: $pinId}})
{visible_pins("v")}
MERGE (v)-[r:REACTED]->(p)
WITH p, r, r.kind AS before
SET r.kind = $kind, r.at = $now
RETURN {PIN_ITEM} AS item, before
"""
UNREACT = f"""
MATCH (v:User {{id: $viewer}})
MATCH (p:Pin {{id: $pinId}})
{visible_pins("v")}
OPTIONAL MATCH (v)-[r:REACTED]->(p)
DELETE r
WITH p, count(r) AS removed
RETURN {PIN_ITEM} AS item, removed
"""
REACTION_COUNTS = """
UNWIND $ids AS id
MATCH (p:Pin {id: id})
WITH id, p
MATCH (p)<-[r:REACTED]-(:User)
RETURN id, r.kind AS kind, count(r) AS n
"""
# From the viewer, not from each pin's reactors: one reaction per user and pin, so this walks
# the viewer's reactions alone.
VIEWER_REACTIONS = """
MATCH (:User {id: $viewer})-[r:REACTED]->(p:Pin)
WHERE p.id IN $ids
RETURN p.id AS id, r.kind AS kind
"""
PIN_VISIBLE = f"""
MATCH (p:Pin {{id: $id}})
{visible_pins()}
RETURN p.id AS id
"""
CREATOR_OF_PIN = """
MATCH (p:Pin {id: $id})
RETURN p.creatorId AS creatorId
"""


class ReactionKind(StrEnum):
    LOVE = "LOVE"
    GOOD_IDEA = "GOOD_IDEA"
    THANKS = "THANKS"
    HAHA = "HAHA"
    WOW = "WOW"


@dataclass(frozen=True)
class Comment:
    id: str
    text: str
    created_at: int
    author_id: str
    pin_id: str
    pin_creator_id: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Comment:
        return cls(
            row["id"], row["text"], row["createdAt"], row["authorId"], row["pinId"],
            row.get("pinCreatorId"),
        )  # fmt: skip

    def deletable_by(self, viewer: str | None) -> bool:
        return viewer is not None and viewer in (self.author_id, self.pin_creator_id)


# Characters that reorder or break the text around them in a client's rendering (bidi
# embeddings, overrides and isolates; the Unicode line and paragraph separators).
REFUSED = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u2028", "\u2029"]
)  # fmt: skip
# Zero-width characters: allowed (ZWJ joins emoji sequences), but a text of nothing else
# is empty.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def comment_text(value: str) -> str:
    """A comment's text: line breaks normalised to "\\n", trimmed, 1-MAX_COMMENT characters,
    no control characters except line breaks and tabs, no bidirectional controls or Unicode
    line/paragraph separators, and not only zero-width characters. Plain text, kept as given
    otherwise."""
    if not isinstance(value, str):
        raise BadInput("text must be a string")
    normalised = value.replace("\r\n", "\n").replace("\r", "\n")
    # Before trimming, which would quietly drop the separators at either end.
    if any(ch in REFUSED for ch in normalised):
        raise BadInput("text contains a bidirectional control or a line separator character")
    trimmed = normalised.strip()
    if not trimmed.translate(ZERO_WIDTH).strip():
        raise BadInput("text must not be empty")
    if len(trimmed) > MAX_COMMENT:
        raise BadInput(f"text is longer than {MAX_COMMENT} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROLS for ch in trimmed):
        raise BadInput("text contains a control character")
    return trimmed


class CommentRepo:
    def __init__(self, backend: GraphBackend, events: EventSink) -> None:
        self.backend = backend
        self.events = events

    async def add(self, viewer: str, pin_id: str, text: str) -> Comment:
        """Comment on a pin the viewer can see; NotFound for a missing or hidden pin."""
        params = {
            "viewer": viewer, "pinId": pin_id, "id": new_id(), "text": comment_text(text),
            "now": now_ms(),
        }  # fmt: skip
        rows = await self.backend.write(ADD, params)
        if not rows:
            raise NotFound(f"no pin {pin_id!r}")
        comment = Comment.from_row(rows[0]["item"])
        await self.events.publish(
            Event(EventType.PIN_COMMENTED, actor=viewer, pin=pin_id, comment=comment.id)
        )
        return comment

    async def delete(self, viewer: str, comment_id: str) -> None:
        """Delete a comment as its author (even when its pin is now hidden from them) or as
        its pin's creator; NotFound when it is missing or, for anyone else, its pin hidden
        from the viewer, Forbidden for anyone else."""
        rows = await self.backend.write(DELETE, {"viewer": viewer, "id": comment_id})
        if not rows:
            await self._refuse(viewer, comment_id)
        await self.events.publish(
            Event(EventType.COMMENT_DELETED, actor=viewer, pin=rows[0]["pinId"],
                  comment=comment_id)
        )  # fmt: skip

    async def _refuse(self, viewer: str, comment_id: str) -> None:
        found = await self.backend.read(PIN_OF, {"id": comment_id})
        if found:
            visible = await self.backend.read(
                PIN_VISIBLE, {"id": found[0]["pinId"], "viewer": viewer}
            )
            if visible:
                raise Forbidden("only the comment's author or the pin's creator can delete it")
        raise NotFound(f"no comment {comment_id!r}")

    async def of_pin(self, pin_id: str, first: int, after_: str | None) -> Page[Comment]:
        """Comments on a pin the caller has found visible to the viewer, newest first."""
        return await keyset_page(
            self.backend, OF_PIN, {"id": pin_id},
            first=first, after_cursor=after_, build=Comment.from_row,
        )  # fmt: skip

    async def counts(self, ids: list[str]) -> dict[str, int]:
        return count_map(await self.backend.read(COUNTS, {"ids": ids}), ids)

    async def react(self, viewer: str, pin_id: str, kind: ReactionKind | None) -> Pin:
        """Set (or, with None, remove) the viewer's one reaction to a pin they can see."""
        if kind is None:
            rows = await self.backend.write(UNREACT, {"viewer": viewer, "pinId": pin_id})
            if not rows:
                raise NotFound(f"no pin {pin_id!r}")
            if rows[0]["removed"]:
                await self.events.publish(Event(EventType.PIN_UNREACTED, actor=viewer, pin=pin_id))
            return Pin.from_row(rows[0]["item"])
        params = {
            "viewer": viewer, "pinId": pin_id, "kind": ReactionKind(kind).value, "now": now_ms()
        }  # fmt: skip
        rows = await self.backend.write(REACT, params)
        if not rows:
            raise NotFound(f"no pin {pin_id!r}")
        if rows[0]["before"] != params["kind"]:
            await self.events.publish(Event(EventType.PIN_REACTED, actor=viewer, pin=pin_id))
        return Pin.from_row(rows[0]["item"])

    async def reaction_counts(self, ids: list[str]) -> dict[str, dict[ReactionKind, int]]:
        """Reactions per kind on each pin (kinds nobody chose left out)."""
        found: dict[str, dict[ReactionKind, int]] = {id_: {} for id_ in ids}
        for row in await self.backend.read(REACTION_COUNTS, {"ids": ids}):
            if row["kind"] in ReactionKind.__members__:
                found[row["id"]][ReactionKind(row["kind"])] = int(row["n"])
        return found

    async def viewer_reactions(
        self, ids: list[str], viewer: str | None
    ) -> dict[str, ReactionKind | None]:
        found: dict[str, ReactionKind | None] = dict.fromkeys(ids)
        if viewer is None:
            return found
        for row in await self.backend.read(VIEWER_REACTIONS, {"ids": ids, "viewer": viewer}):
            if row["kind"] in ReactionKind.__members__:
                found[row["id"]] = ReactionKind(row["kind"])
        return found

    async def creator_of_pin(self, pin_id: str) -> str | None:
        """Who created a pin (None when it is gone): whom its comments and reactions tell."""
        rows = await self.backend.read(CREATOR_OF_PIN, {"id": pin_id})
        return rows[0]["creatorId"] if rows else None
