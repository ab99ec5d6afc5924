import asyncio

import pytest

from domain.errors import BadInput, Forbidden, NotFound
from graph.model import Privacy
from graph.repos import Repositories
from graph.repos.pins import NewPin
from tests.utils.factories import make_board, make_pin, make_user, newest_first


async def test_create_pin_into_own_board(repos: Repositories) -> None:
    user = await make_user(repos, lang="de")
    board = await make_board(repos, user)
    pin = await repos.pins.create(
        user.id,
        NewPin(
            title=" Brass lamp ",
            board_id=board.id,
            description="warm light",
            link="https://example.com/lamp",
            topics=["Lighting"],
        ),
    )
    assert pin.title == "Brass lamp"
    assert pin.creator_id == user.id
    assert pin.lang == "de"
    assert pin.link == "https://example.com/lamp"
    assert (await repos.boards.pins(board.id, None, 5, None)).items == [pin]
    assert await repos.pins.topics_of([pin.id]) == {
        pin.id: [
            {"id": pin_topic_id(await repos.pins.topics_of([pin.id]), pin.id), "name": "lighting"}
        ]
    }


def pin_topic_id(topics: dict[str, list[dict[str, str]]], pin_id: str) -> str:
    return topics[pin_id][0]["id"]


@pytest.mark.parametrize(
    "new",
    [
        NewPin(title="", board_id="x"),
        NewPin(title="t" * 201, board_id="x"),
        NewPin(title="ok", board_id="x", link="javascript:alert(1)"),
        NewPin(title="ok", board_id="x", description="d" * 2001),
        NewPin(title="ok", board_id="x", topics=["<script>"]),
    ],
)
async def test_bad_pin_input_writes_nothing(repos: Repositories, new: NewPin) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    bad = NewPin(**{**new.__dict__, "board_id": board.id})
    with pytest.raises(BadInput):
        await repos.pins.create(user.id, bad)
    assert await repos.boards.pin_counts([board.id]) == {board.id: 0}


async def test_pins_go_only_into_own_boards(repos: Repositories) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    with pytest.raises(Forbidden):
        await repos.pins.create(other.id, NewPin(title="x", board_id=board.id))
    with pytest.raises(NotFound):
        await repos.pins.create(other.id, NewPin(title="x", board_id=secret.id))
    with pytest.raises(NotFound):
        await repos.pins.create(other.id, NewPin(title="x", board_id="01NOSUCHBOARD000000000000"))
    pin = await make_pin(repos, owner, board)
    other_board = await make_board(repos, other)
    with pytest.raises(Forbidden):
        await repos.pins.save(other.id, pin.id, board.id)
    with pytest.raises(NotFound):
        await repos.pins.save(other.id, "01NOSUCHPIN00000000000000", other_board.id)
    assert await repos.boards.pin_counts([board.id, other_board.id]) == {
        board.id: 1,
        other_board.id: 0,
    }


async def test_save_is_idempotent_even_concurrently(repos: Repositories) -> None:
    owner, fan = await make_user(repos), await make_user(repos)
    pin = await make_pin(repos, owner, await make_board(repos, owner))
    fan_board = await make_board(repos, fan)
    await asyncio.gather(*(repos.pins.save(fan.id, pin.id, fan_board.id) for _ in range(20)))
    await repos.pins.save(fan.id, pin.id, fan_board.id)
    assert await repos.boards.pin_counts([fan_board.id]) == {fan_board.id: 1}
    assert await repos.pins.save_counts([pin.id], None) == {pin.id: 2}
    assert await repos.pins.unsave(fan.id, pin.id, fan_board.id) is True
    assert await repos.pins.unsave(fan.id, pin.id, fan_board.id) is False
    assert await repos.pins.save_counts([pin.id], None) == {pin.id: 1}


async def test_unsave_from_another_users_board_is_refused(repos: Repositories) -> None:
    owner, intruder = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    pin = await make_pin(repos, owner, board)
    with pytest.raises(Forbidden):
        await repos.pins.unsave(intruder.id, pin.id, board.id)
    with pytest.raises(NotFound):
        await repos.pins.unsave(intruder.id, pin.id, "01NOSUCHBOARD000000000000")
    assert await repos.boards.pin_counts([board.id]) == {board.id: 1}


async def test_delete_pin(repos: Repositories) -> None:
    owner, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    pin = await make_pin(repos, owner, board)
    fan_board = await make_board(repos, fan)
    await repos.pins.save(fan.id, pin.id, fan_board.id)
    with pytest.raises(Forbidden):
        await repos.pins.delete(fan.id, pin.id)
    await repos.pins.delete(owner.id, pin.id)
    assert await repos.boards.pin_counts([board.id, fan_board.id]) == {board.id: 0, fan_board.id: 0}
    with pytest.raises(NotFound):
        await repos.pins.delete(owner.id, pin.id)


