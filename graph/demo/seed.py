"""Deterministic Pinterest-like demo and benchmark graphs.

Shaped like real curation, so that recommendations have structure to find and can be judged
on it (bench/quality.py): users have a language and a few interests; boards are about one
of their owner's interests (one in ten is secret); saves mostly put pins of a board's topic
on it, with a controlled share of off-topic noise (`Shape`). Pin creation and saving follow
power laws (a few users are very active, a few pins very popular within their topic), so
board sizes and pin degrees are heavy-tailed as in Pixie's graph. The same seed always gives
the same graph, ids included.
"""

from __future__ import annotations

import functools
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
SAVES_PER_BOARD = 500
SECOND_TOPIC = 0.2  # the share of pins tagged with a second topic
BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z: seeded graphs start here
YEAR_MS = 365 * 24 * 3600 * 1000
END_MS = BASE_MS + YEAR_MS  # 2026-01-01: every seeded save is before it

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


@dataclass(frozen=True)
class Shape:
    """How curated the graph is.

    `noise`: the share of saves to topical boards that ignore the board's topic and pick any
    pin by its popularity raised to `viral`: popular pins attract off-topic saves more than
    in proportion, so the most popular pins land on boards of every topic.
    `catch_all`: the share of users who also keep one board about nothing in particular
    ("Things I love"), where every save is such a pick.
    `lang_loyalty`: the chance that a save is drawn among pins in the saver's language.
    `follow_affinity`: the chance that a followed user shares one of the follower's interests.
    """

    noise: float = 0.1
    viral: float = 1.5
    catch_all: float = 0.1
    lang_loyalty: float = 0.8
    follow_affinity: float = 0.7

    def __post_init__(self) -> None:
        for name in ("noise", "catch_all", "lang_loyalty", "follow_affinity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a share, between 0 and 1")
        if self.viral < 0:
            raise ValueError("viral is an exponent, at least 0")


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


def _word(rng: np.random.Generator, words: list[str]) -> str:
    return words[int(rng.integers(0, len(words)))]


def generate(sizes: Sizes, seed: int = 7, shape: Shape | None = None) -> SeedGraph:
    """A graph shaped like real curation: users have a language and two to four interests;
    each board is about one of its owner's interests; pins are created on their creator's
    boards and tagged with the board's topic; saves mostly put pins of a board's topic on
    it (popular pins of the topic first: popularity is heavy-tailed within each topic), in
    the saver's language, with `shape.noise` off-topic saves; follows lean toward shared
    interests."""
    if sizes.users < 1 or sizes.pins < 1 or sizes.saves < sizes.pins:
        raise ValueError("need at least one user and one pin, and saves >= pins")
    shape = shape or Shape()
    rng = np.random.default_rng(seed)
    ids = _Ids(rng)
    topic_rows = [{"id": ids.at(BASE_MS), "name": name} for name in TOPICS]
    topic_pop = _zipf_weights(len(TOPICS), 0.8, rng)
    users, interests = _users(sizes, rng, ids, topic_pop)
    activity = _zipf_weights(sizes.users, 1.0, rng)
    expected_saves = activity * sizes.saves
    boards, board_topic, user_boards = _boards(users, interests, expected_saves, shape, rng, ids)
    pins, pin_topic, saves, home = _pins(sizes, users, interests, boards, board_topic,
                                         user_boards, activity, rng, ids)  # fmt: skip
    saves += _saves(sizes, shape, users, boards, board_topic, user_boards, pins, pin_topic,
                    home, activity, rng)  # fmt: skip
    follows = _follows(sizes, shape, users, interests, boards, board_topic, topic_rows,
                       activity, rng)  # fmt: skip
    return SeedGraph(users, topic_rows, boards, pins, saves, follows)


