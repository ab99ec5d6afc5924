"""Cypher fragments shared by the repositories, and keyset pagination over them.

Visibility lives here, in the queries themselves: a board is visible when it is public or
the viewer is a member (its owner or a collaborator); a pin is visible when the viewer
created it or it is saved to a board visible to the viewer. `$viewer` is the viewer's user
id, or null for anonymous callers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from domain.errors import NotFound
from graph.backends.base import GraphBackend, Params
from graph.model import Page, page_size
from graph.repos import cursor

# Named, not `b {.*}`: a board's collaborator ids (`memberIds`) stay off board rows.
BOARD_ITEM = "b {.id, .name, .description, .privacy, .createdAt, ownerId: o.id}"
# Pins carry their creator's id (`creatorId`, set once with the CREATED edge): a pattern
# comprehension per pin cost FalkorDB about 80 us, most of a 25-pin page. The properties are
# named, not `p {.*}`: a pin's image embedding (1,280 floats) must not ride along every read.
PIN_ITEM = (
    "p {.id, .title, .description, .link, .createdAt, .lang, .creatorId, .imageKey, .width,"
    " .height, .dominantColor}"
)
USER_ITEM = "u {.*}"

# Members of board `b` (owner `o`): the owner, or a collaborator. Collaborators' ids are kept
# on the board (`memberIds`) next to their COLLABORATES_ON edges: a property predicate works
# in WHERE on both engines, where FalkorDB cannot filter on a pattern (graph-model.md).
BOARD_MEMBER = "(o.id = $viewer OR $viewer IN coalesce(b.memberIds, []))"
BOARD_VISIBLE = f"(b.privacy = 'PUBLIC' OR {BOARD_MEMBER})"


def visible_pins(*carry: str) -> str:
    """Clauses that keep only rows whose pin `p` the viewer may see, carrying `carry` along.

    Written as OPTIONAL MATCH + aggregation, not pattern predicates: FalkorDB cannot filter
    on a pattern comprehension in WHERE, nor match a pattern against a null parameter.
    """
    kept = ", ".join([*carry, "p"])
    return f"""
OPTIONAL MATCH (p)-[:SAVED_TO]->(vb:Board)<-[:OWNS]-(vo:User)
WHERE vb.privacy = 'PUBLIC' OR vo.id = $viewer
   OR $viewer IN coalesce(vb.memberIds, [])
WITH {kept}, count(vb) AS visibleBoards
WHERE visibleBoards > 0 OR p.creatorId = $viewer
"""


# Keyset condition for lists ordered by (key DESC, id DESC); null cursor = first page.
AFTER = "($afterKey IS NULL OR {key} < $afterKey OR ({key} = $afterKey AND {id} < $afterId))"


def after(key: str, id_: str) -> str:
    return AFTER.format(key=key, id=id_)


async def keyset_page[T](
    backend: GraphBackend,
    query: str,
    params: Params,
    *,
    first: int,
    after_cursor: str | None,
    build: Callable[[dict[str, Any]], T],
    key_type: type = int,
) -> Page[T]:
    """Run a list query that returns `item`, `sortKey`, `sortId`, ordered by both DESC."""
    limit = page_size(first)
    key = cursor.decode(after_cursor, key_type, str)
    rows = await backend.read(query, _after_params(params, key, limit + 1))
    return page_of(rows, limit, build)


def page_of[T](
    rows: list[dict[str, Any]], limit: int, build: Callable[[dict[str, Any]], T]
) -> Page[T]:
    """A first page from up to `limit + 1` rows of `item`, `sortKey`, `sortId`."""
    shown = rows[:limit]
    return Page(
        [build(row["item"]) for row in shown],
        [cursor.encode(row["sortKey"], row["sortId"]) for row in shown],
        has_next=len(rows) > limit,
    )


def _after_params(params: Params, key: list[Any] | None, limit: int) -> dict[str, Any]:
    return {
        **params,
        "afterKey": key[0] if key else None,
        "afterId": key[1] if key else None,
        "limit": limit,
    }


SCAN_ROUNDS = 20


def newest_pins_first() -> str:
    """The tail of a pin list ordered by creation, newest first (keyset: `after("p.createdAt",
    "p.id")`): a fragment, like `visible_pins()`, not a statement of its own."""
    return """
