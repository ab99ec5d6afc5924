"""web/index.html names every module of the app for preloading (else the browser finds them
import by import, one round trip per level), and nothing that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def test_every_module_is_preloaded_and_every_preload_exists() -> None:
    index = (WEB / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/web/([^"]+)">', index))
    modules = {str(path.relative_to(WEB)) for path in (WEB / "app").rglob("*.js")}
    modules |= {str(path.relative_to(WEB)) for path in (WEB / "vendor").glob("*.mjs")}
    assert preloaded == modules
