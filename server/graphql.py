"""`/graphql`: the strawberry view. Over HTTP (GraphQL over HTTP: POST, and GET for queries;
answers in `application/graphql-response+json` or `application/json` as the client accepts,
automatic persisted queries, cache headers) with authentication, CSRF protection for uploads,
rate limits, a body size cap and a time limit; over WebSocket (graphql-transport-ws) for
subscriptions only, authenticated by the token in `connection_init`."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

import orjson
import strawberry
import structlog
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.types import QueryParams
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from domain.errors import BadInput, DomainError, RateLimited, Unauthenticated
from domain.identity import Role, Viewer
from resolvers.context import Context
from schema.build import MAX_TOKENS
from schema.errors import format_error
from server.auth import decode_token, expiry
from server.guard import BodyTooLarge, admit, capped_request, charge, client_address
from server.persisted import PersistedQueries, PersistedQueryNotFound, names_persisted_query
from server.services import Services

log = structlog.get_logger(__name__)

# Longest an operation may run. Within the cost limit an operation takes milliseconds; this
# bounds what the limit cannot see (a slow store, a pathological search).
EXECUTION_LIMIT_S = 15.0
# What this request's task parsed (persisted queries filled in), for strawberry to read back:
# a POST's JSON body by the very bytes object Starlette keeps, a GET's operation by the query
# parameters object.
PARSED_BODY: contextvars.ContextVar[tuple[bytes, object] | None] = contextvars.ContextVar(
    "parsed_body", default=None
)
PARSED_QUERY: contextvars.ContextVar[tuple[object, dict[str, Any]] | None] = contextvars.ContextVar(
    "parsed_query", default=None
)
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Accept entries we answer, with the media type and a rank that breaks ties of quality:
# the GraphQL one when named, plain JSON for wildcards (what legacy clients can read).
OFFERS = {
    GRAPHQL_RESPONSE: (GRAPHQL_RESPONSE, 2),
    JSON: (JSON, 1),
    "application/*": (JSON, 0),
    "*/*": (JSON, 0),
}
BODY_TYPES = (JSON, "multipart/form-data")
# How long browsers and CDNs may reuse an anonymous GET's answer. Short, because unlike our
# own answer cache a shared cache cannot be told about writes: an anonymous reader may see a
# page this many seconds old. Writers are signed in, and signed-in answers are never shared,
# so nobody misses their own write.
PUBLIC_MAX_AGE_S = 30
VARY = "Authorization, Accept"
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


class MethodNotAllowed(BadInput):
    http_status = 405

    def __init__(self, message: str, *, allow: str) -> None:
        super().__init__(message)
        self.allow = allow


class NotAcceptable(BadInput):
    http_status = 406


class UnsupportedMediaType(BadInput):
    http_status = 415


class GraphQLEndpoint(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SubscriptionsOnly

    def __init__(self, schema: strawberry.Schema, *, dev: bool, jwt_secret: str) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=True,
            multipart_uploads_enabled=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=SUBSCRIPTIONS_PER_CONNECTION,
        )
        self.jwt_secret = jwt_secret
        self._persisted: PersistedQueries | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await super().__call__(scope, receive, send)
            return
        if scope["type"] != "http":
            await JSONResponse({"error": "not found"}, status_code=404)(scope, receive, send)
            return
        request = capped_request(scope, receive)
        request.state.media_type = JSON  # until negotiated
        try:
            request.state.media_type = negotiate(request)
            response = await self.handle(request)
        except HTTPException as error:
            response = refusal(request, BadInput(error.reason), status=error.status_code)
        except DomainError as error:
            response = refusal(request, error)
        except BodyTooLarge as error:
            response = refusal(request, BadInput(str(error)), status=413)
        await finish(request, response)(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Admit the request, read its operations (persisted documents filled in) and answer."""
        refuse_other_methods(request)
        request.state.viewer = viewer = await admit(request, "graphql")
        refuse_unsupported_bodies(request)
        try:
            operations = await read_operations(request)
            batch = operations if isinstance(operations, list) else [operations]
            if len(batch) > 1:  # each operation of a batch counts
                await charge(request, viewer, "graphql", cost=len(batch) - 1)
            persisted = self.persisted(request.app.state.services)
            for operation in batch:
                if isinstance(operation, dict):
                    await persisted.resolve(operation)
            refuse_what_http_cannot_run(request, operations)
            if may_write(request, operations):
                # Never cancelled: a write whose transaction committed must also publish
                # its event (cache versions, walk deltas), or they would be lost.
                return await self.answer(request, operations)
            return await self.bounded(request, operations)
        finally:
            await request.close()  # uploaded files are spooled to temporary files

    def persisted(self, services: Services) -> PersistedQueries:
        """The app's persisted documents, on the Redis client its lifespan opened."""
        if self._persisted is None or self._persisted.cache is not services.cache:
            events = services.metrics.cache_events
            self._persisted = PersistedQueries(
                services.cache, on_event=lambda event: events.labels("apq", event).inc()
            )
        return self._persisted

    async def bounded(self, request: Request, operations: object) -> Response:
        """Answer a read within EXECUTION_LIMIT_S, and stop working as soon as the client is
        gone. (Writes are never cancelled: see `handle`.)"""
        await request.body()  # all of it first: waiting for a disconnect must take no body
        work = asyncio.ensure_future(self.answer(request, operations))
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
        malformed = HTTPException(
            400,
            "the multipart body does not follow the GraphQL multipart request spec "
            "(operations must be an object, map an object of lists of paths into it)",
        )
        try:
            operations: Any = await super().parse_multipart(request)
        except MULTIPART_ERRORS:
            raise malformed from None
        if not isinstance(operations, dict) and not (
            isinstance(operations, list) and all(isinstance(op, dict) for op in operations)
        ):
            raise malformed
        return operations  # type: ignore[return-value]  # a batch is a list (strawberry allows it)

    def decode_json(self, data: str | bytes) -> object:
        """The request body was parsed once already (`read_operations`): reuse it."""
        parsed = PARSED_BODY.get()
        if parsed is not None and parsed[0] is data:
            return parsed[1]
        return json.loads(data)

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """A GET's operation was read once already (`read_operations`): reuse it."""
        parsed = PARSED_QUERY.get()
        if parsed is not None and parsed[0] is params:
            return parsed[1]
        return super().parse_query_params(params)

    def should_render_graphql_ide(self, request: RequestShape) -> bool:
        return wants_ide(request)

    def encode_json(self, data: object) -> bytes:
        return encode(data)

    async def answer(self, request: Request, operations: object) -> Response:
        """Run the operation; anonymous reads may come from, and go to, the answer cache."""
        services: Services = request.app.state.services
        source = await answer_cache_source(request, operations)
        if not services.responses.enabled or source is None:
            return await self.run(request)
        key, cached = await services.responses.lookup(source)
        if cached is not None:
            return Response(cached, media_type=JSON, headers={"X-Cache": "hit"})
        response = await self.run(request)
        if key is not None and answered_cleanly(response):
            await services.responses.store(key, bytes(response.body))
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """An operation naming a document by a hash nobody sent the document for answers
        PersistedQueryNotFound (in a batch, that operation alone)."""
        if request_data.query is None and names_persisted_query(request_data.extensions):
            missing = PersistedQueryNotFound()
            return ExecutionResult(
                data=None, errors=[GraphQLError(str(missing), original_error=missing)]
            )
        return await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = 400  # a request error (see `process_result`)
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
            services.visual, services.trending, services.accounts,
            client_address(request),
            comment_limits=getattr(request.app.state, "comment_limits", None),
            invite_limits=getattr(request.app.state, "invite_limits", None),
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
        if request.state.media_type == GRAPHQL_RESPONSE and nothing_ran(result):
            del answer["data"]  # the spec's request error: no data entry, status 400
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
def operations_in(query: str) -> tuple[tuple[str | None, OperationType], ...]:
    """The name and type of every operation a document defines; none when it does not parse
    (strawberry refuses it before anything runs, or closes the socket with the parser's
    message)."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return ()
    return tuple(
        (node.name.value if node.name else None, node.operation)
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
    )


def only_subscriptions(query: str) -> bool:
    """True unless the document defines a query or mutation."""
    return all(kind is OperationType.SUBSCRIPTION for _, kind in operations_in(query))


def has_mutation(query: str) -> bool:
    return any(kind is OperationType.MUTATION for _, kind in operations_in(query))


def selected_operation(query: str, operation_name: str | None) -> OperationType | None:
    """The type of the operation a request runs; None when the document does not parse or
    does not say which (strawberry answers those)."""
    operations = operations_in(query)
    if operation_name is None:
        return operations[0][1] if len(operations) == 1 else None
    return next((kind for name, kind in operations if name == operation_name), None)


async def disconnected(request: Request) -> None:
    """Return when the client closes the connection (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


# --- what the request asks for ------------------------------------------------------------


class RequestShape(Protocol):
    """What `wants_ide` reads: a Starlette request, or strawberry's adapter of one."""

    @property
    def method(self) -> str: ...

    @property
    def query_params(self) -> Mapping[str, Any]: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def wants_ide(request: RequestShape) -> bool:
    """A browser opening /graphql: a GET without an operation that accepts HTML (GraphiQL in
    development, 404 in production)."""
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and request.query_params.get("query") is None
        and request.query_params.get("extensions") is None
        and ("text/html" in accept or "*/*" in accept)
    )


