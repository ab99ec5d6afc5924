"""The analyst query library: named queries in a file like docs/analyst-queries.cypher.

    // name: user-neighbourhood
    // A user's boards and the pins on them, as paths.
    // params: {"handle": "demo"}
    MATCH path = (u:User {handle: $handle})-[:OWNS]->(:Board) RETURN path;

A `// name:` line starts a query, the comment lines after it describe it, an optional
`// params:` line gives its parameters' defaults as JSON, and `;` ends the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from domain.errors import BadInput

# In a checkout only: the Docker image and an installed package have no docs/.
DEFAULT_LIBRARY = Path(__file__).resolve().parents[2] / "docs" / "analyst-queries.cypher"


@dataclass(frozen=True)
class LibraryQuery:
    name: str
    description: str
    query: str
    params: dict[str, Any]


def read_library(text: str) -> list[LibraryQuery]:
    """The named queries of a library file's text, in file order."""
    queries = []
    for block in re.split(r"^// name:", text, flags=re.MULTILINE)[1:]:
        name, _, rest = block.partition("\n")
        description: list[str] = []
        lines: list[str] = []
        params: dict[str, Any] = {}
        for line in rest.splitlines():
            stripped = line.strip()
            if stripped.startswith("// params:"):
                params = _params(name.strip(), stripped.removeprefix("// params:"))
            elif stripped.startswith("//"):
                if not lines:
                    description.append(stripped.removeprefix("//").strip())
            elif stripped:
                lines.append(line.rstrip())
        query = "\n".join(lines).rstrip().removesuffix(";").rstrip()
        queries.append(LibraryQuery(name.strip(), " ".join(description), query, params))
    return queries


def _params(name: str, text: str) -> dict[str, Any]:
    try:
        params = orjson.loads(text)
    except orjson.JSONDecodeError:
        params = None
    if not isinstance(params, dict):
        raise BadInput(f"query {name!r}: its '// params:' line must be a JSON object")
    return params


def load_library(path: Path) -> list[LibraryQuery]:
    try:
        text = path.read_text()
    except OSError as error:
        raise BadInput(f"cannot read the query library {path}: {error.strerror}") from None
    queries = read_library(text)
    if not queries:
        raise BadInput(f"{path} holds no named queries (a '// name:' line starts each)")
    return queries
