"""One typed settings object, read from PINGRAPH_* environment variables."""

from __future__ import annotations

import ipaddress
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from accounts.key import parse_key
from domain.keyfile import KeyFileError, read_or_create
from server.ratelimit import check_limit

EMBEDDED = "embedded"
# Earlier versions' development default: public, so never a production secret.
PUBLISHED_DEV_SECRET = "pingraph-development-secret-change-me"  # noqa: S105
JWT_SECRET_FILE = "jwt.secret"  # noqa: S105 - a file name, not a secret

MIN_SECRET_BYTES = 32
DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com,.push.services.mozilla.com,.notify.windows.com,web.push.apple.com"
)
MIN_METRICS_TOKEN_CHARS = 16
GRAPH_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc", "falkordb")
REDIS_SCHEMES = ("redis", "rediss", "unix")
MEDIA_SCHEMES = ("s3", "s3+http", "file")


class Env(StrEnum):
    DEV = "dev"
    PROD = "prod"


class SettingsError(Exception):
    """Settings are invalid; the message names the offending variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGRAPH_", extra="ignore", frozen=True)

    env: Env = Env.DEV
    data_dir: Path = Path("data")
    graph_url: str = Field(default=EMBEDDED, repr=False)  # may hold a password
    graph_database: str | None = None
    # Where analysts' read-only queries run: a read replica. "embedded": the embedded
    # FalkorDB's replica, or the primary's URL itself for Neo4j (READ sessions are routed to
    # secondaries); an external FalkorDB primary needs a replica named here.
    analyst_graph_url: str = Field(default=EMBEDDED, repr=False)  # may hold a password
    redis_url: str = Field(default=EMBEDDED, repr=False)  # may hold a password
    media_url: str = Field(default=EMBEDDED, repr=False)  # may hold a password
    # Unset in dev: generated once into <data dir>/jwt.secret, so the server and the CLI
    # (`pingraph token issue`) of one data directory agree without configuration.
    jwt_secret: SecretStr = Field(default=SecretStr(""), validate_default=True)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    graph_fsync: Literal["always", "everysec", "no"] = "always"
    cache_maxmemory: str = "256mb"
    graph_timeout_ms: int = Field(default=10_000, ge=100, le=600_000)
    media_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    media_max_pixels: int = Field(default=40_000_000, ge=10_000, le=200_000_000)
    media_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    response_cache_ttl_s: int = Field(default=30, ge=0, le=3600)  # 0: off
    # One blocking wait for walk deltas (it ends as soon as one arrives); under the cache
    # client's 2 s socket timeout.
    walks_poll_ms: int = Field(default=500, ge=10, le=1000)
    walks_compact_after: int = Field(default=100_000, ge=1)  # deltas before a new snapshot
    walks_compact_every_s: int = Field(default=3600, ge=10)  # ... or this old, with any deltas
    # Trending (cache/trending.py): public saves of the last `window` of activity, each
    # weighing half as much every `half_life`; recomputed this often (and soon after a write
    # that changes it).
    trending_window_s: int = Field(default=7 * 24 * 3600, ge=3600, le=365 * 24 * 3600)
    trending_half_life_s: int = Field(default=24 * 3600, ge=60, le=365 * 24 * 3600)
    trending_every_s: int = Field(default=300, ge=10, le=24 * 3600)
    rate_limit_user: str = "1200/minute"
    rate_limit_anonymous: str = "600/minute"
    # New comments per user (`addComment`): a rate and a daily cap.
    comments_per_user: str = "20/minute"
    comments_per_user_day: str = "500/day"
    # New invites per user (`inviteCollaborator`, only those created).
    invites_per_user: str = "50/day"
    # Password accounts (accounts/): the key that seals stored password hashes, base64url of
    # 32 bytes (unset in dev: one is generated once and kept in <data dir>/password.key);
    # how long a session's access token and its refresh token last; and the throttle on
    # failed sign-ins and on sign-ups.
    password_key: SecretStr | None = None
    session_ttl: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    refresh_ttl: int = Field(default=30 * 24 * 3600, ge=300, le=366 * 24 * 3600)
    sign_in_failures_per_handle: str = "5/15 minutes"
    sign_in_failures_per_address: str = "20/15 minutes"
    sign_ups_per_address: str = "10/hour"
    # Addresses (IPs or CIDRs, comma-separated) of the proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. Empty: none, the peer address is the client's.
    trusted_proxies: str = ""
    # Bearer token that GET /metrics requires; without it /metrics is open in dev and
    # answers 404 in prod.
    metrics_token: SecretStr | None = None
    # Web Push (VAPID, RFC 8292): the server's private key, PEM or base64url of the raw P-256
    # scalar. Unset in dev: one is generated once and kept in <data dir>/vapid_private.pem.
    vapid_private_key: SecretStr | None = None
    vapid_subject: str = "mailto:pingraph@localhost"  # who push services may contact
    # Push services the server may POST to (host names; a leading dot admits subdomains).
    # Anything else is refused at registration: a push endpoint is a URL a client chose.
    push_hosts: str = DEFAULT_PUSH_HOSTS
    push_tries: int = Field(default=6, ge=1, le=20)  # then the delivery is a dead letter
    push_backoff_s: float = Field(default=2.0, gt=0, le=3600)  # first retry; doubles each time
    # Notifications: bursts within this window aggregate into one per (recipient, kind,
    # subject); each recipient gets at most `notify_cap_per_hour` new ones an hour.
    notify_window_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    notify_cap_per_hour: int = Field(default=60, ge=1, le=100_000)
    # Visual search: where the image model converted to ONNX is kept (<data dir>/models when
    # unset), and the threads one model run may use (0: every core).
    visual_model_dir: Path | None = None
    # The web app's files; beside the code in a checkout, named when installed elsewhere.
    web_dir: Path = Path(__file__).resolve().parent.parent / "web"
    visual_threads: int = Field(default=0, ge=0, le=64)

    @field_validator("graph_url", "analyst_graph_url")
    @classmethod
    def _graph_url(cls, value: str) -> str:
        return _check_url(value, GRAPH_SCHEMES)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        return _check_url(value, REDIS_SCHEMES)

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, value: str) -> str:
        return _check_url(value, MEDIA_SCHEMES)

    @field_validator(
        "rate_limit_user",
        "rate_limit_anonymous",
        "sign_in_failures_per_handle",
        "sign_in_failures_per_address",
        "sign_ups_per_address",
        "comments_per_user",
        "comments_per_user_day",
        "invites_per_user",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        check_limit(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        return ",".join(parse_proxies(value))

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # an empty variable is no token
        if len(value.get_secret_value()) < MIN_METRICS_TOKEN_CHARS:
            raise ValueError(f"must be at least {MIN_METRICS_TOKEN_CHARS} characters long")
        return value

    @field_validator("password_key")
    @classmethod
    def _password_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # an empty variable is no key
        parse_key(value.get_secret_value())
        return value

    @field_validator("vapid_subject")
    @classmethod
    def _vapid_subject(cls, value: str) -> str:
        if not value.startswith(("mailto:", "https://")):
            raise ValueError("must be a mailto: or https: URL (RFC 8292 section 2.1)")
        return value

    @field_validator("push_hosts")
    @classmethod
    def _push_hosts(cls, value: str) -> str:
        return ",".join(host.strip().lower() for host in value.split(",") if host.strip())

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        env, data_dir = info.data.get("env"), info.data.get("data_dir")
        if env is None or data_dir is None:
            return value  # PINGRAPH_ENV or PINGRAPH_DATA_DIR is refused: nothing to make yet
        if not value.get_secret_value():
            if env is Env.PROD:
                raise ValueError(
                    "must be set to a random value of at least 32 characters when PINGRAPH_ENV=prod"
                )
            return SecretStr(development_jwt_secret(data_dir))
        if env is Env.PROD and value.get_secret_value() == PUBLISHED_DEV_SECRET:
            raise ValueError(
                "is the development secret published with earlier versions: set your own"
            )
        if len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            # HS256 wants a key at least as long as its hash (RFC 7518 section 3.2).
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes long")
        return value

    @model_validator(mode="after")
    def _prod_needs_vapid_key(self) -> Settings:
        if self.env is Env.PROD and self.vapid_private_key is None:
            raise ValueError(
                "PINGRAPH_VAPID_PRIVATE_KEY must be set when PINGRAPH_ENV=prod (make one with "
                "`pingraph push keygen`)"
            )
        return self

    @model_validator(mode="after")
    def _prod_needs_password_key(self) -> Settings:
        if self.env is Env.PROD and self.password_key is None:
            raise ValueError(
                "PINGRAPH_PASSWORD_KEY must be set when PINGRAPH_ENV=prod (make one with "
                "`pingraph user keygen`)"
            )
        return self

    @property
    def is_dev(self) -> bool:
        return self.env is Env.DEV

    @property
    def needs_embedded(self) -> bool:
        return EMBEDDED in (self.graph_url, self.redis_url)

    @property
    def trusted_proxy_list(self) -> list[str]:
        """PINGRAPH_TRUSTED_PROXIES as uvicorn's `forwarded_allow_ips` takes it."""
        return [item for item in self.trusted_proxies.split(",") if item]

    @property
    def push_host_list(self) -> list[str]:
        return [host for host in self.push_hosts.split(",") if host]

    @property
    def model_dir(self) -> Path:
        return self.visual_model_dir or self.data_dir / "models"

    @property
    def walks_dir(self) -> Path:
        """Walk-graph snapshots: built by `pingraph walks build`, loaded by the server."""
        return self.data_dir / "walks"

    @property
    def media_dir(self) -> Path:
        """Where the local image store keeps files when PINGRAPH_MEDIA_URL is embedded."""
        if self.media_url == EMBEDDED:
            return self.data_dir / "media"
        return Path(urlsplit(self.media_url).path)