def negotiate(request: Request) -> str:
    """The media type to answer in, from the Accept header (406 when it allows neither)."""
    if wants_ide(request):
        return JSON
    media_type = preferred_media_type(request.headers.get("accept", ""))
    if media_type is None:
        raise NotAcceptable(
            f"this endpoint answers {GRAPHQL_RESPONSE} or {JSON}, and the Accept header "
            "allows neither"
        )
    return media_type


def preferred_media_type(accept: str) -> str | None:
    """The offer the client ranks highest (no Accept header: plain JSON); None when it
    accepts none of them."""
    if not accept.strip():
        return JSON
    best: tuple[float, int] = (0.0, -1)
    chosen = None
    for entry in accept.split(","):
        kind, *parameters = entry.split(";")
        offer = OFFERS.get(kind.strip().lower())
        if offer is None:
            continue
        rank = (quality(parameters), offer[1])
        if rank[0] > 0 and rank > best:
            best, chosen = rank, offer[0]
    return chosen


def quality(parameters: list[str]) -> float:
    """The `q` of an Accept entry (1 when not given; 0, not acceptable, when unreadable)."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def refuse_other_methods(request: Request) -> None:
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowed("send operations with POST, or queries with GET", allow="GET, POST")


def refuse_unsupported_bodies(request: Request) -> None:
    """415 for a POST body that is neither JSON nor a multipart upload (forms and plain text
    without a token were refused before, as possible cross-site forgeries)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and content_type not in BODY_TYPES:
        raise UnsupportedMediaType(
            "send the operation as JSON (Content-Type: application/json), or an upload as "
            "multipart/form-data"
        )


