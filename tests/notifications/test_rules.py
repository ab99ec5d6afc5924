"""The notification rules, run by the server's own consumers on real writes."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from events.consumer import Consumer, ConsumerRunner
from events.model import Event, EventType
from graph.model import Board, Pin, Privacy, User
from graph.repos import Repositories
from notifications.fanout import Fanout, FanoutJob
from notifications.model import Notification, NotificationKind
from notifications.rules import Rules
from server.services import Services
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_pin, make_user


async def inbox_of(services: Services, user_id: str) -> list[Notification]:
    await drained(services.cache)
    page = await services.notifications.inbox.page(user_id, 100, None)
    return page.items


async def saved_by_someone_else(repos: Repositories) -> tuple[User, User, Pin, Board]:
    """A creator's pin, saved by another user to that user's public board."""
    creator, saver = await make_user(repos), await make_user(repos)
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    board = await make_board(repos, saver)
    await repos.pins.save(saver.id, pin.id, board.id)
    return creator, saver, pin, board


async def test_a_save_by_someone_else_tells_the_creator(
    services: Services, repos: Repositories
) -> None:
    creator, saver, pin, board = await saved_by_someone_else(repos)
    [told] = await inbox_of(services, creator.id)
    assert (told.kind, told.pin, told.board) == (NotificationKind.PIN_SAVED, pin.id, board.id)
    assert (told.actor_ids, told.actor_count, told.read) == ((saver.id,), 1, False)
    assert await services.notifications.inbox.count(creator.id, unread_only=True) == 1
    assert await inbox_of(services, saver.id) == []  # never to the actor


async def test_own_saves_and_saves_to_secret_boards_tell_nobody(
    services: Services, repos: Repositories
) -> None:
    creator, saver = await make_user(repos), await make_user(repos)
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    await repos.pins.save(creator.id, pin.id, (await make_board(repos, creator)).id)
    secret = await make_board(repos, saver, privacy=Privacy.SECRET)
    await repos.pins.save(saver.id, pin.id, secret.id)
    assert await inbox_of(services, creator.id) == []


async def test_a_burst_aggregates_with_the_latest_actors_first(
    services: Services, repos: Repositories
) -> None:
    creator = await make_user(repos)
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    savers = [await make_user(repos) for _ in range(4)]
    for saver in savers:
        await repos.pins.save(saver.id, pin.id, (await make_board(repos, saver)).id)
    # The same saver again, to another board: still one actor.
    await repos.pins.save(savers[0].id, pin.id, (await make_board(repos, savers[0])).id)
    [told] = await inbox_of(services, creator.id)
    assert told.actor_count == 4
    assert sorted(told.actor_ids) == sorted(s.id for s in savers)
    assert list(told.actor_ats) == sorted(told.actor_ats, reverse=True)  # newest first


async def test_follows_tell_the_followed(services: Services, repos: Repositories) -> None:
    owner, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    await repos.users.follow(fan.id, owner.id)
    await repos.boards.follow(fan.id, board.id)
    await repos.boards.follow(owner.id, board.id)  # one's own board: nobody to tell
    told = await inbox_of(services, owner.id)
    assert {(n.kind, n.board) for n in told} == {
        (NotificationKind.USER_FOLLOWED, None),
        (NotificationKind.BOARD_FOLLOWED, board.id),
    }
    assert all(n.actor_ids == (fan.id,) for n in told)


async def test_new_public_pins_reach_topic_followers_once(
    services: Services, repos: Repositories
) -> None:
    topic_a, topic_b = f"ta{uuid.uuid4().hex[:8]}", f"tb{uuid.uuid4().hex[:8]}"
    creator, fan, digest, muted = [await make_user(repos) for _ in range(4)]
    for user in (fan, digest, muted, creator):
        await repos.topics.follow(user.id, topic_a)
    await repos.topics.follow(fan.id, topic_b)
    await repos.notifications.update_settings(digest.id, None, True)
    await repos.notifications.update_settings(muted.id, [NotificationKind.NEW_PIN_IN_TOPIC], None)
    board = await make_board(repos, creator)
    first = await make_pin(repos, creator, board, topics=[topic_a, topic_b])
    second = await make_pin(repos, creator, board, topics=[topic_a])
    secret = await make_board(repos, creator, privacy=Privacy.SECRET)
    await make_pin(repos, creator, secret, topics=[topic_a])

    fans = await inbox_of(services, fan.id)
    assert sorted(n.pin or "" for n in fans) == sorted([first.id, second.id])  # one per pin
    assert all(n.kind is NotificationKind.NEW_PIN_IN_TOPIC for n in fans)
    [daily] = await inbox_of(services, digest.id)
    assert (daily.topic, daily.pin) == (topic_a, second.id)  # the digest names the newest
    assert await inbox_of(services, muted.id) == []
    assert await inbox_of(services, creator.id) == []


async def test_what_became_hidden_leaves_every_inbox(
    services: Services, repos: Repositories
) -> None:
    topic = f"th{uuid.uuid4().hex[:8]}"
    creator, fan, saver = [await make_user(repos) for _ in range(3)]
    await repos.topics.follow(fan.id, topic)
    board = await make_board(repos, creator)
    doomed = await make_pin(repos, creator, board, topics=[topic])
    hidden = await make_pin(repos, creator, board, topics=[topic])
    saved = await make_pin(repos, creator, await make_board(repos, creator))
    saver_board = await make_board(repos, saver)
    await repos.pins.save(saver.id, saved.id, saver_board.id)
    assert len(await inbox_of(services, fan.id)) == 2
    assert len(await inbox_of(services, creator.id)) == 1

    await repos.pins.delete(creator.id, doomed.id)
    await repos.boards.update(creator.id, board.id, privacy=Privacy.SECRET)  # hides `hidden`
    assert await inbox_of(services, fan.id) == []
    assert await services.notifications.inbox.count(fan.id) == 0
    # The saver's board turning secret hides their save from the creator.
    await repos.boards.update(saver.id, saver_board.id, privacy=Privacy.SECRET)
    assert await inbox_of(services, creator.id) == []
    assert await services.notifications.inbox.count(creator.id, unread_only=True) == 0
    assert hidden.id  # still exists, for its creator alone


async def test_topic_fanout_walks_followers_in_batches(
    services: Services, repos: Repositories
) -> None:
    topic = f"tf{uuid.uuid4().hex[:8]}"
    creator = await make_user(repos)
    followers = [await make_user(repos) for _ in range(5)]
    for user in followers:
        await repos.topics.follow(user.id, topic)
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    stream = f"pg:test-fanout:{uuid.uuid4().hex}"
    rules = Rules(repos, services.cache)
    fanout = Fanout(services.cache, repos.notifications, rules.record, batch=2, stream=stream)
    job = FanoutJob(pin=pin.id, topic=topic, creator=creator.id, at=pin.created_at)
    await fanout.enqueue(job)
    runner = ConsumerRunner(services.cache, fanout.consumer(), block_ms=10)
    batches = 0
    while await runner.step(10):
        batches += 1
    assert batches == 4  # the followers read once, then 2 + 2 + 1 of them
    assert not await services.cache.exists(f"{stream}:followers:{pin.id}:{topic}")  # tidied
    for user in followers:
        [told] = (await services.notifications.inbox.page(user.id, 10, None)).items
        assert told.pin == pin.id


async def test_a_redelivered_event_and_a_crashed_consumer_neither_lose_nor_double(
    services: Services, repos: Repositories
) -> None:
    creator, saver, pin, board = await saved_by_someone_else(repos)
    await drained(services.cache)
    event = Event(EventType.PIN_SAVED, actor=saver.id, pin=pin.id, board=board.id)
    rules = Rules(repos, services.cache)
    await rules.handle(event)
    await rules.handle(event)  # handled again: same event id, same burst
    [told] = await inbox_of(services, creator.id)
    assert told.actor_count == 1

    # A consumer that read a batch and died: another reclaims it, and handles it once.
    other = await make_user(repos)
    stream = f"pg:test-events:{uuid.uuid4().hex}"
    consumer = Consumer("notifications", rules.handle, stream=stream)
    crashed = ConsumerRunner(services.cache, consumer, name="crashed", claim_idle_ms=0)
    await crashed.read_only(1)  # creates the group at "$": publish after it
    second = replace(event, actor=other.id, id=Event(EventType.PIN_SAVED).id)
    await services.cache.xadd(stream, second.fields())  # type: ignore[arg-type]
    assert await crashed.read_only(10)
    survivor = ConsumerRunner(services.cache, consumer, name="survivor", claim_idle_ms=0)
    assert await survivor.step(10) == 1
    await services.cache.xadd(stream, second.fields())  # published twice
    assert await survivor.step(10) == 1
    [told] = await inbox_of(services, creator.id)
    assert told.actor_count == 2


async def test_caps_stop_new_notifications_not_bursts(
    services: Services, repos: Repositories
) -> None:
    creator = await make_user(repos)
    board = await make_board(repos, creator)
    pins = [await make_pin(repos, creator, board) for _ in range(3)]
    rules = Rules(repos, services.cache, cap_per_hour=2)
    savers = [await make_user(repos) for _ in range(3)]
    for pin in pins:
        saver_board = await make_board(repos, savers[0])
        await rules.handle(Event(EventType.PIN_SAVED, actor=savers[0].id, pin=pin.id,
                                 board=saver_board.id))  # fmt: skip
    for saver in savers[1:]:  # more actors on a notification that exists: not capped
        saver_board = await make_board(repos, saver)
        await rules.handle(Event(EventType.PIN_SAVED, actor=saver.id, pin=pins[0].id,
                                 board=saver_board.id))  # fmt: skip
    told = (await services.notifications.inbox.page(creator.id, 10, None)).items
    assert sorted(n.actor_count for n in told) == [1, 3]


async def test_a_hidden_actor_leaves_no_trace_in_time_or_counts(
    services: Services, repos: Repositories
) -> None:
    creator, early, late = [await make_user(repos) for _ in range(3)]
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    await repos.pins.save(early.id, pin.id, (await make_board(repos, early)).id)
    [first] = await inbox_of(services, creator.id)
    assert await services.notifications.inbox.mark_read(creator.id, None) == 1
    late_board = await make_board(repos, late)
    await repos.pins.save(late.id, pin.id, late_board.id)
    [both] = await inbox_of(services, creator.id)
    assert (both.actor_count, both.read) == (2, False)
    await repos.boards.update(late.id, late_board.id, privacy=Privacy.SECRET)
    [shown] = await inbox_of(services, creator.id)
    assert (shown.actor_ids, shown.actor_count, shown.at) == ((early.id,), 1, first.at)
    # Marking all read counts what the recipient sees.
    assert await services.notifications.inbox.mark_read(creator.id, None) == 1


async def test_a_creators_fanout_budget_is_hourly(
    services: Services, repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notifications.rules.FANOUT_PINS_PER_HOUR", 1)
    topic = f"tb{uuid.uuid4().hex[:8]}"
    creator, fan = await make_user(repos), await make_user(repos)
    await repos.topics.follow(fan.id, topic)
    board = await make_board(repos, creator)
    first = await make_pin(repos, creator, board, topics=[topic])
    await make_pin(repos, creator, board, topics=[topic])  # past the budget: not fanned out
    assert [n.pin for n in await inbox_of(services, fan.id)] == [first.id]


async def test_inboxes_are_cut_back_once_past_their_slack(
    services: Services, repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notifications.rules.MAX_INBOX", 3)
    monkeypatch.setattr("notifications.rules.PRUNE_SLACK", 1)
    recipient = await make_user(repos)
    rules = Rules(repos, services.cache)
    for n in range(5):
        actor = await make_user(repos)
        await rules.handle(Event(EventType.USER_FOLLOWED, actor=actor.id, user=recipient.id,
                                 at=n * 24 * 3600 * 1000))  # fmt: skip  # a window each
    listed = await repos.notifications.listed(recipient.id, unread_only=False)
    assert len(listed) == 3  # the fifth made it 5 > 3 + 1: cut back to the newest 3
    assert sorted(n.at for n in listed) == [2 * 86_400_000, 3 * 86_400_000, 4 * 86_400_000]
