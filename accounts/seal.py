"""Password hashes, sealed before they reach the graph store.

Analysts run read-only Cypher over the whole graph, and store dumps travel; an argon2 hash
there could be attacked offline. So a hash is stored as AES-GCM ciphertext, under a key
derived from PINGRAPH_PASSWORD_KEY (which no store holds), with the user's id as associated
data: a sealed value copied to another user's credential does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class PasswordSeal:
    def __init__(self, key: bytes) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"pingraph password seal"
        ).derive(key)
        self._cipher = AESGCM(derived)

    def seal(self, user_id: str, password_hash: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, password_hash.encode(), user_id.encode())
        return _b64url_encode(nonce + sealed)

    def open(self, user_id: str, sealed: str) -> str | None:
        """The hash, or None when it does not open: sealed under another key (the
        PINGRAPH_PASSWORD_KEY changed) or for another user."""
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
            plain = self._cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], user_id.encode())
        except (InvalidTag, ValueError):
            return None
        return plain.decode()


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
