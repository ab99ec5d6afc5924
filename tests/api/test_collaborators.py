"""Shared boards through the GraphQL API: invites, roles, saves by collaborators, the
errors, and a removal that takes effect on the removed user's next request everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from graph.model import Board, Privacy, User
from graph.repos import Repositories
from server.ratelimit import InviteLimits
from server.services import Services
from server.settings import Settings
from tests.utils.apps import client_of, running
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_pin, make_user, unique_handle
from tests.utils.graphql import Api, code

INVITE = """
mutation($b: ID!, $u: ID!) {
  inviteCollaborator(boardId: $b, userId: $u) {
    id createdAt board { id name } invitedBy { id }
  }
}"""
INVITES = """
{ me { boardInvites { id createdAt invitedBy { id }
       board { id name privacy viewerRole pinCount pins { totalCount edges { node { id } } }
               collaborators { totalCount } } } } }"""
# Every field of Board, as a preview answers them.
BOARD_FIELDS = """
  id name description privacy createdAt owner { id } viewerRole pinCount followerCount
  viewerIsFollowing topics { name } sections { id name } collaborators(first: 5) { totalCount }
  pins(first: 5) { totalCount edges { node { id } } }"""
PREVIEW = "{ me { boardInvites { board { " + BOARD_FIELDS + " } } } }"
ACCEPT = "mutation($i: ID!) { acceptBoardInvite(inviteId: $i) { id viewerRole } }"
DECLINE = "mutation($i: ID!) { declineBoardInvite(inviteId: $i) }"
REMOVE = "mutation($b: ID!, $u: ID!) { removeCollaborator(boardId: $b, userId: $u) { id } }"
LEAVE = "mutation($b: ID!) { leaveBoard(boardId: $b) }"
BOARD = """
query($id: ID!) { board(id: $id) {
  id viewerRole pins(first: 10) { totalCount edges { node { id } } }
  collaborators { totalCount edges { node { id } } } } }"""
SAVE = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
UNSAVE = "mutation($p: ID!, $b: ID!) { unsavePin(pinId: $p, boardId: $b) }"
CREATE = """
mutation($b: ID!, $t: String!) { createPin(input: {title: $t, boardId: $b}) { id } }"""


async def share(api: Api, owner: User, board: Board, member: User) -> str:
    """Invite and accept through the API; the invite's id."""
    invite = await api.data(INVITE, {"b": board.id, "u": member.id}, token=api.token(owner))
    invite_id: str = invite["inviteCollaborator"]["id"]
    await api.data(ACCEPT, {"i": invite_id}, token=api.token(member))
    return invite_id


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


async def test_invite_accept_and_roles(api: Api, repos: Repositories) -> None:
    owner, friend, other = await make_user(repos), await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET, name="Our kitchen")
    pin = await make_pin(repos, owner, board)
    sent = (await api.data(INVITE, {"b": board.id, "u": friend.id}, token=api.token(owner)))[
        "inviteCollaborator"
    ]
    assert sent["board"] == {"id": board.id, "name": "Our kitchen"}
    assert sent["invitedBy"] == {"id": owner.id}
    [seen] = (await api.data(INVITES, token=api.token(friend)))["me"]["boardInvites"]
    assert seen["id"] == sent["id"]
    # Until accepted the invitee sees what the board is, not what is in it.
    assert seen["board"] == {
        "id": board.id, "name": "Our kitchen", "privacy": "SECRET", "viewerRole": None,
        "pinCount": 0, "pins": {"totalCount": 0, "edges": []},
        "collaborators": {"totalCount": 0},
    }  # fmt: skip
    assert (await api.data(BOARD, {"id": board.id}, token=api.token(friend)))["board"] is None
    # Nobody else sees the invite: not the owner, not another user, not through `user`.
    assert (await api.data(INVITES, token=api.token(other)))["me"]["boardInvites"] == []
    assert (await api.data(INVITES, token=api.token(owner)))["me"]["boardInvites"] == []
    others = "query($id: ID!) { user(id: $id) { boardInvites { id } } }"
    found = await api.data(others, {"id": friend.id}, token=api.token(other))
    assert found["user"]["boardInvites"] == []
    assert (await api.data(others, {"id": friend.id}))["user"]["boardInvites"] == []
    for stranger in (owner, other):
        error = await api.error(ACCEPT, {"i": sent["id"]}, token=api.token(stranger))
        assert code(error) == "NOT_FOUND"
        assert board.id not in error["message"]

    accepted = await api.data(ACCEPT, {"i": sent["id"]}, token=api.token(friend))
    assert accepted["acceptBoardInvite"] == {"id": board.id, "viewerRole": "COLLABORATOR"}
    page = (await api.data(BOARD, {"id": board.id}, token=api.token(friend)))["board"]
    assert page["viewerRole"] == "COLLABORATOR"
    assert ids(page["pins"]) == [pin.id]
    assert ids(page["collaborators"]) == [friend.id]
    owned = (await api.data(BOARD, {"id": board.id}, token=api.token(owner)))["board"]
    assert owned["viewerRole"] == "OWNER"
    public = await make_board(repos, owner)
    anonymous = (await api.data(BOARD, {"id": public.id}))["board"]
    assert anonymous["viewerRole"] is None
    assert (await api.data(INVITES, token=api.token(friend)))["me"]["boardInvites"] == []


