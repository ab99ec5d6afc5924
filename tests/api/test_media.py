"""Images through the API: POST /media, GET /media/{key}/{size}, createPin with images."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import httpx
from PIL import Image

from domain.identity import Role
from graph.repos import Repositories
from media.images import content_key
from server.guard import MAX_UPLOAD_BODY_BYTES
from server.services import Services
from server.settings import Settings
from tests.utils import images as samples
from tests.utils.apps import client_of, running
from tests.utils.factories import make_board, make_user
from tests.utils.graphql import Api


async def post_media(
    api: Api, data: bytes, *, token: str | None, field: str = "file", name: str = "photo.jpg"
) -> httpx.Response:
    """As `curl -F file=@photo.jpg -H "Authorization: Bearer $T" .../media` sends it."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    files = {field: (name, data, "image/jpeg")}
    return await api.http.post("/media", files=files, headers=headers)


async def stored_keys(services: Services) -> set[str]:
    return {o.key.split("/")[1] for o in await services.media.list("images/")}


async def test_upload_serve_and_cache_headers(
    api: Api, repos: Repositories, services: Services
) -> None:
    token = api.token(await make_user(repos))
    data = samples.jpeg(900, 600, gps=True, color=(12, 200, 90))
    created = await post_media(api, data, token=token)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["imageKey"] == content_key(data)
    assert (body["width"], body["height"]) == (900, 600)
    assert body["dominantColor"].startswith("#")
    assert body["urls"]["THUMB"] == f"/media/{body['imageKey']}/thumb"
    again = await post_media(api, data, token=token)
    assert again.status_code == 200
    assert again.json()["imageKey"] == body["imageKey"]

    thumb = await api.http.get(body["urls"]["THUMB"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/webp"
    assert thumb.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(thumb.content)).size == (236, 157)
    cached = await api.http.get(
        body["urls"]["THUMB"], headers={"If-None-Match": thumb.headers["etag"]}
    )
    assert cached.status_code == 304
    original = await api.http.get(body["urls"]["ORIGINAL"])
    assert original.headers["content-type"] == "image/jpeg"
    stored = Image.open(io.BytesIO(original.content))
    assert not stored.getexif()  # GPS read back from the store: gone
    assert (await api.http.get(f"/media/{'0' * 64}/thumb")).status_code == 404
    bad_size = await api.http.get(f"/media/{body['imageKey']}/huge")
    assert bad_size.status_code == 400
    assert bad_size.json()["error"]["code"] == "BAD_USER_INPUT"
    assert (await api.http.get("/media/..%2F..%2Fetc/thumb")).status_code in (400, 404)


async def test_bad_uploads_are_refused_and_store_nothing(
    api: Api, repos: Repositories, services: Services
) -> None:
    token = api.token(await make_user(repos))
    before = await stored_keys(services)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"data": b""}, 400, "empty"),
        ({"data": b"plain text", "name": "photo.jpg"}, 400, "not an image"),
        ({"data": samples.SVG, "name": "x.svg"}, 400, "not an image"),
        ({"data": samples.jpeg()[:1500]}, 400, "truncated or corrupt"),
        ({"data": samples.png_bomb(), "name": "bomb.png"}, 400, "pixels"),
        ({"data": samples.jpeg(), "field": "image"}, 400, "field named 'file'"),
    ]
    for case, status, message in cases:
        response = await post_media(api, token=token, **case)
        assert response.status_code == status, (case.get("name"), response.text)
        error = response.json()["error"]
        assert error["code"] == "BAD_USER_INPUT"
        assert message in error["message"]
    assert await stored_keys(services) == before


