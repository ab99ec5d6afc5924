"""BOARD_INVITE notifications: to the invitee only, muted like any kind, aggregated, and an
invite to a secret board shown only while it stands or the board is the recipient's to see."""

from __future__ import annotations

from graph.model import Privacy
from graph.repos import Repositories
from notifications.model import NotificationKind
from server.services import Services
from tests.notifications.test_rules import inbox_of
from tests.utils.factories import make_board, make_user


async def test_an_invite_tells_the_invitee_alone(services: Services, repos: Repositories) -> None:
    owner, friend = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    await repos.collaborators.invite(owner.id, board.id, friend.id)
    [told] = await inbox_of(services, friend.id)
    assert (told.kind, told.board, told.actor_ids) == (
        NotificationKind.BOARD_INVITE,
        board.id,
        (owner.id,),
    )
    assert await inbox_of(services, owner.id) == []  # never to the actor
    payload = await services.notifications.inbox.payload(friend.id, told.id)
    assert payload is not None
    assert payload["text"] == f"{owner.handle} invited you to collaborate on a board"
    # Withdrawn and sent again within the window: one notification.
    await repos.collaborators.remove(owner.id, board.id, friend.id)
    await repos.collaborators.invite(owner.id, board.id, friend.id)
    [again] = await inbox_of(services, friend.id)
    assert (again.id, again.actor_count) == (told.id, 1)
    # A public board stays visible once the invite is declined.
    [invite] = await repos.collaborators.invites_of(friend.id)
    await repos.collaborators.decline(friend.id, invite.id)
    assert [n.id for n in await inbox_of(services, friend.id)] == [told.id]


async def test_a_muted_kind_tells_nobody(services: Services, repos: Repositories) -> None:
    owner, friend = await make_user(repos), await make_user(repos)
    await repos.notifications.update_settings(friend.id, [NotificationKind.BOARD_INVITE], None)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    await repos.collaborators.invite(owner.id, board.id, friend.id)
    assert await inbox_of(services, friend.id) == []


async def test_a_secret_board_invite_is_shown_while_it_stands(
    services: Services, repos: Repositories
) -> None:
    owner, friend, other = await make_user(repos), await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    declined = await make_board(repos, owner, privacy=Privacy.SECRET)
    invite = await repos.collaborators.invite(owner.id, board.id, friend.id)
    refused = await repos.collaborators.invite(owner.id, declined.id, friend.id)
    await repos.collaborators.invite(owner.id, declined.id, other.id)
    inbox = services.notifications.inbox
    assert {n.board for n in await inbox_of(services, friend.id)} == {board.id, declined.id}
    await repos.collaborators.decline(friend.id, refused.id)
    [shown] = await inbox_of(services, friend.id)
    assert shown.board == board.id
    assert await inbox.count(friend.id, unread_only=True) == 1
    # Accepted: a member sees the board, so the notification stays.
    await repos.collaborators.accept(friend.id, invite.id)
    assert [n.id for n in await inbox_of(services, friend.id)] == [shown.id]
    # Removed: nothing about the board is shown any more, nor counted, nor pushed.
    await repos.collaborators.remove(owner.id, board.id, friend.id)
    assert await inbox_of(services, friend.id) == []
    assert await inbox.count(friend.id) == 0
    assert await inbox.payload(friend.id, shown.id) is None
    assert await inbox.mark_read(friend.id, [shown.id]) == 0
    # Someone else's invite to the same board is theirs alone.
    assert [n.board for n in await inbox_of(services, other.id)] == [declined.id]
