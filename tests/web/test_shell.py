"""The app's shell: the page, its headers, its static files, and a first render in Chromium."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from tests.utils.demo_server import DemoServer


def test_pages_are_html_with_a_content_security_policy(web_server: DemoServer) -> None:
    response = httpx.get(f"{web_server.url}/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, policy
    assert '<script type="module"' in response.text


def test_vendored_modules_are_served_as_javascript(web_server: DemoServer) -> None:
    response = httpx.get(f"{web_server.url}/web/vendor/preact.mjs")
    assert response.status_code == 200
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in {"text/javascript", "application/javascript"}, media_type


def test_unknown_paths_are_404_and_not_the_app(web_server: DemoServer) -> None:
    response = httpx.get(f"{web_server.url}/nope")
    assert response.status_code == 404
    assert not response.headers.get("content-type", "").startswith("text/html")


def test_home_renders_without_errors(page: Page) -> None:
    page.goto("/")
    page.locator("header").first.wait_for(state="visible")


def test_the_page_is_only_served_with_its_headers(web_server: DemoServer) -> None:
    response = httpx.get(f"{web_server.url}/web/index.html")
    assert response.status_code == 308
    assert response.headers["location"] == "/"


def test_modules_are_compressed_and_revalidated(web_server: DemoServer) -> None:
    response = httpx.get(f"{web_server.url}/web/app/main.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]
    again = httpx.get(f"{web_server.url}/web/app/main.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
