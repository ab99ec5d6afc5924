"""Visual search in the graph: pins' image embeddings, their vector index, nearest pins.

`Pin.embedding` holds an image's features (EMBEDDING_DIMENSIONS float32, L2-normalised, from
`visual/`), indexed for cosine similarity by migration 0007. Both stores search an HNSW graph,
but they report different scores: FalkorDB yields the cosine distance `1 - cos`, Neo4j the
similarity `(1 + cos) / 2`. `VisualRepo.nearest` turns both into the cosine distance.

Results are pins visible to anonymous viewers only: a pin saved only to secret boards is
still in the index, but never comes out of a search, whoever asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from graph.backends.base import Dialect, GraphBackend
from graph.model import page_size

EMBEDDING_DIMENSIONS = 1280

# As `visual/` computes them (numpy arrays) or as plain floats.
Vector = Sequence[float] | npt.NDArray[np.floating[Any]]

# FalkorDB stores a vector only through vecf32(); Neo4j's procedure stores a LIST<FLOAT> as
# float32 too, half the size of a plain SET. A pin deleted meanwhile matches nothing.
SET_EMBEDDINGS = {
    Dialect.NEO4J: """
UNWIND $items AS item
MATCH (p:Pin {id: item.id})
CALL db.create.setNodeVectorProperty(p, 'embedding', item.vector)
RETURN count(p) AS n
""",
    Dialect.FALKORDB: """
UNWIND $items AS item
MATCH (p:Pin {id: item.id})
SET p.embedding = vecf32(item.vector)
RETURN count(p) AS n
""",
}
EMBEDDING_OF = """
MATCH (p:Pin {id: $id})
RETURN p.embedding AS embedding
"""
# The index's nearest pins as (id, cosine distance, visible), hidden ones included, so that
# `nearest` knows whether the index ran out. Visible: saved to a public board (the anonymous
# rule of cypher.visible_pins, checked here on the node in hand: a second statement looking
# the ids up again cost FalkorDB 15 ms for 120 candidates, this 4 ms).
_PUBLIC_FLAG = """
WITH node AS p, score
OPTIONAL MATCH (p)-[:SAVED_TO]->(b:Board)
WHERE b.privacy = 'PUBLIC'
WITH p, score, count(b) AS publicBoards
"""
CANDIDATES = {
    Dialect.NEO4J: """
CALL db.index.vector.queryNodes('pin_embedding', $k, $vector) YIELD node, score
"""
    + _PUBLIC_FLAG
    + """RETURN p.id AS id, 2 * (1 - score) AS distance, publicBoards > 0 AS visible
ORDER BY distance, id
""",
    Dialect.FALKORDB: """
CALL db.idx.vector.queryNodes('Pin', 'embedding', $k, vecf32($vector)) YIELD node, score
"""
    + _PUBLIC_FLAG
    + """RETURN p.id AS id, score AS distance, publicBoards > 0 AS visible
ORDER BY distance, id
""",
}
# `imageKey >= ''` holds for every key, as IS NOT NULL would, and lets FalkorDB use the
# imageKey index (migration 0005), where IS NOT NULL plans a scan of every pin.
_TO_INDEX = """
MATCH (p:Pin)
WHERE p.imageKey >= '' AND ($everything OR p.embedding IS NULL)
"""
PINS_TO_INDEX = (
    _TO_INDEX
    + """AND p.id > $after
