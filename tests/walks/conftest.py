"""Walk snapshots are built from either graph backend: the graph contract fixtures."""

from tests.graph.conftest import backend, repos

__all__ = ["backend", "repos"]
