"""Web page-load benchmark: the home page in headless Chromium, cold and warm.

    .venv/bin/python bench/web.py [--runs 5] [--anonymous]
    .venv/bin/python bench/web.py --url http://127.0.0.1:8000 [--data-dir data | --token T]

Starts `pingraph serve --demo --workers 1` in a temporary data directory (or uses the server
at `--url`), signs in as the demo user (a token from `pingraph token issue --handle demo`
against the server's data directory, stored in localStorage as the web app keeps its
session), then loads `/` in headless Chromium (Debian's `chromium`, driven by Playwright),
each run in a new browser context: a cold HTTP cache and fresh storage. A run is done when 25
pictures of the pin grid (`[data-testid=pin-grid] img`) have loaded. Then the page is
reloaded in the same context: the warm second view. One unmeasured load comes first, so the
server's caches and the demo user's ranked feed are warm and every run measures the browser.

Figures come from the page's Performance API, in ms from the start of the navigation:
- first pin image / 25th pin image: the responseEnd of the 1st and 25th resource entries
  whose URL contains `/media/`, in the order they finished;
- first contentful paint, DOMContentLoaded;
- bytes transferred: transferSize (headers and body as sent, 0 when served from the cache)
  of the navigation and every resource entry, by kind (document, code, api, images).
  Same origin, so no Timing-Allow-Origin is needed.

Everything runs on loopback on this machine: the times are the browser's and the server's
CPU work, not a network's. Prints a table (median, min-max) and saves
bench/results/web.json with every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import httpx
from common import SECRET, free_port, save, start_server, stop_server
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    StorageState,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

PINGRAPH = str(Path(sys.executable).with_name("pingraph"))
GRID_IMAGES = "[data-testid=pin-grid] img"
IMAGES = 25
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
SESSION_KEY = "pingraph.session"  # web/app/session.js
FAR_AHEAD_MS = 4_102_444_800_000  # 2100-01-01
LOAD_TIMEOUT_S = 60.0

LOADED = (
    f"n => [...document.querySelectorAll({json.dumps(GRID_IMAGES)})]"
    ".filter(img => img.complete && img.naturalWidth > 0).length >= n"
)
MEASURE = """() => {
  const GRID_IMAGES = "__GRID_IMAGES__";
  const navigation = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const kind = (entry) => {
    const path = new URL(entry.name, location.href).pathname;
    if (entry.entryType === "navigation") return "document";
    if (path.includes("/media/")) return "images";
    if (path.startsWith("/graphql")) return "api";
    if (/\\.(m?js|css)$/.test(path)) return "code";
    return "other";
  };
  const bytes = { document: 0, code: 0, api: 0, images: 0, other: 0 };
  const requests = { document: 0, code: 0, api: 0, images: 0, other: 0 };
  let fromCache = 0;
  for (const entry of [navigation, ...resources]) {
    bytes[kind(entry)] += entry.transferSize;
    requests[kind(entry)] += 1;
    if (entry.transferSize === 0) fromCache += 1;
  }
  // When each loaded grid picture's bytes were in: the responseEnd of its URL's entry. The
  // demo reuses pictures, and a URL already fetched for this page has no entry of its own.
  const arrived = new Map();
  for (const entry of resources) {
    if (entry.name.includes("/media/") && !(arrived.get(entry.name) <= entry.responseEnd)) {
      arrived.set(entry.name, entry.responseEnd);
    }
  }
  const pictures = [...document.querySelectorAll(GRID_IMAGES)]
    .filter((img) => img.complete && img.naturalWidth > 0);
  const times = pictures.map((img) => arrived.get(img.currentSrc))
    .filter((time) => time !== undefined).sort((a, b) => a - b);
  const loads = [...(window.__pinLoads || [])].sort((a, b) => a - b);
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  return {
    first_image_ms: times.length ? times[0] : null,
    image_25_ms: times.length >= 25 ? times[24] : null,
    load_25_ms: loads.length >= 25 ? loads[24] : null,
    media_entries: arrived.size,
    pictures_timed: times.length,
    fcp_ms: paint ? paint.startTime : null,
    dom_content_loaded_ms: navigation.domContentLoadedEventEnd,
    bytes: Object.values(bytes).reduce((a, b) => a + b, 0),
    bytes_by_kind: bytes,
    requests: Object.values(requests).reduce((a, b) => a + b, 0),
    requests_by_kind: requests,
    from_cache: fromCache,
  };
}""".replace("__GRID_IMAGES__", GRID_IMAGES)
# Each grid picture's load event, in ms from the navigation start (load does not bubble, and
# does not reach window: a capturing listener on the document sees every one).
LOAD_EVENTS = """
window.__pinLoads = [];
document.addEventListener("load", (event) => {
  if (event.target instanceof HTMLImageElement && event.target.closest("[data-testid=pin-grid]")) {
    window.__pinLoads.push(performance.now());
  }
}, true);
"""
FIGURES = (  # (key, label, unit)
    ("first_image_ms", "first pin image", "ms"),
    ("image_25_ms", "25th pin image", "ms"),
    ("load_25_ms", "25th pin image's load event", "ms"),
    ("fcp_ms", "first contentful paint", "ms"),
    ("dom_content_loaded_ms", "DOMContentLoaded", "ms"),
    ("bytes", "bytes transferred", "B"),
    ("requests", "requests", ""),
    ("from_cache", "of which from the cache", ""),
)


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if found is None:
        raise SystemExit("no Chromium: install Debian's (scripts/debian-packages chromium)")
    return found


def issue_token(env: dict[str, str]) -> str:
    issued = subprocess.run(
        [PINGRAPH, "token", "issue", "--handle", "demo", "--ttl", str(6 * 3600)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if issued.returncode != 0:
        raise SystemExit(f"pingraph token issue --handle demo failed:\n{issued.stderr}")
    return issued.stdout.strip()


def check_app(url: str) -> None:
    """A clear error when the server has no web app at `/` (yet)."""
    try:
        response = httpx.get(f"{url}/", timeout=10)
    except httpx.TransportError as error:
        raise SystemExit(f"no server at {url}: {error}") from None
    if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
        raise SystemExit(
            f"no web app at {url}/: {response.status_code} "
            f"{response.headers.get('content-type', '')} (is web/ served by server/web.py?)"
        )


def storage(url: str, token: str | None) -> StorageState:
    """A context's storage state: the web app's session in localStorage, or nothing. (Not an
    init script: that would run on about:blank too, where localStorage throws.)"""
    if token is None:
        return {"cookies": [], "origins": []}
    session = json.dumps({"token": token, "refreshToken": None, "expiresAt": FAR_AHEAD_MS})
    return {
        "cookies": [],
        "origins": [{"origin": url, "localStorage": [{"name": SESSION_KEY, "value": session}]}],
    }


def wait_for_pictures(page: Page, errors: list[str]) -> bool:
    """Until 25 grid pictures have loaded; scrolls a screen at a time if the grid's lazy
    pictures stop loading below the fold. True if it had to scroll."""
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    scrolled = False
    while True:
        try:
            page.wait_for_function(LOADED, arg=IMAGES, timeout=5000, polling=20)
            return scrolled
        except PlaywrightTimeout:
            pass
        count = page.locator(GRID_IMAGES).count()
        if time.monotonic() > deadline:
            problems = "\n  ".join(errors[:5]) or "none"
            raise SystemExit(
                f"{page.url}: fewer than {IMAGES} pictures loaded in the pin grid within "
                f"{LOAD_TIMEOUT_S:.0f} s ({count} img elements in {GRID_IMAGES}).\n"
                f"Browser errors: {problems}"
            )
        if count:  # lazy pictures load near the viewport only
            page.mouse.wheel(0, VIEWPORT["height"])
            scrolled = True


@contextlib.contextmanager
def context(browser: Browser, url: str, token: str | None) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport=VIEWPORT, storage_state=storage(url, token))
    opened.add_init_script(LOAD_EVENTS)
    try:
        yield opened
    finally:
        opened.close()


def view(page: Page, errors: list[str], *, reload: bool, url: str) -> dict[str, Any]:
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(f"{url}/", wait_until="commit")
    scrolled = wait_for_pictures(page, errors)
    figures: dict[str, Any] = page.evaluate(MEASURE)
    figures["scrolled"] = scrolled
    return figures


def run(browser: Browser, url: str, token: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """One cold view of `/` in a new context, then a reload in it: their figures."""
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    with context(browser, url, token) as fresh:
        page = fresh.new_page()
        page.on("console", console)
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        cold = view(page, errors, reload=False, url=url)
        warm = view(page, errors, reload=True, url=url)
    cold["errors"] = warm["errors"] = errors  # both views' console errors
    return cold, warm


def summary(runs: list[dict[str, Any]]) -> dict[str, dict[str, float] | None]:
    """Median, min and max of each figure over the runs."""
    out: dict[str, dict[str, float] | None] = {}
    for key, _, _ in FIGURES:
        values = [r[key] for r in runs if r.get(key) is not None]
        if not values:
            out[key] = None
            continue
        out[key] = {
            "median": round(statistics.median(values), 1),
            "min": round(min(values), 1),
            "max": round(max(values), 1),
        }
    return out


def cell(figure: dict[str, float] | None, unit: str) -> str:
    if figure is None:
        return "-"
    if unit == "B":
        return f"{figure['median'] / 1000:,.1f} kB ({figure['min'] / 1000:,.1f}-" \
               f"{figure['max'] / 1000:,.1f})"  # fmt: skip
    suffix = f" {unit}" if unit else ""
    return f"{figure['median']:,.0f}{suffix} ({figure['min']:,.0f}-{figure['max']:,.0f})"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def print_table(cold: dict[str, Any], warm: dict[str, Any], runs: int) -> None:
    print(f"\n{runs} runs, median (min-max)")
    print(f"| {'figure':<28} | {'cold first view':<26} | {'warm second view':<26} |")
    print(f"|{'-' * 30}|{'-' * 28}|{'-' * 28}|")
    for key, label, unit in FIGURES:
        print(f"| {label:<28} | {cell(cold[key], unit):<26} | {cell(warm[key], unit):<26} |")


def measure(url: str, token: str | None, runs: int) -> dict[str, Any]:
    check_app(url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            print(f"Chromium {browser.version}; one unmeasured load, then {runs} runs")
            run(browser, url, token)
            cold_runs, warm_runs = [], []
            for number in range(1, runs + 1):
                cold, warm = run(browser, url, token)
                cold_runs.append(cold)
                warm_runs.append(warm)
                errors = f"; {len(cold['errors'])} browser errors" if cold["errors"] else ""
                print(
                    f"  run {number}: 25th picture {ms(cold['image_25_ms'])} cold, "
                    f"{ms(warm['image_25_ms'])} warm; {cold['bytes']:,} B cold{errors}"
                )
            chromium_version = browser.version
        finally:
            browser.close()
    return {
        "chromium": chromium_version,
        "cold": summary(cold_runs),
        "warm": summary(warm_runs),
        "runs": {"cold": cold_runs, "warm": warm_runs},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured cold+warm runs")
    parser.add_argument("--url", help="a running server (default: start a demo server)")
    parser.add_argument("--data-dir", type=Path,
                        help="with --url: the server's data directory, for the token")  # fmt: skip
    parser.add_argument("--token", help="with --url: the demo user's token (else issued)")
    parser.add_argument("--anonymous", action="store_true", help="not signed in")
    args = parser.parse_args()
    chromium()  # fail before starting a server
    server = None
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        if args.url:
            url = args.url.rstrip("/")
            env = dict(os.environ)
            if args.data_dir:
                env["PINGRAPH_DATA_DIR"] = str(args.data_dir)
            what = f"the server at {url}"
        else:
            data_dir, port = Path(tmp) / "data", free_port()
            print("starting pingraph serve --demo --workers 1 (the demo graph loads first)")
            started = time.monotonic()
            server = start_server(data_dir, port, log=Path(tmp) / "server.log")
            print(f"ready in {time.monotonic() - started:.0f} s")
            url = f"http://127.0.0.1:{port}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("PINGRAPH_")}
            env.update(PINGRAPH_DATA_DIR=str(data_dir), PINGRAPH_JWT_SECRET=SECRET,
                       PINGRAPH_LOG_LEVEL="warning")  # fmt: skip
            what = "pingraph serve --demo --workers 1 (embedded FalkorDB and Redis)"
        try:
            token = None if args.anonymous else (args.token or issue_token(env))
            figures = measure(url, token, args.runs)
        finally:
            if server is not None:
                stop_server(server)
    print_table(figures["cold"], figures["warm"], args.runs)
    save("web", {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "chromium": figures.pop("chromium"), "playwright": version("playwright")},
        "server": what,
        "page": f"/ ({'anonymous' if args.anonymous else 'signed in as demo'}), "
                f"viewport {VIEWPORT['width']}x{VIEWPORT['height']}, headless Chromium",
        "figures": "ms from navigation start (Performance API); bytes: transferSize",
        **figures,
    })  # fmt: skip


if __name__ == "__main__":
    main()
