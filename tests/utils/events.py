"""An event sink that keeps what repositories publish, for the graph contract suite."""

from __future__ import annotations

from dataclasses import dataclass, field

from events.model import Event, EventType


@dataclass
class RecordedEvents:
    events: list[Event] = field(default_factory=list)

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: EventType) -> list[Event]:
        return [event for event in self.events if event.type is kind]