RETURN p.id AS id, p.imageKey AS imageKey
ORDER BY id
LIMIT $limit
"""
)
COUNT_TO_INDEX = _TO_INDEX + "RETURN count(p) AS n\n"

# Visibility is checked on the index's candidates, so the index is asked for more pins than
# wanted; when too few of them are visible while the index returned all it was asked for,
# the search runs again, wider, up to MAX_CANDIDATES.
CANDIDATES_PER_RESULT = 2
CANDIDATE_SLACK = 10  # room for `exclude` and a few hidden pins when few are wanted
WIDENING = 4
MAX_CANDIDATES = 1000
# How many candidates a search explores at least. FalkorDB's index has its own (efRuntime
# 400, migration 0007); Neo4j's HNSW (Lucene) explores as many as it is asked for, so it is
# asked for as many.
MIN_CANDIDATES = {Dialect.NEO4J: 400, Dialect.FALKORDB: 0}


class VisualRepo:
    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend

    async def set_embeddings(self, items: Sequence[tuple[str, Vector]]) -> int:
        """Store embeddings on existing pins in one statement; returns how many pins got one
        (a pin deleted meanwhile is skipped). The last embedding given for a pin wins."""
        latest = {pin_id: plain_vector(vector) for pin_id, vector in items}
        if not latest:
            return 0
        rows = await self.backend.write(
            SET_EMBEDDINGS[self.backend.dialect],
            {"items": [{"id": pin_id, "vector": vector} for pin_id, vector in latest.items()]},
        )
        return int(rows[0]["n"]) if rows else 0

    async def embedding_of(self, pin_id: str) -> list[float] | None:
        """The pin's embedding; None when the pin is unknown or not indexed yet."""
        rows = await self.backend.read(EMBEDDING_OF, {"id": pin_id})
        if not rows or rows[0]["embedding"] is None:
            return None
        return [float(x) for x in rows[0]["embedding"]]

    async def nearest(
        self, vector: Vector, first: int, *, exclude: str | None = None
    ) -> list[tuple[str, float]]:
        """The `first` public pins whose embeddings are nearest to `vector`, as (pin id,
        cosine distance), closest first, ties by id; `exclude` is a pin to leave out."""
        wanted = page_size(first)
        query = plain_vector(vector)
        if wanted == 0:
            return []
        k = self._initial_candidates(wanted)
        while True:
            candidates = await self._candidates(query, k)
            found = [(pin_id, distance) for pin_id, distance, visible in candidates
                     if visible and pin_id != exclude]  # fmt: skip
            if len(found) >= wanted or len(candidates) < k or k >= MAX_CANDIDATES:
                return found[:wanted]
            k = min(k * WIDENING, MAX_CANDIDATES)

    async def pins_to_index(
        self, after_id: str | None, limit: int, *, everything: bool = False
    ) -> list[tuple[str, str]]:
        """(pin id, image key) of pins with an image and no embedding yet (every pin with an
        image when `everything`), by id, from after `after_id`."""
        rows = await self.backend.read(
            PINS_TO_INDEX, {"after": after_id or "", "limit": limit, "everything": everything}
        )
        return [(row["id"], row["imageKey"]) for row in rows]

    async def count_to_index(self, *, everything: bool = False) -> int:
        rows = await self.backend.read(COUNT_TO_INDEX, {"everything": everything})
        return int(rows[0]["n"]) if rows else 0

    def _initial_candidates(self, wanted: int) -> int:
        asked = CANDIDATES_PER_RESULT * wanted + CANDIDATE_SLACK
        return min(max(asked, MIN_CANDIDATES[self.backend.dialect]), MAX_CANDIDATES)

    async def _candidates(self, query: list[float], k: int) -> list[tuple[str, float, bool]]:
        rows = await self.backend.read(CANDIDATES[self.backend.dialect], {"k": k, "vector": query})
        return [(row["id"], float(row["distance"]), bool(row["visible"])) for row in rows]


def plain_vector(vector: Vector) -> list[float]:
    """An embedding as the plain floats the drivers send; ValueError unless it has
    EMBEDDING_DIMENSIONS finite values, not all zero (its cosine with anything is undefined:
    FalkorDB scores it NaN, ahead of every real match)."""
    array = np.asarray(vector, dtype=np.float64)
    if array.shape != (EMBEDDING_DIMENSIONS,):
        raise ValueError(f"an embedding has {EMBEDDING_DIMENSIONS} values, not {array.shape}")
    if not np.isfinite(array).all() or not array.any():
        raise ValueError("an embedding must be finite and not all zero")
    # Seven decimals are float32's precision for unit-vector components, and half the text:
    # FalkorDB's client sends parameters as query text, longest for float32's digits widened.
    values: list[float] = array.round(7).tolist()
    return values
