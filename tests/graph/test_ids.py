"""Topics a secret pin or board is the first to name give nothing away: not the item's id
(a probe found topic ids one above the secret item's), not when it was made, not even that
the topic exists."""

from __future__ import annotations

import uuid

import pytest
from ulid import ULID

from domain.errors import NotFound
from graph.model import Privacy
from graph.repos import Repositories
from tests.utils.factories import make_board, make_pin, make_user


async def test_a_topic_first_named_by_secret_items_is_known_to_their_owner_alone(
    repos: Repositories,
) -> None:
    owner, stranger = await make_user(repos), await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    by_pin = f"hidden-{uuid.uuid4().hex[:8]}"
    pin = await make_pin(repos, owner, secret, topics=[by_pin])
    by_board = f"hidden-{uuid.uuid4().hex[:8]}"
    board = await make_board(repos, owner, privacy=Privacy.SECRET, topics=[by_board])
    for name, item in ((by_pin, pin.id), (by_board, board.id)):
        for viewer in (None, stranger.id):
            with pytest.raises(NotFound):
                await repos.topics.get(name, viewer)
        topic = await repos.topics.get(name, owner.id)
        distance = abs(int(ULID.from_str(topic.id)) - int(ULID.from_str(item)))
        assert distance > 2**60, (topic.id, item)
        # Topic ids carry no time: this one's is not within a day of the item's.
        assert abs(ULID.from_str(topic.id).milliseconds - ULID.from_str(item).milliseconds) > (
            24 * 3600 * 1000
        )


async def test_a_topic_anyone_follows_or_sees_is_known(repos: Repositories) -> None:
    owner, fan = await make_user(repos), await make_user(repos)
    followed = f"open-{uuid.uuid4().hex[:8]}"
    await repos.topics.follow(fan.id, followed)
    assert (await repos.topics.get(followed, None)).name == followed
    shown = f"open-{uuid.uuid4().hex[:8]}"
    await make_board(repos, owner, topics=[shown])
    assert (await repos.topics.get(shown, None)).name == shown
