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
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from graph.errors import BadInput, DomainError, RateLimited
from resolvers.context import Context, Viewer
from server.auth import viewer_from
from server.ratelimit import RateLimits
from server.services import Services
from server.settings import Settings

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1_000_000
MAX_UPLOAD_BODY_BYTES = 25_000_000
# Content types a browser may send cross-site without a CORS preflight.
SIMPLE_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain")
PREFLIGHT_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")
INTERNAL_MESSAGE = "internal error; quote the X-Request-ID header when reporting it"


class BodyTooLarge(Exception):
    pass


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
        request = Request(scope, _capped(receive, _body_cap(scope)))
        try:
            refuse_cross_site_forms(request)
            settings: Settings = request.app.state.settings
            viewer = viewer_from(request, settings.jwt_secret.get_secret_value())
            address = request.client.host if request.client else "unknown"
            limits: RateLimits = request.app.state.rate_limits
            await limits.check(viewer, address, "graphql")
            request.state.viewer = viewer
            try:
                response = await self.run(request)
            finally:
                await request.close()  # uploaded files are spooled to temporary files
        except HTTPException as error:
            response = error_response(error.status_code, BadInput(error.reason))
        except DomainError as error:
            response = error_response(error.http_status, error)
        except BodyTooLarge:
            message = f"the request body is larger than {_body_cap(scope)} bytes"
            response = error_response(413, BadInput(message))
        await response(scope, receive, send)

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        services: Services = request.app.state.services
        viewer: Viewer | None = request.state.viewer
        return Context(services.repos, viewer, services.image_url)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        answer: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            answer["errors"] = [format_error(error) for error in result.errors]
        if result.extensions:
            answer["extensions"] = result.extensions
        return answer


def refuse_cross_site_forms(request: Request) -> None:
    """CSRF: a request a plain HTML form could send must carry a header only scripts can set
    (which forces a CORS preflight), as Apollo and strawberry recommend for uploads."""
    if request.method != "POST":
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in SIMPLE_TYPES:
        return
    if any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return
    raise BadInput(
        "refused as a possible cross-site request forgery: send a JSON content type, or the "
        "header 'Apollo-Require-Preflight: true' with multipart uploads"
    )


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


def error_response(status: int, error: DomainError) -> JSONResponse:
    extensions: dict[str, Any] = {"code": error.code}
    headers = {}
    if isinstance(error, RateLimited):
        extensions["retryAfter"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    body = {"data": None, "errors": [{"message": str(error), "extensions": extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _body_cap(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-type" and value.lower().startswith(b"multipart/"):
            return MAX_UPLOAD_BODY_BYTES
    return MAX_BODY_BYTES


def _capped(receive: Receive, limit: int) -> Receive:
    """Stop reading a body once it passes `limit` bytes, declared length or not."""
    seen = 0

    async def capped_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return capped_receive
