"""The analyst backend when none is configured: every analyst query is refused, clearly.

Analysts' queries run on a read replica, never on the primary that takes the writes (see
server/embedded.py for why). With an external FalkorDB primary and no replica named in
PINGRAPH_ANALYST_GRAPH_URL there is nowhere safe to run them.
"""

from __future__ import annotations

from typing import Any, NoReturn

from domain.errors import Unavailable
from graph.backends.base import Dialect, Params, Record

WHY = (
    "analyst queries run on a read replica of the graph store, and none is configured: set "
    "PINGRAPH_ANALYST_GRAPH_URL to a FalkorDB replica (falkordb://...) or a Neo4j cluster"
)


class NoAnalystReplica:
    dialect = Dialect.FALKORDB

    async def read(
        self, query: str, params: Params | None = None, *, timeout_ms: int | None = None
    ) -> list[Record]:
        refuse()

    async def write(self, query: str, params: Params | None = None) -> list[Record]:
        refuse()

    async def ddl(self, statement: str) -> None:
        refuse()

    async def explore(
        self, query: str, params: Params, *, limit: int, timeout_ms: int
    ) -> tuple[list[str], list[list[Any]], bool]:
        refuse()

    async def ping(self) -> None:
        refuse()

    async def close(self) -> None:
        return None


def refuse() -> NoReturn:
    raise Unavailable(WHY)
