"""Pins: create into a board, save, unsave, delete, list, search."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from domain.errors import BadInput, Forbidden, NotFound
from domain.ids import new_id, opaque_id
from domain.recent import Recent
from events.bus import EventSink
from events.model import Event, EventType
from graph.backends.base import GraphBackend
from graph.model import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    Board,
    Page,
    Pin,
    link,
    now_ms,
    page_size,
    required_text,
    text,
    topic_names,
)
from graph.repos.boards import check_board_member
from graph.repos.collaborators import check_id
from graph.repos.cypher import (
    BOARD_ITEM,
    BOARD_MEMBER,
    BOARD_VISIBLE,
    PIN_ITEM,
    ListQuery,
    after,
    count_map,
    fetch_by_ids,
    filtered_page,
    grouped,
    keyset_page,
    newest_pins_first,
    page_of,
    the_one,
    visible_pins,
)
from graph.repos.dialect import SEARCH_COUNT, SEARCH_PINS, SEARCH_VISIBLE_PINS, search_text
from graph.repos.sections import check_section_on_board

MAX_QUERY = 200

# The node is created in a clause of its own and joined to others after a WITH: see
# graph/repos/boards.py CREATE for the FalkorDB defect this shape is immune to.
# The board's members save into it: its owner and its collaborators (`BOARD_MEMBER`).
CREATE = f"""
MATCH (u:User {{id: $viewer}})
MATCH (b:Board {{id: $boardId}})<-[:OWNS]-(o:User)
WHERE {BOARD_MEMBER}
CREATE (p:Pin {{id: $id, creatorId: u.id, title: $title, createdAt: $now,
               lang: coalesce($lang, u.lang, 'en')}})
SET p += $optional
WITH u, b, p
CREATE (u)-[:CREATED]->(p)
CREATE (p)-[:SAVED_TO {{at: $now, by: $viewer}}]->(b)
WITH p
FOREACH (t IN $topics |
  MERGE (x:Topic {{name: t.name}}) ON CREATE SET x.id = t.id
  MERGE (p)-[:TAGGED]->(x))
