"""Board sections: named parts of a board that its members save pins into.

A section is `(:Board)-[:HAS_SECTION]->(:Section {id, name, nameKey, createdAt, by})`, and a
save's section is a property of its edge (`SAVED_TO.section`, the section's id), so a pin is
in at most one section of a board, and unsaving it, or deleting the board, takes it out.

Who may do what: the board's members (owner and collaborators) create sections and save into
them; the owner deletes any section, a collaborator only the sections they created (as with
saves). A section is visible exactly where its board is: it is only ever read through a
board the caller has found visible to the viewer.

Names are trimmed, 1-50 characters, unique per board ignoring case (`nameKey`), and a board
has at most `MAX_SECTIONS`. Every write is one statement that checks all of this itself;
when it matches nothing, a read explains why, with the errors the rest of the API uses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from domain.errors import BadInput, Conflict, Forbidden, NotFound
from domain.ids import new_id
from events.bus import EventSink
from events.model import Event, EventType
from graph.backends.base import GraphBackend
from graph.model import Page, Pin, Privacy, now_ms, required_text
from graph.repos.boards import check_board_member
from graph.repos.collaborators import check_id
from graph.repos.cypher import BOARD_MEMBER, PIN_ITEM, after, keyset_page

MAX_SECTIONS = 50  # per board
MAX_SECTION_NAME = 50

SECTION_ITEM = "sec {.id, .name, .createdAt, .by, boardId: b.id}"

# The board is locked (`sectionsAt`) before its sections are counted, so that concurrent
# creates on Neo4j cannot both pass the cap or the name check; FalkorDB runs one write at a
# time. The node is created in a clause of its own and joined after a WITH (boards.CREATE).
CREATE = f"""
MATCH (b:Board {{id: $boardId}})<-[:OWNS]-(o:User)
WHERE {BOARD_MEMBER}
SET b.sectionsAt = $now
WITH b
OPTIONAL MATCH (b)-[:HAS_SECTION]->(x:Section)
WITH b, count(x) AS sections, sum(CASE WHEN x.nameKey = $nameKey THEN 1 ELSE 0 END) AS same
WHERE sections < $cap AND same = 0
CREATE (sec:Section {{id: $id, name: $name, nameKey: $nameKey, createdAt: $now, by: $viewer}})
WITH b, sec
CREATE (b)-[:HAS_SECTION {{at: $now}}]->(sec)
RETURN {SECTION_ITEM} AS item
"""
# Why CREATE matched nothing, once the board is known to be the viewer's to write to.
NAMES_OF = """
MATCH (b:Board {id: $boardId})
WITH b
OPTIONAL MATCH (b)-[:HAS_SECTION]->(x:Section)
RETURN collect(x.nameKey) AS names
"""
# The owner deletes any section, a collaborator those they created. Its pins stay on the
# board and just leave the section.
DELETE = f"""
MATCH (sec:Section {{id: $id}})
WITH sec
MATCH (sec)<-[:HAS_SECTION]-(b:Board)<-[:OWNS]-(o:User)
WHERE o.id = $viewer OR ({BOARD_MEMBER} AND sec.by = $viewer)
OPTIONAL MATCH (b)<-[s:SAVED_TO]-(:Pin)
WHERE s.section = sec.id
WITH b, sec, collect(s) AS saves
FOREACH (x IN saves | SET x.section = null)
DETACH DELETE sec
RETURN b.id AS boardId, size(saves) AS pins
"""
# Why DELETE matched nothing.
SECTION_STATE = """
MATCH (sec:Section {id: $id})
WITH sec
MATCH (sec)<-[:HAS_SECTION]-(b:Board)<-[:OWNS]-(o:User)
RETURN b.id AS boardId, b.privacy AS privacy, o.id AS ownerId,
       coalesce(b.memberIds, []) AS memberIds, sec.by AS by
"""
# Sections of boards the caller has found visible to the viewer (sorted by the caller).
OF_BOARDS = f"""
UNWIND $ids AS id
MATCH (b:Board {{id: id}})
WITH b
MATCH (b)-[:HAS_SECTION]->(sec:Section)
RETURN {SECTION_ITEM} AS item
"""
# How many pins each section of some boards holds.
PIN_COUNTS = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
WITH b
MATCH (b)<-[s:SAVED_TO]-(:Pin)
WHERE s.section IS NOT NULL
RETURN s.section AS section, count(s) AS n
"""
# A section's pins, newest save first, like a board's (boards.PINS). The caller has found
# the board visible to the viewer.
PINS = f"""
MATCH (:Board {{id: $boardId}})<-[s:SAVED_TO]-(p:Pin)
WHERE s.section = $sectionId AND {after("s.at", "p.id")}
WITH p, s
ORDER BY s.at DESC, p.id DESC
LIMIT $limit
RETURN {PIN_ITEM} AS item, s.at AS sortKey, p.id AS sortId
"""


