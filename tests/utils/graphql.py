"""A small GraphQL client over the ASGI app, for tests."""

from __future__ import annotations

from typing import Any

import httpx

from domain.identity import Role
from graph.model import User
from server.auth import issue_token
from server.settings import Settings


class Api:
    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.secret = settings.jwt_secret.get_secret_value()

    def token(self, user: User, *roles: Role, ttl: int = 3600) -> str:
        return issue_token(self.secret, user.id, list(roles or (Role.USER,)), ttl)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """Run an operation that must succeed; return its data."""
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """Run an operation that must fail with one error; return that error."""
        response = await self.post(query, variables, token=token)
        body = response.json()
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        error: dict[str, Any] = body["errors"][0]
        return error


def code(error: dict[str, Any]) -> str:
    value: str = error["extensions"]["code"]
    return value
