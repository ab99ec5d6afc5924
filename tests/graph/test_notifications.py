"""The notification repository: the same contract on every backend."""

import uuid

from domain.ids import new_id
from graph.repos import Repositories
from graph.repos.notifications import KEPT_ACTORS, NewNotification, SealedSubscription
from notifications.model import NotificationKind
from tests.utils.factories import make_user


def row(recipient: str, actor: str, *, key: str, at: int, board: str = "") -> NewNotification:
    return NewNotification(
        key=key, id=new_id(), recipient=recipient, kind=NotificationKind.PIN_SAVED.value,
        actor=actor, at=at, actor_board=board, pin="p1", board=board,
    )  # fmt: skip


async def test_recording_aggregates_and_is_idempotent(repos: Repositories) -> None:
    store = repos.notifications
    recipient = (await make_user(repos)).id
    key = f"{recipient}:PIN_SAVED:p1:{uuid.uuid4().hex}"
    [first] = await store.record([row(recipient, "a1", key=key, at=1000, board="b1")])
    assert (first.created, first.new_actor) == (True, True)
    [again] = await store.record([row(recipient, "a1", key=key, at=1000, board="b1")])
    assert (again.id, again.created, again.new_actor) == (first.id, False, False)
    await store.mark_read(recipient, [first.id])
    [second] = await store.record([row(recipient, "a2", key=key, at=2000, board="b2")])
    assert (second.id, second.created, second.new_actor) == (first.id, False, True)
    found = (await store.get_many(recipient, [first.id]))[first.id]
    assert found.actor_ids == ("a2", "a1")
    assert found.actor_boards == ("b2", "b1")
    assert (found.actor_count, found.read, found.at) == (2, False, 2000)  # unread again, on top
    assert await store.existing_keys([key, "nope"]) == {key}
    assert await store.get_many("someone-else", [first.id]) == {}


async def test_actors_listed_are_capped_but_counted(repos: Repositories) -> None:
    store = repos.notifications
    recipient = (await make_user(repos)).id
    key = f"{recipient}:cap:{uuid.uuid4().hex}"
    rows = [row(recipient, f"a{i}", key=key, at=i) for i in range(KEPT_ACTORS + 5)]
    for one in rows:
        await store.record([one])
    [found] = await store.listed(recipient, unread_only=False)
    assert found.actor_count == KEPT_ACTORS + 5
    assert len(found.actor_ids) == KEPT_ACTORS
    assert found.actor_ids[0] == f"a{KEPT_ACTORS + 4}"


async def test_inbox_pages_marks_read_and_prunes(repos: Repositories) -> None:
    store = repos.notifications
    recipient = (await make_user(repos)).id
    recorded = [
        (await store.record([row(recipient, "a", key=f"{recipient}:{i}", at=1000 + i)]))[0]
        for i in range(5)
    ]

    async def everything(ids: list[str]) -> dict[str, str]:
        return {id_: id_ for id_ in ids}

    page = await store.page(recipient, first=2, after_cursor=None, unread_only=False,
                            visible=everything)  # fmt: skip
    assert page.items == [recorded[4].id, recorded[3].id]
    rest = await store.page(recipient, first=10, after_cursor=page.end_cursor,
                            unread_only=False, visible=everything)  # fmt: skip
    assert rest.items == [r.id for r in reversed(recorded[:3])]
    assert await store.mark_read(recipient, [recorded[0].id, recorded[1].id]) == 2
    assert await store.mark_read(recipient, [recorded[0].id]) == 0
    unread = await store.listed(recipient, unread_only=True)
    assert {n.id for n in unread} == {r.id for r in recorded[2:]}
    assert await store.mark_read(recipient, None) == 3
    assert await store.prune([recipient], keep=2) == 3
    assert {n.id for n in await store.listed(recipient, unread_only=False)} == {
        recorded[4].id, recorded[3].id,
    }  # fmt: skip


async def test_settings_and_topic_followers(repos: Repositories) -> None:
    store = repos.notifications
    topic = f"nt{uuid.uuid4().hex[:8]}"
    users = sorted([await make_user(repos) for _ in range(5)], key=lambda u: u.id)
    for user in users:
        await repos.topics.follow(user.id, topic)
    settings = await store.update_settings(users[1].id, [NotificationKind.PIN_SAVED], True)
    assert settings.muted == {NotificationKind.PIN_SAVED}
    assert settings.topic_digest
    kept = await store.update_settings(users[1].id, None, None)  # left out: unchanged
    assert kept == settings
    assert (await store.settings_of([users[0].id]))[users[0].id].muted == frozenset()
    followers = await store.topic_follower_ids(topic, exclude=users[2].id)
    assert sorted(followers) == [u.id for u in users if u is not users[2]]


async def test_push_subscriptions_move_between_users_and_unregister(repos: Repositories) -> None:
    store = repos.notifications
    ana, ben = await make_user(repos), await make_user(repos)
    ref = uuid.uuid4().hex
    assert await store.register_push(SealedSubscription(ref, ana.id, "s1"), 1)
    assert not await store.register_push(SealedSubscription(ref, "no-such-user", "s1"), 1)
    assert await store.register_push(SealedSubscription(ref, ben.id, "s2"), 2)  # moved
    assert await store.push_subscriptions([ana.id]) == []
    assert await store.push_subscriptions([ben.id]) == [SealedSubscription(ref, ben.id, "s2")]
    assert await store.push_count(ben.id) == 1
    assert not await store.unregister_push(ref, ana.id)  # not hers
    assert await store.unregister_push(ref)
    assert await store.push_count(ben.id) == 0
