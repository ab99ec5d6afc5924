"""The API tests' fixtures: the real app's GraphQL client and repositories."""

from tests.api.conftest import api, repos

__all__ = ["api", "repos"]
