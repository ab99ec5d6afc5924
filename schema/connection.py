"""Relay-style connections: `edges { cursor node }`, `pageInfo`, `totalCount`.

Strawberry names `Connection[Pin]` `PinConnection` and `Edge[Pin]` `PinEdge`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from resolvers.reads import Listing

Node = TypeVar("Node")


@strawberry.type(description="Where a page ends and whether more follow.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null on an empty page."
    )


@strawberry.type(description="One item of a list and the cursor that resumes after it.")
class Edge[Node]:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to resume after this.")
    node: Node = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, newest first, with the total size of the list.")
class Connection[Node]:
    edges: list[Edge[Node]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds that you can see.")
    async def total_count(self) -> int:
        return await self.count()


def connection[Item, Out](
    listing: Listing[Item], convert: Callable[[Item], Out]
) -> Connection[Out]:
    page = listing.page
    edges = [
        Edge(cursor=cursor, node=convert(item))
        for item, cursor in zip(page.items, page.cursors, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        count=listing.count,
    )
