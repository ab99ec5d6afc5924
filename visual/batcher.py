"""Coalescing embedding requests into batches: one model run serves every caller waiting.

Concurrent callers (the indexing consumer's handlers, searches) hand their inputs here and a
single worker runs them together: one model run at a time, so runs do not fight over the
cores, and a batch of 16 costs less per image than 16 runs (97 against 83 images/s on a quiet
2-core machine; more when another process holds a core). A caller that gives up (cancelled)
is simply skipped.
"""

from __future__ import annotations

import asyncio

import numpy as np

from visual.model import Embedder

MAX_BATCH = 16
LINGER_S = 0.002  # how long the worker waits for more callers before a run


class Batcher:
    def __init__(self, embedder: Embedder, *, max_batch: int = MAX_BATCH) -> None:
        self.embedder = embedder
        self.max_batch = max_batch
        self._waiting: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def embed(self, model_input: np.ndarray) -> np.ndarray:
        """The embedding of one model input (3, 224, 224)."""
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._waiting.append((model_input, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            await asyncio.sleep(LINGER_S)
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            batch = [(model_input, future) for model_input, future in batch if not future.done()]
            if not batch:
                continue
            inputs = np.stack([model_input for model_input, _ in batch])
            try:
                embeddings = await asyncio.to_thread(self.embedder.embed, inputs)
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), embedding in zip(batch, embeddings, strict=True):
                if not future.done():
                    future.set_result(embedding)
