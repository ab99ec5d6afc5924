"""What every API request passes first: a body size cap, the caller's token, the rate limit
and, for form posts, a CSRF check. Shared by /graphql and /media."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from domain.errors import BadInput, DomainError, Forbidden, RateLimited, Unauthenticated
from domain.identity import Role, Viewer
from server.auth import viewer_from
from server.body_errors import problems
from server.ratelimit import RateLimits
from server.settings import Settings

MAX_BODY_BYTES = 1_000_000
MAX_UPLOAD_BODY_BYTES = 25_000_000
# Content types a browser may send cross-site without a CORS preflight.
SIMPLE_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain")
PREFLIGHT_HEADERS = ("authorization", "x-apollo-operation-name", "apollo-require-preflight")


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit:,} bytes")


def capped_request(scope: Scope, receive: Receive) -> Request:
    """A request whose body stops being read once it passes the cap, declared length or not."""
    limit = body_cap(scope)
    seen = 0

    async def capped_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return Request(scope, capped_receive)


def body_cap(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-type" and value.lower().startswith(b"multipart/"):
            return MAX_UPLOAD_BODY_BYTES
    return MAX_BODY_BYTES


async def admit(
    request: Request,
    scope: str,
    content_types: tuple[str, ...] | None = None,
    *,
    signed_in_only: bool = False,
) -> Viewer | None:
    """The caller (None when anonymous), once the token and the rate limit allow them.

    With `content_types`, a POST must declare one of them (which no plain HTML form can);
    otherwise form-like posts need a header only scripts can set (`refuse_cross_site_forms`).
    An endpoint that is `signed_in_only` answers a request without a token with 401 first.
    """
    settings: Settings = request.app.state.settings
    viewer = viewer_from(request, settings.jwt_secret.get_secret_value())
    if signed_in_only and viewer is None:
        raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
    if content_types is None:
        refuse_cross_site_forms(request)
    elif request.method == "POST" and _content_type(request) not in content_types:
        raise BadInput(f"send the body with Content-Type: {' or '.join(content_types)}")
    await charge(request, viewer, scope)
    return viewer


async def charge(request: Request, viewer: Viewer | None, scope: str, cost: int = 1) -> None:
    """Count `cost` requests against the caller's rate limit."""
    limits: RateLimits = request.app.state.rate_limits
    await limits.check(viewer, client_address(request), scope, cost=cost)


def client_address(connection: HTTPConnection) -> str:
    """The client's address: the peer's, or the one a trusted proxy forwarded (uvicorn puts
    it in the scope; see PINGRAPH_TRUSTED_PROXIES)."""
    return connection.client.host if connection.client else "unknown"


def refuse_cross_site_forms(request: Request) -> None:
    """CSRF: a request a plain HTML form could send must carry a header only scripts can set,
    which forces a CORS preflight. `Authorization` is one: pingraph uses no cookies, so a
    request that carries a bearer token was sent by a script that holds the token. Without a
    token, Apollo's preflight headers do (as Apollo and strawberry recommend for uploads)."""
    if request.method != "POST":
        return
    content_type = _content_type(request)
    if content_type and content_type not in SIMPLE_TYPES:
        return
    if any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return
    raise BadInput(
        "refused as a possible cross-site request forgery: send a JSON content type, or the "
        "header 'Apollo-Require-Preflight: true' with multipart uploads"
    )


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


Handler = Callable[[Request, Viewer | None], Awaitable[Response]]


class Guarded:
    """An ASGI endpoint for a REST handler: body cap, token, rate limit and roles first;
    domain errors become `{"error": {"code", "message"}}` with their HTTP status."""

    def __init__(
        self,
        handler: Handler,
        *,
        scope: str,
        roles: frozenset[Role] | None = None,
        content_types: tuple[str, ...] | None = None,
    ) -> None:
        self.handler, self.scope, self.roles = handler, scope, roles
        self.content_types = content_types

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = capped_request(scope, receive)
        try:
            viewer = await admit(
                request, self.scope, self.content_types, signed_in_only=self.roles is not None
            )
            if self.roles is not None:
                if viewer is None:
                    raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
                if not self.roles & viewer.roles:
                    names = " or ".join(sorted(role.value for role in self.roles))
                    raise Forbidden(f"this needs a token with the {names} role")
            response = await self.handler(request, viewer)
        except DomainError as error:
            response = error_response(error)
        except BodyTooLarge as error:
            response = error_response(BadInput(str(error)), status=413)
        finally:
            await request.close()
        await response(scope, receive, send)


def error_response(
    error: DomainError, *, status: int | None = None, graphql: bool = False
) -> JSONResponse:
    """The answer to a refused request: `{"error": {code, message}}` for REST endpoints, or
    a GraphQL response with one error (`graphql`) for /graphql."""
    headers = {}
    extensions: dict[str, Any] = {"code": error.code}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
        extensions["retryAfter"] = error.retry_after
    body: dict[str, Any] = {"error": {"code": error.code, "message": str(error)}}
    if graphql:
        body = {"data": None, "errors": [{"message": str(error), "extensions": extensions}]}
    return JSONResponse(body, status_code=status or error.http_status, headers=headers)


async def json_body(request: Request) -> object:
    """The decoded body; BadInput unless it is UTF-8 JSON (orjson refuses lone surrogates and
    nesting past 1024 levels too)."""
    body = await request.body()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        try:  # orjson words invalid UTF-8 as a surrogate problem: say which byte it is
            body.decode()
        except UnicodeDecodeError as bad:
            raise BadInput(f"the body is not valid UTF-8 (byte {bad.start})") from None
        raise BadInput(f"the body is not valid JSON: {error}") from None


def parse[T: BaseModel](model: type[T], body: Any) -> T:
    """Validate a decoded JSON body; BadInput names every wrong field in plain words."""
    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise BadInput("; ".join(problems(model, body, error.errors()))) from None
