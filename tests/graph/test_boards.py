import pytest

from domain.errors import BadInput, Forbidden, NotFound
from graph.model import Privacy
from graph.repos import Repositories
from tests.utils.factories import make_board, make_pin, make_user, newest_first


async def test_create_board_with_topics(repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await repos.boards.create(
        owner.id,
        "  Kitchen ideas ",
        "open shelves",
        Privacy.PUBLIC,
        ["Home Decor", " home  decor", "DIY"],
    )
    assert board.name == "Kitchen ideas"
    assert board.owner_id == owner.id
    assert board.privacy is Privacy.PUBLIC
    topics = await repos.boards.topics_of([board.id])
    assert [t["name"] for t in topics[board.id]] == ["diy", "home decor"]
    assert await repos.boards.get(board.id, None) == board


@pytest.mark.parametrize(
    ("name", "topics"),
    [
        ("", None),
        ("   ", None),
        ("x" * 101, None),
        ("ok", ["bad/topic"]),
        ("ok", ["t"] * 0 + [f"t{i}" for i in range(11)]),
    ],
)
async def test_bad_board_input_writes_nothing(
    repos: Repositories, name: str, topics: list[str] | None
) -> None:
    owner = await make_user(repos)
    with pytest.raises(BadInput):
        await repos.boards.create(owner.id, name, topics=topics)
    page = await repos.boards.of_user(owner.id, owner.id, 10, None)
    assert page.items == []


async def test_update_board(repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner, topics=["art"])
    updated = await repos.boards.update(
        owner.id, board.id, name="Renamed", privacy=Privacy.SECRET, topics=["travel"]
    )
    assert updated.name == "Renamed"
    assert updated.privacy is Privacy.SECRET
    topics = await repos.boards.topics_of([board.id])
    assert [t["name"] for t in topics[board.id]] == ["travel"]
    described = await repos.boards.update(
        owner.id, board.id, description="words", set_description=True
    )
    assert described.description == "words"
    cleared = await repos.boards.update(owner.id, board.id, description=None, set_description=True)
    assert cleared.description is None
    assert cleared.name == "Renamed"


async def test_only_the_owner_edits_and_secret_boards_stay_hidden(repos: Repositories) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    public = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    with pytest.raises(Forbidden):
        await repos.boards.update(other.id, public.id, name="mine now")
    with pytest.raises(NotFound):
        await repos.boards.update(other.id, secret.id, name="mine now")
    with pytest.raises(Forbidden):
        await repos.boards.delete(other.id, public.id)
    with pytest.raises(NotFound):
        await repos.boards.get(secret.id, other.id)
    with pytest.raises(NotFound):
        await repos.boards.get(secret.id, None)
    assert (await repos.boards.get(secret.id, owner.id)).id == secret.id
    assert (await repos.boards.get(public.id, other.id)).name == "Board"
    seen_by_other = await repos.boards.of_user(owner.id, other.id, 10, None)
    seen_by_owner = await repos.boards.of_user(owner.id, owner.id, 10, None)
    assert [b.id for b in seen_by_other.items] == [public.id]
    assert {b.id for b in seen_by_owner.items} == {public.id, secret.id}
    assert set(await repos.boards.get_many([public.id, secret.id], None)) == {public.id}


async def test_delete_board_keeps_pins_saved_elsewhere(repos: Repositories) -> None:
    owner, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    fan_board = await make_board(repos, fan)
    kept = await make_pin(repos, owner, board, title="kept")
    gone = await make_pin(repos, owner, board, title="gone")
    await repos.pins.save(fan.id, kept.id, fan_board.id)
    assert await repos.boards.delete(owner.id, board.id) == 1
    with pytest.raises(NotFound):
        await repos.boards.get(board.id, owner.id)
    assert (await repos.pins.get(kept.id, None)).id == kept.id
    assert await repos.pins.get_many([gone.id], owner.id) == {}
    assert await repos.pins.save_counts([kept.id], None) == {kept.id: 1}
    with pytest.raises(NotFound):
        await repos.boards.delete(owner.id, board.id)


async def test_follow_board(repos: Repositories) -> None:
    owner, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    await repos.boards.follow(fan.id, board.id)
    await repos.boards.follow(fan.id, board.id)
    assert await repos.boards.follower_counts([board.id]) == {board.id: 1}
    assert await repos.users.viewer_follows(fan.id, "Board", [board.id]) == {board.id: True}
    with pytest.raises(NotFound):
        await repos.boards.follow(fan.id, secret.id)
    await repos.boards.unfollow(fan.id, board.id)
    assert await repos.boards.follower_counts([board.id]) == {board.id: 0}


async def test_board_pins_newest_save_first_and_paginate_under_writes(repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    pins = [await make_pin(repos, owner, board, title=f"p{i}") for i in range(7)]
    expected = newest_first(pins)
    first = await repos.boards.pins(board.id, None, 3, None)
    assert [p.id for p in first.items] == expected[:3]
    # Writes between pages: new saves at the top must not shift the next page.
    for i in range(4):
        await make_pin(repos, owner, board, title=f"new{i}")
    second = await repos.boards.pins(board.id, None, 3, first.end_cursor)
    third = await repos.boards.pins(board.id, None, 3, second.end_cursor)
    seen = [p.id for p in first.items + second.items + third.items]
    assert seen == expected
    assert not third.has_next
    assert await repos.boards.pin_counts([board.id]) == {board.id: 11}


async def test_bad_cursor_and_page_size(repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    with pytest.raises(BadInput):
        await repos.boards.pins(board.id, None, 3, "not-a-cursor")
    with pytest.raises(BadInput):
        await repos.boards.pins(board.id, None, 101, None)
    with pytest.raises(BadInput):
        await repos.boards.pins(board.id, None, -1, None)
