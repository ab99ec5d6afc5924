"""Reading an inbox: what its recipient may still see, decided at read time.

A notification names pins and boards that may have changed since it was recorded. When the
inbox is read, a notification whose pin was deleted or is now hidden from the recipient, or
whose board is now secret (and not theirs), is left out; so is each actor whose board has
become secret. A board invite is shown while it stands, or while its board is visible to the
recipient (public, or they accepted): a declined or withdrawn invite to a secret board, or a
removed collaborator's, says nothing more about it. A notification left with no actor to
show is left out whole. Counts follow the same rule, so an unread count never hints at
something hidden.
"""

from __future__ import annotations

import dataclasses

from graph.model import Page
from graph.repos import Repositories
from notifications.model import Notification, NotificationKind, summary


class Inbox:
    def __init__(self, repos: Repositories) -> None:
        self.repos = repos
        self.store = repos.notifications

    async def page(
        self, recipient: str, first: int, after: str | None, *, unread_only: bool = False
    ) -> Page[Notification]:
        async def visible(ids: list[str]) -> dict[str, Notification]:
            return await self.get_many(recipient, ids)

        return await self.store.page(
            recipient, first=first, after_cursor=after, unread_only=unread_only, visible=visible
        )

    async def get_many(self, recipient: str, ids: list[str]) -> dict[str, Notification]:
        found = await self.store.get_many(recipient, ids)
        return await self.shown(recipient, found)

    async def get(self, recipient: str, id_: str) -> Notification | None:
        return (await self.get_many(recipient, [id_])).get(id_)

    async def count(self, recipient: str, *, unread_only: bool = False) -> int:
        listed = await self.store.listed(recipient, unread_only=unread_only)
        return len(await self.shown(recipient, {n.id: n for n in listed}))

    async def mark_read(self, recipient: str, ids: list[str] | None) -> int:
        """Mark read what the recipient can see of `ids` (None: all); how many were unread."""
        if ids is None:
            unread = {n.id: n for n in await self.store.listed(recipient, unread_only=True)}
            ids = list(await self.shown(recipient, unread))
        else:
            ids = list(await self.get_many(recipient, ids))
        return await self.store.mark_read(recipient, ids) if ids else 0

    async def shown(
        self, recipient: str, found: dict[str, Notification]
    ) -> dict[str, Notification]:
        """`found` as the recipient may see it, in the same order."""
        pin_ids = [n.pin for n in found.values() if n.pin]
        board_ids = [b for n in found.values() for b in (n.board, *n.actor_boards) if b]
        pins = await self.repos.pins.get_many(pin_ids, recipient) if pin_ids else {}
        boards = await self.repos.boards.get_many(board_ids, recipient) if board_ids else {}
        invites = [
            n.board for n in found.values()
            if n.kind is NotificationKind.BOARD_INVITE and n.board and n.board not in boards
        ]  # fmt: skip
        invited = await self.repos.collaborators.invited_to(invites, recipient)
        shown = {}
        for id_, n in found.items():
            saved = n.kind is NotificationKind.PIN_SAVED  # its board is each saver's own
            invite = n.kind is NotificationKind.BOARD_INVITE and n.board in invited
            hidden_board = n.board not in boards and not invite
            if (n.pin and n.pin not in pins) or (n.board and not saved and hidden_board):
                continue
            actors = zip(n.actor_ids, n.actor_boards, n.actor_ats, strict=True)
            kept = [(a, b, at) for a, b, at in actors if not b or b in boards]
            if not kept:
                continue
            hidden = len(n.actor_ids) - len(kept)
            shown[id_] = dataclasses.replace(
                n,
                actor_ids=tuple(a for a, _, _ in kept),
                actor_boards=tuple(b for _, b, _ in kept),
                actor_ats=tuple(at for _, _, at in kept),
                actor_count=n.actor_count - hidden,
                at=max(at for _, _, at in kept),  # not when a hidden actor acted
                board=(kept[0][1] or None) if saved else n.board,  # the newest visible save's
            )
        return shown

    async def payload(self, recipient: str, id_: str) -> dict[str, object] | None:
        """What a push message carries: ids and one sentence, nothing a lock screen should
        not show. None when the notification is gone or hidden."""
        n = await self.get(recipient, id_)
        if n is None:
            return None
        users = await self.repos.users.get_many(list(n.actor_ids[:2]))
        handles = [users[a].handle for a in n.actor_ids[:2] if a in users]
        return {
            "id": n.id, "kind": n.kind.value, "text": summary(n.kind, handles, n.actor_count),
            "actorCount": n.actor_count, "pin": n.pin, "board": n.board, "topic": n.topic,
        }  # fmt: skip
