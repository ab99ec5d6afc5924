"""Per-request DataLoaders: one graph query per kind of data per tick, whatever the page size.

They are built for one viewer, since what a viewer may see is part of every answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from graph.model import Board, Page, Pin, Topic, User
from graph.repos import Repositories
from graph.repos.comments import ReactionKind


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
    """Each loader is made the first time a request uses it: a page needs a few of them."""

    def __init__(self, repos: Repositories, viewer: str | None) -> None:
        self.repos = repos
        self.viewer = viewer

    @cached_property
    def user(self) -> DataLoader[str, User | None]:
        return _loader(self.repos.users.get_many, None)

    @cached_property
    def board(self) -> DataLoader[str, Board | None]:
        boards, viewer = self.repos.boards, self.viewer
        return _loader(lambda ids: boards.get_many(ids, viewer), None)

    @cached_property
    def pin(self) -> DataLoader[str, Pin | None]:
        pins, viewer = self.repos.pins, self.viewer
        return _loader(lambda ids: pins.get_many(ids, viewer), None)

    @cached_property
    def pin_topics(self) -> DataLoader[str, list[Topic]]:
        return _loader(_topics(self.repos.pins.topics_of), [])

    @cached_property
    def board_topics(self) -> DataLoader[str, list[Topic]]:
        return _loader(_topics(self.repos.boards.topics_of), [])

    @cached_property
    def pin_save_count(self) -> DataLoader[str, int]:
        pins, viewer = self.repos.pins, self.viewer
        return _loader(lambda ids: pins.save_counts(ids, viewer), 0)

    @cached_property
    def board_pin_count(self) -> DataLoader[str, int]:
        return _loader(self.repos.boards.pin_counts, 0)

    @cached_property
    def board_follower_count(self) -> DataLoader[str, int]:
        return _loader(self.repos.boards.follower_counts, 0)

    @cached_property
    def board_collaborator_count(self) -> DataLoader[str, int]:
        return _loader(self.repos.collaborators.member_counts, 0)

    @cached_property
    def board_member(self) -> DataLoader[str, bool]:
        """Whether the viewer collaborates on each board (owners are not counted)."""
        collaborators, viewer = self.repos.collaborators, self.viewer

        async def member(ids: list[str]) -> dict[str, bool]:
            found = await collaborators.member_of(ids, viewer)
            return {id_: id_ in found for id_ in ids}

        return _loader(member, False)

    @cached_property
    def user_follower_count(self) -> DataLoader[str, int]:
        return _loader(self.repos.users.follower_counts, 0)

    @cached_property
    def user_following_count(self) -> DataLoader[str, int]:
        return _loader(self.repos.users.following_counts, 0)

    @cached_property
    def user_board_count(self) -> DataLoader[str, int]:
        boards, viewer = self.repos.boards, self.viewer
        return _loader(lambda ids: boards.counts_of_owners(ids, viewer), 0)

    @cached_property
    def user_pin_count(self) -> DataLoader[str, int]:
        pins, viewer = self.repos.pins, self.viewer
        return _loader(lambda ids: pins.counts_of_creators(ids, viewer), 0)

    @cached_property
    def topic_follower_count(self) -> DataLoader[str, int]:
        return _loader(self.repos.topics.follower_counts, 0)

    @cached_property
    def topic_pin_count(self) -> DataLoader[str, int]:
        topics, viewer = self.repos.topics, self.viewer
        return _loader(lambda ids: topics.pin_counts(ids, viewer), 0)

    @cached_property
    def follows_user(self) -> DataLoader[str, bool]:
        return self._follows("User")

    @cached_property
    def follows_board(self) -> DataLoader[str, bool]:
        return self._follows("Board")

    @cached_property
    def follows_topic(self) -> DataLoader[str, bool]:
        return self._follows("Topic")

    def _follows(self, label: str) -> DataLoader[str, bool]:
        users, viewer = self.repos.users, self.viewer
        return _loader(lambda ids: users.viewer_follows(viewer, label, ids), False)

    @cached_property
    def pin_comment_count(self) -> DataLoader[str, int]:
        return _loader(self.repos.comments.counts, 0)

    @cached_property
    def pin_reaction_counts(self) -> DataLoader[str, dict[ReactionKind, int]]:
        return _loader(self.repos.comments.reaction_counts, {})

    @cached_property
    def viewer_reaction(self) -> DataLoader[str, ReactionKind | None]:
        comments, viewer = self.repos.comments, self.viewer
        return _loader(lambda ids: comments.viewer_reactions(ids, viewer), None)

    @cached_property
    def pin_first_boards(self) -> DataLoader[tuple[str, int], Page[Board]]:
        pins, viewer = self.repos.pins, self.viewer

        async def first_boards(keys: list[tuple[str, int]]) -> list[Page[Board]]:
            """First pages of `pin.boards`, one query per distinct page size."""
            pages: dict[tuple[str, int], Page[Board]] = {}
            for first in {first for _, first in keys}:
                ids = [pin_id for pin_id, size in keys if size == first]
                found = await pins.boards_of_many(ids, viewer, first)
                pages.update({(pin_id, first): page for pin_id, page in found.items()})
            return [pages[key] for key in keys]

        return DataLoader(load_fn=first_boards)
