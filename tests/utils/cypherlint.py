"""Neo4j's own Cypher front-end (the npm package @neo4j-cypher/language-support, function
`lintCypherQuery`) over every statement pingraph can send to Neo4j.

It reports syntax and semantic errors (undefined variables, undeclared parameters, wrong
clause order, ...). `install()` installs it from tests/cypherlint/package-lock.json with the
machine's Node.js and npm when it is missing.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import graph.demo.seed
import graph.integrity
import graph.migrate
import graph.repos.boards
import graph.repos.collaborators
import graph.repos.comments
import graph.repos.credentials
import graph.repos.dialect
import graph.repos.feed
import graph.repos.notifications
import graph.repos.pins
import graph.repos.sections
import graph.repos.topics
import graph.repos.trending
import graph.repos.users
import graph.repos.visual
import walks.export
from graph.backends.base import Dialect
from graph.migrate import load
from tests.utils.npm import npm_ci

LINT_DIR = Path(__file__).parent.parent / "cypherlint"
# Every module that holds Cypher sent to the graph store, as upper-case constants.
MODULES: list[ModuleType] = [
    graph.repos.users,
    graph.repos.credentials,
    graph.repos.boards,
    graph.repos.collaborators,
    graph.repos.pins,
    graph.repos.sections,
    graph.repos.comments,
    graph.repos.topics,
    graph.repos.trending,
    graph.repos.feed,
    graph.repos.notifications,
    graph.repos.visual,
    graph.repos.dialect,
    graph.migrate,
    graph.demo.seed,
    graph.integrity,
    walks.export,
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


def install() -> Path:
    """The linter script, with its npm package installed."""
    npm_ci(LINT_DIR, ("@neo4j-cypher/language-support",), "the Neo4j Cypher check")
    return LINT_DIR / "lint.cjs"


def lint(linter: Path, statements: list[tuple[str, str]]) -> dict[str, list[dict[str, object]]]:
    """Diagnostics by statement name; every statement given has an entry (empty when clean)."""
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
    answers = json.loads(result.stdout)
    diagnostics = {item["name"]: item["diagnostics"] for item in answers}
    assert len(answers) == len(statements) == len(diagnostics), "a statement was not linted"
    return diagnostics
