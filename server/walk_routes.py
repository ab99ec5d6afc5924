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


def answer(result: Result) -> dict[str, Any]:
    return {
        "items": [{"pinId": h.pin_id, "score": h.score, "visits": h.visits} for h in result.items],
        "stepsTaken": result.steps_taken,
        "stoppedEarly": result.stopped_early,
        "unknownPins": result.unknown_pins,
        "unknownTopics": result.unknown_topics,
        "graphVersion": result.graph_version,
        "seed": result.seed,
    }


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
    """NDJSON in, NDJSON out in input order: one answer a line, blank or bad lines too."""
    lines = (await request.body()).splitlines()  # a final newline ends a line, it adds none
    if not any(line.strip() for line in lines):
        raise BadInput("send one JSON related-pins request per line")
    if len(lines) > MAX_BATCH_LINES:
        raise BadInput(f"at most {MAX_BATCH_LINES} lines per batch")
    engine = engine_of(request)
    gate = asyncio.Semaphore(BATCH_PARALLEL)

    async def one(number: int, line: bytes) -> dict[str, Any]:
        head: dict[str, Any] = {"line": number, "id": None}
        try:
            body = _line_body(line)
            head["id"] = body.get("id")
            query = parse(RelatedRequest, body).to_query()
            async with gate:
                return head | answer(await engine.run(query))
        except DomainError as error:
            return head | {"error": {"code": error.code, "message": str(error)}}

    tasks = [asyncio.ensure_future(one(n, line)) for n, line in enumerate(lines, start=1)]

    async def stream() -> AsyncIterator[bytes]:
        try:
            for task in tasks:
                yield orjson.dumps(await task) + b"\n"
        finally:
            for task in tasks:
                task.cancel()

    return StreamingResponse(stream(), media_type="application/x-ndjson")


def _line_body(line: bytes) -> dict[str, Any]:
    if not line.strip():
        raise BadInput("blank line: send one JSON related-pins request per line")
    try:
        body = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise BadInput(f"the line is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadInput("the line must be a JSON object")
    return body


async def graph_info(request: Request, viewer: Viewer | None) -> Response:
    graph = engine_of(request).graph
    return JSONResponse(
        {
            "pins": graph.linked_pins,
            "boards": graph.linked_boards,
            "edges": graph.edges,
            "version": graph.version,
            "graphVersion": graph.revision,  # as walk answers carry it
            "builtAt": round(graph.built_at * 1000),  # epoch ms, as every other time
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
