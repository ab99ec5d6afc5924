from collections import Counter

import pytest

from graph.demo.seed import TOPICS, SeedGraph, Shape, Sizes, generate


def test_same_seed_same_graph() -> None:
    a, b = generate(Sizes.small(), seed=3), generate(Sizes.small(), seed=3)
    assert a.users == b.users
    assert a.saves == b.saves
    assert generate(Sizes.small(), seed=4).saves != a.saves


def test_sizes_and_integrity() -> None:
    graph = generate(Sizes(users=300, pins=3_000, saves=12_000))
    assert len(graph.users) == 300
    assert len(graph.pins) == 3_000
    assert len(graph.saves) == 12_000
    pairs = [(s["pin"], s["board"]) for s in graph.saves]
    assert len(set(pairs)) == len(pairs), "at most one save per pin and board"
    handles = [u["handle"] for u in graph.users]
    assert len(set(handles)) == len(handles)
    assert handles[0] == "demo"
    board_ids = {b["id"] for b in graph.boards}
    assert {s["board"] for s in graph.saves} <= board_ids


def test_degrees_are_heavy_tailed() -> None:
    graph = generate(Sizes(users=500, pins=5_000, saves=30_000))
    pin_degree = sorted(Counter(s["pin"] for s in graph.saves).values(), reverse=True)
    board_size = sorted(Counter(s["board"] for s in graph.saves).values(), reverse=True)
    # The top 1% of pins and boards hold far more than 1% of the saves.
    assert sum(pin_degree[: len(pin_degree) // 100]) > 0.08 * len(graph.saves)
    assert sum(board_size[: len(board_size) // 100]) > 0.08 * len(graph.saves)


def test_refuses_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="saves >= pins"):
        generate(Sizes(users=10, pins=100, saves=50))


def _on_topic_share(graph: SeedGraph) -> float:
    """The share of saves to topical boards whose pin has the board's topic."""
    board_topics = {b["id"]: b["topics"] for b in graph.boards}
    pin_topic = {p["id"]: p["topics"][0] for p in graph.pins}
    topical = [s for s in graph.saves if board_topics[s["board"]]]
    return sum(pin_topic[s["pin"]] in board_topics[s["board"]] for s in topical) / len(topical)


def test_saves_keep_to_the_boards_topic_with_the_asked_noise() -> None:
    sizes = Sizes(users=400, pins=4_000, saves=20_000)
    clean = generate(sizes, shape=Shape(noise=0.0))
    assert _on_topic_share(clean) == 1.0
    default = _on_topic_share(generate(sizes))
    noisy = _on_topic_share(generate(sizes, shape=Shape(noise=0.5)))
    # Off-topic picks land on the board's topic now and then (1 in 40 topics, more for big
    # ones); on-topic picks run out of new pins on the busiest boards and are drawn again
    # as any kind of save. So the on-topic share is near 1 - noise, on either side.
    assert 0.85 <= default <= 0.95
    assert 0.5 <= noisy <= 0.65
    for board in clean.boards:
        assert len(board["topics"]) <= 1
        assert set(board["topics"]) <= set(TOPICS)
    seconds = sum(len(pin["topics"]) == 2 for pin in clean.pins) / len(clean.pins)
    assert 0.1 < seconds < 0.3  # one pin in five also has another interest of its creator
    assert all(1 <= len(pin["topics"]) <= 2 for pin in clean.pins)


def test_popular_pins_are_popular_within_their_topic() -> None:
    graph = generate(Sizes(users=500, pins=5_000, saves=30_000))
    pin_topic = {p["id"]: p["topics"][0] for p in graph.pins}
    biggest = Counter(pin_topic.values()).most_common(1)[0][0]
    degrees = sorted(
        (n for pin, n in Counter(s["pin"] for s in graph.saves).items()
         if pin_topic[pin] == biggest),
        reverse=True,
    )  # fmt: skip
    head = degrees[: max(1, len(degrees) // 20)]
    assert sum(head) > 0.25 * sum(degrees)  # the top 5% of the topic's pins


def test_languages_are_a_users_own() -> None:
    graph = generate(Sizes(users=400, pins=4_000, saves=20_000))
    lang = {u["id"]: u["lang"] for u in graph.users}
    assert all(pin["lang"] == lang[pin["creator"]] for pin in graph.pins)
    pin_lang = {p["id"]: p["lang"] for p in graph.pins}
    owner = {b["id"]: b["owner"] for b in graph.boards}
    assert all(owner[s["board"]] == s["by"] for s in graph.saves)  # users save to their boards
    same = sum(pin_lang[s["pin"]] == lang[s["by"]] for s in graph.saves) / len(graph.saves)
    assert same >= 0.8  # 80% of saves are drawn in the saver's language, others by chance


def test_follows_lean_toward_shared_interests() -> None:
    graph = generate(Sizes(users=400, pins=4_000, saves=20_000))
    interests: dict[str, set[str]] = {}
    for board in graph.boards:
        interests.setdefault(board["owner"], set()).update(board["topics"])
    follows = graph.follows["User"]
    shared = sum(bool(interests[f["source"]] & interests[f["target"]]) for f in follows)
    users = [u["id"] for u in graph.users]
    pairs = [(a, b) for a in users[:100] for b in users[100:200]]
    chance = sum(bool(interests[a] & interests[b]) for a, b in pairs) / len(pairs)
    assert shared / len(follows) > chance + 0.2


def test_refuses_a_shape_out_of_range() -> None:
    with pytest.raises(ValueError, match="noise is a share"):
        Shape(noise=1.5)
