"""Per-request DataLoaders: one graph query per kind of data per tick, whatever the page size.

They are built for one viewer, since what a viewer may see is part of every answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from strawberry.dataloader import DataLoader

from graph.model import Board, Page, Pin, Topic, User
from graph.repos import Repositories


def _loader[K, V](
    fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], default: V
) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        found = await fetch(keys)
        return [found.get(key, default) for key in keys]

    return DataLoader(load_fn=load)


def _topics(
    fetch: Callable[[list[str]], Awaitable[dict[str, list[dict[str, Any]]]]],
) -> Callable[[list[str]], Awaitable[dict[str, list[Topic]]]]:
    async def topics(ids: list[str]) -> dict[str, list[Topic]]:
        rows = await fetch(ids)
        return {id_: [Topic.from_row(row) for row in found] for id_, found in rows.items()}

    return topics


class Loaders:
    def __init__(self, repos: Repositories, viewer: str | None) -> None:
        users, boards, pins, topics = repos.users, repos.boards, repos.pins, repos.topics
        none: Any = None
        self.user: DataLoader[str, User | None] = _loader(users.get_many, none)
        self.board: DataLoader[str, Board | None] = _loader(
            lambda ids: boards.get_many(ids, viewer), none
        )
        self.pin: DataLoader[str, Pin | None] = _loader(
            lambda ids: pins.get_many(ids, viewer), none
        )
        self.pin_topics: DataLoader[str, list[Topic]] = _loader(_topics(pins.topics_of), [])
        self.board_topics: DataLoader[str, list[Topic]] = _loader(_topics(boards.topics_of), [])
        self.pin_save_count = _loader(lambda ids: pins.save_counts(ids, viewer), 0)
        self.board_pin_count = _loader(boards.pin_counts, 0)
        self.board_follower_count = _loader(boards.follower_counts, 0)
        self.user_follower_count = _loader(users.follower_counts, 0)
        self.user_following_count = _loader(users.following_counts, 0)
        self.user_board_count = _loader(lambda ids: boards.counts_of_owners(ids, viewer), 0)
        self.user_pin_count = _loader(lambda ids: pins.counts_of_creators(ids, viewer), 0)
        self.topic_follower_count = _loader(topics.follower_counts, 0)
        self.topic_pin_count = _loader(lambda ids: topics.pin_counts(ids, viewer), 0)
        self.follows_user = _loader(lambda ids: users.viewer_follows(viewer, "User", ids), False)
        self.follows_board = _loader(lambda ids: users.viewer_follows(viewer, "Board", ids), False)
        self.follows_topic = _loader(lambda ids: users.viewer_follows(viewer, "Topic", ids), False)

        async def first_boards(keys: list[tuple[str, int]]) -> list[Page[Board]]:
            """First pages of `pin.boards`, one query per distinct page size."""
            pages: dict[tuple[str, int], Page[Board]] = {}
            for first in {first for _, first in keys}:
                ids = [pin_id for pin_id, size in keys if size == first]
                found = await pins.boards_of_many(ids, viewer, first)
                pages.update({(pin_id, first): page for pin_id, page in found.items()})
            return [pages[key] for key in keys]

        self.pin_first_boards: DataLoader[tuple[str, int], Page[Board]] = DataLoader(
            load_fn=first_boards
        )