async def test_pins_saved_only_to_secret_boards_are_invisible_to_others(
    repos: Repositories,
) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    public = await make_board(repos, owner)
    hidden = await make_pin(repos, owner, secret, title="zanzibar hidden", topics=["zsecretz"])
    shown = await make_pin(repos, owner, public, title="zanzibar shown", topics=["zsecretz"])
    await repos.pins.save(owner.id, shown.id, secret.id)
    for viewer in (other.id, None):
        assert set(await repos.pins.get_many([hidden.id, shown.id], viewer)) == {shown.id}
        with pytest.raises(NotFound):
            await repos.pins.get(hidden.id, viewer)
        topic_page = await repos.topics.pins("zsecretz", viewer, 10, None)
        assert [p.id for p in topic_page.items] == [shown.id]
        user_page = await repos.pins.of_user(owner.id, viewer, 10, None)
        assert [p.id for p in user_page.items] == [shown.id]
        boards = await repos.pins.boards(shown.id, viewer, 10, None)
        assert [b.id for b in boards.items] == [public.id]
        assert await repos.pins.save_counts([shown.id], viewer) == {shown.id: 1}
        found = await repos.pins.search("zanzibar", 10, None)
        assert [p.id for p in found.items] == [shown.id]
        assert await repos.pins.search_count("zanzibar") == 1
    fan_board = await make_board(repos, other)
    with pytest.raises(NotFound):
        await repos.pins.save(other.id, hidden.id, fan_board.id)
    # The owner sees everything.
    assert set(await repos.pins.get_many([hidden.id, shown.id], owner.id)) == {hidden.id, shown.id}
    assert await repos.pins.save_counts([shown.id], owner.id) == {shown.id: 2}
    assert await repos.pins.counts_of_creators([owner.id], owner.id) == {owner.id: 2}
    assert await repos.pins.counts_of_creators([owner.id], other.id) == {owner.id: 1}


async def test_search_matches_words_and_prefixes(repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    bike = await make_pin(repos, user, board, title="Quokkabike red frame", description="vintage")
    await make_pin(repos, user, board, title="Quokkabike blue frame")
    found = await repos.pins.search("quokkabike VINTAGE", 10, None)
    assert [p.id for p in found.items] == [bike.id]
    prefix = await repos.pins.search("quokkabi", 10, None)
    assert len(prefix.items) == 2
    first = await repos.pins.search("quokkabike", 1, None)
    second = await repos.pins.search("quokkabike", 1, first.end_cursor)
    assert first.has_next
    assert {p.id for p in first.items + second.items} == {p.id for p in prefix.items}
    with pytest.raises(BadInput):
        await repos.pins.search("  !!! ", 10, None)
    with pytest.raises(BadInput):
        await repos.pins.search("x" * 201, 10, None)


async def test_topics(repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    pin = await make_pin(repos, user, board, topics=["Mid Century"])
    topic = await repos.topics.get("  MID   century ", None)
    assert topic.name == "mid century"
    assert [p.id for p in (await repos.topics.pins("mid century", None, 10, None)).items] == [
        pin.id
    ]
    followed = await repos.topics.follow(user.id, "Brand New Topic")
    assert followed.name == "brand new topic"
    assert await repos.topics.follower_counts([followed.id]) == {followed.id: 1}
    await repos.topics.follow(user.id, "brand new topic")
    assert await repos.topics.follower_counts([followed.id]) == {followed.id: 1}
    await repos.topics.unfollow(user.id, "brand new topic")
    assert await repos.topics.follower_counts([followed.id]) == {followed.id: 0}
    with pytest.raises(NotFound):
        await repos.topics.get("no such topic here", None)


async def test_lists_skip_many_hidden_pins_and_stay_resumable(
    repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    public = await make_board(repos, owner)
    old = [await make_pin(repos, owner, public, topics=["zhiddenz"]) for _ in range(2)]
    for _ in range(55):  # newer than the public ones: a viewer must scan past them
        await make_pin(repos, owner, secret, topics=["zhiddenz"])
    page = await repos.topics.pins("zhiddenz", other.id, 5, None)
    assert [p.id for p in page.items] == newest_first(old)
    assert not page.has_next
    # With a tight scan budget the query that checks visibility itself finishes the page.
    monkeypatch.setattr("graph.repos.cypher.SCAN_ROUNDS", 1)
    short = await repos.topics.pins("zhiddenz", other.id, 1, None)
    assert [p.id for p in short.items] == [old[-1].id]
    assert short.has_next
    rest = await repos.topics.pins("zhiddenz", other.id, 5, short.end_cursor)
    assert [p.id for p in rest.items] == [old[0].id]
    assert not rest.has_next
    mine = await repos.topics.pins("zhiddenz", owner.id, 100, None)
    assert len(mine.items) == 57
