"""Deterministic Pinterest-like demo and benchmark graphs.

Users have a language and a few interests; boards are about one or two of their owner's
interests (one in ten is secret); pin creation and saving follow power laws (a few users are
very active, a few pins very popular), so board sizes and pin degrees are heavy-tailed as in
Pixie's graph. The same seed always gives the same graph, ids included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from ulid import ULID

from graph.backends.base import GraphBackend

TOPICS = [
    "home decor", "recipes", "travel", "fashion", "diy", "gardening", "fitness", "art",
    "photography", "weddings", "tattoos", "hair", "makeup", "architecture", "cars",
    "quotes", "crafts", "kids", "pets", "technology", "design", "illustration", "nature",
    "vintage", "minimalism", "baking", "vegan", "coffee", "books", "music", "film",
    "knitting", "interior", "street style", "hiking", "camping", "beaches", "cocktails",
    "ceramics", "typography",
]  # fmt: skip
LANGS = ["en", "en", "en", "en", "fr", "de", "es", "ja", "pt", "it"]
WORDS = [
    "cozy", "modern", "rustic", "bold", "simple", "classic", "bright", "tiny", "dreamy",
    "easy", "weekend", "summer", "autumn", "winter", "spring", "best", "little", "perfect",
]  # fmt: skip
NOUNS = ["ideas", "inspiration", "guide", "look", "project", "corner", "moodboard", "finds"]
BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z: seeded graphs start here
YEAR_MS = 365 * 24 * 3600 * 1000

USERS = """
UNWIND $rows AS r
CREATE (:User {id: r.id, handle: r.handle, displayName: r.displayName, createdAt: r.createdAt,
               lang: r.lang})
"""
TOPIC_ROWS = """
UNWIND $rows AS r
MERGE (t:Topic {name: r.name})
ON CREATE SET t.id = r.id
"""
BOARDS = """
UNWIND $rows AS r
MATCH (u:User {id: r.owner})
CREATE (u)-[:OWNS]->(b:Board {id: r.id, name: r.name, description: r.description,
                              privacy: r.privacy, createdAt: r.createdAt})
WITH b, r
UNWIND r.topics AS name
MATCH (t:Topic {name: name})
CREATE (b)-[:ABOUT]->(t)
"""
PINS = """
UNWIND $rows AS r
MATCH (u:User {id: r.creator})
CREATE (u)-[:CREATED]->(p:Pin {id: r.id, creatorId: r.creator, title: r.title,
                               description: r.description,
                               createdAt: r.createdAt, lang: r.lang})
SET p += r.image
WITH p, r
UNWIND r.topics AS name
MATCH (t:Topic {name: name})
CREATE (p)-[:TAGGED]->(t)
"""
SAVES = """
UNWIND $rows AS r
MATCH (p:Pin {id: r.pin})
MATCH (b:Board {id: r.board})
CREATE (p)-[:SAVED_TO {at: r.at, by: r.by}]->(b)
"""
FOLLOW_ROWS = {
    label: f"""
UNWIND $rows AS r
MATCH (a:User {{id: r.source}})
MATCH (x:{label} {{id: r.target}})
CREATE (a)-[:FOLLOWS {{at: r.at}}]->(x)
"""
    for label in ("User", "Board", "Topic")
}
USER_COUNT = "MATCH (u:User) RETURN count(u) AS n"


@dataclass(frozen=True)
class Sizes:
    users: int
    pins: int
    saves: int  # total SAVED_TO edges, the creation saves included
    follows_per_user: int = 8

    @classmethod
    def small(cls) -> Sizes:
        return cls(users=200, pins=2_000, saves=8_000)


@dataclass
class SeedGraph:
    users: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    boards: list[dict[str, Any]]
    pins: list[dict[str, Any]]
    saves: list[dict[str, Any]]
    follows: dict[str, list[dict[str, Any]]]

    def phases(self) -> list[tuple[str, str, list[dict[str, Any]]]]:
        return [
            ("users", USERS, self.users),
            ("topics", TOPIC_ROWS, self.topics),
            ("boards", BOARDS, self.boards),
            ("pins", PINS, self.pins),
            ("saves", SAVES, self.saves),
            *((f"follows of {label.lower()}s", FOLLOW_ROWS[label], rows)
              for label, rows in self.follows.items()),
        ]  # fmt: skip


class _Ids:
    """Deterministic ULIDs: the time part from the entity's timestamp, the rest from the RNG."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def at(self, ms: int) -> str:
        return str(ULID.from_bytes(int(ms).to_bytes(6, "big") + self.rng.bytes(10)))


