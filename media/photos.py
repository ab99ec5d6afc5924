"""Real photos for demo data: the sample pictures shipped inside the scikit-image wheel.

Only files in the installed package are used (never scikit-image's downloadable data sets:
there may be no network). The directory is found with `importlib.util.find_spec`, which reads
the package's location without running `skimage/__init__.py`: about 0.3 ms and no module
imported, where `importlib.resources.files("skimage")` costs about 10 ms (it imports skimage,
lazy_loader and zipfile).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from PIL import Image

from media.images import on_white

PHOTOS: tuple[str, ...] = (
    "astronaut.png",  # a portrait: an astronaut in her orange suit, a flag and a shuttle
    "brick.png",  # a brick wall (grey)
    "camera.png",  # a photographer behind a tripod camera (grey)
    "chelsea.png",  # a tabby cat
    "clock_motion.png",  # a wall clock blurred by motion (grey)
    "coffee.png",  # a cup of coffee on its saucer
    "coins.png",  # old coins on a dark cloth (grey)
    "color.png",  # a colour wheel
    "grass.png",  # grass (grey)
    "gravel.png",  # gravel (grey)
    "horse.png",  # the silhouette of a horse
    "hubble_deep_field.jpg",  # galaxies in the Hubble deep field
    "ihc.png",  # stained tissue under a microscope: brown and blue swirls
    "logo.png",  # scikit-image's logo: a snake in a green and orange circle
    "moon.png",  # the moon's surface (grey)
    "motorcycle_left.png",  # a red motorcycle in a garage
    "motorcycle_right.png",  # the same, seen from a step to the right
    "page.png",  # a page of a book (grey)
    "rocket.jpg",  # a rocket on its launch pad at dusk
    "text.png",  # handwritten sums on a board (grey)
)


class PhotosUnavailable(RuntimeError):
    """scikit-image, which ships the photos, is not installed."""


@cache
def photo_dir() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise PhotosUnavailable(
            "the demo photos come with scikit-image, which is not installed: "
            "pip install scikit-image"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def photo_path(name: str) -> Path:
    """The file of a photo in PHOTOS."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; known: {', '.join(PHOTOS)}")
    path = photo_dir() / name
    if not path.is_file():
        raise PhotosUnavailable(f"{path} is missing: is scikit-image installed completely?")
    return path


def load_photo(name: str) -> Image.Image:
    """A photo in PHOTOS as RGB; transparent pixels are laid over white."""
    with Image.open(photo_path(name)) as image:
        return on_white(image)
