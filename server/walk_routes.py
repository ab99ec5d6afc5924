"""`/walks/*`: related pins and feeds for recommendation jobs (roles recommender, analyst)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from domain.errors import BadInput, DomainError, NotFound
from domain.identity import Role, Viewer
from server.guard import Guarded, json_body, parse
from server.services import Services
from walks.engine import Result, WalkEngine
from walks.personal import feed_query, is_newcomer
from walks.requests import FeedRequest, RelatedRequest

ROLES = frozenset({Role.RECOMMENDER, Role.ANALYST})
MAX_BATCH_LINES = 1000
BATCH_PARALLEL = 4


def engine_of(request: Request) -> WalkEngine:
    services: Services = request.app.state.services
    return services.walks


def answer(result: Result, request_id: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {} if request_id is None else {"id": request_id}
    body.update(
        items=[{"pinId": h.pin_id, "score": h.score, "visits": h.visits} for h in result.items],
        stepsTaken=result.steps_taken,
        stoppedEarly=result.stopped_early,
        unknownPins=result.unknown_pins,
        graphVersion=result.graph_version,
        seed=result.seed,
    )
    return body


async def related(request: Request, viewer: Viewer | None) -> Response:
    query = parse(RelatedRequest, await json_body(request)).to_query()
    return JSONResponse(answer(await engine_of(request).run(query)))


async def feed(request: Request, viewer: Viewer | None) -> Response:
    wanted = parse(FeedRequest, await json_body(request))
    services: Services = request.app.state.services
    engine = engine_of(request)
    try:
        await services.repos.users.get(wanted.user_id)
    except NotFound:
        raise BadInput(f"no user {wanted.user_id!r}") from None
    signals = await services.repos.feed.signals(wanted.user_id, public_only=True)
    trending = await services.trending.current() if is_newcomer(signals) else None
    query = feed_query(signals, engine.graph, wanted.query({}), trending)
    return JSONResponse(answer(await engine.run(query)))


async def batch(request: Request, viewer: Viewer | None) -> Response:
    """NDJSON in, NDJSON out in input order; a bad line answers with its own error."""
    lines = [line for line in (await request.body()).splitlines() if line.strip()]
    if not lines:
        raise BadInput("send one JSON related-pins request per line")
    if len(lines) > MAX_BATCH_LINES:
        raise BadInput(f"at most {MAX_BATCH_LINES} requests per batch")
    engine = engine_of(request)
    gate = asyncio.Semaphore(BATCH_PARALLEL)

    async def one(number: int, line: bytes) -> dict[str, Any]:
        request_id: Any = number
        try:
            body = orjson.loads(line)
            if isinstance(body, dict) and "id" in body:
                request_id = body["id"]
            query = parse(RelatedRequest, body).to_query()
            async with gate:
                return answer(await engine.run(query), request_id)
        except orjson.JSONDecodeError as error:
            return {"id": request_id, "error": {"code": "BAD_USER_INPUT", "message": str(error)}}
        except DomainError as error:
            return {"id": request_id, "error": {"code": error.code, "message": str(error)}}

    tasks = [asyncio.ensure_future(one(n, line)) for n, line in enumerate(lines)]

    async def stream() -> AsyncIterator[bytes]:
        try:
            for task in tasks:
                yield orjson.dumps(await task) + b"\n"
        finally:
            for task in tasks:
                task.cancel()

    return StreamingResponse(stream(), media_type="application/x-ndjson")


async def graph_info(request: Request, viewer: Viewer | None) -> Response:
    graph = engine_of(request).graph
    return JSONResponse(
        {
            "pins": graph.linked_pins,
            "boards": graph.linked_boards,
            "edges": graph.edges,
            "version": graph.version,
            "builtAt": graph.built_at,
            "pendingDeltas": graph.deltas,  # merged live, not yet in a snapshot
            "streamId": graph.stream_id,
            "bytes": graph.nbytes(),
        }
    )


JSON = ("application/json",)
related_endpoint = Guarded(related, scope="walks", roles=ROLES, content_types=JSON)
feed_endpoint = Guarded(feed, scope="walks", roles=ROLES, content_types=JSON)
batch_endpoint = Guarded(
    batch, scope="walks", roles=ROLES, content_types=("application/x-ndjson", *JSON)
)
graph_endpoint = Guarded(graph_info, scope="walks", roles=ROLES)
