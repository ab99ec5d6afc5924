"""The web app: `web/index.html` at every page's URL, and `web/` itself under `/web/`.

The app routes in the browser (history API), so a reload or a shared link of `/pin/{id}` must
get the same page as `/`. Only the app's own paths do: anything else stays a 404, so a typo
in an API path is not answered with HTML.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from media.store import ImageStore
from server.services import Services
from server.settings import SettingsError

PAGES = (
    "/",
    "/pin/{id}",
    "/board/{id}",
    "/u/{handle}",
    "/search",
    "/create",
    "/notifications",
    "/signin",
    "/signup",
)
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)
HEADERS = {
    "Cache-Control": "no-cache",  # the page names its modules; it must never be stale
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
PROBE_KEY = "images/csp-probe/small"  # signed, never fetched: where do image URLs point?


def routes(*, dev: bool, web_dir: Path) -> list[BaseRoute]:
    """The page routes and the static files. In development the page offers a quick sign-in
    as the demo user."""
    try:
        index = (web_dir / "index.html").read_text()
    except OSError as error:
        raise SettingsError(f"PINGRAPH_WEB_DIR: no web app at {web_dir} ({error})") from None
    if dev:
        index = index.replace('data-env="prod"', 'data-env="dev"', 1)
    policy: list[str] = []  # made at the first page, once the image store is open

    async def page(request: Request) -> Response:
        if not policy:
            services: Services = request.app.state.services
            policy.append(content_security_policy(index, image_origin(services.media)))
        return HTMLResponse(index, headers={**HEADERS, "Content-Security-Policy": policy[0]})

    async def icon(request: Request) -> Response:
        # Browsers ask for /favicon.ico wherever they are, JSON answers included.
        return FileResponse(web_dir / "icon.svg", media_type="image/svg+xml")

    async def to_app(request: Request) -> Response:
        # The page is served with its security headers at the app's addresses only.
        return RedirectResponse("/", status_code=308)

    pages: list[BaseRoute] = [Route(path, page, methods=["GET", "HEAD"]) for path in PAGES]
    # Modules and styles are text: compressed, they are a third of their size. Revalidated
    # on every load (by ETag, so mostly a 304): after an upgrade no old module runs.
    files = GZipMiddleware(NoCache(StaticFiles(directory=web_dir)), minimum_size=512)
    return [
        *pages,
        Route("/favicon.ico", icon, methods=["GET", "HEAD"]),
        Route("/web/index.html", to_app, methods=["GET", "HEAD"]),
        Mount("/web", files, name="web"),
    ]


def image_origin(store: ImageStore) -> str | None:
    """Where the browser fetches images from when the app does not serve them: the origin of
    a presigned URL (MinIO's `public=` address, or an AWS bucket's own host name)."""
    url = store.presigned_url(PROBE_KEY, 60)
    if url is None:
        return None
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def content_security_policy(index: str, image_origin: str | None) -> str:
    """Scripts only from this origin, plus the one inline import map, by its hash."""
    found = IMPORT_MAP.search(index)
    if found is None:
        raise RuntimeError("web/index.html has no import map")
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    images = ["'self'", "data:", "blob:", *([image_origin] if image_origin else [])]
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'sha256-{digest}'",
            f"img-src {' '.join(images)}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        )
    )


class NoCache:
    """Adds `Cache-Control: no-cache` to what the wrapped app answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-cache"
            await send(message)

        await self.app(scope, receive, with_header)
