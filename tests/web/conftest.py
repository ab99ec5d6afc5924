"""The web app in a real browser: one `pingraph serve --demo` for the session, and headless
Chromium (Debian's `chromium` package, driven by Playwright's sync API: tests are plain `def`).

Fixtures:
- `web_server`: the session's demo server (`demo_server`, tests/utils/demo_server.py: `.url`,
  `.data_dir`, `.token(handle)`).
- `browser`: one Chromium for the session. Without Chromium the tests that need it are
  skipped, except under CI=true, where they fail: CI must never skip them silently.
- `pages`: opens pages, each in a new browser context (its own cookies and storage):
  `pages.open()`, or `pages.open(token=...)` signed in. Every console error, uncaught page
  error or crash on any of them fails the test, unless the test `pages.allow(pattern)`s it.
- `page`: `pages.open()`, anonymous.

`save_screenshot(page, name)` writes docs/screenshots/<name>.png when
PINGRAPH_UPDATE_SCREENSHOTS=1 and does nothing otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    StorageState,
    ViewportSize,
    sync_playwright,
)

from tests.utils.demo_server import DemoServer

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
NO_CHROMIUM = "no Chromium: install Debian's chromium or run scripts/test as root"
SESSION_KEY = "pingraph.session"  # web/app/session.js keeps the signed-in session there
FAR_AHEAD_MS = 4_102_444_800_000  # 2100-01-01: the stored session never looks expired


@pytest.fixture(scope="session")
def web_server(demo_server: DemoServer) -> DemoServer:
    return demo_server


# ------------------------------------------------------------------------------ the browser


def chromium_path() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{NO_CHROMIUM} (CI=true: browser tests must not be skipped)")
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        DRIVER.loop = asyncio._get_running_loop()
        try:
            yield launched
        finally:
            DRIVER.mark()
            launched.close()
    DRIVER.loop = None


class Driver:
    """Between its calls, Playwright's sync API marks its event loop as running in this
    thread (playwright/_impl/_greenlets.py, wait_for_future), and asyncio then refuses to run
    another loop here. pytest-asyncio runs the suite's async tests in this same thread, so the
    mark is lifted after each test that uses the browser and put back before the next one."""

    loop: asyncio.AbstractEventLoop | None = None

    def mark(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            asyncio._set_running_loop(self.loop)

    def lift(self) -> None:
        if self.loop is not None and asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)


DRIVER = Driver()


@pytest.fixture(autouse=True)
def _playwright_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    if "browser" not in request.fixturenames:
        yield
        return
    DRIVER.mark()
    try:
        yield
    finally:
        DRIVER.lift()


def signed_in(base_url: str, token: str) -> StorageState:
    """A context's `storage_state`: the session the web app keeps in localStorage, as if the
    user had signed in before. Stored once, so signing out in a test sticks. (Not an init
    script: that would run again on every load, and on about:blank, where localStorage throws.)
    """
    session = json.dumps({"token": token, "refreshToken": None, "expiresAt": FAR_AHEAD_MS})
    return {
        "cookies": [],
        "origins": [
            {"origin": base_url, "localStorage": [{"name": SESSION_KEY, "value": session}]}
        ],
    }


@dataclass
class Pages:
    """Pages of one test, each in a browser context of its own, watched for errors."""

    browser: Browser
    base_url: str
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    opened: list[Page] = field(default_factory=list)

    def open(self, *, token: str | None = None, **context_options: Any) -> Page:
        """A new page in a new context (cold cache, empty storage), at `about:blank`;
        `page.goto("/...")` is relative to the server. With `token`, signed in."""
        options: dict[str, Any] = {"base_url": self.base_url, "viewport": VIEWPORT}
        if token is not None:
            options["storage_state"] = signed_in(self.base_url, token)
        options.update(context_options)
        context = self.browser.new_context(**options)
        context.on("page", self.watch)  # pages the app opens itself too
        return context.new_page()

    def watch(self, page: Page) -> None:
        self.opened.append(page)
        number = len(self.opened)

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                self.report(f"page {number} console error: {message.text}" +
                            (f" ({where})" if where else ""))  # fmt: skip

        page.on("console", console)
        page.on("pageerror", lambda error: self.report(f"page {number} uncaught: {error}"))
        page.on("crash", lambda _: self.report(f"page {number} crashed"))

    def report(self, problem: str) -> None:
        if not any(pattern.search(problem) for pattern in self.allowed):
            self.problems.append(problem)

    def allow(self, pattern: str) -> None:
        """Let errors matching `pattern` (a regular expression) pass in this test: one the
        test provokes on purpose."""
        self.allowed.append(re.compile(pattern))

    def settle(self) -> None:
        """One round trip to every open page, so errors already raised have been delivered."""
        for page in self.opened:
            if not page.is_closed():
                # Navigating or closing: whatever it raised was reported already.
                with contextlib.suppress(Error):
                    page.evaluate("0")

    def close(self) -> None:
        for context in {page.context for page in self.opened}:
            context.close()


@pytest.fixture
def pages(browser: Browser, web_server: DemoServer) -> Iterator[Pages]:
    opened = Pages(browser, web_server.url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def page(pages: Pages) -> Page:
    return pages.open()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test that passed with errors in any of its pages' consoles fails: a broken page is
    never a pass."""
    result = yield
    opened = getattr(item, "funcargs", {}).get("pages")
    if isinstance(opened, Pages):
        opened.settle()
        if opened.problems:
            problems = "\n  ".join(opened.problems)
            pytest.fail(f"errors in the browser:\n  {problems}", pytrace=False)
    return result


def save_screenshot(page: Page, name: str) -> None:
    """docs/screenshots/<name>.png of the viewport, when PINGRAPH_UPDATE_SCREENSHOTS=1."""
    if os.environ.get("PINGRAPH_UPDATE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=SCREENSHOTS / f"{name}.png", full_page=False, animations="disabled", caret="hide"
    )