RETURN {PIN_ITEM} AS item
"""
# With a `$sectionId`, the section must be one of this board's, checked in the same
# statement as the membership; a pin already on the board moves into it. Without one, a
# save keeps whatever section the pin is in.
SAVE = f"""
MATCH (b:Board {{id: $boardId}})<-[:OWNS]-(o:User)
WHERE {BOARD_MEMBER}
WITH b
OPTIONAL MATCH (b)-[:HAS_SECTION]->(sec:Section)
WHERE sec.id = $sectionId
WITH b, count(sec) AS sections
WHERE $sectionId IS NULL OR sections > 0
MATCH (p:Pin {{id: $pinId}})
{visible_pins("b")}
OPTIONAL MATCH (p)-[old:SAVED_TO]->(b)
WITH b, p, old IS NOT NULL AS existed, old.section AS was
MERGE (p)-[s:SAVED_TO]->(b)
ON CREATE SET s.at = $now, s.by = $viewer
SET s.section = coalesce($sectionId, s.section)
RETURN {PIN_ITEM} AS item, existed, was
"""
# The owner removes any save; a collaborator only their own (`SAVED_TO.by`).
UNSAVE = f"""
MATCH (b:Board {{id: $boardId}})<-[:OWNS]-(o:User)
WHERE {BOARD_MEMBER}
OPTIONAL MATCH (:Pin {{id: $pinId}})-[s:SAVED_TO]->(b)
WITH b, o, collect(s) AS saves
WITH b, saves, [x IN saves WHERE o.id = $viewer OR x.by = $viewer] AS mine
FOREACH (x IN mine | DELETE x)
RETURN b.id AS boardId, size(mine) AS removed, size(saves) AS found
"""
# Every board the pin leaves, secret ones included: their cached pages are stale. Its
# comments go with it (reactions are edges: DETACH DELETE removes them).
_DETACH_PIN = """
OPTIONAL MATCH (p)-[:SAVED_TO]->(b:Board)
WITH p, collect(b.id) AS boards
OPTIONAL MATCH (p)<-[:ON_PIN]-(c:Comment)
WITH p, boards, collect(c) AS comments
FOREACH (c IN comments | DETACH DELETE c)
DETACH DELETE p
RETURN boards
"""
DELETE = "MATCH (:User {id: $viewer})-[:CREATED]->(p:Pin {id: $id})" + _DETACH_PIN
# An operator's takedown (abuse, copyright): whoever created the pin.
TAKE_DOWN = "MATCH (p:Pin {id: $id})" + _DETACH_PIN
CREATOR_OF = """
MATCH (p:Pin {id: $id})
OPTIONAL MATCH (c:User)-[:CREATED]->(p)
RETURN c.id AS creatorId
"""
BY_IDS = f"""
UNWIND $ids AS id
MATCH (p:Pin {{id: id}})
{visible_pins()}
RETURN {PIN_ITEM} AS item
"""
VISIBLE_IDS = f"""
UNWIND $ids AS id
MATCH (p:Pin {{id: id}})
{visible_pins()}
RETURN p.id AS id
"""
RECORDS = f"""
UNWIND $ids AS id
MATCH (p:Pin {{id: id}})
RETURN {PIN_ITEM} AS item
"""
# Most pins are on a public board: reading the privacy of their boards settles it without
# joining each board's owner (about six times faster in FalkorDB for popular pins).
PUBLIC_OR_CREATED = """
UNWIND $ids AS id
MATCH (p:Pin {id: id})
OPTIONAL MATCH (p)-[:SAVED_TO]->(b:Board)
WITH p, collect(b.privacy) AS privacies
RETURN p.id AS id, 'PUBLIC' IN privacies AS public, p.creatorId = $viewer AS own
"""
_PINS_OF_USER = f"""
MATCH (:User {{id: $id}})-[:CREATED]->(p:Pin)
WHERE {after("p.createdAt", "p.id")}
"""
# Candidates only: visibility is checked per page with BY_IDS (see cypher.filtered_page).
OF_USER = _PINS_OF_USER + newest_pins_first()
VISIBLE_OF_USER = _PINS_OF_USER + visible_pins() + newest_pins_first()
BOARDS = f"""
MATCH (:Pin {{id: $id}})-[s:SAVED_TO]->(b:Board)<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE} AND {after("s.at", "b.id")}
RETURN {BOARD_ITEM} AS item, s.at AS sortKey, b.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""
SAVE_COUNTS = f"""
UNWIND $ids AS id
MATCH (p:Pin {{id: id}})-[:SAVED_TO]->(b:Board)<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE}
RETURN id, count(b) AS n
"""
# The first page of visible boards for many pins at once (a DataLoader's batch).
BOARDS_OF_MANY = f"""
UNWIND $ids AS id
MATCH (p:Pin {{id: id}})
WITH id, p
MATCH (p)-[s:SAVED_TO]->(b:Board)<-[:OWNS]-(o:User)
WHERE {BOARD_VISIBLE}
WITH id, b, o, s
ORDER BY s.at DESC, b.id DESC
WITH id, collect({{item: {BOARD_ITEM}, sortKey: s.at, sortId: b.id}}) AS rows
RETURN id, rows[0..$limit] AS rows
"""
COUNTS_OF_CREATORS = f"""
UNWIND $ids AS id
MATCH (u:User {{id: id}})
WITH id, u
MATCH (u)-[:CREATED]->(p:Pin)
{visible_pins("id")}
RETURN id, count(p) AS n
"""
# Pins co-saved with this one on public boards, by how many boards they share. A first
# version of related pins; the Pixie walks replace it.
RELATED = """
MATCH (p:Pin {id: $id})
WITH p
MATCH (p)-[:SAVED_TO]->(b:Board {privacy: 'PUBLIC'})
WITH p, b
LIMIT $boards
MATCH (b)<-[:SAVED_TO]-(q:Pin)
WHERE q <> p
RETURN q.id AS id, count(b) AS shared
ORDER BY shared DESC, id DESC
LIMIT $limit
"""
ENGAGE = f"""
MATCH (v:User {{id: $viewer}})
MATCH (p:Pin {{id: $pinId}})
{visible_pins("v")}
MERGE (v)-[e:ENGAGED {{kind: $kind}}]->(p)
ON CREATE SET e.count = 0
SET e.at = $now, e.count = e.count + 1
RETURN p.id AS id
"""
IMAGE_KEYS_IN_USE = """
UNWIND $keys AS key
MATCH (p:Pin {imageKey: key})
RETURN DISTINCT key
"""
TOPICS_OF = """
UNWIND $ids AS id
MATCH (:Pin {id: id})-[:TAGGED]->(t:Topic)
RETURN id, t {.*} AS topic
ORDER BY t.name
"""


