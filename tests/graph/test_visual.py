"""Pins' image embeddings and the nearest-pin search over them, on every graph backend.

The contract suite shares one graph, so these tests build their vectors from random
directions of their own (fixed seeds): any two such directions, and any direction and another
test's vectors, are nearly orthogonal (cosine distance about 1 +- 0.1), far from the distances
under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from domain.errors import BadInput
from domain.ids import new_id
from graph.model import Board, Pin, Privacy, User, now_ms
from graph.repos import Repositories
from graph.repos.pins import NewPin
from graph.repos.visual import EMBEDDING_DIMENSIONS
from tests.utils.factories import make_board, make_pin, make_user

# Pins in bulk, saved to a board of their creator's (the shape of PinRepo's CREATE).
BULK_PINS = """
MATCH (u:User {id: $owner})-[:OWNS]->(b:Board {id: $board})
UNWIND $pins AS row
CREATE (p:Pin {id: row.id, creatorId: u.id, title: 'look-alike', createdAt: row.at, lang: 'en'})
WITH u, b, p
CREATE (u)-[:CREATED]->(p)
CREATE (p)-[:SAVED_TO {at: p.createdAt, by: u.id}]->(b)
"""
RECALL_PINS = 3000
RECALL_QUERIES = 20
CHUNK = 500


def directions(seed: int, count: int) -> np.ndarray:
    """`count` orthonormal directions in embedding space, random but fixed by `seed`."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((EMBEDDING_DIMENSIONS, count)))
    return q.T


def at_cosine(axis: np.ndarray, side: np.ndarray, cosine: float) -> np.ndarray:
    """The unit vector at `cosine` to `axis`, turned towards `side` (orthogonal to it)."""
    return cosine * axis + np.sqrt(1 - cosine**2) * side


async def public_board(repos: Repositories) -> tuple[User, Board]:
    owner = await make_user(repos)
    return owner, await make_board(repos, owner)


async def bulk_pins(repos: Repositories, owner: User, board: Board, count: int) -> list[str]:
    ids = [new_id() for _ in range(count)]
    at = now_ms()
    await repos.backend.write(
        BULK_PINS,
        {"owner": owner.id, "board": board.id, "pins": [{"id": i, "at": at} for i in ids]},
    )
    return ids


async def indexed_pins(repos: Repositories, vectors: list[np.ndarray]) -> list[Pin]:
    """A pin on a public board for each vector, in order."""
    owner, board = await public_board(repos)
    pins = [await make_pin(repos, owner, board) for _ in vectors]
    items = [(pin.id, vector) for pin, vector in zip(pins, vectors, strict=True)]
    assert await repos.visual.set_embeddings(items) == len(pins)
    return pins


def own(found: list[tuple[str, float]], pins: list[Pin]) -> list[tuple[str, float]]:
    ids = {pin.id for pin in pins}
    return [(pin_id, distance) for pin_id, distance in found if pin_id in ids]


async def test_embeddings_round_trip_to_seven_decimals(repos: Repositories) -> None:
    vector = directions(1, 1)[0].astype(np.float32)
    [pin] = await indexed_pins(repos, [vector])
    stored = await repos.visual.embedding_of(pin.id)
    assert stored is not None
    np.testing.assert_allclose(np.asarray(stored), vector, rtol=0, atol=6e-8)
    owner, board = await public_board(repos)
    plain = await make_pin(repos, owner, board)
    assert await repos.visual.embedding_of(plain.id) is None
    assert await repos.visual.embedding_of("01NOSUCHPIN00000000000000") is None


async def test_set_embeddings_skips_unknown_pins_and_keeps_the_last_of_repeats(
    repos: Repositories,
) -> None:
    first, second = directions(2, 2)
    owner, board = await public_board(repos)
    pin = await make_pin(repos, owner, board)
    items = [(pin.id, first.tolist()), ("01NOSUCHPIN00000000000000", first), (pin.id, second)]
    assert await repos.visual.set_embeddings(items) == 1
    assert np.allclose(await repos.visual.embedding_of(pin.id) or [], second, atol=1e-7)
    assert await repos.visual.set_embeddings([]) == 0


