"""Indexing images as they arrive: the `visual` consumer group on the event stream.

`ImageStored` embeds the new image (kept with it, see visual/service.py), so that a pin
created with it a moment later, or a search by it, finds the work done. `PinCreated` with an
image stores that embedding on the pin, which makes the pin searchable. Handlers run 16 at a
time so that their images share model runs (visual/batcher.py). The group starts at the
stream's beginning: indexing is work that must all be done, and it is idempotent.
"""

from __future__ import annotations

from events.consumer import Consumer
from events.model import Event, EventType
from visual.service import VisualSearch

GROUP = "visual"


def visual_indexing(search: VisualSearch) -> Consumer[Event]:
    async def handle(event: Event) -> None:
        if event.type is EventType.IMAGE_STORED and event.image:
            await search.index_image(event.image)
        elif event.type is EventType.PIN_CREATED and event.image:
            await search.index_pins([(event.pin, event.image)])

    return Consumer(GROUP, handle, start="0", concurrency=16)
