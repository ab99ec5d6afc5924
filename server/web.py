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

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

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
S3_SCHEMES = {"s3": "https", "s3+http": "http"}  # media URL scheme -> image origin
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)


def routes(media_url: str, *, dev: bool, web_dir: Path) -> list[BaseRoute]:
    """The page routes and the static mount. `media_url` is where images are fetched from
    when they are not served by the app (a MinIO/S3 endpoint): the page may load them. In
    development the page offers a quick sign-in as the demo user."""
    try:
        index = (web_dir / "index.html").read_text()
    except OSError as error:
        raise SettingsError(f"PINGRAPH_WEB_DIR: no web app at {web_dir} ({error})") from None
    if dev:
        index = index.replace('data-env="prod"', 'data-env="dev"', 1)
    headers = {
        "Content-Security-Policy": content_security_policy(index, media_url),
        "Cache-Control": "no-cache",  # the page names its modules; it must never be stale
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }

    async def page(request: Request) -> Response:
        return HTMLResponse(index, headers=headers)

    async def icon(request: Request) -> Response:
        # Browsers ask for /favicon.ico wherever they are, JSON answers included.
        return FileResponse(web_dir / "icon.svg", media_type="image/svg+xml")

    pages: list[BaseRoute] = [Route(path, page, methods=["GET", "HEAD"]) for path in PAGES]
    return [
        *pages,
        Route("/favicon.ico", icon, methods=["GET", "HEAD"]),
        # Modules and styles are text: compressed, they are a third of their size.
        Mount("/web", GZipMiddleware(StaticFiles(directory=web_dir), minimum_size=512), name="web"),
    ]


def content_security_policy(index: str, media_url: str) -> str:
    """Scripts only from this origin, plus the one inline import map, by its hash."""
    found = IMPORT_MAP.search(index)
    if found is None:
        raise RuntimeError("web/index.html has no import map")
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    images = ["'self'", "data:", "blob:"]
    parts = urlsplit(media_url)
    if parts.scheme in S3_SCHEMES and parts.hostname:  # presigned URLs point there
        port = f":{parts.port}" if parts.port else ""
        images.append(f"{S3_SCHEMES[parts.scheme]}://{parts.hostname}{port}")
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
