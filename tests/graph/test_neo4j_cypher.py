"""Every Cypher text the Neo4j backend can send, checked by Neo4j's own front-end.

The npm package @neo4j-cypher/language-support (`lintCypherQuery`) reports syntax and
semantic errors (undefined variables, undeclared parameters, wrong clause order, ...).
The test installs it from tests/cypherlint/package-lock.json when it is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import graph.boards
import graph.dialect
import graph.export
import graph.feed
import graph.migrate
import graph.pins
import graph.topics
import graph.users
from graph.backend import Dialect
from graph.migrate import load

LINT_DIR = Path(__file__).parent.parent / "cypherlint"
MODULES: list[ModuleType] = [
    graph.users,
    graph.boards,
    graph.pins,
    graph.topics,
    graph.feed,
    graph.export,
    graph.migrate,
    graph.dialect,
]
CLAUSE = re.compile(r"^\s*(MATCH|OPTIONAL|CREATE|MERGE|UNWIND|CALL|WITH|RETURN)\b")
PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def neo4j_statements() -> Iterator[tuple[str, str]]:
    """(name, text) of every statement: repository constants, dialect texts, migrations."""
    for module in MODULES:
        for name, value in vars(module).items():
            if not name.isupper() or name.startswith("_"):
                continue
            texts = value if isinstance(value, dict) else {"": value}
            for key, text in texts.items():
                if key and isinstance(key, Dialect) and key is not Dialect.NEO4J:
                    continue
                if isinstance(text, str) and CLAUSE.match(text):
                    label = f"{module.__name__}.{name}" + (f"[{key}]" if key else "")
                    yield label, text
    for migration in load(Dialect.NEO4J):
        for number, statement in enumerate(migration.statements):
            yield f"migrations/neo4j/{migration.version:04d}#{number}", statement


@pytest.fixture(scope="module")
def linter() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node, "Node.js is needed for the Neo4j Cypher check"
    assert npm, "npm is needed for the Neo4j Cypher check"
    if not (LINT_DIR / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=LINT_DIR,
            check=True,
            timeout=600,
        )
    return LINT_DIR / "lint.cjs"


def lint(linter: Path, statements: list[tuple[str, str]]) -> dict[str, list[dict[str, object]]]:
    payload = [
        {"name": name, "query": text, "params": sorted(set(PARAM.findall(text)))}
        for name, text in statements
    ]
    result = subprocess.run(
        ["node", str(linter)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return {item["name"]: item["diagnostics"] for item in json.loads(result.stdout)}


def test_collects_every_repository_and_migration_statement() -> None:
    names = {name for name, _ in neo4j_statements()}
    assert "graph.pins.SAVE" in names
    assert "graph.users.VIEWER_FOLLOWS[Board]" in names
    assert "graph.dialect.SEARCH_PINS[neo4j]" in names
    assert not any("falkordb" in name for name in names)
    assert sum(name.startswith("migrations/neo4j/") for name in names) >= 10


def test_every_neo4j_statement_passes_neo4j_front_end(linter: Path) -> None:
    statements = list(neo4j_statements())
    diagnostics = lint(linter, statements)
    problems = {name: found for name, found in diagnostics.items() if found}
    assert problems == {}


def test_the_check_catches_real_mistakes(linter: Path) -> None:
    diagnostics = lint(
        linter,
        [
            ("undefined variable", "MATCH (u:User) RETURN x"),
            ("bad clause order", "RETURN 1 MATCH (n) RETURN n"),
            ("falkordb-only procedure call syntax", "MATCH (n) WHERE n.x = $p RETURN n LIMIT"),
        ],
    )
    assert all(diagnostics[name] for name in diagnostics)
