"""Shared boards in the graph: invites, membership, and what members, former members and
anonymous viewers may see and write, statement by statement (both backends)."""

from __future__ import annotations

import pytest

from domain.errors import BadInput, Conflict, Forbidden, NotFound
from events.model import EventType
from graph.model import Board, Privacy, User
from graph.repos import Repositories
from graph.repos.collaborators import MAX_COLLABORATORS
from graph.repos.pins import NewPin
from tests.utils.events import RecordedEvents
from tests.utils.factories import make_board, make_pin, make_user, unique_handle


async def shared(
    repos: Repositories, *, privacy: Privacy = Privacy.SECRET, topics: list[str] | None = None
) -> tuple[User, User, Board]:
    """An owner, a collaborator who accepted, and their board."""
    owner, member = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=privacy, topics=topics)
    invite = await repos.collaborators.invite(owner.id, board.id, member.id)
    await repos.collaborators.accept(member.id, invite.id)
    return owner, member, board


async def test_invite_accept_and_membership(repos: Repositories, recorded: RecordedEvents) -> None:
    owner, friend = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    invite = await repos.collaborators.invite(owner.id, board.id, friend.id)
    assert invite.board.id == board.id
    assert invite.invited_by == owner.id
    assert len(invite.id) == 26
    assert board.id not in invite.id
    # Inviting again keeps the one invite, and tells nobody twice.
    again = await repos.collaborators.invite(owner.id, board.id, friend.id)
    assert again.id == invite.id
    invited = [e for e in recorded.of(EventType.BOARD_INVITED) if e.board == board.id]
    assert [(e.actor, e.user) for e in invited] == [(owner.id, friend.id)]
    # The invitee sees the invite and its board; the board itself stays hidden until accepted.
    assert [i.id for i in await repos.collaborators.invites_of(friend.id)] == [invite.id]
    assert (await repos.collaborators.invites_of(friend.id))[0].board.name == board.name
    assert await repos.collaborators.invites_of(owner.id) == []
    with pytest.raises(NotFound):
        await repos.boards.get(board.id, friend.id)
    assert await repos.collaborators.invited_to([board.id], friend.id) == {board.id}

    accepted = await repos.collaborators.accept(friend.id, invite.id)
    assert accepted == board
    assert await repos.boards.get(board.id, friend.id) == board
    assert await repos.collaborators.invites_of(friend.id) == []
    assert await repos.collaborators.invited_to([board.id], friend.id) == set()
    members = await repos.collaborators.members(board.id, 10, None)
    assert [u.id for u in members.items] == [friend.id]
    assert await repos.collaborators.member_counts([board.id]) == {board.id: 1}
    assert await repos.collaborators.member_of([board.id], friend.id) == {board.id}
    assert await repos.collaborators.member_of([board.id], owner.id) == set()
    assert [b.id for b in (await repos.collaborators.shared_with(friend.id, 10, None)).items] == [
        board.id
    ]
    added = [e for e in recorded.of(EventType.COLLABORATOR_ADDED) if e.board == board.id]
    assert [(e.actor, e.user) for e in added] == [(friend.id, friend.id)]
    with pytest.raises(NotFound):  # an invite is accepted once
        await repos.collaborators.accept(friend.id, invite.id)


async def test_decline_and_who_may_answer(repos: Repositories, recorded: RecordedEvents) -> None:
    owner, friend, other = await make_user(repos), await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    invite = await repos.collaborators.invite(owner.id, board.id, friend.id)
    for stranger in (owner, other):  # only the invitee: for anyone else the id names nothing
        with pytest.raises(NotFound):
            await repos.collaborators.accept(stranger.id, invite.id)
        with pytest.raises(NotFound):
            await repos.collaborators.decline(stranger.id, invite.id)
    with pytest.raises(BadInput):
        await repos.collaborators.accept(friend.id, "not an id!")
    assert await repos.collaborators.decline(friend.id, invite.id) is True
    assert await repos.collaborators.invites_of(friend.id) == []
    with pytest.raises(NotFound):
        await repos.collaborators.accept(friend.id, invite.id)
    with pytest.raises(NotFound):
        await repos.boards.get(board.id, friend.id)
    declined = recorded.of(EventType.BOARD_INVITE_DECLINED)
    assert [(e.board, e.user) for e in declined if e.board == board.id] == [(board.id, friend.id)]