def _zipf_weights(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()


def generate(sizes: Sizes, seed: int = 7) -> SeedGraph:
    if sizes.users < 1 or sizes.pins < 1 or sizes.saves < sizes.pins:
        raise ValueError("need at least one user and one pin, and saves >= pins")
    rng = np.random.default_rng(seed)
    ids = _Ids(rng)
    topic_rows = [{"id": ids.at(BASE_MS), "name": name} for name in TOPICS]
    topic_pop = _zipf_weights(len(TOPICS), 0.8, rng)

    users: list[dict[str, Any]] = []
    interests = []
    for i in range(sizes.users):
        created = BASE_MS + int(rng.integers(0, YEAR_MS // 4))
        handle = "demo" if i == 0 else f"user{i:07d}"
        users.append({
            "id": ids.at(created), "handle": handle, "displayName": handle.title(),
            "createdAt": created, "lang": LANGS[int(rng.integers(0, len(LANGS)))],
        })  # fmt: skip
        interests.append(rng.choice(len(TOPICS), size=3, replace=False, p=topic_pop))
    activity = _zipf_weights(sizes.users, 1.0, rng)

    boards: list[dict[str, Any]] = []
    board_owner: list[int] = []
    board_topics: list[list[str]] = []
    user_boards: list[list[int]] = []
    for u, user in enumerate(users):
        owned = []
        for _ in range(1 + min(int(rng.geometric(0.4)), 12)):
            topics = sorted({TOPICS[t] for t in rng.choice(interests[u], size=2)})
            created = user["createdAt"] + int(rng.integers(0, YEAR_MS // 8))
            owned.append(len(boards))
            board_owner.append(u)
            board_topics.append(topics)
            boards.append({
                "id": ids.at(created), "owner": user["id"],
                "name": f"{WORDS[int(rng.integers(0, len(WORDS)))].title()} {topics[0]}",
                "description": f"{NOUNS[int(rng.integers(0, len(NOUNS)))]}: {', '.join(topics)}",
                "privacy": "SECRET" if rng.random() < 0.1 else "PUBLIC",
                "createdAt": created, "topics": topics,
            })  # fmt: skip
        user_boards.append(owned)
    board_start = np.array([owned[0] for owned in user_boards], dtype=np.int64)
    board_count = np.array([len(owned) for owned in user_boards], dtype=np.int64)

    creators = rng.choice(sizes.users, size=sizes.pins, p=activity)
    home = board_start[creators] + rng.integers(0, board_count[creators])
    pins: list[dict[str, Any]] = []
    saves: list[dict[str, Any]] = []
    for p in range(sizes.pins):
        b = int(home[p])
        created = boards[b]["createdAt"] + int(rng.integers(0, YEAR_MS // 2))
        topic = board_topics[b][0]
        title = (f"{WORDS[int(rng.integers(0, len(WORDS)))].title()} {topic} "
                 f"{NOUNS[int(rng.integers(0, len(NOUNS)))]} {p}")  # fmt: skip
        user = users[int(creators[p])]
        pins.append({
            "id": ids.at(created), "creator": user["id"], "title": title,
            "description": f"{title.lower()}, saved for {', '.join(board_topics[b])}",
            "createdAt": created, "lang": user["lang"], "topics": board_topics[b],
            "image": {},  # imageKey, width, height, dominantColor when images are attached
        })  # fmt: skip
        saves.append({"pin": pins[-1]["id"], "board": boards[b]["id"], "at": created,
                      "by": user["id"]})  # fmt: skip

    extra = sizes.saves - sizes.pins
    if extra:
        popularity = _zipf_weights(sizes.pins, 0.9, rng)
        # Draw more than needed: repeats of a (pin, board) pair are dropped.
        draw = int(extra * 1.3) + 16
        pin_pick = rng.choice(sizes.pins, size=draw, p=popularity)
        savers = rng.choice(sizes.users, size=draw, p=activity)
        board_pick = board_start[savers] + rng.integers(0, board_count[savers])
        pairs = pin_pick.astype(np.int64) * len(boards) + board_pick
        pairs = np.concatenate([home.astype(np.int64) + np.arange(sizes.pins) * len(boards), pairs])
        _, first_seen = np.unique(pairs, return_index=True)
        fresh = np.sort(first_seen[first_seen >= sizes.pins])[:extra] - sizes.pins
        for k in fresh:
            pin, board, saver = int(pin_pick[k]), int(board_pick[k]), int(savers[k])
            at = max(pins[pin]["createdAt"], boards[board]["createdAt"]) + int(
                rng.integers(1, YEAR_MS // 4)
            )
            saves.append({"pin": pins[pin]["id"], "board": boards[board]["id"], "at": at,
                          "by": users[saver]["id"]})  # fmt: skip

    follows: dict[str, list[dict[str, Any]]] = {"User": [], "Board": [], "Topic": []}
    for u, user in enumerate(users):
        at = user["createdAt"] + int(rng.integers(0, YEAR_MS // 2))
        targets = set(rng.choice(sizes.users, size=sizes.follows_per_user, p=activity).tolist())
        for t in sorted(targets - {u}):
            follows["User"].append({"source": user["id"], "target": users[t]["id"], "at": at})
        for b in sorted(set(rng.integers(0, len(boards), size=2).tolist())):
            if boards[b]["privacy"] == "PUBLIC" and board_owner[b] != u:
                follows["Board"].append({"source": user["id"], "target": boards[b]["id"], "at": at})
        for t in interests[u][:2]:
            follows["Topic"].append(
                {"source": user["id"], "target": topic_rows[int(t)]["id"], "at": at}
            )
    return SeedGraph(users, topic_rows, boards, pins, saves, follows)


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def is_empty(backend: GraphBackend) -> bool:
    rows = await backend.write(USER_COUNT)
    return not rows or rows[0]["n"] == 0


async def load(
    backend: GraphBackend,
    graph: SeedGraph,
    *,
    batch: int = 5_000,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Write a generated graph in UNWIND batches; `progress(phase, done, total)` after each."""
    for phase, statement, rows in graph.phases():
        done = 0
        if progress:
            progress(phase, 0, len(rows))
        for chunk in _batches(rows, batch):
            await backend.write(statement, {"rows": chunk})
            done += len(chunk)
            if progress:
                progress(phase, done, len(rows))
