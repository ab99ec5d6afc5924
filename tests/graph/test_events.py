"""Every committed repository write publishes one domain event naming what it touched, on
every backend; refused writes publish nothing."""

from __future__ import annotations

import pytest

from domain.errors import Forbidden
from events.model import EventType
from graph.model import Privacy
from graph.repos import Repositories
from graph.repos.pins import NewPin
from tests.utils.events import RecordedEvents
from tests.utils.factories import make_board, make_pin, make_user


async def test_each_write_publishes_its_event(
    repos: Repositories, recorded: RecordedEvents
) -> None:
    before = len(recorded.events)
    owner, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    other = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, board, topics=["tea"])
    await repos.pins.save(owner.id, pin.id, other.id)
    await repos.pins.unsave(owner.id, pin.id, other.id)
    assert not await repos.pins.unsave(owner.id, pin.id, other.id)  # nothing removed
    await repos.pins.save(owner.id, pin.id, other.id)
    await repos.users.follow(fan.id, owner.id)
    await repos.boards.follow(fan.id, board.id)
    await repos.topics.follow(fan.id, " Tea ")
    await repos.pins.engage(fan.id, pin.id, "CLICK")
    await repos.boards.update(owner.id, board.id, name="Renamed")
    await repos.pins.delete(owner.id, pin.id)
    await repos.boards.delete(owner.id, other.id)
    seen = [(e.type, e.actor) for e in recorded.events[before:]]
    assert seen == [
        (EventType.USER_CREATED, owner.id),
        (EventType.USER_CREATED, fan.id),
        (EventType.BOARD_CREATED, owner.id),
        (EventType.BOARD_CREATED, owner.id),
        (EventType.PIN_CREATED, owner.id),
        (EventType.PIN_SAVED, owner.id),
        (EventType.PIN_UNSAVED, owner.id),
        (EventType.PIN_SAVED, owner.id),
        (EventType.USER_FOLLOWED, fan.id),
        (EventType.BOARD_FOLLOWED, fan.id),
        (EventType.TOPIC_FOLLOWED, fan.id),
        (EventType.ENGAGEMENT_RECORDED, fan.id),
        (EventType.BOARD_UPDATED, owner.id),
        (EventType.PIN_DELETED, owner.id),
        (EventType.BOARD_DELETED, owner.id),
    ]
    created, deleted = (
        recorded.of(EventType.PIN_CREATED)[-1],
        recorded.of(EventType.PIN_DELETED)[-1],
    )
    assert (created.pin, created.board) == (pin.id, board.id)
    assert deleted.pin == pin.id
    assert sorted(deleted.boards) == sorted([board.id, other.id])  # the secret one too
    assert sorted(deleted.touched_boards()) == sorted([board.id, other.id])
    assert recorded.of(EventType.TOPIC_FOLLOWED)[-1].topic == "tea"
    assert recorded.of(EventType.USER_FOLLOWED)[-1].user == owner.id


async def test_refused_writes_publish_nothing(
    repos: Repositories, recorded: RecordedEvents
) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    before = len(recorded.events)
    with pytest.raises(Forbidden):
        await repos.boards.update(other.id, board.id, name="mine now")
    with pytest.raises(Forbidden):
        await repos.pins.create(other.id, NewPin(title="x", board_id=board.id))
    assert recorded.events[before:] == []