def refuse_what_http_cannot_run(request: Request, operations: object) -> None:
    """Mutations over GET (a GET can be sent from a link or an image: it must never change
    anything), and subscriptions, which run over WebSocket."""
    for operation in operations if isinstance(operations, list) else [operations]:
        query, name = readable(operation)
        if query is None:
            continue  # strawberry refuses what it cannot read
        kind = selected_operation(query, name)
        if kind is OperationType.MUTATION and request.method == "GET":
            raise MethodNotAllowed("mutations are sent with POST, not GET", allow="POST")
        if kind is OperationType.SUBSCRIPTION:
            raise BadInput(
                "subscriptions run over WebSocket at /graphql (graphql-transport-ws), not HTTP"
            )


def readable(operation: object) -> tuple[str | None, str | None]:
    """An operation's document and name when they are strings (an empty name is none)."""
    if not isinstance(operation, dict):
        return None, None
    query, name = operation.get("query"), operation.get("operationName")
    if not isinstance(query, str) or not isinstance(name, str | None):
        return None, None
    return query, name or None


async def read_operations(request: Request) -> object:
    """The request's operation or batch of them, as strawberry will read them back: a GET's
    from its query string, a JSON POST's body (None for a multipart upload, which strawberry
    reads itself). BadInput for JSON strawberry would fail on rather than refuse: text that
    is not UTF-8 or nests past the parser's limit (a POST body, or a GET's `variables` and
    `extensions`), and a body that is neither an operation object nor a non-empty list of
    them (a batch). Starlette keeps the body, so strawberry reads it again."""
    if request.method == "GET":
        operation = query_string_operation(request)
        PARSED_QUERY.set((request.query_params, operation))
        return operation
    if "application/json" not in request.headers.get("content-type", "").lower():
        return None
    raw = await request.body()
    body = _parse_json(raw, "the body")
    PARSED_BODY.set((raw, body))  # this request's task only: strawberry reads it back
    if not isinstance(body, dict) and not (
        isinstance(body, list) and body and all(isinstance(item, dict) for item in body)
    ):
        raise BadInput(
            "the JSON body must be an operation object, or a non-empty list of them (a batch)"
        )
    return body


