"""Visual search end to end: real photos uploaded with POST /media, pins created with them,
indexed by the `visual` consumer, found by `searchByImage`, `visuallySimilar` and `related`."""

from __future__ import annotations

import asyncio
import io
import random
import time
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from graph.model import Board, Privacy, User
from graph.repos import Repositories
from media.photos import load_photo
from server.services import Services
from tests.api.test_media import post_media
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_user
from tests.utils.graphql import Api, code
from visual import augment

SEARCH = """
query($key: ID!, $crop: CropInput, $first: Int) {
  searchByImage(imageKey: $key, crop: $crop, first: $first) { distance pin { id title } }
}
"""
SIMILAR = """
query($id: ID!) {
  pin(id: $id) { visuallySimilar(first: 5) { id title } related(first: 6) { id title } }
}
"""
CREATE_PIN = "mutation($input: CreatePinInput!) { createPin(input: $input) { id } }"
SAVE = "mutation($pin: ID!, $board: ID!) { savePin(pinId: $pin, boardId: $board) { id } }"


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class Gallery:
    """A user with a public board holding one pin per photo, indexed. Pins are told apart
    by title: each test makes its gallery, so the same photo may be on several pins."""

    user: User
    token: str
    board: Board
    keys: dict[str, str]  # photo name -> image key
    pins: dict[str, str]  # photo name -> pin id


async def upload(api: Api, token: str, data: bytes) -> dict[str, Any]:
    response = await post_media(api, data, token=token)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def create_pin(api: Api, token: str, board: Board, title: str, key: str) -> str:
    variables = {"input": {"title": title, "boardId": board.id, "imageKey": key}}
    pin_id: str = (await api.data(CREATE_PIN, variables, token=token))["createPin"]["id"]
    return pin_id


def title(photo: str) -> str:
    return f"photo {photo}"


async def search(api: Api, token: str, key: str, **extra: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await api.data(SEARCH, {"key": key, **extra}, token=token))[
        "searchByImage"
    ]
    return found


@pytest.fixture
async def gallery(api: Api, repos: Repositories, services: Services) -> Gallery:
    user = await make_user(repos)
    token = api.token(user)
    board = await make_board(repos, user)
    keys, pins = {}, {}
    for name in ("coffee.png", "chelsea.png", "motorcycle_left.png", "astronaut.png"):
        keys[name] = (await upload(api, token, jpeg(load_photo(name))))["imageKey"]
        pins[name] = await create_pin(api, token, board, title(name), keys[name])
    await drained(services.cache)
    return Gallery(user, token, board, keys, pins)


async def test_a_stored_image_finds_its_own_pin_first(api: Api, gallery: Gallery) -> None:
    for name, key in gallery.keys.items():
        found = await search(api, gallery.token, key, first=3)
        assert found[0]["pin"]["title"] == title(name)
        assert found[0]["distance"] == pytest.approx(0.0, abs=1e-4)
        assert [hit["distance"] for hit in found] == sorted(hit["distance"] for hit in found)


async def test_an_altered_copy_finds_the_original(api: Api, gallery: Gallery) -> None:
    rng = random.Random(3)
    photo = load_photo("coffee.png")
    for kind, alter in augment.NEAR_DUPLICATES.items():
        key = (await upload(api, gallery.token, jpeg(alter(photo, rng))))["imageKey"]
        found = await search(api, gallery.token, key, first=1)
        assert found[0]["pin"]["title"] == title("coffee.png"), kind
        assert 0.0 < found[0]["distance"] < 0.5, kind


async def test_a_crop_searches_only_that_region(api: Api, gallery: Gallery) -> None:
    cat, cup = load_photo("chelsea.png"), load_photo("coffee.png")
    both = Image.new("RGB", (cat.width + cup.width, max(cat.height, cup.height)), "white")
    both.paste(cat, (0, 0))
    both.paste(cup, (cat.width, 0))
    key = (await upload(api, gallery.token, jpeg(both)))["imageKey"]
    left = {"x": 0, "y": 0, "width": cat.width, "height": cat.height}
    right = {"x": cat.width, "y": 0, "width": cup.width, "height": cup.height}
    on_left = await search(api, gallery.token, key, crop=left, first=1)
    on_right = await search(api, gallery.token, key, crop=right, first=1)
    assert on_left[0]["pin"]["title"] == title("chelsea.png")
    assert on_right[0]["pin"]["title"] == title("coffee.png")


