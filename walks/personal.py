"""Personalised walks: a user's recent saves and engagements become weighted query pins.

Pixie weighs query pins by the kind of action and its age. Here a save counts 1.0, a
close-up 0.6 and a click 0.8, halved every `HALF_LIFE_DAYS`; hidden pins are never query
pins and never results. A user with no history walks from trending pins, those of the
topics they follow first (`newcomer_pins`); without any, from the most-saved pins of the
topics they follow, or of the whole graph.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from graph.repos.feed import Signals
from graph.repos.trending import Ranking
from walks.engine import Query
from walks.graph import WalkGraph, id_strings

ACTION_WEIGHTS = {"SAVE": 1.0, "CLICK": 0.8, "CLOSEUP": 0.6}
HALF_LIFE_DAYS = 14.0
MAX_QUERY_PINS = 100
POPULAR = 20


def query_pins(signals: Signals, now_ms: int | None = None) -> dict[str, float]:
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    weights: dict[str, float] = {}
    actions = [(pin, "SAVE", at) for pin, at in signals.saves] + list(signals.engagements)
    for pin, kind, at in actions:
        if kind not in ACTION_WEIGHTS:
            continue
        age_days = max(0.0, (now - at) / 86_400_000)
        weight = ACTION_WEIGHTS[kind] * 0.5 ** (age_days / HALF_LIFE_DAYS)
        weights[pin] = weights.get(pin, 0.0) + weight
    ranked = sorted(weights.items(), key=lambda item: -item[1])[:MAX_QUERY_PINS]
    return {pin: max(weight, 1e-6) for pin, weight in ranked}


def hidden(signals: Signals) -> list[str]:
    return [pin for pin, kind, _ in signals.engagements if kind == "HIDE"]


def popular_pins(
    graph: WalkGraph, count: int = POPULAR, topics: list[str] | None = None
) -> list[str]:
    """The pins on the most boards, among boards about `topics` when given."""
    degrees = np.diff(graph.pin_ptr)
    if topics:
        mask = np.uint64(graph.topic_mask(topics))
        boards = np.flatnonzero(graph.board_topics & mask)
        if len(boards):
            on_topic = np.concatenate(
                [graph.board_pins[graph.board_ptr[b] : graph.board_ptr[b + 1]] for b in boards]
            )
            pins, counts = np.unique(on_topic, return_counts=True)
            best = pins[np.argsort(-counts, kind="stable")[:count]]
            return id_strings(graph.pin_ids[best])
    best = np.argsort(-degrees, kind="stable")[:count]
    return id_strings(graph.pin_ids[best])


def is_newcomer(signals: Signals) -> bool:
    """No history to walk from: the feed starts from trending or popular pins."""
    return not query_pins(signals)


def newcomer_pins(signals: Signals, graph: WalkGraph, trending: Ranking | None) -> list[str]:
    """Trending pins of the topics the user follows, else trending pins overall, else the
    most-saved pins (of the topics they follow, or of the whole graph). Only pins the walk
    graph knows count: a walk cannot start from the others."""
    if trending is not None:
        followed = trending.pin_ids_of_topics(signals.topics) if signals.topics else []
        for candidates in (followed, trending.pin_ids()):
            _, unknown = graph.pin_index(candidates)
            missing = set(unknown)
            known = [pin for pin in candidates if pin not in missing][:POPULAR]
            if known:
                return known
    return popular_pins(graph, topics=signals.topics)


def feed_query(
    signals: Signals, graph: WalkGraph, base: Query, trending: Ranking | None = None
) -> Query:
    """The walk for a user's feed: their history, or for a newcomer `newcomer_pins`."""
    pins = query_pins(signals)
    newcomer = not pins
    if newcomer:
        pins = dict.fromkeys(newcomer_pins(signals, graph, trending), 1.0)
    exclude = [pin for pin, _ in signals.saves] + hidden(signals) + list(base.exclude)
    return replace(
        base, pins=pins, topics=base.topics or signals.topics, exclude=exclude,
        keep_query_pins=newcomer,
    )  # fmt: skip