async def test_a_preview_shows_what_the_board_is_and_nothing_it_holds(
    api: Api, repos: Repositories
) -> None:
    owner, friend, fan = await make_user(repos), await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, topics=["Gardens"], name="Plot")
    await make_pin(repos, owner, board)
    await repos.sections.create(owner.id, board.id, "Beds")
    # The invitee and another user followed it while it was public; then it went secret.
    await repos.boards.follow(friend.id, board.id)
    await repos.boards.follow(fan.id, board.id)
    await repos.boards.update(owner.id, board.id, privacy=Privacy.SECRET)
    await repos.collaborators.invite(owner.id, board.id, friend.id)
    [seen] = (await api.data(PREVIEW, token=api.token(friend)))["me"]["boardInvites"]
    preview = seen["board"]
    assert preview.pop("createdAt")
    assert preview == {
        "id": board.id, "name": "Plot", "description": None, "privacy": "SECRET",
        "owner": {"id": owner.id}, "viewerRole": None, "pinCount": 0, "followerCount": 0,
        "viewerIsFollowing": False, "topics": [], "sections": [],
        "collaborators": {"totalCount": 0}, "pins": {"totalCount": 0, "edges": []},
    }  # fmt: skip
    # Once accepted, the same fields are the board's.
    [invite] = await repos.collaborators.invites_of(friend.id)
    await repos.collaborators.accept(friend.id, invite.id)
    query = "query($id: ID!) { board(id: $id) { " + BOARD_FIELDS + " } }"
    full = (await api.data(query, {"id": board.id}, token=api.token(friend)))["board"]
    assert full["topics"] == [{"name": "gardens"}]
    assert [s["name"] for s in full["sections"]] == ["Beds"]
    assert full["pinCount"] == 1
    assert full["viewerIsFollowing"] is True


async def test_decline(api: Api, repos: Repositories) -> None:
    owner, friend = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    sent = await api.data(INVITE, {"b": board.id, "u": friend.id}, token=api.token(owner))
    invite_id = sent["inviteCollaborator"]["id"]
    assert await api.data(DECLINE, {"i": invite_id}, token=api.token(friend)) == {
        "declineBoardInvite": True
    }
    assert (await api.data(INVITES, token=api.token(friend)))["me"]["boardInvites"] == []
    error = await api.error(ACCEPT, {"i": invite_id}, token=api.token(friend))
    assert code(error) == "NOT_FOUND"
    assert code(await api.error(DECLINE, {"i": invite_id}, token=api.token(friend))) == (
        "NOT_FOUND"
    )


