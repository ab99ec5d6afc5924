"""`POST /cypher`: read-only Cypher for analysts (role `analyst`), as JSON or CSV."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.errors import Unavailable
from domain.identity import Role, Viewer
from graph.analyst import sandbox as analyst
from server.guard import Guarded, json_body, parse
from server.services import Services

# Analysts share the graph store with the API: a few queries at a time per process.
CONCURRENT_QUERIES = 2


class CypherRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    query: str = Field(min_length=1, max_length=analyst.MAX_QUERY_CHARS)
    params: dict[str, Any] = Field(default_factory=dict)
    limit: int = Field(default=analyst.DEFAULT_LIMIT, ge=1, le=analyst.MAX_LIMIT)
    timeout_ms: int = Field(
        default=analyst.DEFAULT_TIMEOUT_MS, ge=1, le=analyst.MAX_TIMEOUT_MS, alias="timeoutMs"
    )


async def cypher(request: Request, viewer: Viewer | None) -> Response:
    assert viewer is not None  # Guarded admits analysts only
    wanted = parse(CypherRequest, await json_body(request))
    services: Services = request.app.state.services
    gate: asyncio.Semaphore = request.app.state.cypher_gate
    try:
        await asyncio.wait_for(gate.acquire(), timeout=wanted.timeout_ms / 1000)
    except TimeoutError:
        raise Unavailable(
            f"{CONCURRENT_QUERIES} analyst queries are running; try again shortly"
        ) from None
    try:
        table = await analyst.explore(
            services.analyst, wanted.query, wanted.params, limit=wanted.limit,
            timeout_ms=wanted.timeout_ms, analyst=viewer.user_id,
        )  # fmt: skip
    finally:
        gate.release()
    if "text/csv" in request.headers.get("accept", ""):
        return Response(
            table.as_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"X-Truncated": str(table.truncated).lower()},
        )
    return JSONResponse(table.as_json())


endpoint = Guarded(
    cypher, scope="cypher", roles=frozenset({Role.ANALYST}), content_types=("application/json",)
)
