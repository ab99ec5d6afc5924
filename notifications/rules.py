"""Who is told what: the rules that turn domain events into notifications.

- PIN_SAVED: the pin's creator, when someone else saves it to a public board;
- USER_FOLLOWED: the followed user; BOARD_FOLLOWED: the board's owner (boards one can follow
  are public);
- PIN_COMMENTED, PIN_REACTED: the pin's creator, when someone else comments on it or reacts
  to it (a new or changed reaction). The creator always sees their own pin, and these name
  no board, so whichever board the actor saw the pin through stays unnamed;
- BOARD_INVITE: the invitee, when a board's owner invites them (the board may be secret: the
  inbox shows it only while the invite stands or the board is visible to them);
- NEW_PIN_IN_TOPIC: followers of a new public pin's topics, fanned out in batches
  (`notifications/fanout.py`), one per pin, or one a day per topic for users who chose the
  digest.

Never to the actor, nothing for a muted kind. A burst aggregates on one notification per
(recipient, kind, subject, window); each recipient gets at most `cap_per_hour` new ones an
hour, however many pins go viral at once. Recording is idempotent (see
`graph/repos/notifications.py`), so a redelivered event changes nothing and tells nobody twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence

import redis.asyncio as aioredis
import structlog

from domain.ids import new_id
from events.consumer import Consumer
from events.model import Event, EventType
from graph.repos import Repositories
from graph.repos.notifications import MAX_INBOX, NewNotification
from notifications.fanout import Fanout, FanoutJob
from notifications.model import NotificationKind, NotificationSettings

log = structlog.get_logger(__name__)

GROUP = "notifications"
# New pins of one creator fanned out to their topics' followers an hour; later ones reach
# followers through topic pages and feeds only. A topic may have millions of followers, so
# one account creating pins at its rate limit must not keep the fan-out busy for everyone.
FANOUT_PINS_PER_HOUR = 20
PRUNE_SLACK = 20  # inboxes grow this far past MAX_INBOX before they are pruned

# Tells a batch of (recipient, notification id): live, by push.
Deliver = Callable[[list[tuple[str, str]]], Awaitable[object]]


class Rules:
    def __init__(
        self,
        repos: Repositories,
        cache: aioredis.Redis,
        *,
        deliver: Sequence[Deliver] = (),
        window_s: int = 3600,
        cap_per_hour: int = 60,
        fanout_batch: int = 250,
        on_event: Callable[[str, int], None] | None = None,
    ) -> None:
        self.repos = repos
        self.store = repos.notifications
        self.cache = cache
        self.deliver = tuple(deliver)
        self.window_ms = window_s * 1000
        self.cap_per_hour = cap_per_hour
        self.fanout = Fanout(cache, self.store, self.record, batch=fanout_batch)
        self.on_event = on_event or (lambda outcome, count: None)

    def consumers(self) -> tuple[Consumer[Event], Consumer[FanoutJob]]:
        """The interaction rules and the topic fan-out: two groups, so that a topic with a
        million followers never holds up someone being told about a save."""
        return Consumer(GROUP, self.handle, concurrency=16), self.fanout.consumer()

    async def handle(self, event: Event) -> None:
        if not event.actor:
            return  # an operator's write (CLI): nobody acted
        if event.type is EventType.PIN_SAVED:
            await self._pin_saved(event)
        elif event.type is EventType.USER_FOLLOWED and event.user != event.actor:
            await self.notify([self._new(event, NotificationKind.USER_FOLLOWED, event.user, "")])
        elif event.type is EventType.BOARD_FOLLOWED:
            board = (await self.repos.boards.get_many([event.board], None)).get(event.board)
            if board is not None and board.owner_id != event.actor:
                row = self._new(event, NotificationKind.BOARD_FOLLOWED, board.owner_id, board.id)
                await self.notify([row])
        elif event.type is EventType.PIN_CREATED:
            await self._pin_created(event)
        elif event.type is EventType.BOARD_INVITED and event.user != event.actor:
            await self._board_invited(event)
        elif event.type in PIN_INTERACTIONS:
            await self._pin_interaction(event, PIN_INTERACTIONS[event.type])

    async def _pin_saved(self, event: Event) -> None:
        public = await self.repos.boards.get_many([event.board], None)
        if event.board not in public:
            return  # a save to a secret board is nobody else's business
        pin = (await self.repos.pins.get_many([event.pin], None)).get(event.pin)
        if pin is None or not pin.creator_id or pin.creator_id == event.actor:
            return
        row = self._new(event, NotificationKind.PIN_SAVED, pin.creator_id, event.pin)
        await self.notify([row])

    async def _pin_interaction(self, event: Event, kind: NotificationKind) -> None:
        creator = await self.repos.comments.creator_of_pin(event.pin)
        if creator is None or creator == event.actor:
            return
        await self.notify([self._new(event, kind, creator, event.pin)])

    async def _board_invited(self, event: Event) -> None:
        if not await self.repos.collaborators.invited_to([event.board], event.user):
            return  # declined, withdrawn or accepted already
        row = self._new(event, NotificationKind.BOARD_INVITE, event.user, event.board)
        # The actor acted on no board of their own the recipient must see: the inbox checks
        # the invite itself (notifications/inbox.py).
        await self.notify([dataclasses.replace(row, actor_board="")])

    async def _pin_created(self, event: Event) -> None:
        if event.pin not in await self.repos.pins.get_many([event.pin], None):
            return  # not public: nobody but its creator may hear of it
        topics = (await self.repos.pins.topics_of([event.pin]))[event.pin]
        if not topics:
            return
        if not await self._fanout_allowed(event.actor):
            self.on_event("fanout_skipped", 1)
            return
        for topic in topics:
            job = FanoutJob(pin=event.pin, topic=topic["name"], creator=event.actor, at=event.at)
            await self.fanout.enqueue(job)

    def _new(
        self, event: Event, kind: NotificationKind, recipient: str, subject: str
    ) -> NewNotification:
        window = event.at // self.window_ms
        board = event.board if kind is not NotificationKind.USER_FOLLOWED else ""
        return NewNotification(
            key=f"{recipient}:{kind.value}:{subject}:{window}",
            id=new_id(),
            recipient=recipient,
            kind=kind.value,
            actor=event.actor,
            at=event.at,
            actor_board=board,
            pin=event.pin if kind in PIN_KINDS else "",
            board=board,
        )

    async def notify(self, rows: list[NewNotification]) -> None:
        """Record `rows` for recipients who have not muted their kind."""
        settings = await self.store.settings_of([row.recipient for row in rows])
        await self.record([row for row in rows if _wanted(row, settings.get(row.recipient))])

    async def record(self, rows: list[NewNotification]) -> None:
        """Record rows already checked against settings: within the caps, then tell."""
        if not rows:
            return
        existing = await self.store.existing_keys([row.key for row in rows])
        fresh = [row for row in rows if row.key not in existing]
        allowed = await self._within_caps([row.recipient for row in fresh])
        rows = [row for row in rows if row.key in existing or row.recipient in allowed]
        capped = len(fresh) - sum(1 for row in fresh if row.recipient in allowed)
        if capped:
            self.on_event("capped", capped)
        recorded = await self.store.record(rows)
        created = [r.recipient for r in recorded if r.created]
        if created:
            await self._prune(created)
        digests = {row.key for row in rows if row.digest}
        told = [r for r in recorded if r.new_actor and (r.created or r.key not in digests)]
        self.on_event("created", len(created))
        self.on_event("aggregated", sum(1 for r in recorded if r.new_actor and not r.created))
        pairs = [(r.recipient, r.id) for r in told]
        for deliver in self.deliver if pairs else ():
            try:
                await deliver(pairs)
            except Exception:  # recorded already: one failed way must not stop the others
                log.exception("notification delivery failed", notifications=len(pairs))
                self.on_event("deliver_error", len(pairs))

    async def _prune(self, recipients: list[str]) -> None:
        """Cut inboxes back to MAX_INBOX once they have grown PRUNE_SLACK past it: counted in
        Redis, so that most new notifications cost no pruning query (a fan-out batch would
        otherwise sort 500 inboxes)."""
        async with self.cache.pipeline(transaction=False) as pipe:
            for recipient in recipients:
                pipe.incr(f"pg:notify:inbox:{recipient}")
            sizes = await pipe.execute()
        full = [
            r for r, n in zip(recipients, sizes, strict=True) if int(n) > MAX_INBOX + PRUNE_SLACK
        ]
        if full:
            await self.store.prune(full, MAX_INBOX)
            async with self.cache.pipeline(transaction=False) as pipe:
                for recipient in full:
                    pipe.set(f"pg:notify:inbox:{recipient}", MAX_INBOX)
                await pipe.execute()

    async def _fanout_allowed(self, creator: str) -> bool:
        key = f"pg:notify:fanout-budget:{creator}:{int(time.time() // 3600)}"
        async with self.cache.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 7200)
            count, _ = await pipe.execute()
        return int(count) <= FANOUT_PINS_PER_HOUR

    async def _within_caps(self, recipients: list[str]) -> set[str]:
        """Recipients still under their hourly cap, counting one new notification each."""
        if not recipients:
            return set()
        hour = int(time.time() // 3600)
        async with self.cache.pipeline(transaction=False) as pipe:
            for recipient in recipients:
                key = f"pg:notify:cap:{recipient}:{hour}"
                pipe.incr(key)
                pipe.expire(key, 7200)
            counts = (await pipe.execute())[::2]
        return {r for r, n in zip(recipients, counts, strict=True) if int(n) <= self.cap_per_hour}


# Events about a pin that tell its creator, and the kind they tell.
PIN_INTERACTIONS = {
    EventType.PIN_COMMENTED: NotificationKind.PIN_COMMENTED,
    EventType.PIN_REACTED: NotificationKind.PIN_REACTED,
}
PIN_KINDS = frozenset({NotificationKind.PIN_SAVED, *PIN_INTERACTIONS.values()})


def _wanted(row: NewNotification, settings: NotificationSettings | None) -> bool:
    """The recipient exists and has not muted this kind."""
    return settings is not None and NotificationKind(row.kind) not in settings.muted