RETURN p.createdAt AS sortKey, p.id AS sortId
ORDER BY sortKey DESC, sortId DESC
LIMIT $limit
"""


@dataclass(frozen=True)
class ListQuery:
    """A list query in two forms with the same parameters and `sortKey`, `sortId` rows:
    `candidates` leaves visibility to the caller, `visible` checks it in the query
    (`visible_pins()`, with `$viewer`)."""

    candidates: str
    visible: str


async def filtered_page[T](
    backend: GraphBackend,
    listing: ListQuery,
    params: Params,
    *,
    viewer: str | None,
    first: int,
    after_cursor: str | None,
    visible: Callable[[list[str]], Awaitable[dict[str, T]]],
    key_type: type = int,
) -> Page[T]:
    """Keyset-paginate a listing's candidates, keeping those `visible` returns.

    Sorting only the cheap candidate keys and checking visibility for one page's worth at a
    time is far faster than filtering every row before ORDER BY ... LIMIT. When many
    candidates in a row are hidden from the viewer, the page is finished with the listing's
    `visible` query instead, so that every cursor is the position of a row the viewer sees:
    a cursor never names a hidden item, and a page is never empty while more follow.
    """
    limit = page_size(first)
    key = cursor.decode(after_cursor, key_type, str)
    scan = max(2 * (limit + 1), 50)
    items: list[T] = []
    cursors: list[str] = []
    resume = key  # the last row shown, or the caller's cursor
    for _ in range(SCAN_ROUNDS):
        rows = await backend.read(listing.candidates, _after_params(params, key, scan))
        found = await visible([row["sortId"] for row in rows]) if rows else {}
        for row in rows:
            if row["sortId"] in found:
                items.append(found[row["sortId"]])
                cursors.append(cursor.encode(row["sortKey"], row["sortId"]))
                resume = [row["sortKey"], row["sortId"]]
                if len(items) > limit:
                    return Page(items[:limit], cursors[:limit], has_next=True)
        if len(rows) < scan:
            return Page(items, cursors, has_next=False)
        key = [rows[-1]["sortKey"], rows[-1]["sortId"]]
    wanted = limit + 1 - len(items)
    rows = await backend.read(
        listing.visible, _after_params({**params, "viewer": viewer}, resume, wanted)
    )
    found = await visible([row["sortId"] for row in rows]) if rows else {}
    for row in rows:
        if row["sortId"] in found:
            items.append(found[row["sortId"]])
            cursors.append(cursor.encode(row["sortKey"], row["sortId"]))
    return Page(items[:limit], cursors[:limit], has_next=len(items) > limit)


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


async def fetch_by_ids[T: _HasId](
    backend: GraphBackend,
    query: str,
    ids: list[str],
    build: Callable[[dict[str, Any]], T],
    **params: Any,
) -> dict[str, T]:
    """Run a batch getter (`UNWIND $ids`, returning `item`) and key the results by id."""
    rows = await backend.read(query, {"ids": list(dict.fromkeys(ids)), **params})
    items = (build(row["item"]) for row in rows)
    return {item.id: item for item in items}


def the_one[T](found: dict[str, T], id_: str, what: str) -> T:
    if id_ not in found:
        raise NotFound(f"no {what} {id_!r}")
    return found[id_]


def grouped(rows: list[dict[str, Any]], ids: list[str], column: str) -> dict[str, list[Any]]:
    """Group `column` of rows with an `id` column by id, with an empty list for every id."""
    groups: dict[str, list[Any]] = {id_: [] for id_ in ids}
    for row in rows:
        groups[row["id"]].append(row[column])
    return groups


def count_map(rows: list[dict[str, Any]], ids: list[str]) -> dict[str, int]:
    found = {row["id"]: int(row["n"]) for row in rows}
    return {id_: found.get(id_, 0) for id_ in ids}
