"""Push subscriptions, kept sealed in the graph store.

A subscription's endpoint is a URL the push service treats as the browser's address, and its
`auth` secret lets whoever holds it write messages the browser accepts. Neither is stored in
the clear, where analysts' queries and store dumps can read it: each subscription is kept as
AES-GCM ciphertext, found by an HMAC of its endpoint. Both keys are derived from the VAPID
private key, which lives in the settings, not in any store; a new VAPID key orphans every
subscription anyway (browsers bound them to the old public key).
"""

from __future__ import annotations

import hashlib
import hmac
import os

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from py_vapid import Vapid02

from graph.repos.notifications import NotificationRepo, SealedSubscription
from notifications.model import PushTarget
from notifications.vapid import b64url_decode, b64url_encode


class PushSubscriptions:
    def __init__(self, store: NotificationRepo, vapid: Vapid02) -> None:
        self.store = store
        secret = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        self._mac_key = _derive(secret, b"pingraph push subscription id")
        self._cipher = AESGCM(_derive(secret, b"pingraph push subscription seal"))

    def ref(self, endpoint: str) -> str:
        """The stored id of an endpoint: equal endpoints, equal ids; nothing else."""
        return hmac.new(self._mac_key, endpoint.encode(), hashlib.sha256).hexdigest()

    async def register(self, target: PushTarget, now: int) -> bool:
        """False when the user does not exist. An endpoint belongs to one user: registering
        it again (another user on the same browser profile) moves it."""
        ref = self.ref(target.endpoint)
        plain = orjson.dumps({"e": target.endpoint, "p": target.p256dh, "a": target.auth})
        nonce = os.urandom(12)
        sealed = b64url_encode(nonce + self._cipher.encrypt(nonce, plain, ref.encode()))
        return await self.store.register_push(SealedSubscription(ref, target.user, sealed), now)

    async def unregister_push(self, endpoint: str, user: str | None = None) -> bool:
        """Forget an endpoint: the user's own (`user`), or any (the push service said 404/410)."""
        return await self.store.unregister_push(self.ref(endpoint), user)

    async def unregister_ref(self, ref: str) -> bool:
        """Forget a subscription by its stored id (the push service said 404/410)."""
        return await self.store.unregister_push(ref)

    async def push_targets(self, users: list[str]) -> list[PushTarget]:
        targets = []
        for found in await self.store.push_subscriptions(users):
            raw = b64url_decode(found.sealed)
            try:
                plain = orjson.loads(self._cipher.decrypt(raw[:12], raw[12:], found.ref.encode()))
            except InvalidTag:
                continue  # sealed with another VAPID key: its browser cannot be reached
            targets.append(PushTarget(found.user, plain["e"], plain["p"], plain["a"], found.ref))
        return targets

    async def registered(self, user: str, endpoint: str) -> bool:
        """Whether `user` has registered this endpoint already (browsers register again on
        every page load)."""
        return await self.store.push_owner(self.ref(endpoint)) == user

    async def count(self, user: str) -> int:
        return await self.store.push_count(user)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
