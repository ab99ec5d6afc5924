"""`POST /graphql`: the strawberry view with authentication, CSRF protection for uploads,
rate limits, a body size cap, and the one place where errors become `extensions.code`."""

from __future__ import annotations

from typing import Any

import strawberry
import structlog
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from domain.errors import BadInput, DomainError, RateLimited
from domain.identity import Viewer
from resolvers.context import Context
from server.guard import BodyTooLarge, admit, capped_request, error_response
from server.services import Services

log = structlog.get_logger(__name__)

INTERNAL_MESSAGE = "internal error; quote the X-Request-ID header when reporting it"


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, schema: strawberry.Schema, *, dev: bool) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await JSONResponse({"error": "not found"}, status_code=404)(scope, receive, send)
            return
        request = capped_request(scope, receive)
        try:
            request.state.viewer = await admit(request, "graphql")
            try:
                response = await self.answer(request)
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

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        services: Services = request.app.state.services
        viewer: Viewer | None = request.state.viewer
        return Context(
            services.repos, viewer, services.images, services.walks,
            services.board_cache, services.feed_cache,
        )  # fmt: skip

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        answer: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            answer["errors"] = [format_error(error) for error in result.errors]
        if result.extensions:
            answer["extensions"] = result.extensions
        return answer


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The one mapping from failures to `extensions.code`; internals never reach the client."""
    original = error.original_error
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    if isinstance(original, DomainError):
        extensions["code"] = original.code
        formatted["message"] = str(original)
        if isinstance(original, RateLimited):
            extensions["retryAfter"] = original.retry_after
    elif original is None or isinstance(original, GraphQLError) or error.path is None:
        # Syntax, validation, variable coercion and limit errors: the document was wrong.
        extensions["code"] = "BAD_USER_INPUT"
    else:
        extensions["code"] = "INTERNAL"
        formatted["message"] = INTERNAL_MESSAGE
    formatted["extensions"] = extensions
    return formatted
