"""Comments and reactions on pins through POST /graphql: who may see, write and delete them,
their limits, and the notifications they send."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from domain.errors import RateLimited
from graph.model import Board, Pin, Privacy, User
from graph.repos import Repositories
from graph.repos.comments import MAX_COMMENT
from server.ratelimit import CommentLimits
from server.services import Services
from server.settings import Settings
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api, code

ADD = """
mutation($p: ID!, $t: String!) {
  addComment(pinId: $p, text: $t) { id text createdAt author { id } viewerCanDelete }
}
"""
DELETE = "mutation($id: ID!) { deleteComment(id: $id) }"
REACT = """
mutation($p: ID!, $k: ReactionKind) {
  reactToPin(pinId: $p, kind: $k) { id viewerReaction reactionCounts { kind count } }
}
"""
PIN = """
query($p: ID!, $first: Int, $after: String) {
  pin(id: $p) {
    id viewerReaction reactionCounts { kind count }
    comments(first: $first, after: $after) {
      edges { cursor node { id text author { id } viewerCanDelete } }
      pageInfo { hasNextPage endCursor } totalCount
    }
  }
}
"""
INBOX = """
query { me { notifications(first: 20) { edges { node {
  kind actorCount actors(first: 5) { id } pin { id } board { id }
} } } } }
"""


async def pin_of(
    api: Api, pin: Pin, user: User | None, first: int = 25, after: str | None = None
) -> Any:
    token = api.token(user) if user else None
    data = await api.data(PIN, {"p": pin.id, "first": first, "after": after}, token=token)
    return data["pin"]


async def public_pin(repos: Repositories) -> tuple[User, Pin]:
    creator = await make_user(repos)
    return creator, await make_pin(repos, creator, await make_board(repos, creator))


async def test_add_and_list_newest_first_in_pages(api: Api, repos: Repositories) -> None:
    creator, pin = await public_pin(repos)
    reader = await make_user(repos)
    added = await api.data(
        ADD, {"p": pin.id, "t": "  <b>Lovely</b>\nlamp  "}, token=api.token(reader)
    )
    comment = added["addComment"]
    assert comment["text"] == "<b>Lovely</b>\nlamp"  # plain text, stored as given
    assert comment["author"] == {"id": reader.id}
    assert comment["viewerCanDelete"]
    for i in range(4):
        await repos.comments.add(creator.id, pin.id, f"reply {i}")
    first = (await pin_of(api, pin, None, first=3))["comments"]
    assert [e["node"]["text"] for e in first["edges"]] == ["reply 3", "reply 2", "reply 1"]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"]
    assert not any(e["node"]["viewerCanDelete"] for e in first["edges"])  # signed out
    rest = await pin_of(api, pin, reader, first=3, after=first["pageInfo"]["endCursor"])
    texts = [e["node"]["text"] for e in rest["comments"]["edges"]]
    assert texts == ["reply 0", "<b>Lovely</b>\nlamp"]
    assert not rest["comments"]["pageInfo"]["hasNextPage"]
    # The pin's creator may delete every comment on it; a reader only their own.
    mine = await pin_of(api, pin, creator)
    assert all(e["node"]["viewerCanDelete"] for e in mine["comments"]["edges"])
    theirs = [e["node"]["viewerCanDelete"] for e in rest["comments"]["edges"]]
    assert theirs == [False, True]


async def test_delete_by_author_or_pin_creator_only(api: Api, repos: Repositories) -> None:
    creator, pin = await public_pin(repos)
    author, other = await make_user(repos), await make_user(repos)
    one = (await api.data(ADD, {"p": pin.id, "t": "one"}, token=api.token(author)))["addComment"]
    two = (await api.data(ADD, {"p": pin.id, "t": "two"}, token=api.token(author)))["addComment"]
    error = await api.error(DELETE, {"id": one["id"]}, token=api.token(other))
    assert code(error) == "FORBIDDEN"
    assert code(await api.error(DELETE, {"id": one["id"]})) == "UNAUTHENTICATED"
    assert await api.data(DELETE, {"id": one["id"]}, token=api.token(author)) == {
        "deleteComment": True
    }
    assert await api.data(DELETE, {"id": two["id"]}, token=api.token(creator)) == {
        "deleteComment": True
    }
    error = await api.error(DELETE, {"id": one["id"]}, token=api.token(author))
    assert code(error) == "NOT_FOUND"
    assert (await pin_of(api, pin, author))["comments"]["totalCount"] == 0


async def test_a_removed_collaborator_deletes_their_own_comments(
    api: Api, repos: Repositories
) -> None:
    owner, member = await make_user(repos), await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, secret)
    invite = await repos.collaborators.invite(owner.id, secret.id, member.id)
    await repos.collaborators.accept(member.id, invite.id)
    mine = await repos.comments.add(member.id, pin.id, "mine")
    theirs = await repos.comments.add(owner.id, pin.id, "theirs")
    await repos.collaborators.remove(owner.id, secret.id, member.id)
    assert (await api.data(PIN, {"p": pin.id}, token=api.token(member)))["pin"] is None
    # Not someone else's on a pin they no longer see: that stays hidden.
    error = await api.error(DELETE, {"id": theirs.id}, token=api.token(member))
    assert code(error) == "NOT_FOUND"
    assert await api.data(DELETE, {"id": mine.id}, token=api.token(member)) == {
        "deleteComment": True
    }
    seen = await pin_of(api, pin, owner)
    assert [e["node"]["id"] for e in seen["comments"]["edges"]] == [theirs.id]


async def test_a_pin_only_on_a_secret_board_keeps_its_comments_and_reactions_there(
    api: Api, repos: Repositories
) -> None:
    owner, outsider = await make_user(repos), await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, secret)
    comment = await repos.comments.add(owner.id, pin.id, "note to self")
    await api.data(REACT, {"p": pin.id, "k": "LOVE"}, token=api.token(owner))
    for token in (api.token(outsider), None):
        assert (await api.data(PIN, {"p": pin.id}, token=token))["pin"] is None
    outsider_token = api.token(outsider)
    error = await api.error(ADD, {"p": pin.id, "t": "hi"}, token=outsider_token)
    assert code(error) == "NOT_FOUND"
    error = await api.error(REACT, {"p": pin.id, "k": "WOW"}, token=outsider_token)
    assert code(error) == "NOT_FOUND"
    error = await api.error(REACT, {"p": pin.id, "k": None}, token=outsider_token)
    assert code(error) == "NOT_FOUND"
    error = await api.error(DELETE, {"id": comment.id}, token=outsider_token)
    assert code(error) == "NOT_FOUND"  # not FORBIDDEN: hidden and missing look the same
    seen = await pin_of(api, pin, owner)
    assert [e["node"]["id"] for e in seen["comments"]["edges"]] == [comment.id]
    assert seen["reactionCounts"] == [{"kind": "LOVE", "count": 1}]
    # A pin someone saw through a secret board of their own: its comments stay with it.
    board = await make_board(repos, outsider)
    public = await make_pin(repos, outsider, board)
    keeper = await make_user(repos)
    hideout = await make_board(repos, keeper, privacy=Privacy.SECRET)
    await repos.pins.save(keeper.id, public.id, hideout.id)
    await repos.pins.unsave(outsider.id, public.id, board.id)
    await api.data(ADD, {"p": public.id, "t": "still here"}, token=api.token(keeper))
    assert (await api.data(PIN, {"p": public.id}, token=api.token(owner)))["pin"] is None
    assert (await pin_of(api, public, outsider))["comments"]["totalCount"] == 1  # its creator


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("x" * MAX_COMMENT, True),
        (" " + "x" * MAX_COMMENT + " \n", True),
        ("x" * (MAX_COMMENT + 1), False),
        ("", False),
        (" \n\t ", False),
        ("ring\x07", False),
        ("nul\x00byte", False),
        ("esc\x1b[31m", False),
        ("two\nlines\tand a tab", True),
        ("\u200b", False),
        (" \u200b\u200c\u200d\u2060\ufeff \n", False),
        ("\U0001f469\u200d\U0001f469\u200d\U0001f467", True),  # a ZWJ family emoji
        ("a\u200bb", True),
        ("left\u202aembed", False),
        ("right\u202boverride\u202c", False),
        ("\u202dlro", False),
        ("\u202erlo", False),
        ("iso\u2066late", False),
        ("iso\u2067late", False),
        ("iso\u2068late", False),
        ("pop\u2069", False),
        ("line\u2028sep", False),
        ("para\u2029sep", False),
        ("\u2029trailing", False),
    ],
)
async def test_text_caps_and_control_characters(
    api: Api, repos: Repositories, text: str, ok: bool
) -> None:
    _, pin = await public_pin(repos)
    token = api.token(await make_user(repos))
    if ok:
        added = await api.data(ADD, {"p": pin.id, "t": text}, token=token)
        assert added["addComment"]["text"] == text.strip()
    else:
        assert code(await api.error(ADD, {"p": pin.id, "t": text}, token=token)) == (
            "BAD_USER_INPUT"
        )
        assert (await pin_of(api, pin, None))["comments"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("one\r\ntwo", "one\ntwo"),
        ("one\rtwo", "one\ntwo"),
        ("a\r\n\rb\n", "a\n\nb"),
        ("\r\n", None),
    ],
)
async def test_carriage_returns_become_line_feeds(
    api: Api, repos: Repositories, text: str, stored: str | None
) -> None:
    _, pin = await public_pin(repos)
    token = api.token(await make_user(repos))
    if stored is None:
        error = await api.error(ADD, {"p": pin.id, "t": text}, token=token)
        assert code(error) == "BAD_USER_INPUT"
        return
    added = await api.data(ADD, {"p": pin.id, "t": text}, token=token)
    assert added["addComment"]["text"] == stored
    assert [e["node"]["text"] for e in (await pin_of(api, pin, None))["comments"]["edges"]] == [
        stored
    ]


async def test_comments_per_user_are_rate_limited(
    api: Api, repos: Repositories, settings: Settings
) -> None:
    assert settings.comments_per_user == "20/minute"
    _, pin = await public_pin(repos)
    chatty, other = await make_user(repos), await make_user(repos)
    token = api.token(chatty)
    for i in range(20):
        await api.data(ADD, {"p": pin.id, "t": f"comment {i}"}, token=token)
    error = await api.error(ADD, {"p": pin.id, "t": "one too many"}, token=token)
    assert code(error) == "RATE_LIMITED"
    assert 1 <= error["extensions"]["retryAfter"] <= 60
    # Per user: someone else may still comment.
    await api.data(ADD, {"p": pin.id, "t": "my turn"}, token=api.token(other))
    assert (await pin_of(api, pin, None))["comments"]["totalCount"] == 21


async def test_comment_limits_count_per_user_and_fail_open(services: Services) -> None:
    limits = CommentLimits(services.cache, per_user="2/minute", per_user_day="3/day")
    user = (await make_user(services.repos)).id
    await limits.check(user)
    await limits.check(user)
    with pytest.raises(RateLimited):
        await limits.check(user)
    daily = CommentLimits(services.cache, per_user="100/minute", per_user_day="1/day")
    other = (await make_user(services.repos)).id
    await daily.check(other)
    with pytest.raises(RateLimited) as refused:
        await daily.check(other)
    assert refused.value.retry_after > 60
    # No Redis: the limits are off rather than every comment refused.
    away = aioredis.Redis(port=1, socket_connect_timeout=0.2)
    try:
        for _ in range(3):
            await CommentLimits(away, per_user="1/minute", per_user_day="1/day").check(user)
    finally:
        await away.aclose()


async def test_one_reaction_per_user_replaced_removed_and_counted(
    api: Api, repos: Repositories
) -> None:
    creator, pin = await public_pin(repos)
    fan, other, third = (await make_user(repos), await make_user(repos), await make_user(repos))
    token = api.token(fan)
    reacted = (await api.data(REACT, {"p": pin.id, "k": "LOVE"}, token=token))["reactToPin"]
    assert reacted["viewerReaction"] == "LOVE"
    assert reacted["reactionCounts"] == [{"kind": "LOVE", "count": 1}]
    await api.data(REACT, {"p": pin.id, "k": "LOVE"}, token=token)  # again: still one
    await api.data(REACT, {"p": pin.id, "k": "WOW"}, token=api.token(other))
    await api.data(REACT, {"p": pin.id, "k": "WOW"}, token=api.token(third))
    seen = await pin_of(api, pin, fan)
    assert seen["viewerReaction"] == "LOVE"
    assert seen["reactionCounts"] == [{"kind": "WOW", "count": 2}, {"kind": "LOVE", "count": 1}]
    replaced = (await api.data(REACT, {"p": pin.id, "k": "HAHA"}, token=token))["reactToPin"]
    assert replaced["viewerReaction"] == "HAHA"
    assert replaced["reactionCounts"] == [
        {"kind": "WOW", "count": 2},
        {"kind": "HAHA", "count": 1},
    ]
    removed = (await api.data(REACT, {"p": pin.id, "k": None}, token=token))["reactToPin"]
    assert removed["viewerReaction"] is None
    assert removed["reactionCounts"] == [{"kind": "WOW", "count": 2}]
    again = (await api.data(REACT, {"p": pin.id}, token=token))["reactToPin"]  # kind left out
    assert again["viewerReaction"] is None
    anonymous = await pin_of(api, pin, None)
    assert anonymous["viewerReaction"] is None
    assert anonymous["reactionCounts"] == [{"kind": "WOW", "count": 2}]
    error = await api.error(REACT, {"p": pin.id, "k": "LOVE"})
    assert code(error) == "UNAUTHENTICATED"
    assert (await pin_of(api, pin, creator))["viewerReaction"] is None


async def test_deleting_a_pin_removes_its_comments(api: Api, repos: Repositories) -> None:
    creator, pin = await public_pin(repos)
    fan = await make_user(repos)
    comment = await api.data(ADD, {"p": pin.id, "t": "gone soon"}, token=api.token(fan))
    await api.data(REACT, {"p": pin.id, "k": "THANKS"}, token=api.token(fan))
    deleted = await api.data(
        "mutation($id: ID!) { deletePin(id: $id) }", {"id": pin.id}, token=api.token(creator)
    )
    assert deleted == {"deletePin": True}
    error = await api.error(DELETE, {"id": comment["addComment"]["id"]}, token=api.token(fan))
    assert code(error) == "NOT_FOUND"
    rows = await repos.backend.read(
        "MATCH (c:Comment {id: $id}) RETURN c.id AS id", {"id": comment["addComment"]["id"]}
    )
    assert rows == []


async def inbox(api: Api, user: User) -> list[dict[str, Any]]:
    data = await api.data(INBOX, token=api.token(user))
    return [edge["node"] for edge in data["me"]["notifications"]["edges"]]


async def test_comments_and_reactions_tell_the_creator_aggregated_never_the_actor(
    api: Api, repos: Repositories, services: Services
) -> None:
    creator, pin = await public_pin(repos)
    ana, bo = await make_user(repos), await make_user(repos)
    await api.data(ADD, {"p": pin.id, "t": "first"}, token=api.token(ana))
    await api.data(ADD, {"p": pin.id, "t": "second"}, token=api.token(ana))
    await api.data(ADD, {"p": pin.id, "t": "third"}, token=api.token(bo))
    await api.data(ADD, {"p": pin.id, "t": "my own"}, token=api.token(creator))
    await api.data(REACT, {"p": pin.id, "k": "LOVE"}, token=api.token(ana))
    await api.data(REACT, {"p": pin.id, "k": "WOW"}, token=api.token(ana))  # replaced: no more
    await api.data(REACT, {"p": pin.id, "k": "LOVE"}, token=api.token(creator))
    await drained(services.cache)
    told = {n["kind"]: n for n in await inbox(api, creator)}
    assert set(told) == {"PIN_COMMENTED", "PIN_REACTED"}
    commented = told["PIN_COMMENTED"]
    assert commented["actorCount"] == 2
    assert [a["id"] for a in commented["actors"]] == [bo.id, ana.id]
    assert commented["pin"] == {"id": pin.id}
    assert commented["board"] is None
    reacted = told["PIN_REACTED"]
    assert reacted["actorCount"] == 1
    assert reacted["actors"] == [{"id": ana.id}]
    assert await inbox(api, ana) == []
    assert await inbox(api, bo) == []
    payloads = [
        await services.notifications.inbox.payload(creator.id, n.id)
        for n in (await services.notifications.inbox.page(creator.id, 10, None)).items
    ]
    texts = sorted(p["text"] for p in payloads if p)  # type: ignore[misc]
    assert texts == sorted(
        [f"{bo.handle} and {ana.handle} commented on your pin", f"{ana.handle} reacted to your pin"]
    )


async def test_muted_kinds_tell_nobody(api: Api, repos: Repositories, services: Services) -> None:
    creator, pin = await public_pin(repos)
    fan = await make_user(repos)
    await api.data(
        "mutation { updateNotificationSettings(muted: [PIN_COMMENTED]) { muted } }",
        token=api.token(creator),
    )
    await api.data(ADD, {"p": pin.id, "t": "hello"}, token=api.token(fan))
    await api.data(REACT, {"p": pin.id, "k": "GOOD_IDEA"}, token=api.token(fan))
    await drained(services.cache)
    assert [n["kind"] for n in await inbox(api, creator)] == ["PIN_REACTED"]


async def secret_only_pin(repos: Repositories) -> tuple[User, User, Pin, Board]:
    """A creator's pin seen by a keeper only through the keeper's secret board: the creator
    saved it to a public board, the keeper to a secret one, then the creator unsaved it."""
    creator, keeper = await make_user(repos), await make_user(repos)
    board = await make_board(repos, creator)
    pin = await make_pin(repos, creator, board)
    hideout = await make_board(repos, keeper, privacy=Privacy.SECRET)
    await repos.pins.save(keeper.id, pin.id, hideout.id)
    await repos.pins.unsave(creator.id, pin.id, board.id)
    return creator, keeper, pin, hideout


async def test_notifications_never_name_a_secret_board(
    api: Api, repos: Repositories, services: Services
) -> None:
    creator, keeper, pin, hideout = await secret_only_pin(repos)
    outsider = await make_user(repos)
    await api.data(ADD, {"p": pin.id, "t": "from my secret board"}, token=api.token(keeper))
    await api.data(REACT, {"p": pin.id, "k": "LOVE"}, token=api.token(keeper))
    await drained(services.cache)
    told = await inbox(api, creator)
    assert sorted(n["kind"] for n in told) == ["PIN_COMMENTED", "PIN_REACTED"]
    assert all(n["board"] is None and n["pin"] == {"id": pin.id} for n in told)
    stored = (await services.notifications.inbox.page(creator.id, 10, None)).items
    assert all(n.board is None and set(n.actor_boards) == {""} for n in stored)
    assert hideout.id not in str(stored)
    for user in (keeper, outsider):
        assert await inbox(api, user) == []
    # Nobody else may read the comment: the pin is hidden from them.
    assert (await api.data(PIN, {"p": pin.id}, token=api.token(outsider)))["pin"] is None
    # Once the pin is gone, so are the notifications about it.
    await repos.pins.delete(creator.id, pin.id)
    assert await inbox(api, creator) == []
