"""`/graphql`: the strawberry view. Over HTTP with authentication, CSRF protection for
uploads, rate limits, a body size cap and a time limit; over WebSocket (graphql-transport-ws)
for subscriptions only, authenticated by the token in `connection_init`."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from datetime import timedelta
from typing import Any

import orjson
import strawberry
import structlog
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from domain.errors import BadInput, DomainError, Unauthenticated
from domain.identity import Role, Viewer
from resolvers.context import Context
from schema.build import MAX_TOKENS
from schema.errors import format_error
from server.auth import decode_token, expiry
from server.guard import BodyTooLarge, admit, capped_request, charge, error_response
from server.services import Services

log = structlog.get_logger(__name__)

# Longest an operation may run. Within the cost limit an operation takes milliseconds; this
# bounds what the limit cannot see (a slow store, a pathological search).
EXECUTION_LIMIT_S = 15.0
# The JSON body this request's task parsed, by the very bytes object Starlette keeps.
PARSED_BODY: contextvars.ContextVar[tuple[bytes, object] | None] = contextvars.ContextVar(
    "parsed_body", default=None
)
MULTIPART_ERRORS = (AttributeError, TypeError, ValueError, IndexError, KeyError, RecursionError)
SUBSCRIPTIONS_PER_CONNECTION = 5


class SubscriptionsOnly(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws for subscriptions alone: queries and mutations go over HTTP,
    where the rate limits, time limits and write rules are."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message.get("payload")
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(message.get("id"), str) or not isinstance(query, str):
            await self.handle_invalid_message("a subscribe message needs an id and a query")
            return
        if not self.connection_acknowledged:
            await super().handle_subscribe(message)  # closes the socket: 4401
            return
        if not only_subscriptions(query):
            await self._refuse(message, "only subscriptions run over WebSocket; send queries "
                               "and mutations with POST /graphql", "BAD_USER_INPUT")  # fmt: skip
        elif len(self.operations) >= SUBSCRIPTIONS_PER_CONNECTION:
            await self._refuse(message, f"at most {SUBSCRIPTIONS_PER_CONNECTION} subscriptions "
                               "per connection", "RATE_LIMITED")  # fmt: skip
        else:
            await super().handle_subscribe(message)

    async def _refuse(self, message: SubscribeMessage, why: str, code: str) -> None:
        error = {"message": why, "extensions": {"code": code}}
        reply: Any = {"id": message["id"], "type": "error", "payload": [error]}
        await self.send_message(reply)


class GraphQLEndpoint(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SubscriptionsOnly

    def __init__(self, schema: strawberry.Schema, *, dev: bool, jwt_secret: str) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=SUBSCRIPTIONS_PER_CONNECTION,
        )
        self.jwt_secret = jwt_secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await super().__call__(scope, receive, send)
            return
        if scope["type"] != "http":
            await JSONResponse({"error": "not found"}, status_code=404)(scope, receive, send)
            return
        request = capped_request(scope, receive)
        try:
            request.state.viewer = viewer = await admit(request, "graphql")
            body = await refuse_unusable_json(request)
            if isinstance(body, list) and len(body) > 1:  # each operation of a batch counts
                await charge(request, viewer, "graphql", cost=len(body) - 1)
            try:
                if may_write(request, body):
                    # Never cancelled: a write whose transaction committed must also publish
                    # its event (cache versions, walk deltas), or they would be lost.
                    response = await self.answer(request)
                else:
                    response = await self.bounded(request)
            finally:
                await request.close()  # uploaded files are spooled to temporary files
        except HTTPException as error:
            response = error_response(
                BadInput(error.reason), status=error.status_code, graphql=True
            )
        except DomainError as error:
            response = error_response(error, graphql=True)
        except BodyTooLarge as error:
            response = error_response(BadInput(str(error)), status=413, graphql=True)
        await response(scope, receive, send)

    async def bounded(self, request: Request) -> Response:
        """Answer a read within EXECUTION_LIMIT_S, and stop working as soon as the client is
        gone. (Writes are never cancelled: see `__call__`.)"""
        await request.body()  # all of it first: waiting for a disconnect must take no body
        work = asyncio.ensure_future(self.answer(request))
        gone = asyncio.ensure_future(disconnected(request))
        try:
            done, _ = await asyncio.wait(
                {work, gone}, timeout=EXECUTION_LIMIT_S, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
        if work in done:
            return work.result()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        if gone in done:
            log.info("client went away: its operation was stopped")
            return Response(status_code=499)  # nobody reads it; nginx's "client closed"
        raise BadInput(
            f"the operation ran past its time limit of {EXECUTION_LIMIT_S:.0f} s: "
            "ask for less, or page with `after`"
        )

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """Strawberry's multipart parsing, with a malformed `operations` or `map` refused as
        the client's mistake instead of failing inside it."""
        refusal = HTTPException(
            400,
            "the multipart body does not follow the GraphQL multipart request spec "
            "(operations must be an object, map an object of lists of paths into it)",
        )
        try:
            operations: Any = await super().parse_multipart(request)
        except MULTIPART_ERRORS:
            raise refusal from None
        if not isinstance(operations, dict) and not (
            isinstance(operations, list) and all(isinstance(op, dict) for op in operations)
        ):
            raise refusal
        return operations  # type: ignore[return-value]  # a batch is a list (strawberry allows it)

    def decode_json(self, data: str | bytes) -> object:
        """The request body was parsed once already (`refuse_unusable_json`): reuse it."""
        parsed = PARSED_BODY.get()
        if parsed is not None and parsed[0] is data:
            return parsed[1]
        return json.loads(data)

    def encode_json(self, data: object) -> bytes:
        """orjson, several times faster than json: less time on the loop. A lone surrogate
        (a client's bad variable name echoed in an error) is not UTF-8, so orjson refuses
        it; json escapes it."""
        try:
            return orjson.dumps(data)
        except TypeError:
            return json.dumps(data).encode()

    async def answer(self, request: Request) -> Response:
        """Run the operation; anonymous JSON reads may come from, and go to, the cache."""
        services: Services = request.app.state.services
        cacheable = (
            services.responses.enabled
            and request.state.viewer is None
            and request.method == "POST"
            and request.headers.get("content-type", "").startswith("application/json")
        )
        if not cacheable:
            return await self.run(request)
        key, cached = await services.responses.lookup(await request.body())
        if cached is not None:
            return Response(cached, media_type="application/json", headers={"X-Cache": "hit"})
        response = await self.run(request)
        body = getattr(response, "body", None)  # a streamed answer has none: not cached
        if key is not None and response.status_code == 200 and body and b'"errors"' not in body:
            await services.responses.store(key, bytes(body))
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        # A WebSocket's viewer is known only at `connection_init` (see on_ws_connect).
        viewer: Viewer | None = getattr(request.state, "viewer", None)
        return Context(
            services.repos, viewer, services.images, services.walks,
            services.board_cache, services.feed_cache, services.notifications,
            services.visual,
        )  # fmt: skip

    async def on_ws_connect(self, context: Context) -> None:
        """Authenticate a WebSocket by the token in `connection_init`'s payload:
        {"Authorization": "Bearer <token>"}. A missing or bad one closes it with 4403."""
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        scheme, _, token = header.partition(" ") if isinstance(header, str) else ("", "", "")
        if scheme.lower() != "bearer" or not token.strip():
            raise ConnectionRejectionError({"message": 'send {"Authorization": "Bearer <token>"}'})
        try:
            viewer = decode_token(token.strip(), self.jwt_secret)
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": str(error)}) from None
        if Role.USER not in viewer.roles:
            raise ConnectionRejectionError({"message": "this needs a token with the 'user' role"})
        context.viewer = viewer
        context.expires_at = expiry(token.strip())
        context.fresh_loaders()

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        answer: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            answer["errors"] = [format_error(error) for error in result.errors]
        if result.extensions:
            answer["extensions"] = result.extensions
        return answer