ENGAGEMENT_KINDS = ("CLICK", "CLOSEUP", "HIDE")
RELATED_BOARDS = 100


@dataclass(frozen=True)
class NewPin:
    title: str
    board_id: str
    description: str | None = None
    link: str | None = None
    topics: list[str] | None = None
    lang: str | None = None
    image_key: str | None = None
    width: int | None = None
    height: int | None = None
    dominant_color: str | None = None


def search_words(query: str) -> list[str]:
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        raise BadInput(f"query must be a string of at most {MAX_QUERY} characters")
    words = re.findall(r"\w+", query.lower())[:10]
    if not words:
        raise BadInput("query has no words to search for")
    return words


def visible_pins_of(
    backend: GraphBackend, viewer: str | None
) -> Callable[[list[str]], Awaitable[dict[str, Pin]]]:
    """Which of some pin ids the viewer may see, as a page filter (cypher.filtered_page)."""

    async def visible(ids: list[str]) -> dict[str, Pin]:
        return await fetch_by_ids(backend, BY_IDS, ids, Pin.from_row, viewer=viewer)

    return visible


class KnownPublic(Protocol):
    """Pins known to be on a public board (`cache/public_pins.py`)."""

    async def known(self, ids: Iterable[str]) -> tuple[set[str], bytes | str | None]: ...

    def remember(self, version: bytes | str | None, public: Iterable[str]) -> None: ...


# A pin's own properties never change once it is created (pins are deleted, never edited),
# so a process keeps the records it has read; who may see a pin does change, and is asked
# of the graph store every time.
KNOWN_PINS = 20_000


