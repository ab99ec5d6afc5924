"""The GraphQL over HTTP conformance audit: the npm package graphql-http's `serverAudits`,
the audits its authors run against every server that claims to follow the spec.

`install()` installs it from tests/graphqlhttp/package-lock.json with the machine's Node.js
and npm when it is missing; `audit(url)` runs every audit against a served /graphql.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.utils.npm import npm_ci

AUDIT_DIR = Path(__file__).parent.parent / "graphqlhttp"
PACKAGES = ("graphql-http", "graphql")


def install() -> Path:
    """The audit script, with its npm packages installed."""
    npm_ci(AUDIT_DIR, PACKAGES, "the GraphQL over HTTP audit")
    return AUDIT_DIR / "audit.mjs"


async def audit(script: Path, url: str) -> list[dict[str, Any]]:
    """Every audit's result: {id, name, status} and, unless `status` is "ok", `reason` and
    the `response` it got. Runs as a subprocess so that the server, in this event loop,
    keeps answering."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, stderr.decode()
    results: list[dict[str, Any]] = json.loads(stdout)
    return results
