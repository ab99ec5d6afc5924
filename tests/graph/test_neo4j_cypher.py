"""Every Cypher text the Neo4j backend can send, checked by Neo4j's own front-end
(`tests/utils/cypherlint.py`)."""

from __future__ import annotations

from pathlib import Path

from tests.utils.cypherlint import lint, neo4j_statements


def test_collects_every_repository_migration_and_seed_statement() -> None:
    statements = list(neo4j_statements())
    names = [name for name, _ in statements]
    assert len(names) == len(set(names)), "two statements share a name"
    for expected in (
        "graph.repos.pins.SAVE",
        "graph.repos.users.VIEWER_FOLLOWS[Board]",
        "graph.repos.dialect.SEARCH_PINS[neo4j]",
        "graph.demo.seed.SAVES",
        "walks.export.EXPORT_BOARDS",
        "graph.repos.trending.PUBLIC_SAVES",
        "graph.repos.users.CREATE_WITH_CREDENTIAL",
        "graph.repos.credentials.REPLACE",
        "graph.repos.collaborators.ACCEPT",
        "migrations/neo4j/0009#1",
        "graph.repos.comments.ADD",
        "graph.repos.comments.REACT",
    ):
        assert expected in names
    assert not any("falkordb" in name for name in names)
    assert sum(name.startswith("migrations/neo4j/") for name in names) >= 10
    assert len(names) >= 100


def test_every_neo4j_statement_passes_neo4j_front_end(linter: Path) -> None:
    statements = list(neo4j_statements())
    diagnostics = lint(linter, statements)
    assert sorted(diagnostics) == sorted(name for name, _ in statements)
    problems = {name: found for name, found in diagnostics.items() if found}
    assert problems == {}


def test_the_check_catches_real_mistakes(linter: Path) -> None:
    mistakes = {
        "undefined variable": "MATCH (u:User) RETURN x",
        "bad clause order": "RETURN 1 MATCH (n) RETURN n",
        "truncated": "MATCH (n) WHERE n.x = $p RETURN n LIMIT",
    }
    diagnostics = lint(linter, list(mistakes.items()))
    assert set(diagnostics) == set(mistakes)
    assert [name for name, found in diagnostics.items() if not found] == []