async def test_only_the_owner_manages(repos: Repositories) -> None:
    owner, member, board = await shared(repos)
    outsider, target = await make_user(repos), await make_user(repos)
    # A member can see the board, so is told FORBIDDEN; an outsider of a secret board NOT_FOUND.
    with pytest.raises(Forbidden):
        await repos.collaborators.invite(member.id, board.id, target.id)
    with pytest.raises(NotFound):
        await repos.collaborators.invite(outsider.id, board.id, target.id)
    with pytest.raises(Forbidden):
        await repos.collaborators.remove(member.id, board.id, member.id)
    with pytest.raises(NotFound):
        await repos.collaborators.remove(outsider.id, board.id, member.id)
    with pytest.raises(Forbidden):
        await repos.boards.update(member.id, board.id, name="Mine now")
    with pytest.raises(Forbidden):
        await repos.boards.update(member.id, board.id, privacy=Privacy.PUBLIC)
    with pytest.raises(Forbidden):
        await repos.boards.delete(member.id, board.id)
    public = await make_board(repos, owner)
    with pytest.raises(Forbidden):
        await repos.collaborators.invite(outsider.id, public.id, target.id)
    assert (await repos.boards.get(board.id, owner.id)).name == board.name


async def test_invite_errors(repos: Repositories) -> None:
    owner, member, board = await shared(repos)
    with pytest.raises(Conflict):
        await repos.collaborators.invite(owner.id, board.id, member.id)
    with pytest.raises(Conflict):
        await repos.collaborators.invite(owner.id, board.id, owner.id)
    with pytest.raises(NotFound):
        await repos.collaborators.invite(owner.id, board.id, "01NOSUCHUSER")
    with pytest.raises(NotFound):
        await repos.collaborators.invite(owner.id, "01NOSUCHBOARD", member.id)
    for bad in ("", "x" * 65, "a b", "id\x00"):
        with pytest.raises(BadInput):
            await repos.collaborators.invite(owner.id, board.id, bad)
        with pytest.raises(BadInput):
            await repos.collaborators.invite(owner.id, bad, member.id)
    with pytest.raises(BadInput):
        await repos.collaborators.remove(owner.id, board.id, owner.id)
    with pytest.raises(BadInput):
        await repos.collaborators.leave(owner.id, board.id)


