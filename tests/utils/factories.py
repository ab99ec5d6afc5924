"""Factories that make real users, boards and pins through the repositories."""

from __future__ import annotations

import uuid

from graph.model import Board, Pin, Privacy, User
from graph.repos import Repositories
from graph.repos.pins import NewPin


def unique_handle(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def make_user(repos: Repositories, lang: str = "en") -> User:
    return await repos.users.create(unique_handle(), lang_=lang)


async def make_board(
    repos: Repositories,
    owner: User,
    *,
    privacy: Privacy = Privacy.PUBLIC,
    topics: list[str] | None = None,
    name: str = "Board",
) -> Board:
    return await repos.boards.create(owner.id, name, privacy=privacy, topics=topics)


async def make_pin(
    repos: Repositories,
    creator: User,
    board: Board,
    *,
    title: str = "A pin",
    topics: list[str] | None = None,
    description: str | None = None,
) -> Pin:
    return await repos.pins.create(
        creator.id, NewPin(title=title, board_id=board.id, topics=topics, description=description)
    )


def newest_first(pins: list[Pin]) -> list[str]:
    """The ids in the order lists promise: newest first, ties within one millisecond broken
    by id (ids are random within a millisecond, so creation order alone is not it)."""
    return [p.id for p in sorted(pins, key=lambda p: (p.created_at, p.id), reverse=True)]


async def boards_of(
    repos: Repositories, owner: User, count: int, privacy: Privacy = Privacy.PUBLIC
) -> list[Board]:
    return [await make_board(repos, owner, privacy=privacy) for _ in range(count)]


async def saved_to(repos: Repositories, pin: Pin, boards: list[Board]) -> None:
    """`pin` saved to each of `boards` by the board's owner."""
    for board in boards:
        await repos.pins.save(board.owner_id, pin.id, board.id)
