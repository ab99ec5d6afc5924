"""Trending: pins and boards ranked by their recent public saves, each save weighing less as
it ages.

Every save (a SAVED_TO edge, `at` in epoch ms) into a board that is public when the ranking
is computed counts 0.5 ** (age / half_life) if it lies inside the window; a pin's score is
the sum over its saves, a board's the sum over the saves into it. Saves to secret boards
never count, not even for a pin that is also on public boards. The window ends at the
newest public save, never later than now (`min(now, newest)`): the last week of activity,
which on a live service is the last week, and on a graph nobody saves to any more (the
demo's saves are dated 2025-2026) is that graph's last week, so that trending is not empty
there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph.backends.base import GraphBackend

# Both start from the SAVED_TO.at index (migration 0002) and reach the save's nodes through
# startNode/endNode: FalkorDB plans `(p:Pin)-[s:SAVED_TO]->(b:Board)` as a scan of every
# board with an index look-up per board.
_PUBLIC_SAVES_BETWEEN = """
MATCH ()-[s:SAVED_TO]->()
WHERE s.at >= $since AND s.at <= $until
WITH s, endNode(s) AS b
WHERE b.privacy = 'PUBLIC'
"""
NEWEST_PUBLIC_SAVE = _PUBLIC_SAVES_BETWEEN + "RETURN max(s.at) AS newest\n"
PUBLIC_SAVES = (
    _PUBLIC_SAVES_BETWEEN
    + """WITH startNode(s) AS p, collect({board: b.id, at: s.at}) AS saves
RETURN p.id AS pin, saves, [(p)-[:TAGGED]->(t:Topic) | t.name] AS topics
"""
)

# Which of some boards are public now: a write that touched only secret boards changes
# nothing trending shows, so it must not even make trending recompute sooner.
PUBLIC_BOARD_IDS = """
UNWIND $ids AS id
MATCH (b:Board {id: id})
WHERE b.privacy = 'PUBLIC'
RETURN b.id AS id
"""

DAY_S = 86_400
TOP = 200  # pins per list (overall and per topic), and boards

Scored = tuple[str, float]  # (id, score)


@dataclass(frozen=True)
class PinSaves:
    """A pin's public saves inside the window, and its topics."""

    pin: str
    saves: list[tuple[str, int]]  # (board id, epoch ms)
    topics: list[str]


@dataclass(frozen=True)
class Ranking:
    """What trending shows, best first; ids only, checked for visibility when shown."""

    computed_at: int  # epoch ms
    anchor: int | None  # the window's end (epoch ms); None when there is no public save
    pins: list[Scored] = field(default_factory=list)
    topics: dict[str, list[Scored]] = field(default_factory=dict)  # by topic name
    boards: list[Scored] = field(default_factory=list)

    def pin_ids(self, topic: str | None = None) -> list[str]:
        """Overall, or of one topic (a normalised name; unknown: empty)."""
        scored = self.pins if topic is None else self.topics.get(topic, [])
        return [pin for pin, _ in scored]

    def pin_ids_of_topics(self, topics: Iterable[str]) -> list[str]:
        """The pins of any of `topics`, best first, each once."""
        best: dict[str, float] = {}
        for topic in topics:
            for pin, score in self.topics.get(topic, []):
                best[pin] = max(score, best.get(pin, 0.0))
        return [pin for pin, _ in _best_first(best.items(), len(best))]

    def board_ids(self) -> list[str]:
        return [board for board, _ in self.boards]


def rank(
    pins: list[PinSaves],
    *,
    computed_at: int,
    anchor: int | None,
    half_life_s: float,
    top: int = TOP,
) -> Ranking:
    """Score the saves of a window ending at `anchor` and keep the `top` of each list."""
    if anchor is None:
        return Ranking(computed_at, None)
    half_life_ms = half_life_s * 1000
    pin_scores: dict[str, float] = {}
    board_scores: dict[str, float] = defaultdict(float)
    by_topic: dict[str, dict[str, float]] = defaultdict(dict)
    for pin in pins:
        score = 0.0
        for board, at in pin.saves:
            weight = 0.5 ** (max(0, anchor - at) / half_life_ms)
            score += weight
            board_scores[board] += weight
        pin_scores[pin.pin] = score
        for topic in pin.topics:
            by_topic[topic][pin.pin] = score
    return Ranking(
        computed_at,
        anchor,
        _best_first(pin_scores.items(), top),
        {topic: _best_first(scores.items(), top) for topic, scores in by_topic.items()},
        _best_first(board_scores.items(), top),
    )


def _best_first(scores: Iterable[Scored], top: int) -> list[Scored]:
    """Highest score first; ties newest id first (ids are ULIDs)."""
    return sorted(scores, key=lambda item: (item[1], item[0]), reverse=True)[:top]


class TrendingRepo:
    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend
        self._newest: int | None = None

    async def compute(
        self, *, now: int, window_s: int, half_life_s: float, top: int = TOP
    ) -> Ranking:
        """The ranking of the public saves in the window ending at min(now, newest)."""
        anchor = await self.newest_public_save(now=now, window_s=window_s)
        if anchor is None:
            return Ranking(now, None)
        pins = await self.public_saves(since=anchor - window_s * 1000, until=anchor)
        return rank(pins, computed_at=now, anchor=anchor, half_life_s=half_life_s, top=top)

    async def newest_public_save(self, *, now: int, window_s: int) -> int | None:
        """When the newest public save up to `now` was made; None when there is none."""
        # The last window first: on a live service the newest save is in it, and the index
        # reads only that range. A graph nobody saves to any more (the demo) has it further
        # back: from the newest this process found before, and only when that save has gone
        # (unsaved, its board made secret) from the start of history.
        for since in dict.fromkeys((now - window_s * 1000, self._newest or 0, 0)):
            rows = await self.backend.read(NEWEST_PUBLIC_SAVE, {"since": since, "until": now})
            if rows and rows[0]["newest"] is not None:
                self._newest = int(rows[0]["newest"])
                return self._newest
        return None

    async def any_public(self, boards: Iterable[str]) -> bool:
        """Whether any of `boards` is a public board now."""
        rows = await self.backend.read(PUBLIC_BOARD_IDS, {"ids": sorted(set(boards))})
        return bool(rows)

    async def public_saves(self, *, since: int, until: int) -> list[PinSaves]:
        rows = await self.backend.read(PUBLIC_SAVES, {"since": since, "until": until})
        return [_pin_saves(row) for row in rows]


def _pin_saves(row: dict[str, Any]) -> PinSaves:
    saves = [(save["board"], int(save["at"])) for save in row["saves"]]
    return PinSaves(row["pin"], saves, sorted(row["topics"]))