async def test_uploads_need_a_user_and_nothing_more(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    # Without a token, as a cross-site form would post it: 401, not a CSRF refusal.
    anonymous = await post_media(api, samples.jpeg(), token=None)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"
    robot = await post_media(api, samples.jpeg(), token=api.token(user, Role.RECOMMENDER))
    assert robot.status_code == 403
    # A bearer token and a multipart file, no other header: accepted.
    uploaded = await post_media(api, samples.jpeg(color=(9, 99, 199)), token=api.token(user))
    assert uploaded.status_code in (200, 201), uploaded.text
    assert uploaded.json()["imageKey"]


CREATE_PIN = """
mutation($input: CreatePinInput!) {
  createPin(input: $input) { id image { url(size: SMALL) width height dominantColor } }
}
"""


async def test_create_pin_with_an_uploaded_image_key(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    token = api.token(user)
    uploaded = (await post_media(api, samples.jpeg(800, 400), token=token)).json()
    variables = {"input": {"title": "Lamp", "boardId": board.id, "imageKey": uploaded["imageKey"]}}
    pin = (await api.data(CREATE_PIN, variables, token=token))["createPin"]
    assert pin["image"] == {
        "url": f"/media/{uploaded['imageKey']}/small",
        "width": 800,
        "height": 400,
        "dominantColor": uploaded["dominantColor"],
    }
    unknown = {"input": {"title": "x", "boardId": board.id, "imageKey": "a" * 64}}
    error = await api.error(CREATE_PIN, unknown, token=token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    malformed = {"input": {"title": "x", "boardId": board.id, "imageKey": "../x"}}
    assert (await api.error(CREATE_PIN, malformed, token=token))["extensions"]["code"] == (
        "BAD_USER_INPUT"
    )
    pins = await repos.boards.pins(board.id, user.id, 10, None)
    assert [p.id for p in pins.items] == [pin["id"]]


async def multipart_create_pin(api: Api, token: str, board_id: str, data: bytes) -> dict[str, Any]:
    operations = {
        "query": CREATE_PIN,
        "variables": {"input": {"title": "Uploaded", "boardId": board_id, "image": None}},
    }
    response = await api.http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.image"]}),
        },
        files={"0": ("photo.jpg", data, "image/jpeg")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_pin_with_a_multipart_upload(
    api: Api, repos: Repositories, services: Services
) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    token = api.token(user)
    data = samples.jpeg(500, 500, color=(3, 4, 250))
    body = await multipart_create_pin(api, token, board.id, data)
    assert "errors" not in body, body
    assert body["data"]["createPin"]["image"]["width"] == 500
    assert content_key(data) in await stored_keys(services)
    before = await stored_keys(services)
    hostile = [b"", b"text named photo.jpg", samples.SVG, samples.jpeg()[:1500], samples.png_bomb()]
    for data in hostile:
        bad = await multipart_create_pin(api, token, board.id, data)
        assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert bad["data"] is None
    assert await stored_keys(services) == before
    assert len((await repos.boards.pins(board.id, user.id, 10, None)).items) == 1


async def test_failed_pin_write_removes_the_new_image(
    api: Api, repos: Repositories, services: Services
) -> None:
    owner, intruder = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    data = samples.jpeg(300, 300, color=(77, 1, 1))
    body = await multipart_create_pin(api, api.token(intruder), board.id, data)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert content_key(data) not in await stored_keys(services)


async def test_byte_caps(settings: Settings, repos: Repositories) -> None:
    strict = settings.model_copy(update={"media_max_bytes": 20_000})
    async with running(strict) as app, client_of(app) as http:
        api = Api(http, strict)
        token = api.token(await make_user(repos))
        big = samples.jpeg(1200, 900)
        assert len(big) > 20_000
        response = await post_media(api, big, token=token)
        assert response.status_code == 400
        assert "larger than 20,000 bytes" in response.json()["error"]["message"]
        huge = await post_media(api, b"\0" * (MAX_UPLOAD_BODY_BYTES + 1), token=token)
        assert huge.status_code == 413
        assert huge.json()["error"]["code"] == "BAD_USER_INPUT"


async def test_minio_store_serves_presigned_urls(
    settings: Settings, repos: Repositories, s3_endpoint: str
) -> None:
    bucket = f"pins-{uuid.uuid4().hex[:8]}"
    on_s3 = settings.model_copy(update={"media_url": f"s3+http://k:s@{s3_endpoint}/{bucket}"})
    async with running(on_s3) as app, client_of(app) as http:
        api = Api(http, on_s3)
        user = await make_user(repos)
        board = await make_board(repos, user)
        token = api.token(user)
        uploaded = (await post_media(api, samples.jpeg(640, 320), token=token)).json()
        small = uploaded["urls"]["SMALL"]
        assert small.startswith(f"http://{s3_endpoint}/{bucket}/images/")
        assert "X-Amz-Signature=" in small
        variables = {
            "input": {"title": "S3", "boardId": board.id, "imageKey": uploaded["imageKey"]}
        }
        pin = (await api.data(CREATE_PIN, variables, token=token))["createPin"]
        assert "X-Amz-Signature=" in pin["image"]["url"]
        redirect = await http.get(f"/media/{uploaded['imageKey']}/small")
        assert redirect.status_code == 307
        async with httpx.AsyncClient() as outside:
            fetched = await outside.get(redirect.headers["location"])
        assert fetched.status_code == 200
        assert Image.open(io.BytesIO(fetched.content)).size == (474, 237)