@pytest.mark.parametrize(
    "vector",
    [[0.5] * (EMBEDDING_DIMENSIONS - 1), [0.0] * EMBEDDING_DIMENSIONS,
     [float("nan")] + [0.5] * (EMBEDDING_DIMENSIONS - 1), np.ones((2, EMBEDDING_DIMENSIONS))],
    ids=["short", "zero", "nan", "matrix"],
)  # fmt: skip
async def test_malformed_embeddings_are_refused(repos: Repositories, vector: Any) -> None:
    owner, board = await public_board(repos)
    pin = await make_pin(repos, owner, board)
    with pytest.raises(ValueError, match="embedding"):
        await repos.visual.set_embeddings([(pin.id, vector)])
    with pytest.raises(ValueError, match="embedding"):
        await repos.visual.nearest(vector, 5)
    assert await repos.visual.embedding_of(pin.id) is None


async def test_nearest_orders_by_cosine_distance_then_id(repos: Repositories) -> None:
    axis, near, tied, far = directions(3, 4)
    tie = at_cosine(axis, tied, 0.8)  # the same vector twice: exactly the same distance
    pins = await indexed_pins(repos, [axis, at_cosine(axis, near, 0.9), tie, tie,
                                      at_cosine(axis, far, 0.5)])  # fmt: skip
    found = await repos.visual.nearest(axis, 5)
    assert found == own(found, pins), "another test's pin came nearer"
    in_order = [pins[0].id, pins[1].id, *sorted([pins[2].id, pins[3].id]), pins[4].id]
    assert [pin_id for pin_id, _ in found] == in_order
    assert [distance for _, distance in found] == pytest.approx([0, 0.1, 0.2, 0.2, 0.5], abs=1e-5)
    # A pin's own embedding finds the pin first, at distance 0.
    own_vector = await repos.visual.embedding_of(pins[1].id)
    assert own_vector is not None
    nearest_id, distance = (await repos.visual.nearest(own_vector, 1))[0]
    assert nearest_id == pins[1].id
    assert distance == pytest.approx(0, abs=1e-5)


async def test_a_pin_only_on_secret_boards_never_comes_out(repos: Repositories) -> None:
    axis, side = directions(5, 2)
    owner = await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    hidden = await make_pin(repos, owner, secret)
    assert await repos.visual.set_embeddings([(hidden.id, axis)]) == 1
    [public] = await indexed_pins(repos, [at_cosine(axis, side, 0.5)])
    found = await repos.visual.nearest(axis, 2)
    assert found[0][0] == public.id
    assert hidden.id not in dict(found)
    board = await make_board(repos, owner)
    await repos.pins.save(owner.id, hidden.id, board.id)
    assert (await repos.visual.nearest(axis, 1))[0][0] == hidden.id
    await repos.pins.unsave(owner.id, hidden.id, board.id)
    assert hidden.id not in dict(await repos.visual.nearest(axis, 2))


async def test_nearest_searches_wider_past_many_hidden_pins(repos: Repositories) -> None:
    """More hidden pins lie nearer than the first search asks the index for (on FalkorDB:
    Neo4j's first search, 400 wide, reaches past them)."""
    axis, *sides = directions(6, 122)
    owner = await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    hidden = await bulk_pins(repos, owner, secret, 120)
    near = [
        (pin_id, at_cosine(axis, side, 0.95))
        for pin_id, side in zip(hidden, sides[:-1], strict=True)
    ]
    assert await repos.visual.set_embeddings(near) == 120
    [public] = await indexed_pins(repos, [at_cosine(axis, sides[-1], 0.7)])
    assert (await repos.visual.nearest(axis, 1))[0][0] == public.id


async def test_exclude_leaves_one_pin_out(repos: Repositories) -> None:
    axis, side = directions(7, 2)
    pins = await indexed_pins(repos, [axis, at_cosine(axis, side, 0.9)])
    found = await repos.visual.nearest(axis, 1, exclude=pins[0].id)
    assert [pin_id for pin_id, _ in found] == [pins[1].id]


