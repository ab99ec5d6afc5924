"""The session app served by a real uvicorn on loopback, for WebSocket clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection

PROTOCOL = "graphql-transport-ws"
NOTIFICATION_ADDED = """
subscription {
  notificationAdded { id kind actorCount read actors { handle } pin { id } board { id } }
}
"""


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`ws://127.0.0.1:<port>` of a uvicorn serving `app`, whose lifespan already ran."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Subscription:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def next(self) -> dict[str, Any]:
        """The next `next` payload (pings are answered on the way); wrap in asyncio.timeout."""
        while True:
            message = json.loads(await self.socket.recv())
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next", message
            payload: dict[str, Any] = message["payload"]
            return payload

    async def message(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(await self.socket.recv())
        return found


@asynccontextmanager
async def subscribed(
    url: str, token: str, query: str = NOTIFICATION_ADDED
) -> AsyncIterator[Subscription]:
    """A graphql-transport-ws connection signed in with `token`, subscribed to `query`."""
    async with websockets.connect(f"{url}/graphql", subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        ack = json.loads(await asyncio.wait_for(socket.recv(), 20))
        assert ack["type"] == "connection_ack", ack
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        yield Subscription(socket)
