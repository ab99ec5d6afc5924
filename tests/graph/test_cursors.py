"""Cursors never name what the viewer may not see: a listing where more than a page scan's
worth of hidden candidates comes first still answers visible rows only, and every cursor is
the position of one of them (a probe found `edges: []`, `hasNextPage: true` and an end cursor
that decoded to a secret pin's id)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Awaitable, Callable

from domain.ids import new_id
from graph.model import Page, Pin, Privacy, User
from graph.repos import Repositories
from graph.repos.cypher import SCAN_ROUNDS
from tests.utils.factories import make_board, make_pin, make_user

HIDDEN = 50 * SCAN_ROUNDS + 100  # more than the candidate scan covers for a one-item page
BULK_SECRET_PINS = """
MATCH (u:User {id: $owner})-[:OWNS]->(b:Board {id: $board})
MERGE (t:Topic {name: $topic}) ON CREATE SET t.id = $topicId
WITH u, b, t
UNWIND $pins AS row
CREATE (u)-[:CREATED]->(p:Pin {id: row.id, creatorId: u.id, title: $title, createdAt: row.at,
                               lang: 'en'})
CREATE (p)-[:SAVED_TO {at: row.at, by: u.id}]->(b)
CREATE (p)-[:TAGGED]->(t)
"""


def cursor_ids(page: Page[Pin]) -> set[str]:
    decoded = [json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4))) for c in page.cursors]
    return {key[1] for key in decoded}


async def world(repos: Repositories) -> tuple[User, str, str, Pin, Pin, set[str]]:
    """An older and a newer visible pin, with many secret pins in between."""
    owner = await make_user(repos)
    topic = f"sparse-{uuid.uuid4().hex[:8]}"
    word = f"zq{uuid.uuid4().hex[:10]}"
    public = await make_board(repos, owner)
    older = await make_pin(repos, owner, public, topics=[topic], title=f"{word} old")
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    # Between the two visible pins in time (ties are ordered by id).
    hidden = [{"id": new_id(), "at": older.created_at + 1} for _ in range(HIDDEN)]
    await repos.backend.write(
        BULK_SECRET_PINS,
        {"owner": owner.id, "board": secret.id, "topic": topic, "topicId": new_id(),
         "pins": hidden, "title": f"{word} secret"},
    )  # fmt: skip
    await asyncio.sleep(0.005)  # so the newer pin's millisecond is past the hidden ones'
    newer = await make_pin(repos, owner, public, topics=[topic], title=f"{word} new")
    return owner, topic, word, older, newer, {row["id"] for row in hidden}


async def page_through(
    fetch: Callable[[str | None], Awaitable[Page[Pin]]], hidden: set[str]
) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = await fetch(after)
        assert page.items or not page.has_next, "an empty page that claims more"
        assert not cursor_ids(page) & hidden
        assert cursor_ids(page) == {pin.id for pin in page.items}
        seen += [pin.id for pin in page.items]
        if not page.has_next:
            return seen
        after = page.end_cursor
    raise AssertionError("paging never ended")


async def test_topic_user_and_search_listings_skip_hidden_runs(repos: Repositories) -> None:
    owner, topic, word, older, newer, hidden = await world(repos)
    stranger = await make_user(repos)
    expected = [newer.id, older.id]

    async def topic_page(after: str | None) -> Page[Pin]:
        return await repos.topics.pins(topic, None, 1, after)

    async def user_page(after: str | None) -> Page[Pin]:
        return await repos.pins.of_user(owner.id, stranger.id, 1, after)

    async def search_page(after: str | None) -> Page[Pin]:
        return await repos.pins.search(word, 1, after)

    assert await page_through(topic_page, hidden) == expected
    assert await page_through(user_page, hidden) == expected
    assert sorted(await page_through(search_page, hidden)) == sorted(expected)
    # The owner sees their secret pins in their own listing, newest first.
    mine = await repos.pins.of_user(owner.id, owner.id, 3, None)
    assert mine.items[0].id == newer.id
    assert cursor_ids(mine) <= hidden | {newer.id}