async def test_pins_only_on_secret_boards_never_come_out(
    api: Api, repos: Repositories, services: Services, gallery: Gallery
) -> None:
    secret = await make_board(repos, gallery.user, privacy=Privacy.SECRET)
    rocket = (await upload(api, gallery.token, jpeg(load_photo("rocket.jpg"))))["imageKey"]
    hidden = await create_pin(api, gallery.token, secret, "rocket", rocket)
    await drained(services.cache)
    found = await search(api, gallery.token, rocket, first=50)  # even for its owner
    assert hidden not in {hit["pin"]["id"] for hit in found}
    for name in gallery.pins:
        similar = await api.data(SIMILAR, {"id": gallery.pins[name]}, token=gallery.token)
        assert hidden not in {pin["id"] for pin in similar["pin"]["visuallySimilar"]}
    await api.data(SAVE, {"pin": hidden, "board": gallery.board.id}, token=gallery.token)
    found = await search(api, gallery.token, rocket, first=1)
    assert found[0]["pin"]["id"] == hidden  # public now: found


async def test_visually_similar_and_related_for_a_new_pin(
    api: Api, repos: Repositories, services: Services, gallery: Gallery
) -> None:
    # A second coffee photo on a board of its own: saved nowhere else, the walk knows little.
    other = await make_user(repos)
    token = api.token(other)
    board = await make_board(repos, other)
    rng = random.Random(5)
    variant = augment.crop(augment.flip(load_photo("coffee.png")), fraction=0.85, rng=rng)
    key = (await upload(api, token, jpeg(variant)))["imageKey"]
    new_pin = await create_pin(api, token, board, "my coffee", key)
    await drained(services.cache)
    pin = (await api.data(SIMILAR, {"id": new_pin}, token=token))["pin"]
    similar = pin["visuallySimilar"]
    assert similar[0]["title"] == title("coffee.png")
    assert new_pin not in {found["id"] for found in similar}
    assert title("coffee.png") in {found["title"] for found in pin["related"]}


async def test_a_new_pin_is_searchable_within_seconds_of_its_creation(
    api: Api, gallery: Gallery
) -> None:
    photo = augment.colour_shift(load_photo("motorcycle_right.png"), random.Random(1))
    key = (await upload(api, gallery.token, jpeg(photo)))["imageKey"]
    created = time.monotonic()
    pin_id = await create_pin(api, gallery.token, gallery.board, "bike", key)
    while True:
        found = await search(api, gallery.token, key, first=1)
        if found and found[0]["pin"]["id"] == pin_id:
            break
        assert time.monotonic() - created < 10, "not searchable 10 s after its creation"
        await asyncio.sleep(0.05)


async def test_bad_input_gets_clear_errors(api: Api, gallery: Gallery) -> None:
    key, token = gallery.keys["coffee.png"], gallery.token
    photo = load_photo("coffee.png")
    cases = [
        ({"key": key}, None, "UNAUTHENTICATED"),
        ({"key": "../etc/passwd"}, token, "BAD_USER_INPUT"),
        ({"key": "0" * 64}, token, "NOT_FOUND"),
        ({"key": key, "crop": {"x": 0, "y": 0, "width": 0, "height": 10}}, token, "BAD_USER_INPUT"),
        ({"key": key, "crop": {"x": photo.width - 5, "y": 0, "width": 10, "height": 10}},
         token, "BAD_USER_INPUT"),
        ({"key": key, "crop": {"x": -1, "y": 0, "width": 10, "height": 10}}, token,
         "BAD_USER_INPUT"),
        ({"key": key, "first": 101}, token, "BAD_USER_INPUT"),
        ({"key": key, "first": -1}, token, "BAD_USER_INPUT"),
    ]  # fmt: skip
    for variables, who, expected in cases:
        error = await api.error(SEARCH, variables, token=who)
        assert code(error) == expected, (variables, error)
        assert error["message"]
    assert await search(api, token, key, first=0) == []
