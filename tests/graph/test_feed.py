"""Home feed v1, related pins, engagements and the batch getters behind DataLoaders."""

import pytest

from domain.errors import BadInput, NotFound
from graph.model import Privacy
from graph.repos import Repositories
from tests.utils.factories import make_board, make_pin, make_user, unique_handle


async def test_home_feed_brings_what_the_viewer_follows(repos: Repositories) -> None:
    viewer = await make_user(repos)
    friend = await make_user(repos)
    stranger = await make_user(repos)
    topic = unique_handle("topic")
    friend_board = await make_board(repos, friend)
    friend_secret = await make_board(repos, friend, privacy=Privacy.SECRET)
    stranger_board = await make_board(repos, stranger)
    followed_board = await make_board(repos, stranger)
    own_board = await make_board(repos, viewer)

    from_friend = await make_pin(repos, friend, friend_board, title="from friend")
    await make_pin(repos, friend, friend_secret, title="friend secret")
    from_board = await make_pin(repos, stranger, followed_board, title="from followed board")
    from_topic = await make_pin(repos, stranger, stranger_board, title="topic", topics=[topic])
    await make_pin(repos, stranger, stranger_board, title="unrelated")
    already_saved = await make_pin(repos, friend, friend_board, title="saved already")
    await repos.pins.save(viewer.id, already_saved.id, own_board.id)
    hidden = await make_pin(repos, friend, friend_board, title="hidden")
    await repos.pins.engage(viewer.id, hidden.id, "HIDE")

    await repos.users.follow(viewer.id, friend.id)
    await repos.boards.follow(viewer.id, followed_board.id)
    await repos.topics.follow(viewer.id, topic)

    feed = await repos.feed.home(viewer.id, 10, None)
    # Newest event first: the pins were created (and saved) in this order.
    assert [p.id for p in feed.items] == [from_topic.id, from_board.id, from_friend.id]
    first = await repos.feed.home(viewer.id, 2, None)
    rest = await repos.feed.home(viewer.id, 2, first.end_cursor)
    assert first.has_next
    assert not rest.has_next
    assert [p.id for p in first.items + rest.items] == [p.id for p in feed.items]


async def test_home_feed_of_a_new_user_is_empty(repos: Repositories) -> None:
    viewer = await make_user(repos)
    feed = await repos.feed.home(viewer.id, 10, None)
    assert feed.items == []
    assert not feed.has_next


async def test_related_pins_share_public_boards(repos: Repositories) -> None:
    user = await make_user(repos)
    boards = [await make_board(repos, user) for _ in range(3)]
    secret = await make_board(repos, user, privacy=Privacy.SECRET)
    seed = await make_pin(repos, user, boards[0], title="seed")
    close = await make_pin(repos, user, boards[0], title="close")
    far = await make_pin(repos, user, boards[1], title="far")
    hidden = await make_pin(repos, user, secret, title="only secret")
    for board in boards[1:]:
        await repos.pins.save(user.id, seed.id, board.id)
    await repos.pins.save(user.id, close.id, boards[2].id)
    await repos.pins.save(user.id, seed.id, secret.id)
    related = await repos.pins.related(seed.id, None, 10)
    assert [p.id for p in related] == [close.id, far.id]
    assert hidden.id not in [p.id for p in await repos.pins.related(seed.id, user.id, 10)]


async def test_engagement_needs_a_visible_pin_and_a_known_kind(repos: Repositories) -> None:
    owner = await make_user(repos)
    other = await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, secret)
    with pytest.raises(NotFound):
        await repos.pins.engage(other.id, pin.id, "CLICK")
    with pytest.raises(BadInput):
        await repos.pins.engage(owner.id, pin.id, "LIKE")
    await repos.pins.engage(owner.id, pin.id, "CLICK")
    await repos.pins.engage(owner.id, pin.id, "CLICK")


async def test_batch_getters_for_loaders(repos: Repositories) -> None:
    owner = await make_user(repos)
    other = await make_user(repos)
    public = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    extra = await make_board(repos, owner)
    pin = await make_pin(repos, owner, public)
    await repos.pins.save(owner.id, pin.id, secret.id)
    await repos.pins.save(owner.id, pin.id, extra.id)
    lonely = await make_pin(repos, owner, public)

    pages = await repos.pins.boards_of_many([pin.id, lonely.id], other.id, 1)
    assert [b.id for b in pages[pin.id].items] == [extra.id]
    assert pages[pin.id].has_next
    rest = await repos.pins.boards(pin.id, other.id, 10, pages[pin.id].end_cursor)
    assert [b.id for b in rest.items] == [public.id]
    owner_pages = await repos.pins.boards_of_many([pin.id], owner.id, 5)
    assert [b.id for b in owner_pages[pin.id].items] == [extra.id, secret.id, public.id]

    assert await repos.boards.counts_of_owners([owner.id], other.id) == {owner.id: 2}
    assert await repos.boards.counts_of_owners([owner.id], owner.id) == {owner.id: 3}
    topic = unique_handle("t")
    await make_pin(repos, owner, secret, topics=[topic])
    await make_pin(repos, owner, public, topics=[topic])
    found = await repos.topics.get(topic, None)
    assert await repos.topics.pin_counts([found.id], other.id) == {found.id: 1}
    assert await repos.topics.pin_counts([found.id], owner.id) == {found.id: 2}
    await repos.topics.follow(other.id, topic)
    followed = await repos.topics.followed_by(other.id, 10, None)
    assert [t.name for t in followed.items] == [topic]
    assert await repos.topics.followed_count(other.id) == 1
