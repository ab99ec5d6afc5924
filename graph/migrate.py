"""Versioned, checksummed schema migrations, recorded in the graph as (:Migration) nodes.

Files live in migrations/<dialect>/NNNN_name.cypher: statements end with `;` and `//` lines
are comments. Every statement is idempotent, so a run interrupted half-way can run again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from graph.backends.base import Dialect, GraphBackend
from graph.model import now_ms

FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.cypher$")

APPLIED = """
MATCH (m:Migration)
RETURN m.version AS version, m.name AS name, m.checksum AS checksum, m.appliedAt AS appliedAt
ORDER BY version
"""
RECORD = """
MERGE (m:Migration {version: $version})
SET m.name = $name, m.checksum = $checksum, m.appliedAt = $now
"""


class MigrationError(Exception):
    """Migrations cannot run: a file changed after it was applied, or a file is malformed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    checksum: str
    statements: list[str]


@dataclass(frozen=True)
class Status:
    migration: Migration
    applied_at: int | None


def load(dialect: Dialect) -> list[Migration]:
    folder = resources.files("migrations") / dialect.value
    found = []
    for entry in folder.iterdir():
        match = FILE_NAME.match(entry.name)
        if not match:
            continue
        source = entry.read_text(encoding="utf-8")
        found.append(
            Migration(
                version=int(match[1]),
                name=match[2],
                checksum=hashlib.sha256(source.encode()).hexdigest(),
                statements=split_statements(source),
            )
        )
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two {dialect} migrations share a version number")
    return found


def split_statements(source: str) -> list[str]:
    lines = [line for line in source.splitlines() if not line.strip().startswith("//")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


async def status(backend: GraphBackend) -> list[Status]:
    applied = {row["version"]: row for row in await backend.write(APPLIED)}
    result = []
    for migration in load(backend.dialect):
        row = applied.get(migration.version)
        if row is not None and row["checksum"] != migration.checksum:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} changed after it was "
                "applied; add a new migration instead of editing an applied one"
            )
        result.append(Status(migration, row["appliedAt"] if row else None))
    return result


async def migrate(
    backend: GraphBackend, *, progress: Callable[[Migration], None] | None = None
) -> list[Migration]:
    """Apply pending migrations in order; returns those applied (none when up to date)."""
    done = []
    for entry in await status(backend):
        if entry.applied_at is not None:
            continue
        migration = entry.migration
        if progress:
            progress(migration)
        for statement in migration.statements:
            await backend.ddl(statement)
        await backend.write(
            RECORD,
            {
                "version": migration.version,
                "name": migration.name,
                "checksum": migration.checksum,
                "now": now_ms(),
            },
        )
        done.append(migration)
    return done