async def test_a_deleted_pin_leaves_the_index(repos: Repositories) -> None:
    axis, side = directions(8, 2)
    pins = await indexed_pins(repos, [axis, at_cosine(axis, side, 0.9)])
    await repos.pins.take_down(pins[0].id)
    assert [pin_id for pin_id, _ in await repos.visual.nearest(axis, 1)] == [pins[1].id]
    assert await repos.visual.set_embeddings([(pins[0].id, axis)]) == 0
    assert await repos.visual.embedding_of(pins[0].id) is None


async def test_first_is_a_page_size(repos: Repositories) -> None:
    axis = directions(9, 1)[0]
    assert await repos.visual.nearest(axis, 0) == []
    with pytest.raises(BadInput):
        await repos.visual.nearest(axis, 101)


async def pin_with_image(repos: Repositories, owner: User, board: Board) -> Pin:
    new = NewPin(title="lamp", board_id=board.id, image_key=f"img-{new_id().lower()}")
    return await repos.pins.create(owner.id, new)


async def every_pin_to_index(repos: Repositories, *, everything: bool) -> list[tuple[str, str]]:
    """Page through `pins_to_index` three pins at a time, checking the pages follow on."""
    rows: list[tuple[str, str]] = []
    after: str | None = None
    while page := await repos.visual.pins_to_index(after, 3, everything=everything):
        assert len(page) <= 3
        rows += page
        after = page[-1][0]
    assert [pin_id for pin_id, _ in rows] == sorted({pin_id for pin_id, _ in rows})
    return rows


async def test_pins_to_index_are_pins_with_an_image_and_no_embedding(repos: Repositories) -> None:
    before = await repos.visual.count_to_index()
    before_all = await repos.visual.count_to_index(everything=True)
    owner, board = await public_board(repos)
    with_images = [await pin_with_image(repos, owner, board) for _ in range(7)]
    without_image = await make_pin(repos, owner, board)
    indexed = with_images[0]
    await repos.visual.set_embeddings([(indexed.id, directions(10, 1)[0])])

    waiting = await every_pin_to_index(repos, everything=False)
    assert await repos.visual.count_to_index() == len(waiting) == before + 6
    assert {(pin.id, pin.image_key) for pin in with_images[1:]} <= set(waiting)
    assert indexed.id not in dict(waiting)
    assert without_image.id not in dict(waiting)

    everything = await every_pin_to_index(repos, everything=True)
    assert await repos.visual.count_to_index(everything=True) == len(everything)
    assert len(everything) == before_all + 7
    assert (indexed.id, indexed.image_key) in everything


async def test_recall_at_10_against_exact_cosine_search(repos: Repositories) -> None:
    """3,000 random unit vectors, the hardest case for an HNSW index: neighbours are barely
    nearer than the rest. It fails with FalkorDB's default efRuntime (10), and with 100.

    Every vector is (axis + random part) / sqrt(2), the random part orthogonal to an axis of
    this test's own: distances between them are half those between their random parts, in the
    same order, while every other test's vectors stay about 1 away from all of them."""
    rng = np.random.default_rng(2024)
    axis = directions(11, 1)[0]
    parts = rng.standard_normal((RECALL_PINS + RECALL_QUERIES, EMBEDDING_DIMENSIONS))
    parts -= np.outer(parts @ axis, axis)
    parts /= np.linalg.norm(parts, axis=1, keepdims=True)
    vectors = ((parts + axis) / np.sqrt(2)).astype(np.float32)
    stored, queries = vectors[:RECALL_PINS], vectors[RECALL_PINS:]

    owner, board = await public_board(repos)
    ids = await bulk_pins(repos, owner, board, RECALL_PINS)
    for start in range(0, RECALL_PINS, CHUNK):
        chunk = list(zip(ids[start : start + CHUNK], stored[start : start + CHUNK], strict=True))
        assert await repos.visual.set_embeddings(chunk) == len(chunk)

    hits = 0
    for query in queries:
        exact = {ids[i] for i in np.argsort(-(stored @ query))[:10]}
        found = await repos.visual.nearest(query, 10)
        hits += len(exact & {pin_id for pin_id, _ in found})
    assert hits / (10 * RECALL_QUERIES) >= 0.95
