"""Open the graph backend a URL names."""

from __future__ import annotations

from urllib.parse import urlsplit

from graph.backends.base import GraphBackend
from graph.backends.falkor_backend import FalkorBackend
from graph.backends.neo4j_backend import Neo4jBackend


async def open_backend(
    url: str, *, database: str | None = None, timeout_ms: int = 10_000
) -> GraphBackend:
    scheme = urlsplit(url).scheme
    if scheme == "falkordb":
        return await FalkorBackend.connect(url, graph=database, timeout_ms=timeout_ms)
    if scheme.startswith(("neo4j", "bolt")):
        return Neo4jBackend(url, database=database, timeout_ms=timeout_ms)
    raise ValueError(f"no graph backend for URL scheme {scheme!r}")
