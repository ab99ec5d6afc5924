"""A real Web Push service on loopback, for tests: what FCM or Mozilla's autopush would do
with a message, and what the browser then does with it.

It checks each POST like a push service (the VAPID `Authorization` of RFC 8292, the
`Content-Encoding` and `TTL` of RFC 8030), decrypts it like the subscribing browser
(RFC 8291, with the subscription's private key and auth secret), records it, and answers
with the next status of the subscription's script:

    async with PushReceiver() as receiver:
        sub = receiver.subscribe(script=[500, 201])
        ...  # register sub.endpoint, sub.p256dh, sub.auth; push twice
        first, second = await sub.received(2)
        assert second.status == 201 and second.payload == {...}

It runs on the test's own event loop (aiohttp.web), so a sender awaiting its POST finds
the delivery recorded when the POST returns.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import http_ece
import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

MAX_VAPID_LIFETIME_S = 24 * 3600  # RFC 8292 section 2


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Delivery:
    """One POST as the receiver saw it. `error` says what was wrong with it (then `payload`
    is None); `vapid_key` is the `k=` of its Authorization header."""

    status: int
    payload: Any = None
    error: str | None = None
    ttl: str | None = None
    vapid_key: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class Subscription:
    """What `pushManager.subscribe()` gives a page: the endpoint and the browser's keys."""

    endpoint: str
    p256dh: str
    auth: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    auth_secret: bytes = field(repr=False)
    script: list[int]
    deliveries: list[Delivery] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def next_status(self) -> int:
        """The script's statuses in order; the last one repeats."""
        return self.script[min(len(self.deliveries), len(self.script) - 1)]

    def record(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        self._arrived.set()

    async def received(self, n: int, timeout: float = 10.0) -> list[Delivery]:  # noqa: ASYNC109
        """Wait until `n` messages arrived (TimeoutError otherwise); all of them so far."""
        async with asyncio.timeout(timeout):
            while len(self.deliveries) < n:
                self._arrived.clear()
                await self._arrived.wait()
        return list(self.deliveries)


class PushReceiver:
    """An HTTP push service on 127.0.0.1 and an ephemeral port, as an async context manager."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._runner: web.AppRunner | None = None
        self.origin = ""

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/push/{token}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.origin = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def subscribe(self, script: Sequence[int] = (201,)) -> Subscription:
        """A new subscription (a fresh P-256 key pair and auth secret) at a random path."""
        if not script:
            raise ValueError("the script needs at least one status")
        key = ec.generate_private_key(ec.SECP256R1())
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        secret = os.urandom(16)
        token = secrets.token_urlsafe(24)
        subscription = Subscription(
            endpoint=f"{self.origin}/push/{token}",
            p256dh=b64url(point),
            auth=b64url(secret),
            private_key=key,
            auth_secret=secret,
            script=list(script),
        )
        self._subscriptions[token] = subscription
        return subscription

    async def _push(self, request: web.Request) -> web.Response:
        subscription = self._subscriptions.get(request.match_info["token"])
        if subscription is None:
            return web.Response(status=404, text="no such subscription")
        body = await request.read()
        ttl = request.headers.get("TTL")
        try:
            key, claims = self._check_vapid(request.headers.get("Authorization", ""))
        except ValueError as error:
            subscription.record(Delivery(401, error=f"vapid: {error}", ttl=ttl))
            return web.Response(status=401, text=str(error))
        problem = None
        if request.headers.get("Content-Encoding") != "aes128gcm":
            problem = "Content-Encoding is not aes128gcm"
        elif ttl is None or not ttl.isdigit():
            problem = "no TTL header of whole seconds"
        if problem is not None:
            subscription.record(Delivery(400, error=problem, ttl=ttl, vapid_key=key, claims=claims))
            return web.Response(status=400, text=problem)
        status = subscription.next_status()
        try:
            plain = http_ece.decrypt(
                body,
                private_key=subscription.private_key,
                auth_secret=subscription.auth_secret,
                version="aes128gcm",
            )
            delivery = Delivery(
                status, payload=orjson.loads(plain), ttl=ttl, vapid_key=key, claims=claims
            )
        except Exception as error:  # the browser would drop it: record why
            delivery = Delivery(
                status, error=f"decrypt: {type(error).__name__}: {error}", ttl=ttl,
                vapid_key=key, claims=claims,
            )  # fmt: skip
        subscription.record(delivery)
        return web.Response(status=status)

    def _check_vapid(self, header: str) -> tuple[str, dict[str, Any]]:
        """`vapid t=<ES256 JWT>, k=<public key>`: the JWT verifies with `k`, is for this
        origin, names a contact and expires within 24 hours."""
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"Authorization scheme is {scheme!r}, not vapid")
        params = dict(item.strip().split("=", 1) for item in rest.split(",") if "=" in item)
        if "t" not in params or "k" not in params:
            raise ValueError("Authorization lacks t= or k=")
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b64url_decode(params["k"])
            )
            claims: dict[str, Any] = jwt.decode(
                params["t"],
                key=public,
                algorithms=["ES256"],
                audience=self.origin,
                options={"require": ["exp", "aud", "sub"]},
            )
        except (ValueError, jwt.PyJWTError) as error:
            raise ValueError(f"{type(error).__name__}: {error}") from None
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            raise ValueError("sub is not a mailto: or https: URL")
        if claims["exp"] > time.time() + MAX_VAPID_LIFETIME_S:
            raise ValueError("exp is more than 24 hours ahead")
        return params["k"], claims