def _users(
    sizes: Sizes, rng: np.random.Generator, ids: _Ids, topic_pop: np.ndarray
) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    users: list[dict[str, Any]] = []
    interests = []
    for i in range(sizes.users):
        created = BASE_MS + int(rng.integers(0, YEAR_MS // 4))
        handle = "demo" if i == 0 else f"user{i:07d}"
        users.append({
            "id": ids.at(created), "handle": handle, "displayName": handle.title(),
            "createdAt": created, "lang": _word(rng, LANGS),
        })  # fmt: skip
        count = int(rng.integers(2, 5))
        interests.append(rng.choice(len(TOPICS), size=count, replace=False, p=topic_pop))
    return users, interests


def _boards(
    users: list[dict[str, Any]],
    interests: list[np.ndarray],
    expected_saves: np.ndarray,
    shape: Shape,
    rng: np.random.Generator,
    ids: _Ids,
) -> tuple[list[dict[str, Any]], np.ndarray, list[np.ndarray]]:
    """Boards in user order; `board_topic[b]` is a topic index, -1 for a catch-all board.
    `user_boards[u]` lists u's boards, catch-all last. Users who save a lot have more boards
    (one more per `SAVES_PER_BOARD` saves), as on Pinterest."""
    boards: list[dict[str, Any]] = []
    board_topic: list[int] = []
    user_boards: list[np.ndarray] = []
    for u, user in enumerate(users):
        mine = interests[u]
        count = 1 + min(int(rng.geometric(0.4)), 12) + int(expected_saves[u] // SAVES_PER_BOARD)
        # Every interest gets a board before any gets a second one.
        chosen = [int(mine[k % len(mine)]) for k in range(count)]
        if rng.random() < shape.catch_all:
            chosen.append(-1)
        owned = []
        for topic in chosen:
            created = user["createdAt"] + int(rng.integers(0, YEAR_MS // 8))
            name = TOPICS[topic] if topic >= 0 else ""
            owned.append(len(boards))
            board_topic.append(topic)
            boards.append({
                "id": ids.at(created), "owner": user["id"],
                "name": f"{_word(rng, WORDS).title()} {name}" if name else "Things I love",
                "description": f"{_word(rng, NOUNS)}: {name}" if name else "a bit of everything",
                "privacy": "SECRET" if rng.random() < 0.1 else "PUBLIC",
                "createdAt": created, "topics": [name] if name else [],
            })  # fmt: skip
        user_boards.append(np.array(owned, dtype=np.int64))
    return boards, np.array(board_topic, dtype=np.int64), user_boards


def _pins(
    sizes: Sizes,
    users: list[dict[str, Any]],
    interests: list[np.ndarray],
    boards: list[dict[str, Any]],
    board_topic: np.ndarray,
    user_boards: list[np.ndarray],
    activity: np.ndarray,
    rng: np.random.Generator,
    ids: _Ids,
) -> tuple[list[dict[str, Any]], np.ndarray, list[dict[str, Any]], np.ndarray]:
    """Pins created on one of their creator's topical boards, each saved there, tagged with
    the board's topic (the pin's planted topic) and, a `SECOND_TOPIC` share, with another
    interest of its creator too."""
    creators = rng.choice(sizes.users, size=sizes.pins, p=activity)
    pins: list[dict[str, Any]] = []
    saves: list[dict[str, Any]] = []
    home = np.empty(sizes.pins, dtype=np.int64)
    topical = [owned[board_topic[owned] >= 0] for owned in user_boards]
    for p in range(sizes.pins):
        mine = topical[int(creators[p])]
        b = int(mine[int(rng.integers(0, len(mine)))])
        home[p] = b
        topic = TOPICS[int(board_topic[b])]
        others = [TOPICS[int(t)] for t in interests[int(creators[p])] if TOPICS[int(t)] != topic]
        tags = [topic]
        if others and rng.random() < SECOND_TOPIC:
            tags.append(others[int(rng.integers(0, len(others)))])
        created = boards[b]["createdAt"] + int(rng.integers(0, YEAR_MS // 2))
        title = f"{_word(rng, WORDS).title()} {topic} {_word(rng, NOUNS)} {p}"
        user = users[int(creators[p])]
        pins.append({
            "id": ids.at(created), "creator": user["id"], "title": title,
            "description": f"{title.lower()}, saved for {topic}",
            "createdAt": created, "lang": user["lang"], "topics": tags,
            "image": {},  # imageKey, width, height, dominantColor when images are attached
        })  # fmt: skip
        saves.append({"pin": pins[-1]["id"], "board": boards[b]["id"], "at": created,
                      "by": user["id"]})  # fmt: skip
    return pins, board_topic[home], saves, home


def _saves(
    sizes: Sizes,
    shape: Shape,
    users: list[dict[str, Any]],
    boards: list[dict[str, Any]],
    board_topic: np.ndarray,
    user_boards: list[np.ndarray],
    pins: list[dict[str, Any]],
    pin_topic: np.ndarray,
    home: np.ndarray,
    activity: np.ndarray,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Saves beyond the creation saves: a saver (by activity) picks one of their boards, then
    a pin of its topic by popularity within the topic, or with `noise` any pin by popularity
    ** `viral`; with `lang_loyalty`, among pins in the saver's language only."""
    extra = sizes.saves - sizes.pins
    if not extra:
        return []
    langs = sorted(set(LANGS))
    user_lang = np.array([langs.index(user["lang"]) for user in users], dtype=np.int64)
    pin_lang = np.array([langs.index(pin["lang"]) for pin in pins], dtype=np.int64)
    within = np.empty(sizes.pins, dtype=np.float64)  # popularity inside the pin's topic
    for topic in np.unique(pin_topic):
        members = np.flatnonzero(pin_topic == topic)
        within[members] = _zipf_weights(len(members), 1.0, rng) * len(members)
    board_count = np.array([len(owned) for owned in user_boards], dtype=np.int64)
    board_start = np.array([owned[0] for owned in user_boards], dtype=np.int64)

    @functools.cache
    def pool(topic: int, lang: int) -> np.ndarray:
        """The pins of `topic` (-1: any) in `lang` (-1: any, or when none is in `lang`)."""
        wanted = np.ones(sizes.pins, dtype=bool)
        if topic >= 0 and (pin_topic == topic).any():  # else no pin has that topic yet
            wanted &= pin_topic == topic
        if lang >= 0 and (wanted & (pin_lang == lang)).any():
            wanted &= pin_lang == lang
        return np.flatnonzero(wanted)

    def draw_savers(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Savers, their boards and what they look for: (topic + 1, 0 for anything) x
        (language + 1, 0 for any), as one group key."""
        savers = rng.choice(sizes.users, size=count, p=activity)
        board = board_start[savers] + rng.integers(0, board_count[savers])
        topic = board_topic[board]
        off_topic = (topic < 0) | (rng.random(count) < shape.noise)
        loyal = rng.random(count) < shape.lang_loyalty
        lang = np.where(loyal, user_lang[savers], -1)
        return savers, board, (np.where(off_topic, -1, topic) + 1) * (len(langs) + 1) + lang + 1

    def draw_pins(key: np.ndarray) -> np.ndarray:
        pick = np.empty(len(key), dtype=np.int64)
        order = np.argsort(key, kind="stable")
        for wanted in np.split(order, np.flatnonzero(np.diff(key[order])) + 1):
            topic_code, lang_code = divmod(int(key[wanted[0]]), len(langs) + 1)
            candidates = pool(topic_code - 1, lang_code - 1)
            weights = within[candidates] ** (shape.viral if topic_code == 0 else 1.0)
            pick[wanted] = rng.choice(candidates, size=len(wanted), p=weights / weights.sum())
        return pick

    taken = home + np.arange(sizes.pins) * len(boards)  # (pin, board) pairs, as numbers
    chosen_pins, chosen_boards, chosen_savers = [], [], []
    missing = extra
    savers, board, key = draw_savers(0)
    tries = np.zeros(0, dtype=np.int64)
    for _ in range(60):
        # A save whose pin is already on the board draws its pin again, the same kind of pin
        # (so that repeats do not skew the kinds of saves); after five repeats, a new saver.
        short = missing - len(savers)
        if short > 0:
            more = draw_savers(int(short * 1.2) + 16)
            savers, board, key = (
                np.concatenate(pair) for pair in zip((savers, board, key), more, strict=True)
            )
            tries = np.concatenate([tries, np.zeros(len(more[0]), dtype=np.int64)])
        pick = draw_pins(key)
        pairs = pick * len(boards) + board
        _, first = np.unique(pairs, return_index=True)
        fresh = np.sort(first[~np.isin(pairs[first], taken, kind="sort")])[:missing]
        taken = np.concatenate([taken, pairs[fresh]])
        chosen_pins.append(pick[fresh])
        chosen_boards.append(board[fresh])
        chosen_savers.append(savers[fresh])
        missing -= len(fresh)
        if not missing:
            break
        again = np.ones(len(savers), dtype=bool)
        again[fresh] = False
        tries += 1
        again &= tries < 5
        savers, board, key, tries = savers[again], board[again], key[again], tries[again]
    if missing:
        raise ValueError(f"could not place {extra:,} distinct saves: ask for fewer saves per pin")
    pin_at = np.array([pin["createdAt"] for pin in pins], dtype=np.int64)
    board_at = np.array([board["createdAt"] for board in boards], dtype=np.int64)
    picked, into, by = (np.concatenate(chosen) for chosen in (chosen_pins, chosen_boards,
                                                             chosen_savers))  # fmt: skip
    # Saving grows over the seeded year, as on a growing service: more saves in its last
    # weeks than in its first (1 - u**1.5 of the way from the later creation to the end),
    # so that trending has recent activity to rank.
    start = np.maximum(pin_at[picked], board_at[into]) + 1
    at = start + ((END_MS - start) * (1.0 - rng.random(len(picked)) ** 1.5)).astype(np.int64)
    return [
        {"pin": pins[p]["id"], "board": boards[b]["id"], "at": t, "by": users[s]["id"]}
        for p, b, t, s in zip(picked.tolist(), into.tolist(), at.tolist(), by.tolist(),
                              strict=True)
    ]  # fmt: skip


def _follows(
    sizes: Sizes,
    shape: Shape,
    users: list[dict[str, Any]],
    interests: list[np.ndarray],
    boards: list[dict[str, Any]],
    board_topic: np.ndarray,
    topic_rows: list[dict[str, Any]],
    activity: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, list[dict[str, Any]]]:
    """Users follow active users, most of them sharing an interest; two public boards about
    their interests; their two main interests' topics."""

    def weighted(pool: np.ndarray, cumulative: np.ndarray) -> int:
        return int(pool[np.searchsorted(cumulative, rng.random() * cumulative[-1], "right")])

    everyone = np.arange(sizes.users)
    by_activity = np.cumsum(activity)
    fans = [np.array([u for u in everyone if t in interests[u]], dtype=np.int64)
            for t in range(len(TOPICS))]  # fmt: skip
    fan_activity = [np.cumsum(activity[pool]) for pool in fans]
    public = np.array([board["privacy"] == "PUBLIC" for board in boards])
    topic_boards = [np.flatnonzero(public & (board_topic == t)) for t in range(len(TOPICS))]
    follows: dict[str, list[dict[str, Any]]] = {"User": [], "Board": [], "Topic": []}
    for u, user in enumerate(users):
        at = user["createdAt"] + int(rng.integers(0, YEAR_MS // 2))
        targets: set[int] = set()
        shared = rng.random(sizes.follows_per_user) < shape.follow_affinity
        for topic, affine in zip(rng.choice(interests[u], size=len(shared)), shared, strict=True):
            if affine and len(fans[topic]) > 1:
                targets.add(weighted(fans[topic], fan_activity[topic]))
            else:
                targets.add(weighted(everyone, by_activity))
        for t in sorted(targets - {u}):
            follows["User"].append({"source": user["id"], "target": users[t]["id"], "at": at})
        liked = np.concatenate([topic_boards[t] for t in interests[u]])
        for b in sorted(set(rng.choice(liked, size=min(2, len(liked))).tolist())):
            if boards[b]["owner"] != user["id"]:
                follows["Board"].append({"source": user["id"], "target": boards[b]["id"], "at": at})
        for t in interests[u][:2]:
            follows["Topic"].append(
                {"source": user["id"], "target": topic_rows[int(t)]["id"], "at": at}
            )
    return follows


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