class PinRepo:
    def __init__(self, backend: GraphBackend, events: EventSink) -> None:
        self.backend = backend
        self.events = events
        self._known: Recent[str, Pin] = Recent(KNOWN_PINS)
        self.public_pins: KnownPublic | None = None  # set by the server

    async def create(self, viewer: str, new: NewPin) -> Pin:
        optional = {
            "description": text(
                new.description, "description", max_len=MAX_DESCRIPTION, required=False
            ),
            "link": link(new.link),
            "imageKey": new.image_key,
            "width": new.width,
            "height": new.height,
            "dominantColor": new.dominant_color,
        }
        rows = await self.backend.write(
            CREATE,
            {
                "viewer": viewer,
                "boardId": new.board_id,
                "id": new_id(),
                "title": required_text(new.title, "title", max_len=MAX_TITLE),
                "lang": new.lang,
                "now": now_ms(),
                # Absent values stay absent rather than stored as nulls.
                "optional": {k: v for k, v in optional.items() if v is not None},
                "topics": [{"name": n, "id": opaque_id()} for n in topic_names(new.topics)],
            },
        )
        if not rows:
            await self._refuse_board(viewer, new.board_id)
        pin = Pin.from_row(rows[0]["item"])
        await self.events.publish(
            Event(EventType.PIN_CREATED, actor=viewer, pin=pin.id, board=new.board_id,
                  image=new.image_key or "")
        )  # fmt: skip
        return pin

    async def save(
        self, viewer: str, pin_id: str, board_id: str, section_id: str | None = None
    ) -> Pin:
        """Save a visible pin to a board the viewer owns or collaborates on, and into one of
        its sections when `section_id` is given (moving it there when it is on the board
        already); saving twice changes nothing. Without a section, a pin keeps its section."""
        if section_id is not None:
            section_id = check_id(section_id, "sectionId")
        params = {
            "viewer": viewer, "pinId": pin_id, "boardId": board_id, "sectionId": section_id,
            "now": now_ms(),
        }  # fmt: skip
        rows = await self.backend.write(SAVE, params)
        if not rows:
            await self._refuse_board(viewer, board_id)
            if section_id is not None:
                await check_section_on_board(self.backend, board_id, section_id)
            raise NotFound(f"no pin {pin_id!r}")
        row = rows[0]
        if not row["existed"] or section_id is None:
            await self.events.publish(
                Event(EventType.PIN_SAVED, actor=viewer, pin=pin_id, board=board_id)
            )
        elif row["was"] != section_id:
            await self.events.publish(
                Event(EventType.PIN_MOVED, actor=viewer, pin=pin_id, board=board_id)
            )
        return Pin.from_row(row["item"])

    async def unsave(self, viewer: str, pin_id: str, board_id: str) -> bool:
        """Remove a save; False when the pin was not saved there."""
        rows = await self.backend.write(
            UNSAVE, {"viewer": viewer, "pinId": pin_id, "boardId": board_id}
        )
        if not rows:
            await self._refuse_board(viewer, board_id)
        if rows[0]["found"] and not rows[0]["removed"]:
            raise Forbidden("collaborators can only remove pins they saved")
        removed = bool(rows[0]["removed"])
        if removed:
            await self.events.publish(
                Event(EventType.PIN_UNSAVED, actor=viewer, pin=pin_id, board=board_id)
            )
        return removed

    async def delete(self, viewer: str, pin_id: str) -> None:
        rows = await self.backend.write(DELETE, {"viewer": viewer, "id": pin_id})
        if not rows:
            await self._refuse_pin(viewer, pin_id)
        await self._deleted(pin_id, rows[0]["boards"], actor=viewer)

    async def take_down(self, pin_id: str) -> None:
        """Remove a pin whoever created it (`pingraph pins take-down`); the event names no
        actor."""
        rows = await self.backend.write(TAKE_DOWN, {"id": pin_id})
        if not rows:
            raise NotFound(f"no pin {pin_id!r}")
        await self._deleted(pin_id, rows[0]["boards"], actor="")

    async def _deleted(self, pin_id: str, boards: list[str], *, actor: str) -> None:
        event = Event(EventType.PIN_DELETED, actor=actor, pin=pin_id, boards=tuple(boards))
        await self.events.publish(event)

    async def _refuse_pin(self, viewer: str, pin_id: str) -> None:
        """Explain why a write on a pin matched nothing; hidden pins stay unknown."""
        found = await self.backend.read(CREATOR_OF, {"id": pin_id})
        if not found or not await self.get_many([pin_id], viewer):
            raise NotFound(f"no pin {pin_id!r}")
        raise Forbidden("only the pin's creator can change or delete it")

    async def get(self, pin_id: str, viewer: str | None) -> Pin:
        return the_one(await self.get_many([pin_id], viewer), pin_id, "pin")

    async def get_many(self, ids: list[str], viewer: str | None) -> dict[str, Pin]:
        """The pins among `ids` the viewer may see: which ones is asked every time, their
        records only when this process has not read them before."""
        known = self._known
        visible = await self._visible_ids(ids, viewer)
        missing = [id_ for id_ in visible if id_ not in known]
        if missing:
            known.update(await fetch_by_ids(self.backend, RECORDS, missing, Pin.from_row))
        return {id_: pin for id_ in visible if (pin := known.get(id_)) is not None}

    async def _visible_ids(self, ids: list[str], viewer: str | None) -> list[str]:
        unique = list(dict.fromkeys(ids))
        public: set[str] = set()
        version = None
        if self.public_pins is not None:
            public, version = await self.public_pins.known(unique)
        rest = [id_ for id_ in unique if id_ not in public]
        if not rest:
            return unique
        rows = await self.backend.read(PUBLIC_OR_CREATED, {"ids": rest, "viewer": viewer})
        found_public = [row["id"] for row in rows if row["public"]]
        if self.public_pins is not None:
            self.public_pins.remember(version, found_public)
        seen = [
            *public,
            *found_public,
            *(row["id"] for row in rows if row["own"] and not row["public"]),
        ]
        # Missing ids are asked again too: a pin on someone's secret board must cost what a
        # missing one does, or the time would tell them apart.
        settled = set(seen)
        others = [id_ for id_ in rest if id_ not in settled]
        if others and viewer is not None:  # maybe on a secret board of the viewer's
            rows = await self.backend.read(VISIBLE_IDS, {"ids": others, "viewer": viewer})
            seen += [row["id"] for row in rows]
        return seen

    async def of_user(
        self, user_id: str, viewer: str | None, first: int, after_: str | None
    ) -> Page[Pin]:
        return await filtered_page(
            self.backend, ListQuery(OF_USER, VISIBLE_OF_USER), {"id": user_id}, viewer=viewer,
            first=first, after_cursor=after_, visible=self.visible_to(viewer),
        )  # fmt: skip

    async def boards(
        self, pin_id: str, viewer: str | None, first: int, after_: str | None
    ) -> Page[Board]:
        return await keyset_page(
            self.backend, BOARDS, {"id": pin_id, "viewer": viewer},
            first=first, after_cursor=after_, build=Board.from_row,
        )  # fmt: skip

    async def boards_of_many(
        self, ids: list[str], viewer: str | None, first: int
    ) -> dict[str, Page[Board]]:
        """The first page of `pin.boards` for many pins in one query."""
        limit = page_size(first)
        rows = await self.backend.read(
            BOARDS_OF_MANY, {"ids": list(dict.fromkeys(ids)), "viewer": viewer, "limit": limit + 1}
        )
        found = {row["id"]: row["rows"] for row in rows}
        return {id_: page_of(found.get(id_, []), limit, Board.from_row) for id_ in ids}

    async def counts_of_creators(self, ids: list[str], viewer: str | None) -> dict[str, int]:
        """How many pins each user created that the viewer can see."""
        rows = await self.backend.read(COUNTS_OF_CREATORS, {"ids": ids, "viewer": viewer})
        return count_map(rows, ids)

    async def related(self, pin_id: str, viewer: str | None, first: int) -> list[Pin]:
        """Pins most often saved to the same public boards as this one."""
        rows = await self.backend.read(
            RELATED, {"id": pin_id, "boards": RELATED_BOARDS, "limit": page_size(first)}
        )
        found = await self.get_many([row["id"] for row in rows], viewer)
        return [found[row["id"]] for row in rows if row["id"] in found]

    async def engage(self, viewer: str, pin_id: str, kind: str) -> None:
        """Record that the viewer clicked, opened or hid a pin (the feed and walks use it)."""
        if kind not in ENGAGEMENT_KINDS:
            raise BadInput(f"kind must be one of {', '.join(ENGAGEMENT_KINDS)}")
        rows = await self.backend.write(
            ENGAGE, {"viewer": viewer, "pinId": pin_id, "kind": kind, "now": now_ms()}
        )
        if not rows:
            raise NotFound(f"no pin {pin_id!r}")
        await self.events.publish(Event(EventType.ENGAGEMENT_RECORDED, actor=viewer, pin=pin_id))

    async def image_keys_in_use(self, keys: list[str]) -> set[str]:
        """Which of these image keys some pin uses."""
        rows = await self.backend.read(IMAGE_KEYS_IN_USE, {"keys": keys})
        return {row["key"] for row in rows}

    async def save_counts(self, ids: list[str], viewer: str | None) -> dict[str, int]:
        rows = await self.backend.read(SAVE_COUNTS, {"ids": ids, "viewer": viewer})
        return count_map(rows, ids)

    async def topics_of(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        return grouped(await self.backend.read(TOPICS_OF, {"ids": ids}), ids, "topic")

    async def search(self, query: str, first: int, after_: str | None) -> Page[Pin]:
        """Full-text search over title and description; public pins only, for everyone."""
        dialect = self.backend.dialect
        listing = ListQuery(SEARCH_PINS[dialect], SEARCH_VISIBLE_PINS[dialect])
        return await filtered_page(
            self.backend, listing, {"q": search_text(dialect, search_words(query))},
            viewer=None, first=first, after_cursor=after_, visible=self.visible_to(None),
            key_type=float,
        )  # fmt: skip

    async def search_count(self, query: str) -> int:
        dialect = self.backend.dialect
        params = {"q": search_text(dialect, search_words(query)), "viewer": None}
        rows = await self.backend.read(SEARCH_COUNT[dialect], params)
        return int(rows[0]["n"]) if rows else 0

    def visible_to(self, viewer: str | None) -> Callable[[list[str]], Awaitable[dict[str, Pin]]]:
        return visible_pins_of(self.backend, viewer)

    async def _refuse_board(self, viewer: str, board_id: str) -> None:
        await check_board_member(
            self.backend, viewer, board_id, "you can only save pins to boards you own or share"
        )