async def test_collaborators_are_capped(repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    users = [await make_user(repos) for _ in range(MAX_COLLABORATORS + 1)]
    invites = [
        await repos.collaborators.invite(owner.id, board.id, u.id)
        for u in users[:MAX_COLLABORATORS]
    ]
    with pytest.raises(BadInput, match="at most"):
        await repos.collaborators.invite(owner.id, board.id, users[-1].id)
    for user, invite in zip(users[:5], invites[:5], strict=True):
        await repos.collaborators.accept(user.id, invite.id)
    with pytest.raises(BadInput):  # accepted or pending, they count alike
        await repos.collaborators.invite(owner.id, board.id, users[-1].id)
    await repos.collaborators.remove(owner.id, board.id, users[0].id)
    late = await repos.collaborators.invite(owner.id, board.id, users[-1].id)
    await repos.collaborators.accept(users[-1].id, late.id)
    assert await repos.collaborators.member_counts([board.id]) == {board.id: 5}


async def test_members_save_and_unsave_their_own(repos: Repositories) -> None:
    owner, member, board = await shared(repos)
    outsider = await make_user(repos)
    elsewhere = await make_board(repos, outsider)
    theirs = await make_pin(repos, outsider, elsewhere)
    created = await repos.pins.create(member.id, NewPin(title="by member", board_id=board.id))
    assert created.creator_id == member.id
    await repos.pins.save(member.id, theirs.id, board.id)
    by_owner = await make_pin(repos, owner, board)
    pins = await repos.boards.pins(board.id, member.id, 10, None)
    assert {p.id for p in pins.items} == {created.id, theirs.id, by_owner.id}
    # A collaborator removes only their own saves; the owner removes any.
    with pytest.raises(Forbidden):
        await repos.pins.unsave(member.id, by_owner.id, board.id)
    assert await repos.pins.unsave(member.id, theirs.id, board.id) is True
    assert await repos.pins.unsave(member.id, theirs.id, board.id) is False
    assert await repos.pins.unsave(owner.id, created.id, board.id) is True
    # Outsiders may not save: NOT_FOUND for the secret board.
    with pytest.raises(NotFound):
        await repos.pins.save(outsider.id, theirs.id, board.id)
    with pytest.raises(NotFound):
        await repos.pins.create(outsider.id, NewPin(title="x", board_id=board.id))
    _, public_member, public = await shared(repos, privacy=Privacy.PUBLIC)
    await repos.pins.save(public_member.id, theirs.id, public.id)
    with pytest.raises(Forbidden):
        await repos.pins.save(outsider.id, theirs.id, public.id)
    with pytest.raises(Forbidden):
        await repos.pins.unsave(outsider.id, theirs.id, public.id)


async def test_a_removed_member_loses_the_board_everywhere(repos: Repositories) -> None:
    topic = unique_handle("topic")
    owner, member, board = await shared(repos, topics=[topic])
    outsider = await make_user(repos)
    pin = await make_pin(repos, owner, board, topics=[topic])
    by_member = await repos.pins.create(member.id, NewPin(title="mine", board_id=board.id))
    await repos.boards.follow(member.id, board.id)

    async def sees() -> dict[str, object]:
        return {
            "board": board.id in await repos.boards.get_many([board.id], member.id),
            "owner's boards": [b.id for b in (await repos.boards.of_user(
                owner.id, member.id, 10, None)).items],
            "board count": (await repos.boards.counts_of_owners([owner.id], member.id))[owner.id],
            "pin": pin.id in await repos.pins.get_many([pin.id], member.id),
            "pin boards": [b.id for b in (await repos.pins.boards(
                pin.id, member.id, 10, None)).items],
            "first boards": [b.id for b in (await repos.pins.boards_of_many(
                [pin.id], member.id, 10))[pin.id].items],
            "save count": (await repos.pins.save_counts([pin.id], member.id))[pin.id],
            "owner's pins": (await repos.pins.counts_of_creators([owner.id], member.id))[owner.id],
            "topic pins": [p.id for p in (await repos.topics.pins(
                topic, member.id, 10, None)).items],
            "topic count": list((await repos.topics.pin_counts(
                [(await repos.topics.get(topic, owner.id)).id], member.id)).values()),
        }  # fmt: skip

    assert await sees() == {
        "board": True, "owner's boards": [board.id], "board count": 1, "pin": True,
        "pin boards": [board.id], "first boards": [board.id], "save count": 1,
        "owner's pins": 1, "topic pins": [pin.id], "topic count": [1],
    }  # fmt: skip
    await repos.collaborators.remove(owner.id, board.id, member.id)
    assert await sees() == {
        "board": False, "owner's boards": [], "board count": 0, "pin": False,
        "pin boards": [], "first boards": [], "save count": 0, "owner's pins": 0,
        "topic pins": [], "topic count": [0],
    }  # fmt: skip
    with pytest.raises(NotFound):
        await repos.topics.get(topic, member.id)  # only the secret board named it
    with pytest.raises(NotFound):
        await repos.pins.save(member.id, by_member.id, board.id)
    with pytest.raises(NotFound):
        await repos.pins.engage(member.id, pin.id, "CLICK")
    # The pin they created stays theirs to see; the follow of the secret board is gone.
    assert by_member.id in await repos.pins.get_many([by_member.id], member.id)
    assert await repos.users.viewer_follows(member.id, "Board", [board.id]) == {board.id: False}
    assert await repos.collaborators.shared_with(member.id, 10, None) == (
        await repos.collaborators.shared_with(outsider.id, 10, None)
    )
    # Anonymous viewers never saw it.
    assert await repos.boards.get_many([board.id], None) == {}
    assert await repos.pins.get_many([pin.id], None) == {}


async def test_leave(repos: Repositories, recorded: RecordedEvents) -> None:
    owner, member, board = await shared(repos)
    outsider = await make_user(repos)
    assert await repos.collaborators.leave(member.id, board.id) is True
    with pytest.raises(NotFound):
        await repos.boards.get(board.id, member.id)
    with pytest.raises(NotFound):  # not a member any more, and the board is secret
        await repos.collaborators.leave(member.id, board.id)
    with pytest.raises(NotFound):
        await repos.collaborators.leave(outsider.id, "01NOSUCHBOARD")
    public = await make_board(repos, owner)
    assert await repos.collaborators.leave(outsider.id, public.id) is False
    removed = [e for e in recorded.of(EventType.COLLABORATOR_REMOVED) if e.board == board.id]
    assert [(e.actor, e.user) for e in removed] == [(member.id, member.id)]


async def test_remove_withdraws_a_pending_invite(repos: Repositories) -> None:
    owner, friend = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    invite = await repos.collaborators.invite(owner.id, board.id, friend.id)
    assert await repos.collaborators.remove(owner.id, board.id, friend.id) == board
    assert await repos.collaborators.invites_of(friend.id) == []
    with pytest.raises(NotFound):
        await repos.collaborators.accept(friend.id, invite.id)
    # Removing someone who is neither changes nothing.
    assert await repos.collaborators.remove(owner.id, board.id, friend.id) == board


async def test_feed_brings_co_members_saves_until_removal(repos: Repositories) -> None:
    owner, member, board = await shared(repos)
    pin = await make_pin(repos, owner, board)
    own = await repos.pins.create(member.id, NewPin(title="own save", board_id=board.id))
    feed = await repos.feed.home(member.id, 10, None)
    assert [p.id for p in feed.items] == [pin.id]  # not the member's own save
    assert [p.id for p in (await repos.feed.home(owner.id, 10, None)).items] == []
    signals = await repos.feed.signals(member.id, public_only=False)
    assert [pin_id for pin_id, _ in signals.saves] == [own.id]
    owner_signals = await repos.feed.signals(owner.id, public_only=False)
    assert [pin_id for pin_id, _ in owner_signals.saves] == [pin.id]
    await repos.collaborators.remove(owner.id, board.id, member.id)
    assert (await repos.feed.home(member.id, 10, None)).items == []
    assert (await repos.feed.signals(member.id, public_only=False)).saves == []
