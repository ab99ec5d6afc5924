"""A small Python client for pingraph's GraphQL API (needs `httpx`).

    python docs/examples/pingraph_client.py --url http://127.0.0.1:8000 --token "$TOKEN"

Get a token with `pingraph token issue --handle demo`, or copy the one `scripts/run` prints.
The demo at the bottom reads your home feed, creates a board, saves a pin to it and pages
through the board.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx


class PingraphError(Exception):
    """A GraphQL error; `code` is its `extensions.code` (NOT_FOUND, FORBIDDEN, ...)."""

    def __init__(self, message: str, code: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.retry_after = retry_after


class PingraphClient:
    def __init__(
        self, url: str, token: str | None = None, *, http: httpx.AsyncClient | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = http or httpx.AsyncClient(base_url=url, timeout=30)
        self.headers = headers

    async def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        """Run one operation; return its data or raise the first error."""
        for _attempt in range(3):
            response = await self.http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers=self.headers,
            )
            body = response.json()
            errors = body.get("errors") or []
            if not errors:
                data: dict[str, Any] = body["data"]
                return data
            first = errors[0]
            extensions = first.get("extensions", {})
            error = PingraphError(first["message"], extensions.get("code", "INTERNAL"),
                                  extensions.get("retryAfter"))  # fmt: skip
            if error.code != "RATE_LIMITED" or error.retry_after is None:
                raise error
            await asyncio.sleep(error.retry_after)  # over the rate limit: wait as told
        raise error

    async def board_pins(self, board_id: str, page_size: int = 25) -> AsyncIterator[dict[str, Any]]:
        """Every pin of a board, newest save first, page by page."""
        after = None
        while True:
            data = await self.execute(BOARD_PINS, id=board_id, first=page_size, after=after)
            if data["board"] is None:
                raise PingraphError(f"no board {board_id}", "NOT_FOUND")
            page = data["board"]["pins"]
            for edge in page["edges"]:
                yield edge["node"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    async def close(self) -> None:
        await self.http.aclose()


BOARD_PINS = """
query BoardPins($id: ID!, $first: Int, $after: String) {
  board(id: $id) {
    pins(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id title creator { handle } } }
    }
  }
}
"""
HOME_FEED = "query { homeFeed(first: 5) { edges { node { id title } } } }"
CREATE_BOARD = """
mutation($name: String!) { createBoard(input: {name: $name, privacy: SECRET}) { id name } }
"""
SAVE_PIN = "mutation($pin: ID!, $board: ID!) { savePin(pinId: $pin, boardId: $board) { id } }"


async def demo(client: PingraphClient) -> list[str]:
    """Save the first pin of your home feed to a new secret board; return the board's pins."""
    feed = await client.execute(HOME_FEED)
    board = (await client.execute(CREATE_BOARD, name="Saved from the client"))["createBoard"]
    pins = [edge["node"] for edge in feed["homeFeed"]["edges"]]
    if pins:
        await client.execute(SAVE_PIN, pin=pins[0]["id"], board=board["id"])
    return [pin["id"] async for pin in client.board_pins(board["id"])]


async def main() -> None:
    parser = argparse.ArgumentParser(description="pingraph GraphQL client demo")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="a bearer token (pingraph token issue)")
    args = parser.parse_args()
    client = PingraphClient(args.url, args.token)
    try:
        print("pins on the new board:", await demo(client))
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
