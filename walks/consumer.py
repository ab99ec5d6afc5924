"""The walk graph's event consumer: domain events in, walk deltas out.

Writes reach every server's walk graph in two hops: this consumer group turns each
committed save, unsave, pin delete and board change into a delta on the walk delta stream
(`walks/deltas.py`), which every server process follows (`walks/live.py`). Applying a delta
twice changes nothing. Deltas that arrive out of order (an entry reclaimed from a crashed
consumer after later ones were handled) can leave a public edge that was removed, until the
next rebuild; saves to boards that are not public never enter (the reader asks the store).
"""

from __future__ import annotations

from events.consumer import Consumer
from events.model import Event, EventType
from walks.deltas import DeltaLog
from walks.overlay import BOARD, DROP_PIN, SAVE, UNSAVE, Delta

GROUP = "walks"


def delta_of(event: Event) -> Delta | None:
    """The walk-graph change an event makes, if any. Saves to secret boards are passed on
    too: the reader asks the graph store about every board it does not have, and keeps
    only public ones."""
    match event.type:
        case EventType.PIN_CREATED | EventType.PIN_SAVED:
            return Delta(SAVE, event.pin, event.board)
        case EventType.PIN_UNSAVED:
            return Delta(UNSAVE, event.pin, event.board)
        case EventType.PIN_DELETED:
            return Delta(DROP_PIN, event.pin)
        case EventType.BOARD_UPDATED | EventType.BOARD_DELETED:
            return Delta(BOARD, board=event.board)  # privacy or topics may differ
    return None


def walk_deltas(deltas: DeltaLog) -> Consumer[Event]:
    async def handle(event: Event) -> None:
        if event.type is EventType.EVENTS_LOST:
            await deltas.resync()
            return
        delta = delta_of(event)
        if delta is not None:
            await deltas.append(delta)

    return Consumer(GROUP, handle)