def query_string_operation(request: Request) -> dict[str, Any]:
    """A GET's operation: `query` and `operationName` as they are, `variables` and
    `extensions` as URL-encoded JSON."""
    params = request.query_params
    operation: dict[str, Any] = {
        name: params[name] for name in ("query", "operationName") if name in params
    }
    for name in ("variables", "extensions"):
        if text := params.get(name):
            operation[name] = _parse_json(text, f"the `{name}` parameter")
    return operation


def _parse_json(text: str | bytes, what: str) -> object:
    """`text` parsed the way strawberry parses it; BadInput where it would fail."""
    try:
        return json.loads(text)
    except UnicodeDecodeError:
        raise BadInput(f"{what} is not UTF-8 JSON") from None
    except ValueError as error:  # JSONDecodeError, or an integer past Python's digit limit
        raise BadInput(f"{what} is not valid JSON: {error}") from None
    except RecursionError:
        raise BadInput(f"{what} is JSON that nests too deeply") from None


# --- what the answer says ---------------------------------------------------------------


def nothing_ran(result: ExecutionResult) -> bool:
    """A request error in the spec's sense: the document did not parse or validate, or the
    variables did not fit, so nothing was executed (field errors carry a path). A missing
    persisted document is not one: it is answered 200 (see `PersistedQueryNotFound`)."""
    errors = result.errors or []
    return (
        result.data is None
        and bool(errors)
        and all(error.path is None for error in errors)
        and not any(isinstance(error.original_error, PersistedQueryNotFound) for error in errors)
    )


def refusal(request: Request, error: DomainError, *, status: int | None = None) -> Response:
    """A request refused before anything ran, as a GraphQL answer with one error (without
    `data` for `application/graphql-response+json`, as the spec has request errors)."""
    formatted = format_error(GraphQLError(str(error), original_error=error))
    answer: dict[str, Any] = {"errors": [formatted]}
    if request.state.media_type != GRAPHQL_RESPONSE:
        answer = {"data": None, **answer}
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = error.allow
    return Response(encode(answer), status or error.http_status, headers=headers, media_type=JSON)


def encode(data: object) -> bytes:
    """orjson, several times faster than json: less time on the loop. A lone surrogate (a
    client's bad variable name echoed in an error) is not UTF-8, so orjson refuses it; json
    escapes it."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data).encode()


def finish(request: Request, response: Response) -> Response:
    """Every GraphQL answer in the negotiated media type, saying what caches may do with it."""
    if response.headers.get("content-type", "").startswith(JSON):
        response.headers["content-type"] = f"{request.state.media_type}; charset=utf-8"
    response.headers["cache-control"] = cache_control(request, response)
    if request.method == "GET":
        response.headers["vary"] = VARY
    return response


def cache_control(request: Request, response: Response) -> str:
    """Anonymous GETs answered without errors may be shared for a while; what a signed-in
    caller gets is theirs alone; everything else is not kept at all."""
    if getattr(request.state, "viewer", None) is not None:
        return "private, no-store"
    if request.method == "GET" and answered_cleanly(response):
        return f"public, max-age={PUBLIC_MAX_AGE_S}"
    return "no-store"


def answered_cleanly(response: Response) -> bool:
    """A JSON answer of 200 without errors (a streamed answer has no body: never kept)."""
    body = getattr(response, "body", None)
    return (
        response.status_code == 200
        and bool(body)
        and response.headers.get("content-type", "").startswith((JSON, GRAPHQL_RESPONSE))
        and b'"errors"' not in bytes(body or b"")
    )


async def answer_cache_source(request: Request, operations: object) -> bytes | None:
    """What identifies an anonymous read's answer in the answer cache: a JSON POST's body, or
    a GET's operation (its persisted document filled in) in one canonical form; None for
    what is not cached (signed-in callers, uploads, GraphiQL, and mutations: an anonymous
    one, such as `signIn`, must run every time)."""
    if request.state.viewer is not None or operations is None or may_write(request, operations):
        return None
    if request.method == "POST":
        return await request.body()
    if isinstance(operations, dict) and isinstance(operations.get("query"), str):
        return b"GET " + canonical_json(operations)
    return None


def canonical_json(value: object) -> bytes:
    """The same bytes for the same value, whatever order its keys came in."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a lone surrogate
        return json.dumps(value, sort_keys=True).encode()
