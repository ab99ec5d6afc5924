import pytest

from domain.errors import BadInput, Conflict, NotFound
from graph.repos import Repositories
from tests.utils.factories import make_user, unique_handle


async def test_create_and_get(repos: Repositories) -> None:
    handle = unique_handle()
    user = await repos.users.create(f"  {handle.upper()} ", "Ada Lovelace", "fr")
    assert user.handle == handle
    assert user.display_name == "Ada Lovelace"
    assert user.lang == "fr"
    assert await repos.users.get(user.id) == user
    assert await repos.users.by_handle(handle) == user
    assert len(user.id) == 26


async def test_display_name_defaults_to_handle(repos: Repositories) -> None:
    user = await repos.users.create(unique_handle())
    assert user.display_name == user.handle


async def test_duplicate_handle_is_a_conflict(repos: Repositories) -> None:
    user = await make_user(repos)
    with pytest.raises(Conflict):
        await repos.users.create(user.handle)


@pytest.mark.parametrize(
    ("handle", "name", "lang"),
    [
        ("ab", None, None),
        ("has space", None, None),
        ("x" * 31, None, None),
        ("emoji_😀", None, None),
        ("okhandle", "x" * 101, None),
        ("okhandle", None, "eng"),
    ],
)
async def test_invalid_user_input_is_refused(
    repos: Repositories, handle: str, name: str | None, lang: str | None
) -> None:
    with pytest.raises(BadInput):
        await repos.users.create(handle, name, lang)


async def test_unknown_user_is_not_found(repos: Repositories) -> None:
    with pytest.raises(NotFound):
        await repos.users.get("01NOSUCHUSER0000000000000")
    with pytest.raises(NotFound):
        await repos.users.by_handle("nobody_here_at_all")


async def test_follow_is_idempotent_and_counted(repos: Repositories) -> None:
    alice, bob, carol = [await make_user(repos) for _ in range(3)]
    await repos.users.follow(alice.id, bob.id)
    await repos.users.follow(alice.id, bob.id)
    await repos.users.follow(carol.id, bob.id)
    assert await repos.users.follower_counts([bob.id, alice.id]) == {bob.id: 2, alice.id: 0}
    assert await repos.users.following_counts([alice.id]) == {alice.id: 1}
    assert await repos.users.viewer_follows(alice.id, "User", [bob.id, carol.id]) == {
        bob.id: True,
        carol.id: False,
    }
    followers = await repos.users.followers(bob.id, 10, None)
    assert [user.id for user in followers.items] == [carol.id, alice.id]
    await repos.users.unfollow(alice.id, bob.id)
    await repos.users.unfollow(alice.id, bob.id)
    assert await repos.users.follower_counts([bob.id]) == {bob.id: 1}


async def test_follow_errors(repos: Repositories) -> None:
    alice = await make_user(repos)
    with pytest.raises(BadInput):
        await repos.users.follow(alice.id, alice.id)
    with pytest.raises(NotFound):
        await repos.users.follow(alice.id, "01NOSUCHUSER0000000000000")
    assert await repos.users.following_counts([alice.id]) == {alice.id: 0}


async def test_following_pages(repos: Repositories) -> None:
    fan = await make_user(repos)
    stars = [await make_user(repos) for _ in range(5)]
    for star in stars:
        await repos.users.follow(fan.id, star.id)
    first = await repos.users.following(fan.id, 2, None)
    rest = await repos.users.following(fan.id, 10, first.end_cursor)
    assert first.has_next
    assert not rest.has_next
    seen = [u.id for u in first.items + rest.items]
    assert sorted(seen) == sorted(s.id for s in stars)
    assert len(set(seen)) == 5