def _check_url(value: str, schemes: tuple[str, ...]) -> str:
    if value == EMBEDDED:
        return value
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ValueError(f"must be '{EMBEDDED}' or a URL with scheme {', '.join(schemes)}")
    if parts.scheme not in ("file", "unix") and not parts.hostname:
        raise ValueError("the URL has no host")
    return value


def parse_proxies(value: str) -> list[str]:
    """Comma-separated IP addresses and networks, normalised; ValueError naming the bad ones."""
    proxies, bad = [], []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            # Networks strictly (no host bits set), as uvicorn reads them: it would quietly
            # take '10.0.0.1/8' for a literal that matches no address.
            parsed = ipaddress.ip_network(item) if "/" in item else ipaddress.ip_address(item)
        except ValueError:
            bad.append(repr(item))
            continue
        proxies.append(str(parsed))
    if bad:
        raise ValueError(
            f"{', '.join(bad)} is not an IP address or network (CIDR with no host bits, such "
            "as 10.0.0.0/8); give a comma-separated list of the proxies' addresses"
        )
    return proxies


def development_jwt_secret(data_dir: Path) -> str:
    """The data directory's generated JWT secret, made on first use (mode 0600)."""
    path = data_dir / JWT_SECRET_FILE
    try:
        data = read_or_create(
            path, lambda: (secrets.token_urlsafe(48) + "\n").encode(), "JWT secret"
        )
    except KeyFileError as error:
        raise ValueError(f"unset, and {error}") from None
    secret = data.decode("ascii", errors="replace").strip()
    if "\ufffd" in secret or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"unset, and {path} does not hold a usable secret (at least {MIN_SECRET_BYTES} "
            "characters of text): move it away to have one made"
        )
    return secret


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; raise SettingsError with one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"PINGRAPH_{field.upper()}: {message}" if field else message)
        raise SettingsError("; ".join(problems)) from None