async def test_collaborators_save_and_unsave_their_own(api: Api, repos: Repositories) -> None:
    owner, member = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    await share(api, owner, board, member)
    elsewhere = await make_pin(repos, owner, await make_board(repos, owner))
    by_owner = await make_pin(repos, owner, board)
    token = api.token(member)
    created = (await api.data(CREATE, {"b": board.id, "t": "From me"}, token=token))["createPin"]
    await api.data(SAVE, {"p": elsewhere.id, "b": board.id}, token=token)
    page = (await api.data(BOARD, {"id": board.id}, token=token))["board"]
    assert ids(page["pins"]) == [elsewhere.id, created["id"], by_owner.id]
    error = await api.error(UNSAVE, {"p": by_owner.id, "b": board.id}, token=token)
    assert code(error) == "FORBIDDEN"
    assert await api.data(UNSAVE, {"p": elsewhere.id, "b": board.id}, token=token) == {
        "unsavePin": True
    }
    # Managing stays the owner's.
    rename = 'mutation($id: ID!) { updateBoard(id: $id, input: {name: "x"}) { id } }'
    assert code(await api.error(rename, {"id": board.id}, token=token)) == "FORBIDDEN"
    privacy = "mutation($id: ID!) { updateBoard(id: $id, input: {privacy: PUBLIC}) { id } }"
    assert code(await api.error(privacy, {"id": board.id}, token=token)) == "FORBIDDEN"
    delete = "mutation($id: ID!) { deleteBoard(id: $id) }"
    assert code(await api.error(delete, {"id": board.id}, token=token)) == "FORBIDDEN"
    stranger = await make_user(repos)
    invite = await api.error(INVITE, {"b": board.id, "u": stranger.id}, token=token)
    assert code(invite) == "FORBIDDEN"
    remove = await api.error(REMOVE, {"b": board.id, "u": member.id}, token=token)
    assert code(remove) == "FORBIDDEN"


async def test_errors(api: Api, repos: Repositories) -> None:
    owner, member, outsider = await make_user(repos), await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    await share(api, owner, board, member)
    token = api.token(owner)
    cases = [
        (INVITE, {"b": board.id, "u": member.id}, token, "CONFLICT"),
        (INVITE, {"b": board.id, "u": owner.id}, token, "CONFLICT"),
        (INVITE, {"b": board.id, "u": "01NOSUCHUSER"}, token, "NOT_FOUND"),
        (INVITE, {"b": "01NOSUCHBOARD", "u": member.id}, token, "NOT_FOUND"),
        (INVITE, {"b": board.id, "u": outsider.id}, api.token(outsider), "NOT_FOUND"),
        (INVITE, {"b": board.id, "u": "not an id"}, token, "BAD_USER_INPUT"),
        (INVITE, {"b": "x" * 200, "u": member.id}, token, "BAD_USER_INPUT"),
        (INVITE, {"b": board.id, "u": outsider.id}, None, "UNAUTHENTICATED"),
        (ACCEPT, {"i": "../../etc"}, token, "BAD_USER_INPUT"),
        (DECLINE, {"i": "01NOSUCHINVITE"}, token, "NOT_FOUND"),
        (REMOVE, {"b": board.id, "u": owner.id}, token, "BAD_USER_INPUT"),
        (REMOVE, {"b": board.id, "u": member.id}, api.token(outsider), "NOT_FOUND"),
        (LEAVE, {"b": board.id}, token, "BAD_USER_INPUT"),
        (LEAVE, {"b": board.id}, api.token(outsider), "NOT_FOUND"),
        (SAVE, {"p": "01NOSUCHPIN", "b": board.id}, api.token(outsider), "NOT_FOUND"),
    ]
    for document, variables, caller, expected in cases:
        error = await api.error(document, variables, token=caller)
        assert code(error) == expected, (document, variables, error)
    # Nothing half-written: the board still has its one collaborator and no invites.
    page = (await api.data(BOARD, {"id": board.id}, token=token))["board"]
    assert ids(page["collaborators"]) == [member.id]
    assert await repos.collaborators.invites_of(outsider.id) == []


async def test_leave(api: Api, repos: Repositories) -> None:
    owner, member = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    await share(api, owner, board, member)
    token = api.token(member)
    assert await api.data(LEAVE, {"b": board.id}, token=token) == {"leaveBoard": True}
    assert (await api.data(BOARD, {"id": board.id}, token=token))["board"] is None
    owned = (await api.data(BOARD, {"id": board.id}, token=api.token(owner)))["board"]
    assert owned["collaborators"] == {"totalCount": 0, "edges": []}


@pytest.fixture
async def cached_api(settings: Settings) -> AsyncIterator[Api]:
    """An app that also keeps anonymous answers (the answer cache)."""
    on = settings.model_copy(update={"response_cache_ttl_s": 30})
    async with running(on) as app, client_of(app) as http:
        yield Api(http, on)


