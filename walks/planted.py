"""Walk graphs straight from a generated graph, and how on-topic related pins are.

The demo generator plants a topic in every pin (graph/demo/seed.py: its first), so the
quality of related pins can be measured: precision@k is the share of a query pin's top k
related pins whose planted topic is the query pin's. Benchmarks (bench/quality.py) and the
statistical tests use these; the service builds its walk graph from the graph store instead
(walks/build.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from graph.demo.seed import SeedGraph
from walks import graph as walk_graph
from walks.graph import WalkGraph


@dataclass(frozen=True)
class Planted:
    """What the walk graph was built from: public saves and every pin's planted topic."""

    topic: dict[str, str]  # pin id -> its (first) topic
    lang: dict[str, str]  # pin id -> language
    degree: dict[str, int]  # pin id -> public saves
    pin_ids: list[str]
    board_ids: list[str]
    edge_pins: NDArray[np.int64]
    edge_boards: NDArray[np.int64]
    board_topics: list[list[str]]
    board_langs: list[str]
    pin_topics: list[list[str]]

    def build(self, *, topic_aware: bool = True, **options: Any) -> WalkGraph:
        """The walk graph, with walks/graph.py's pruning options; pruning ignores the pins'
        topics unless `topic_aware`."""
        return walk_graph.build(
            self.pin_ids, self.board_ids, self.edge_pins, self.edge_boards, self.board_topics,
            self.board_langs, pin_topics=self.pin_topics if topic_aware else None, **options,
        )  # fmt: skip

    def buckets(self, head: float = 0.01, top: float = 0.001) -> dict[str, list[str]]:
        """Pins by popularity (public saves): the `top` share most saved ("top 0.1%"), the
        rest of the `head` share ("top 1%"), and every other pin ("ordinary")."""
        ranked = sorted(self.degree, key=lambda pin: (-self.degree[pin], pin))
        cut_top, cut_head = max(1, round(len(ranked) * top)), max(2, round(len(ranked) * head))
        return {
            "ordinary": ranked[cut_head:],
            "top 1%": ranked[cut_top:cut_head],
            "top 0.1%": ranked[:cut_top],
        }

    def precision(self, query: str, related: Sequence[str]) -> float:
        """The share of `related` with the query pin's topic (0 for an empty list)."""
        if not related:
            return 0.0
        return sum(self.topic.get(pin) == self.topic[query] for pin in related) / len(related)


def planted(graph: SeedGraph) -> Planted:
    """The public part of a generated graph, as the walk export would see it."""
    owner_lang = {user["id"]: user["lang"] for user in graph.users}
    public = [board for board in graph.boards if board["privacy"] == "PUBLIC"]
    board_index = {board["id"]: n for n, board in enumerate(public)}
    pin_index: dict[str, int] = {}
    edge_pins, edge_boards = [], []
    for save in graph.saves:
        board = board_index.get(save["board"])
        if board is not None:
            edge_pins.append(pin_index.setdefault(save["pin"], len(pin_index)))
            edge_boards.append(board)
    pins = {pin["id"]: pin for pin in graph.pins}
    pin_ids = list(pin_index)
    degree = np.bincount(edge_pins, minlength=len(pin_ids))
    return Planted(
        topic={pin: pins[pin]["topics"][0] for pin in pin_ids},
        lang={pin: pins[pin]["lang"] for pin in pin_ids},
        degree={pin: int(degree[n]) for n, pin in enumerate(pin_ids)},
        pin_ids=pin_ids,
        board_ids=[board["id"] for board in public],
        edge_pins=np.array(edge_pins, dtype=np.int64),
        edge_boards=np.array(edge_boards, dtype=np.int64),
        board_topics=[board["topics"] for board in public],
        board_langs=[owner_lang[board["owner"]] for board in public],
        pin_topics=[pins[pin]["topics"] for pin in pin_ids],
    )
