"""`POST /media` (upload an image, signed in) and `GET /media/{key}/{size}` (serve one).

Errors are JSON: `{"error": {"code": ..., "message": ...}}` with the matching HTTP status.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from domain.errors import BadInput, DomainError
from domain.identity import Role, Viewer
from media.service import ImageInfo, ImageService, check_image_key
from server.guard import BodyTooLarge, Guarded, error_response
from server.services import Services

IMMUTABLE = "public, max-age=31536000, immutable"
SIZES = ("thumb", "small", "medium", "original")


async def upload(request: Request, viewer: Viewer | None) -> Response:
    """POST /media (signed in, role user; see `upload_endpoint`)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadInput("send the image as multipart/form-data in a field named 'file'")
    try:
        form = await request.form(max_files=1, max_fields=2)
    except BodyTooLarge:
        raise
    except Exception as error:
        raise BadInput(f"the multipart body cannot be read: {error}") from None
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise BadInput("the multipart body has no file field named 'file'")
    services: Services = request.app.state.services
    actor = viewer.user_id if viewer else ""
    stored = await services.images.upload(await file.read(), actor=actor)
    status = 201 if stored.created else 200
    return JSONResponse(describe(stored.info, services.images), status_code=status)


def describe(info: ImageInfo, images: ImageService) -> dict[str, Any]:
    return {
        "imageKey": info.key,
        "width": info.width,
        "height": info.height,
        "dominantColor": info.dominant_color,
        "urls": {size.upper(): images.url(info.key, size) for size in SIZES},
    }


async def serve(request: Request) -> Response:
    """One rendition. Keys are content hashes, so a response never changes: cache forever."""
    key, size = request.path_params["key"], request.path_params["size"].lower()
    services: Services = request.app.state.services
    try:
        check_image_key(key)
        if size not in SIZES:
            raise BadInput(f"size must be one of {', '.join(SIZES)}")
        direct = services.media.presigned_url(f"images/{key}/{size}", 60)
        if direct is not None:  # MinIO/S3: let the client fetch it from there
            return RedirectResponse(direct, status_code=307)
        etag = f'"{key}-{size}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
        data, content_type = await services.images.rendition(key, size)
    except DomainError as error:
        return error_response(error)
    return Response(
        data, media_type=content_type, headers={"ETag": etag, "Cache-Control": IMMUTABLE}
    )


upload_endpoint = Guarded(upload, scope="media", roles=frozenset({Role.USER}))