async def test_a_removal_takes_effect_on_the_next_request_everywhere(
    cached_api: Api, services: Services, repos: Repositories
) -> None:
    api = cached_api
    topic, word = unique_handle("topic"), unique_handle("word")
    owner, member = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET, topics=[topic])
    public = await make_board(repos, owner)
    await share(api, owner, board, member)
    await drained(services.cache)  # the invite's notification is recorded
    secret = await make_pin(repos, owner, board, title=f"secret {word}", topics=[topic])
    shown = await make_pin(repos, owner, public, title=f"public {word}", topics=[topic])
    await repos.pins.save(owner.id, shown.id, board.id)
    await repos.topics.follow(member.id, topic)
    token = api.token(member)
    views = {
        "board": (BOARD, {"id": board.id}),
        "pin": ("query($id: ID!) { pin(id: $id) { id boards { totalCount } saveCount } }",
                {"id": shown.id}),
        "secret pin": ("query($id: ID!) { pin(id: $id) { id } }", {"id": secret.id}),
        "feed": ("{ homeFeed(first: 20) { edges { node { id } } } }", {}),
        "search": ("query($q: String!) { searchPins(query: $q) {"
                   " totalCount edges { node { id } } } }", {"q": word}),
        "topic": ("query($t: String!) { topic(name: $t) {"
                  " pins { totalCount edges { node { id } } } } }", {"t": topic}),
        "related": ("query($id: ID!) { pin(id: $id) { related(first: 20) { id } } }",
                    {"id": shown.id}),
        "inbox": ("{ me { unreadNotificationCount notifications { edges { node { kind } } } } }",
                  {}),
        "owner": ("query($id: ID!) { user(id: $id) { boards { totalCount edges { node { id } } }"
                  " pins { totalCount } } }", {"id": owner.id}),
    }  # fmt: skip

    async def read() -> dict[str, Any]:
        answers = {}
        for name, (document, variables) in views.items():
            response = await api.post(document, variables, token=token)
            assert response.status_code == 200, response.text
            assert response.headers["cache-control"] == "private, no-store"
            assert "x-cache" not in response.headers  # never an answer cached for others
            body = response.json()
            assert "errors" not in body, body
            answers[name] = body["data"]
        return answers

    before = await read()  # also fills the board page cache and the feed cache
    assert before["board"]["board"]["viewerRole"] == "COLLABORATOR"
    assert ids(before["board"]["board"]["pins"]) == [shown.id, secret.id]
    assert before["pin"]["pin"] == {"id": shown.id, "boards": {"totalCount": 2}, "saveCount": 2}
    assert before["secret pin"]["pin"] == {"id": secret.id}
    assert {secret.id, shown.id} <= set(ids(before["feed"]["homeFeed"]))
    assert ids(before["search"]["searchPins"]) == [shown.id]  # search is public-only
    assert before["topic"]["topic"]["pins"]["totalCount"] == 2
    assert set(ids(before["topic"]["topic"]["pins"])) == {secret.id, shown.id}
    kinds = [e["node"]["kind"] for e in before["inbox"]["me"]["notifications"]["edges"]]
    assert "BOARD_INVITE" in kinds
    assert before["inbox"]["me"]["unreadNotificationCount"] == len(kinds)
    assert before["owner"]["user"]["boards"]["totalCount"] == 2
    assert before["owner"]["user"]["pins"]["totalCount"] == 2
    # Anonymous answers (cached for everyone) never showed the secret board.
    assert (await api.data(BOARD, {"id": board.id}))["board"] is None

    await api.data(REMOVE, {"b": board.id, "u": member.id}, token=api.token(owner))
    # The very next requests, before any event consumer has run.
    after = await read()
    assert after["board"]["board"] is None
    assert after["pin"]["pin"] == {"id": shown.id, "boards": {"totalCount": 1}, "saveCount": 1}
    assert after["secret pin"]["pin"] is None
    assert secret.id not in ids(after["feed"]["homeFeed"])
    assert shown.id in ids(after["feed"]["homeFeed"])
    assert ids(after["search"]["searchPins"]) == [shown.id]
    assert after["search"]["searchPins"]["totalCount"] == 1
    assert after["topic"]["topic"]["pins"]["totalCount"] == 1
    assert ids(after["topic"]["topic"]["pins"]) == [shown.id]
    assert secret.id not in {p["id"] for p in after["related"]["pin"]["related"]}
    left = [e["node"]["kind"] for e in after["inbox"]["me"]["notifications"]["edges"]]
    assert left == [kind for kind in kinds if kind != "BOARD_INVITE"]
    assert after["inbox"]["me"]["unreadNotificationCount"] == len(left)
    assert after["owner"]["user"]["boards"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": public.id}}],
    }
    assert after["owner"]["user"]["pins"]["totalCount"] == 1
    # Saving into it is refused as if it did not exist; the board page cache still serves
    # the owner.
    error = await api.error(SAVE, {"p": shown.id, "b": board.id}, token=token)
    assert code(error) == "NOT_FOUND"
    owned = (await api.data(BOARD, {"id": board.id}, token=api.token(owner)))["board"]
    assert owned["collaborators"]["totalCount"] == 0
    assert ids(owned["pins"]) == [shown.id, secret.id]
    # Once the events are handled, the feed is ranked afresh without the board.
    await drained(services.cache)
    again = await read()
    assert secret.id not in ids(again["feed"]["homeFeed"])
    assert again["board"]["board"] is None


