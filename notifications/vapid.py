"""The server's VAPID key (RFC 8292): what push services know this server by.

Browsers bind a subscription to the public key given as `applicationServerKey`; a push service
then accepts messages for it only when signed with the matching private key. Losing or
changing the key therefore silently orphans every subscription, so a generated key is kept
on disk and reused, and a configured key that does not parse stops start-up instead of being
replaced by a fresh one.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from domain.keyfile import KeyFileError, read_or_create
from server.settings import Settings, SettingsError

KEY_FILE = "vapid_private.pem"
VARIABLE = "PINGRAPH_VAPID_PRIVATE_KEY"
# The order of P-256's base point: a private scalar is in [1, N - 1].
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def b64url_decode(text: str) -> bytes:
    """Strict base64url with optional padding: ValueError on anything else (standard
    base64's + and /, whitespace, stray characters), which `base64` would partly accept."""
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_vapid(settings: Settings) -> Vapid02:
    """The configured key, or the data directory's generated one (made on first use)."""
    if settings.vapid_private_key is not None:
        return vapid_from_text(settings.vapid_private_key.get_secret_value())
    return _key_file(settings.data_dir / KEY_FILE)


def vapid_from_text(text: str) -> Vapid02:
    """A PEM private key, or base64url of the raw 32-byte P-256 scalar (what `pingraph push
    keygen` prints). The error never repeats the value: it is a secret."""
    try:
        return Vapid02(_private_key(text))
    except ValueError as error:
        raise SettingsError(f"{VARIABLE}: {error}") from None


def generate_raw_key() -> tuple[Vapid02, str]:
    """A new key, and its base64url raw form for PINGRAPH_VAPID_PRIVATE_KEY."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return Vapid02(key), b64url_encode(raw)


def application_server_key(vapid: Vapid02) -> str:
    """The uncompressed public point, base64url without padding: what a page passes to
    `pushManager.subscribe({applicationServerKey})`."""
    public: ec.EllipticCurvePublicKey = vapid.public_key
    point = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(point)


def _private_key(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip().replace("\\n", "\n")  # a PEM squeezed into one line of an env file
    if "-----BEGIN" in text:
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("not a readable unencrypted PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the PEM key is not a P-256 (prime256v1) EC key")
        return key
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise ValueError("neither a PEM key nor base64url of a raw P-256 private key") from None
    if len(raw) != 32:
        raise ValueError(
            f"a raw P-256 private key is 32 bytes, this one decodes to {len(raw)} bytes"
        )
    scalar = int.from_bytes(raw, "big")
    if not 0 < scalar < P256_ORDER:
        raise ValueError("not a valid P-256 private key (out of range)")
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _key_file(path: Path) -> Vapid02:
    try:
        data = read_or_create(path, _new_pem, "VAPID key")
    except KeyFileError as error:
        raise SettingsError(f"{VARIABLE} is unset and {error}") from None
    try:
        return Vapid02(_private_key(data.decode()))
    except ValueError as error:  # UnicodeDecodeError too
        raise SettingsError(
            f"{VARIABLE} is unset and {path} does not hold a usable key ({error}); set "
            f"{VARIABLE} or move the file away to have a new key generated (existing push "
            "subscriptions then stop working)"
        ) from None


def _new_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
