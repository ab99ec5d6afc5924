"""The interface both graph backends implement.

Repositories hand a backend one Cypher text per statement. Each call is one transaction:
Neo4j runs it in a managed transaction, FalkorDB executes a query atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

Params = Mapping[str, Any]
Record = dict[str, Any]


class Dialect(StrEnum):
    NEO4J = "neo4j"
    FALKORDB = "falkordb"


class GraphBackend(Protocol):
    dialect: Dialect

    async def read(
        self, query: str, params: Params | None = None, *, timeout_ms: int | None = None
    ) -> list[Record]:
        """Run a read-only statement and return its rows as dicts keyed by column."""
        ...

    async def write(self, query: str, params: Params | None = None) -> list[Record]:
        """Run a statement that may write, as one transaction."""
        ...

    async def ddl(self, statement: str) -> None:
        """Run a schema statement (index, constraint) in the backend's own syntax."""
        ...

    async def explore(
        self, query: str, params: Params, *, limit: int, timeout_ms: int
    ) -> tuple[list[str], list[list[Any]], bool]:
        """Run an analyst's query in the store's read-only mode: (columns, at most `limit`
        rows, whether there were more). Nodes, relationships and paths come back as dicts
        (`graph/rendering.py`). Errors in the query are BadInput, attempts to write
        WriteRefused (`graph/analyst/sandbox.py` checks the query first)."""
        ...

    async def ping(self) -> None:
        """Raise Unavailable unless the store answers."""
        ...

    async def close(self) -> None: ...
