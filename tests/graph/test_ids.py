"""A topic first created with a secret pin does not name the pin (a probe found topic ids one
above the secret item's id)."""

from __future__ import annotations

import uuid

from ulid import ULID

from graph.model import Privacy
from graph.repos import Repositories
from tests.utils.factories import make_board, make_pin, make_user


async def test_a_topic_created_with_a_secret_pin_does_not_reveal_its_id(
    repos: Repositories,
) -> None:
    owner = await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    name = f"hidden-{uuid.uuid4().hex[:8]}"
    pin = await make_pin(repos, owner, secret, topics=[name])
    topic = await repos.topics.get(name)
    distance = abs(int(ULID.from_str(topic.id)) - int(ULID.from_str(pin.id)))
    assert distance > 2**60, (topic.id, pin.id)
    board_topic = f"hidden-{uuid.uuid4().hex[:8]}"
    board = await make_board(repos, owner, privacy=Privacy.SECRET, topics=[board_topic])
    topic = await repos.topics.get(board_topic)
    assert abs(int(ULID.from_str(topic.id)) - int(ULID.from_str(board.id))) > 2**60
