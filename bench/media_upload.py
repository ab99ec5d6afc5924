"""Image upload benchmark: upload-to-renditions throughput and latency, and bytes stored.

    .venv/bin/python bench/media_upload.py [--images 60]

Makes distinct photo-like 1200x900 JPEGs of about 150 KB (blurred noise: the seed's average
upload size), then:
- through `ImageService` over a local store: validate, orient, render THUMB/SMALL/MEDIUM/
  ORIGINAL and store, one at a time (latency) and two at a time (throughput on 2 cores);
- end to end through `POST /media` on a running `pingraph serve` (two clients);
and reports the bytes stored per image, per rendition. Prints a table and saves
bench/results/media.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import numpy as np
from common import SECRET, free_port, save, start_server
from PIL import Image, ImageFilter

from domain.identity import Role
from events.bus import DiscardEvents
from media.service import ImageService
from media.store import LocalImageStore
from server.auth import issue_token


def photo(seed: int, target_kb: int = 150) -> bytes:
    rng = np.random.default_rng(seed)
    noise = (rng.random((900, 1200, 3)) * 255).astype("uint8")
    image = Image.fromarray(noise).filter(ImageFilter.GaussianBlur(2.2))
    for quality in range(92, 40, -4):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= target_kb * 1024:
            break
    return out.getvalue()


def summary(samples: list[float], wall: float) -> dict[str, float]:
    return {
        "images_per_s": round(len(samples) / wall, 2),
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(float(np.percentile(samples, 99)), 1),
        "count": len(samples),
    }


async def timed_all(
    work: Callable[[bytes], Awaitable[Any]], inputs: list[bytes], parallel: int
) -> dict[str, float]:
    samples: list[float] = []
    queue = list(inputs)

    async def worker() -> None:
        while queue:
            data = queue.pop()
            started = time.perf_counter()
            await work(data)
            samples.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(parallel)))
    return summary(samples, time.perf_counter() - started)


async def service_runs(inputs: list[bytes], tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    images = ImageService(LocalImageStore(tmp / "service"), DiscardEvents())
    await images.upload(photo(10_000))  # warm-up: imports, first allocations
    half = len(inputs) // 2
    one = await timed_all(images.upload, inputs[:half], parallel=1)
    two = await timed_all(images.upload, inputs[half:], parallel=2)
    per_size: dict[str, list[int]] = {}
    for stored in await images.store.list("images/"):
        name = stored.key.rsplit("/", 1)[1]
        if name != "meta.json":
            per_size.setdefault(name.upper(), []).append(stored.size)
    sizes = {name: round(statistics.fmean(values)) for name, values in sorted(per_size.items())}
    sizes["ALL"] = sum(sizes.values())
    return {"sequential": one, "two_at_a_time": two}, sizes


async def http_run(inputs: list[bytes], port: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        demo = await http.post("/graphql", json={"query": '{ user(handle: "demo") { id } }'})
        user_id = demo.json()["data"]["user"]["id"]
        headers = {
            "Authorization": f"Bearer {issue_token(SECRET, user_id, [Role.USER], 3600)}",
            "Apollo-Require-Preflight": "true",
        }

        async def post(data: bytes) -> None:
            files = {"file": ("photo.jpg", data, "image/jpeg")}
            response = await http.post("/media", files=files, headers=headers)
            if response.status_code != 201:
                raise SystemExit(f"upload failed: {response.status_code} {response.text}")

        return await timed_all(post, inputs, parallel=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=60, help="uploads per measurement")
    args = parser.parse_args()
    inputs = [photo(seed) for seed in range(2 * args.images)]
    average_kb = statistics.fmean(len(data) for data in inputs) / 1024
    with tempfile.TemporaryDirectory(prefix="pingraph-media-bench-") as tmp:
        service, sizes = asyncio.run(service_runs(inputs[: args.images], Path(tmp)))
        port = free_port()
        server = start_server(Path(tmp) / "data", port)
        try:
            http = asyncio.run(http_run(inputs[args.images :], port))
        finally:
            server.terminate()
            server.wait(timeout=30)
    results = {"service": service, "post_media_2_clients": http}
    for name, figures in [*service.items(), ("POST /media, 2 clients", http)]:
        print(
            f"{name:<24} {figures['images_per_s']:>6.2f} images/s  p50 {figures['p50_ms']:>6.1f} ms"
            f"  p99 {figures['p99_ms']:>6.1f} ms  ({figures['count']} images)"
        )
    print(f"upload size {average_kb:.0f} KB; stored per image (bytes): {sizes}")
    save("media", {
        "upload": f"1200x900 JPEG, {average_kb:.0f} KB on average",
        "results": results,
        "bytes_stored_per_image": sizes,
    })  # fmt: skip


if __name__ == "__main__":
    main()
