"""Visual search: the embedding of an image (or a region of it), its nearest pins, indexing.

An image's embedding depends only on its bytes, so it is computed once per image key and kept
next to its renditions (`images/<key>/embedding-v1`, 1,280 float32): the consumer computes it
when the image is stored, a pin created with that image copies it, and a search by that image
reads it instead of running the model. The whole image is embedded from its MEDIUM rendition
(736 pixels wide: a fraction of the original's decoding cost, and more than the 256 pixels the
model looks at). A region comes from the ORIGINAL rendition, so a small crop keeps its detail;
region embeddings are not stored.

Results are pins visible to everyone: a pin only on secret boards never comes out of a search,
whoever asks (the graph repository filters them; see graph/repos/visual.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from domain.errors import BadInput, NotFound
from graph.model import Pin
from graph.repos.visual import VisualRepo
from media.service import PREFIX, ImageService
from visual import preprocess
from visual.batcher import Batcher
from visual.preprocess import Crop

EMBEDDING_OBJECT = "embedding-v1"  # a new model or preprocessing gets a new name


@dataclass(frozen=True)
class Match:
    pin_id: str
    distance: float  # cosine distance, 0 (same direction) to 2


class VisualSearch:
    def __init__(
        self,
        images: ImageService,
        repo: VisualRepo,
        batcher: Batcher,
        *,
        on_event: Callable[[str, int], None] | None = None,
    ) -> None:
        self.images = images
        self.repo = repo
        self.batcher = batcher
        self.on_event = on_event or (lambda outcome, count: None)
        self._computing: dict[str, asyncio.Future[np.ndarray]] = {}

    async def warm(self) -> None:
        """Load the model now (converting it on first use) rather than on the first image."""
        await asyncio.to_thread(self.batcher.embedder.load)

    async def embedding_of_image(self, key: str, crop: Crop | None = None) -> np.ndarray:
        """The embedding of a stored image, or of a region of it (in pixels of the image).

        NotFound for an unknown key; BadInput for a crop outside the image or of no area."""
        if crop is None:
            stored = await self._stored_embedding(key)  # the common case: one read
            if stored is not None:
                return stored
        info = await self.images.info(key)
        if crop is not None:
            crop.check_inside(info.width, info.height)
            data, _ = await self.images.rendition(key, "original")
            image = await asyncio.to_thread(preprocess.decode, data, full_resolution=True)
            region = preprocess.region(image, crop, (info.width, info.height))
            return await self._embed(await asyncio.to_thread(preprocess.to_input, region))
        # One computation per image at a time: the indexer and a search often want the same
        # new image at once.
        if key not in self._computing:
            self._computing[key] = asyncio.ensure_future(self._compute_and_keep(key))
            self._computing[key].add_done_callback(lambda _: self._computing.pop(key, None))
        return await asyncio.shield(self._computing[key])

    async def _compute_and_keep(self, key: str) -> np.ndarray:
        data, _ = await self.images.rendition(key, "medium")
        model_input = await asyncio.to_thread(_whole_image_input, data)
        embedding = await self._embed(model_input)
        await self.images.store.put(
            _embedding_key(key), embedding.astype("<f4").tobytes(), "application/octet-stream"
        )
        return embedding

    async def search_by_image(self, key: str, crop: Crop | None, first: int) -> list[Match]:
        embedding = await self.embedding_of_image(key, crop)
        return _matches(await self.repo.nearest(embedding, first))

    async def similar_to_pin(self, pin: Pin, first: int) -> list[Match]:
        """Pins that look like this one; none while its image is not embedded yet. The
        embedding is read from the image store: a vector read from the graph store costs
        the text of 1,280 numbers each way."""
        if pin.image_key is None:
            return []
        embedding = await self._stored_embedding(pin.image_key)
        if embedding is None:
            return []
        return _matches(await self.repo.nearest(embedding, first, exclude=pin.id))

    async def index_pins(self, pins: Sequence[tuple[str, str]]) -> int:
        """Embed the images of (pin id, image key) pairs and store them on the pins; returns
        how many pins were indexed. An image that is gone, or that the model cannot read,
        leaves its pin unindexed (logged by the caller through `on_event`)."""
        keys = list(dict.fromkeys(key for _, key in pins))
        found = await asyncio.gather(*(self._try_embedding(key) for key in keys))
        embeddings = {key: embedding for key, embedding in zip(keys, found, strict=True)
                      if embedding is not None}  # fmt: skip
        items = [(pin, embeddings[key]) for pin, key in pins if key in embeddings]
        indexed = await self.repo.set_embeddings(items) if items else 0
        self.on_event("indexed", indexed)
        if len(items) < len(pins):
            self.on_event("unreadable", len(pins) - len(items))
        return indexed

    async def index_image(self, key: str) -> bool:
        """Compute and keep an image's embedding ahead of its use; False if it cannot be."""
        return await self._try_embedding(key) is not None

    async def _try_embedding(self, key: str) -> np.ndarray | None:
        try:
            return await self.embedding_of_image(key)
        except (NotFound, BadInput):
            return None

    async def _stored_embedding(self, key: str) -> np.ndarray | None:
        try:
            raw = await self.images.store.get(_embedding_key(key))
        except NotFound:
            return None
        embedding = np.frombuffer(raw, dtype="<f4")
        return embedding if embedding.shape == (1280,) else None

    async def _embed(self, model_input: np.ndarray) -> np.ndarray:
        embedding = await self.batcher.embed(model_input)
        self.on_event("embedded", 1)
        return embedding


def _whole_image_input(data: bytes) -> np.ndarray:
    return preprocess.to_input(preprocess.decode(data))


def _embedding_key(key: str) -> str:
    return f"{PREFIX}{key}/{EMBEDDING_OBJECT}"


def _matches(pairs: list[tuple[str, float]]) -> list[Match]:
    return [Match(pin_id, distance) for pin_id, distance in pairs]