@dataclass(frozen=True)
class Section:
    id: str
    name: str
    board_id: str
    created_at: int
    created_by: str
    pin_count: int = 0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Section:
        return cls(
            row["id"], row["name"], row["boardId"], row["createdAt"], row["by"],
            int(row.get("pinCount") or 0),
        )  # fmt: skip

    def to_row(self) -> dict[str, Any]:
        """The inverse of `from_row`, for caches."""
        return {
            "id": self.id, "name": self.name, "boardId": self.board_id,
            "createdAt": self.created_at, "by": self.created_by, "pinCount": self.pin_count,
        }  # fmt: skip


def section_name(value: object) -> tuple[str, str]:
    """The trimmed name and its case-insensitive key."""
    if not isinstance(value, str):
        raise BadInput("name must be a string")
    name = required_text(value, "name", max_len=MAX_SECTION_NAME)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadInput("name must not contain control characters")
    return name, name.casefold()


class SectionRepo:
    def __init__(self, backend: GraphBackend, events: EventSink) -> None:
        self.backend = backend
        self.events = events

    async def create(self, viewer: str, board_id: str, name: str) -> Section:
        """Add a section to a board the viewer owns or collaborates on."""
        trimmed, key = section_name(name)
        params = {
            "viewer": viewer,
            "boardId": check_id(board_id, "boardId"),
            "id": new_id(),
            "name": trimmed,
            "nameKey": key,
            "now": now_ms(),
            "cap": MAX_SECTIONS,
        }
        rows = await self.backend.write(CREATE, params)
        if not rows:
            await check_board_member(
                self.backend, viewer, board_id,
                "only the board's owner and collaborators can add sections",
            )  # fmt: skip
            names = await self.backend.read(NAMES_OF, {"boardId": board_id})
            if names and key in names[0]["names"]:
                raise Conflict(f"the board already has a section named {trimmed!r}")
            raise BadInput(f"a board has at most {MAX_SECTIONS} sections")
        section = Section.from_row(rows[0]["item"])
        await self.events.publish(Event(EventType.SECTION_CREATED, actor=viewer, board=board_id))
        return section

    async def delete(self, viewer: str, section_id: str) -> str:
        """Delete a section, keeping its pins on the board; the board's id."""
        params = {"viewer": viewer, "id": check_id(section_id, "id")}
        rows = await self.backend.write(DELETE, params)
        if not rows:
            await self._refuse_delete(viewer, section_id)
        board_id: str = rows[0]["boardId"]
        await self.events.publish(Event(EventType.SECTION_DELETED, actor=viewer, board=board_id))
        return board_id

    async def _refuse_delete(self, viewer: str, section_id: str) -> None:
        rows = await self.backend.read(SECTION_STATE, {"id": section_id})
        if not rows:
            raise NotFound(f"no section {section_id!r}")
        state = rows[0]
        member = state["ownerId"] == viewer or viewer in state["memberIds"]
        if state["privacy"] == Privacy.SECRET and not member:
            raise NotFound(f"no section {section_id!r}")
        if not member:
            raise Forbidden("only the board's owner and collaborators can delete its sections")
        raise Forbidden("collaborators can only delete sections they added")

    async def of_boards(self, ids: list[str]) -> dict[str, list[Section]]:
        """The sections of boards the caller has found visible, oldest first, with counts."""
        unique = list(dict.fromkeys(ids))
        found: dict[str, list[Section]] = {id_: [] for id_ in unique}
        if not unique:
            return found
        rows = await self.backend.read(OF_BOARDS, {"ids": unique})
        if not rows:
            return found
        counted = await self.backend.read(PIN_COUNTS, {"ids": unique})
        counts = {row["section"]: int(row["n"]) for row in counted}
        for row in sorted(rows, key=lambda row: (row["item"]["createdAt"], row["item"]["id"])):
            section = Section.from_row(row["item"])
            found[section.board_id].append(replace(section, pin_count=counts.get(section.id, 0)))
        return found

    async def pins(
        self, board_id: str, section_id: str, first: int, after_: str | None
    ) -> Page[Pin]:
        """Pins of a section of a board the caller has found visible, newest save first."""
        return await keyset_page(
            self.backend, PINS, {"boardId": board_id, "sectionId": section_id},
            first=first, after_cursor=after_, build=Pin.from_row,
        )  # fmt: skip


async def check_section_on_board(backend: GraphBackend, board_id: str, section_id: str) -> None:
    """Explain a refused save into a section of a board the viewer may write to."""
    rows = await backend.read(SECTION_STATE, {"id": section_id})
    if not rows or rows[0]["boardId"] != board_id:
        raise NotFound(f"no section {section_id!r} on this board")