def may_write(request: Request, body: object) -> bool:
    """Whether the request may run a mutation (multipart requests are uploads for one)."""
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        return True
    operations = body if isinstance(body, list) else [body]
    return any(
        isinstance(op, dict) and isinstance(op.get("query"), str) and has_mutation(op["query"])
        for op in operations
    )


@functools.lru_cache(maxsize=1024)
def only_subscriptions(query: str) -> bool:
    """True unless the document defines a query or mutation (a syntax error is left to
    strawberry, which closes the socket with the parser's message)."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return True
    return all(
        node.operation is OperationType.SUBSCRIPTION
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
    )


@functools.lru_cache(maxsize=1024)
def has_mutation(query: str) -> bool:
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False  # strawberry refuses it before anything runs
    return any(
        isinstance(node, OperationDefinitionNode) and node.operation is OperationType.MUTATION
        for node in document.definitions
    )


async def disconnected(request: Request) -> None:
    """Return when the client closes the connection (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def refuse_unusable_json(request: Request) -> object:
    """Raise BadInput for JSON that strawberry would fail on rather than refuse: text that is
    not UTF-8 or nests past the parser's limit (a POST body, or a GET's `variables` and
    `extensions`), and a body that is neither an operation object nor a non-empty list of
    them (a batch). Starlette keeps the body, so strawberry reads it again."""
    if request.method == "GET":
        for name in ("variables", "extensions"):
            if text := request.query_params.get(name):
                _parse_json(text)
        return None
    if "application/json" not in request.headers.get("content-type", "").lower():
        return None
    raw = await request.body()
    body = _parse_json(raw)
    PARSED_BODY.set((raw, body))  # this request's task only: strawberry reads it back
    if not isinstance(body, dict) and not (
        isinstance(body, list) and body and all(isinstance(item, dict) for item in body)
    ):
        raise BadInput(
            "the JSON body must be an operation object, or a non-empty list of them (a batch)"
        )
    return body


def _parse_json(text: str | bytes) -> object:
    """`text` parsed the way strawberry parses it; BadInput where it would fail."""
    try:
        return json.loads(text)
    except UnicodeDecodeError:
        raise BadInput("the body is not UTF-8 JSON") from None
    except ValueError as error:  # JSONDecodeError, or an integer past Python's digit limit
        raise BadInput(f"not valid JSON: {error}") from None
    except RecursionError:
        raise BadInput("the JSON nests too deeply") from None