async def test_shared_boards_lists_the_boards_i_collaborate_on(
    api: Api, repos: Repositories
) -> None:
    owner, member, other = await make_user(repos), await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    query = """query($h: String!) {
      user(handle: $h) { sharedBoards { totalCount edges { node { id } } } } }"""
    mine = {"h": member.handle}
    assert (await api.data(query, mine, token=api.token(member)))["user"]["sharedBoards"] == {
        "totalCount": 0, "edges": []}  # fmt: skip
    await share(api, owner, board, member)
    shared = (await api.data(query, mine, token=api.token(member)))["user"]["sharedBoards"]
    assert shared["totalCount"] == 1
    assert ids(shared) == [board.id]
    # Nobody else learns of it.
    for viewer in (other, owner):
        seen = (await api.data(query, mine, token=api.token(viewer)))["user"]["sharedBoards"]
        assert seen == {"totalCount": 0, "edges": []}
    await api.data(LEAVE, {"b": board.id}, token=api.token(member))
    left = (await api.data(query, mine, token=api.token(member)))["user"]["sharedBoards"]
    assert left["totalCount"] == 0


async def test_invites_per_user_are_limited_counting_only_created_ones(
    settings: Settings, repos: Repositories
) -> None:
    assert settings.invites_per_user == "50/day"
    limited = settings.model_copy(update={"invites_per_user": "2/day"})
    async with running(limited) as app, client_of(app) as http:
        api = Api(http, limited)
        owner, other = await make_user(repos), await make_user(repos)
        first, second, third = [await make_user(repos) for _ in range(3)]
        board = await make_board(repos, owner)
        token = api.token(owner)
        await api.data(INVITE, {"b": board.id, "u": first.id}, token=token)  # 1
        await api.data(INVITE, {"b": board.id, "u": first.id}, token=token)  # the same invite
        refused = [
            ({"b": board.id, "u": "not an id!"}, "BAD_USER_INPUT"),
            ({"b": board.id, "u": owner.id}, "CONFLICT"),
            ({"b": board.id, "u": unique_handle()}, "NOT_FOUND"),
        ]
        for variables, expected in refused:
            assert code(await api.error(INVITE, variables, token=token)) == expected
        await api.data(INVITE, {"b": board.id, "u": second.id}, token=token)  # 2
        error = await api.error(INVITE, {"b": board.id, "u": third.id}, token=token)
        assert code(error) == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
        # Input is checked before the limit; inviting again still answers the invite.
        error = await api.error(INVITE, {"b": board.id, "u": "not an id!"}, token=token)
        assert code(error) == "BAD_USER_INPUT"
        assert [i.invitee for i in await repos.collaborators.invites_of(third.id)] == []
        # Per user: another owner still invites.
        theirs = await make_board(repos, other)
        await api.data(INVITE, {"b": theirs.id, "u": third.id}, token=api.token(other))


async def test_invite_limits_fail_open(repos: Repositories) -> None:
    away = aioredis.Redis(port=1, socket_connect_timeout=0.2)
    try:
        limits = InviteLimits(away, per_user="1/day")
        for _ in range(3):
            await limits.check("someone")
            await limits.count("someone")
    finally:
        await away.aclose()
