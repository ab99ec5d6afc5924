"""Demo pictures from scikit-image's photos, and the near-duplicate transforms behind them."""

from __future__ import annotations

import importlib.util
import io
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from graph.demo.seed import TOPICS
from media import demo, photos
from media.service import ImageService
from media.store import LocalImageStore
from tests.utils.events import RecordedEvents
from visual import augment


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    return photos.load_photo("coffee.png")


def test_every_topic_has_a_photo_that_loads_as_rgb() -> None:
    assert set(demo.TOPIC_PHOTOS) == set(TOPICS)
    assert set(demo.TOPIC_PHOTOS.values()) <= set(photos.PHOTOS)
    for name in photos.PHOTOS:
        assert photos.photo_path(name).is_file()
        image = photos.load_photo(name)
        assert image.mode == "RGB"
        assert image.width >= demo.WIDTH / 2  # never blown up more than twice


def test_transparent_photos_are_laid_over_white() -> None:
    horse = np.asarray(photos.load_photo("horse.png"))
    assert tuple(horse[0, 0]) == (255, 255, 255)
    assert horse.min() == 0  # the silhouette itself is still black


def test_unknown_photo_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown photo 'lena\.png'"):
        photos.photo_path("lena.png")


@pytest.fixture
def fresh_photo_dir() -> Iterator[None]:
    photos.photo_dir.cache_clear()
    yield
    photos.photo_dir.cache_clear()


@pytest.mark.usefixtures("fresh_photo_dir")
def test_missing_scikit_image_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(photos.PhotosUnavailable, match="pip install scikit-image"):
        photos.load_photo("coffee.png")


def test_picture_is_a_deterministic_rgb_jpeg_of_the_asked_width() -> None:
    for variant in range(3):
        data = demo.picture("pets", variant)
        assert data == demo.picture("pets", variant)
        image = decode(data)
        assert (image.format, image.mode, image.width) == ("JPEG", "RGB", demo.WIDTH)
    assert decode(demo.picture("cars", 1, width=240)).width == 240


def test_variants_differ_but_show_the_same_photo() -> None:
    pictures = [demo.picture("coffee", variant, width=200) for variant in range(4)]
    assert len(set(pictures)) == 4
    original = np.asarray(decode(pictures[0]).resize((64, 64)), dtype=np.float64)
    for data in pictures[1:]:
        variant = np.asarray(decode(data).resize((64, 64)), dtype=np.float64)
        mirrored = variant[:, ::-1]
        closer = min(np.abs(original - variant).mean(), np.abs(original - mirrored).mean())
        assert closer < 40  # a crop and a colour shift away, not another photo
    other = np.asarray(decode(demo.picture("pets", 0, width=200)).resize((64, 64)), dtype=float)
    assert np.abs(original - other).mean() > 40


def test_topics_sharing_a_photo_share_only_variant_zero() -> None:
    assert demo.TOPIC_PHOTOS["recipes"] == demo.TOPIC_PHOTOS["coffee"]
    assert demo.picture("recipes", 0) == demo.picture("coffee", 0)
    assert demo.picture("recipes", 1) != demo.picture("coffee", 1)


async def test_attach_images_shares_a_pool_per_topic(tmp_path: Path) -> None:
    images = ImageService(LocalImageStore(tmp_path), RecordedEvents())
    pins = [{"topics": [topic], "image": None} for topic in ("pets", "coffee", "recipes") * 4]
    pins.append({"topics": [], "image": None})
    seen: list[tuple[int, int]] = []
    stored = await demo.attach_images(
        images, pins, variants=2, progress=lambda done, total: seen.append((done, total))
    )
    assert stored == 5  # 3 topics x 2 variants, recipes and coffee sharing variant 0
    assert seen[-1] == (6, 6)
    assert pins[-1]["image"] is None
    keys = {(pin["topics"][0], number % 2): pin["image"]["imageKey"]
            for number, pin in enumerate(pins[:-1])}  # fmt: skip
    assert len(keys) == 6
    assert keys[("pets", 0)] != keys[("pets", 1)]
    assert keys[("coffee", 0)] == keys[("recipes", 0)]
    assert all(pin["image"]["width"] == demo.WIDTH for pin in pins[:-1])


def test_flip_mirrors(coffee: Image.Image) -> None:
    flipped = augment.flip(coffee)
    assert flipped.size == coffee.size
    assert np.array_equal(np.asarray(flipped), np.asarray(coffee)[:, ::-1])


def test_crop_takes_a_window_of_the_asked_fraction(coffee: Image.Image) -> None:
    window = augment.crop(coffee, 0.8, rng=random.Random(3))
    assert window.size == (480, 320)  # coffee.png is 600 x 400
    assert window.tobytes() == augment.crop(coffee, 0.8, rng=random.Random(3)).tobytes()
    assert window.tobytes() != augment.crop(coffee, 0.8, rng=random.Random(4)).tobytes()
    with pytest.raises(ValueError, match="fraction"):
        augment.crop(coffee, 1.5, rng=random.Random(3))


@pytest.mark.parametrize("degrees", [-10, -4, 3, 10])
def test_rotate_keeps_the_size_and_shows_no_corners(degrees: float) -> None:
    white = Image.new("RGB", (300, 200), (255, 255, 255))
    turned = augment.rotate(white, degrees)
    assert turned.size == white.size
    assert np.asarray(turned).min() > 240  # no black corner came in


def test_reencode_is_a_lossy_round_trip(coffee: Image.Image) -> None:
    rough = augment.reencode(coffee, 30)
    assert (rough.size, rough.mode) == (coffee.size, "RGB")
    assert rough.tobytes() == augment.reencode(coffee, 30).tobytes()
    error = np.abs(np.asarray(rough, dtype=float) - np.asarray(coffee, dtype=float)).mean()
    assert 0 < error < 10


def test_colour_shift_is_modest_and_seeded(coffee: Image.Image) -> None:
    shifted = augment.colour_shift(coffee, random.Random(5))
    assert shifted.size == coffee.size
    assert shifted.tobytes() == augment.colour_shift(coffee, random.Random(5)).tobytes()
    error = np.abs(np.asarray(shifted, dtype=float) - np.asarray(coffee, dtype=float)).mean()
    assert 0 < error < 60


def test_near_duplicates_are_deterministic_and_keep_a_sensible_size(
    coffee: Image.Image,
) -> None:
    assert set(augment.NEAR_DUPLICATES) == {"flip", "crop", "rotate", "reencode", "colour"}
    for kind, transform in augment.NEAR_DUPLICATES.items():
        result = transform(coffee, random.Random(7))
        again = transform(coffee, random.Random(7))
        assert result.mode == "RGB", kind
        assert result.tobytes() == again.tobytes(), kind
        assert 0.6 * coffee.width <= result.width <= coffee.width, kind
        assert result.width / result.height == pytest.approx(1.5, rel=0.02), kind
