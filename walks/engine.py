"""Running walk queries: step allocation, the kernel in a thread pool, boosting and top-K.

The engine holds the current `WalkGraph`; `swap` replaces it between queries without a
pause (a query keeps the graph it started with). Each pool thread keeps pin-sized scratch
arrays and resets only what a query touched.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from domain.errors import Conflict
from walks.graph import WalkGraph, id_strings
from walks.kernels import walk_counts

MAX_STEPS = 10_000_000
MAX_TOP_K = 1000
MAX_QUERY_PINS = 1000
BIAS_TRIES = 4
DEFAULT_DEGREE_POWER = 0.0  # bench/quality.py: dividing by the degree did not pay


@dataclass(frozen=True)
class Query:
    pins: dict[str, float]  # query pin id -> weight
    steps: int = 100_000
    restart: float = 0.5
    top_k: int = 50
    seed: int | None = None
    topics: list[str] = field(default_factory=list)
    lang: str | None = None
    early_np: int = 0
    early_nv: int = 0
    exclude: list[str] = field(default_factory=list)
    keep_query_pins: bool = False  # a newcomer's popular seed pins are good results too
    degree_power: float = DEFAULT_DEGREE_POWER  # scores are divided by (pin degree) ** degree_power
    graph_version: str | None = None  # refuse to walk any other graph revision


@dataclass(frozen=True)
class Hit:
    pin_id: str
    score: float
    visits: int


@dataclass(frozen=True)
class Result:
    items: list[Hit]
    steps_taken: int
    stopped_early: bool
    unknown_pins: list[str]
    graph_version: str
    seed: int
    unknown_topics: list[str] = field(default_factory=list)  # bias topics the graph lacks


class _Scratch(threading.local):
    size = -1
    counts: NDArray[np.int32]
    boost: NDArray[np.float64]
    visits: NDArray[np.int32]
    touched: NDArray[np.int32]

    def for_pins(self, pins: int) -> _Scratch:
        # Live deltas add pins a few at a time: leave room so that each one is not a new
        # allocation. The kernel only indexes below the graph's pin count.
        if self.size < pins:
            size = pins + pins // 8 + 64
            self.counts = np.zeros(size, dtype=np.int32)
            self.boost = np.zeros(size, dtype=np.float64)
            self.visits = np.zeros(size, dtype=np.int32)
            self.touched = np.zeros(2 * size, dtype=np.int32)
            self.size = size
        return self


def allocate_steps(
    degrees: NDArray[np.int64], weights: NDArray[np.float64], total: int
) -> NDArray[np.int64]:
    """Pixie's step budget per query pin: N_q = w_q N s_q / sum_r s_r, where
    s_q = |E(q)| (C - log |E(q)|) and C = log(max degree) + 1. It grows with the degree, but
    sub-linearly, so a popular pin does not drown the others."""
    positive = degrees > 0
    scale = np.zeros(len(degrees), dtype=np.float64)
    if not positive.any():
        return np.zeros(len(degrees), dtype=np.int64)
    c = math.log(float(degrees.max())) + 1.0
    scale[positive] = degrees[positive] * (c - np.log(degrees[positive]))
    share = weights * scale
    if share.sum() <= 0:
        return np.zeros(len(degrees), dtype=np.int64)
    return np.floor(total * share / share.sum()).astype(np.int64)


class WalkEngine:
    def __init__(self, graph: WalkGraph, *, threads: int = 2) -> None:
        self.graph = graph
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="walks")
        self._scratch = _Scratch()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def swap(self, graph: WalkGraph) -> None:
        self.graph = graph

    async def run(self, query: Query) -> Result:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.run_sync, query)

    def run_sync(self, query: Query) -> Result:
        graph = self.graph  # this query's graph, even if a swap happens meanwhile
        # Checked against the graph the walk will use, so a swap cannot slip in between.
        if query.graph_version is not None and query.graph_version != graph.revision:
            raise Conflict(
                f"graphVersion {query.graph_version!r} is not served: this server walks "
                f"{graph.revision!r}, and keeps no other graph in memory"
            )
        ids = list(query.pins)
        indices, unknown = graph.pin_index(ids)
        missing = set(unknown)
        known = [value for value in ids if value not in missing]
        weights = np.array([query.pins[value] for value in known], dtype=np.float64)
        degrees = (graph.pin_ptr[indices + 1] - graph.pin_ptr[indices]).astype(np.int64)
        steps = allocate_steps(degrees, weights, query.steps)
        seed = query.seed if query.seed is not None else random.getrandbits(63)
        scratch = self._scratch.for_pins(graph.pins)
        topic_mask, unknown_topics = graph.topic_bias(query.topics)
        touched_count, taken, stopped = walk_counts(
            graph.pin_ptr, graph.pin_boards, graph.board_ptr, graph.board_pins,
            graph.board_topics, graph.board_lang, indices, steps, query.restart, seed,
            topic_mask, graph.lang_code(query.lang), BIAS_TRIES,
            query.early_np, query.early_nv,
            scratch.counts, scratch.boost, scratch.visits, scratch.touched,
        )  # fmt: skip
        reached = scratch.touched[:touched_count].copy()
        scores = scratch.boost[reached] ** 2
        if query.degree_power:
            # Walks reach popular pins from everywhere; dividing by a power of the degree
            # favours pins reached more often than their popularity alone explains.
            degrees = graph.pin_ptr[reached + 1] - graph.pin_ptr[reached]
            scores /= degrees.astype(np.float64) ** query.degree_power
        visits = scratch.visits[reached].copy()
        scratch.boost[reached] = 0.0
        scratch.visits[reached] = 0
        excluded, _ = graph.pin_index(query.exclude)
        dropped = excluded if query.keep_query_pins else np.concatenate([indices, excluded])
        keep = ~np.isin(reached, dropped)
        reached, scores, visits = reached[keep], scores[keep], visits[keep]
        top = _top(scores, visits, query.top_k)
        pin_ids = graph.pin_ids[reached[top]]
        hits = [
            Hit(pin_id, round(float(score), 3), int(visit))
            for pin_id, score, visit in zip(
                id_strings(pin_ids), scores[top], visits[top], strict=True
            )
        ]
        return Result(hits, int(taken), stopped > 0, unknown, graph.revision, seed, unknown_topics)


def _top(scores: NDArray[np.float64], visits: NDArray[np.int32], k: int) -> NDArray[np.int64]:
    """Indices of the k best by score, then visits (ties broken by position: deterministic)."""
    if len(scores) > k:
        candidates = np.argpartition(-scores, k - 1)[:k]
        cutoff = scores[candidates].min()
        candidates = np.flatnonzero(scores >= cutoff)
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((candidates, -visits[candidates], -scores[candidates]))
    return candidates[order][:k]
