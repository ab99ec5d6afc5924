"""Follow your notifications live, with `websockets` and the graphql-transport-ws protocol.

    TOKEN=$(.venv/bin/pingraph token issue --handle demo)
    .venv/bin/python docs/examples/notifications.py --token "$TOKEN"

Prints each notification as it arrives. A production client reconnects with back-off when the
socket closes, and catches up from `me { notifications(unreadOnly: true) }` first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import websockets

NOTIFICATION_ADDED = """
subscription {
  notificationAdded { id kind actorCount actors(first: 1) { handle } pin { id title } }
}
"""


async def notifications(url: str, token: str) -> AsyncIterator[dict[str, Any]]:
    """Yield `notificationAdded` payloads from `url` (ws://host:port/graphql)."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        # The token goes in connection_init; a bad one closes the socket with code 4403.
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        if json.loads(await socket.recv())["type"] != "connection_ack":
            raise RuntimeError("the server did not acknowledge the connection")
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": NOTIFICATION_ADDED}}
        await socket.send(json.dumps(subscribe))
        async for raw in socket:
            message = json.loads(raw)
            if message["type"] == "ping":  # keep-alive: answer it
                await socket.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                yield message["payload"]["data"]["notificationAdded"]
            elif message["type"] in ("error", "complete"):
                raise RuntimeError(f"the subscription ended: {message}")


def describe(notification: dict[str, Any]) -> str:
    who = notification["actors"][0]["handle"] if notification["actors"] else "someone"
    others = notification["actorCount"] - 1
    if others > 0:
        who += f" and {others} other{'s' if others > 1 else ''}"
    return f"{notification['kind']}: {who}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000/graphql")
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    async for notification in notifications(args.url, args.token):
        print(describe(notification), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
