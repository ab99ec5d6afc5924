"""Web Push delivery: RFC 8030 messages, encrypted per RFC 8291, signed per RFC 8292 (VAPID).

A notification is pushed to every browser subscription of its recipient. Each delivery is a
job in a durable Redis queue (`notifications/push_queue.py`), so a push service that is down,
slow or rate limiting is retried with exponential back-off, a server that dies mid-send leaves
its jobs to be claimed again after a lease, and what never succeeds ends as an inspectable
dead letter (`pingraph push dead-letters`). Push is best effort on top of the inbox: when
Redis is away nothing is queued, and the notification is still in the inbox.

A push endpoint is a URL a client chose and the server will POST to, so `check_subscription`
admits only the configured push services (SSRF), and the sender never follows redirects. The
endpoint is also a capability (whoever knows it can push to that browser): it is never logged,
only its host and a short hash (`endpoint_ref`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import aiohttp
import orjson
import structlog
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher

from cache.errors import REDIS_ERRORS
from domain.errors import BadInput
from notifications.model import PushTarget
from notifications.push_queue import MAX_ERROR_CHARS, PushJob, PushQueue
from notifications.subscriptions import PushSubscriptions
from notifications.vapid import b64url_decode, b64url_encode

log = structlog.get_logger(__name__)

MAX_ENDPOINT_CHARS = 2048
MAX_KEY_CHARS = 256  # far above the 87 characters of a base64url P-256 point
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)

VAPID_LIFETIME_S = 12 * 3600  # RFC 8292 allows at most 24 h
VAPID_RENEW_S = 15 * 60  # sign anew when a cached token has less than this left
# At most one push per notification this often: its later actors reach the inbox and live
# subscribers at once, and the next push (which reads the notification when it is sent).
THROTTLE_S = 600
CLAIM_PER_SLOT = 4  # jobs claimed per step and concurrency slot: well within one lease


# --- Subscriptions -------------------------------------------------------------------------


class ValidSubscription(NamedTuple):
    """A browser's subscription that passed `check_subscription`, keys normalised to
    unpadded base64url (a tuple: `endpoint, p256dh, auth = check_subscription(...)`)."""

    endpoint: str
    p256dh: str
    auth: str

    def target(self, user: str) -> PushTarget:
        return PushTarget(user, self.endpoint, self.p256dh, self.auth)


def check_subscription(
    endpoint: str, p256dh: str, auth: str, hosts: Iterable[str]
) -> ValidSubscription:
    """Validate a subscription a client registers, or raise BadInput saying what is wrong.

    `hosts` are the push services the server may POST to (`Settings.push_host_list`): a
    name, or ".suffix" for its subdomains. https only, except plain http to a loopback host
    that is itself listed (a push service run for tests or development)."""
    allowed = [host.strip().lower() for host in hosts if host.strip()]
    return ValidSubscription(
        _check_endpoint(endpoint, allowed), _check_p256dh(p256dh), _check_auth(auth)
    )


def _check_endpoint(endpoint: str, allowed: list[str]) -> str:
    if len(endpoint) > MAX_ENDPOINT_CHARS:
        raise BadInput(f"the push endpoint is longer than {MAX_ENDPOINT_CHARS} characters")
    # Printable ASCII only, and no backslash: nothing two URL parsers could read differently.
    if not endpoint.isascii() or not endpoint.isprintable() or " " in endpoint or "\\" in endpoint:
        raise BadInput("the push endpoint must be a URL of printable ASCII characters")
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.netloc:
        raise BadInput("the push endpoint must be an https:// URL")
    if "@" in parts.netloc:
        raise BadInput("the push endpoint must not contain user info (user:password@)")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is not None and not 0 < port < 65536:
        raise BadInput("the push endpoint's port is not a number from 1 to 65535")
    if not (_HOST.match(host) or host == "::1"):
        raise BadInput("the push endpoint's host is not a valid host name")
    if scheme == "http" and not (host in LOOPBACK_HOSTS and host in allowed):
        raise BadInput("the push endpoint must be an https:// URL")
    if not any(host == item or (item.startswith(".") and host.endswith(item)) for item in allowed):
        raise BadInput(f"the push endpoint's host '{host}' is not an allowed push service")
    return endpoint


def _check_p256dh(value: str) -> str:
    problem = "p256dh must be the base64url of an uncompressed P-256 public key (65 bytes)"
    try:
        raw = b64url_decode(value) if len(value) <= MAX_KEY_CHARS else b""
    except ValueError:
        raise BadInput(problem) from None
    if len(raw) != 65 or raw[0] != 0x04:
        raise BadInput(problem)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise BadInput("p256dh is not a point on the P-256 curve") from None
    return b64url_encode(raw)


def _check_auth(value: str) -> str:
    try:
        raw = b64url_decode(value) if len(value) <= MAX_KEY_CHARS else b""
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise BadInput("auth must be the base64url of a 16-byte secret")
    return b64url_encode(raw)


def _host(endpoint: str) -> str:
    return urlsplit(endpoint).hostname or "?"


def endpoint_ref(endpoint: str) -> dict[str, str]:
    """What logs and the CLI show of an endpoint: its host and a short hash, enough to tell
    deliveries apart and match them up, never the capability URL itself."""
    return {
        "host": urlsplit(endpoint).hostname or "?",
        "endpoint_hash": hashlib.sha256(endpoint.encode()).hexdigest()[:12],
    }


# --- The sender ----------------------------------------------------------------------------

PayloadOf = Callable[[str, str], Awaitable[dict[str, Any] | None]]


class PushSender:
    """Sends the queue's due jobs. `payload_of(recipient, notification_id)` gives the JSON to
    push, or None when the notification is gone or hidden (the job is then dropped).

    Outcomes reported to `on_event`, one per handled job: "sent"; "gone" (the push service
    said 404/410: the subscription is unregistered); "dropped" (no payload, or the
    subscription is no longer the recipient's); "retried" (429, 5xx, timeout, connection
    error); "dead" (other statuses, or the last try failed)."""

    def __init__(
        self,
        subscriptions: PushSubscriptions,
        queue: PushQueue,
        vapid: Vapid02,
        *,
        subject: str,
        payload_of: PayloadOf,
        concurrency: int = 8,
        timeout_s: float = 10.0,
        ttl_s: int = 86400,
        throttle_s: int = THROTTLE_S,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self.queue = queue
        self.vapid = vapid
        self.subject = subject
        self.payload_of = payload_of
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self.throttle_s = throttle_s
        self.on_event = on_event or (lambda outcome: None)
        self._slots = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[str, tuple[int, str]] = {}  # audience -> (exp, Authorization)
        self._queued = asyncio.Event()  # set by this process's enqueue: no need to poll

    async def enqueue_for(self, recipient: str, notification_id: str) -> int:
        return await self.enqueue([(recipient, notification_id)])

    async def enqueue(self, told: list[tuple[str, str]]) -> int:
        """Queue one delivery per subscription of each (recipient, notification); how many
        were queued. With Redis away none are, and that is all: the inbox has them."""
        targets: dict[str, list[PushTarget]] = {}
        for target in await self.subscriptions.push_targets([r for r, _ in told]):
            targets.setdefault(target.user, []).append(target)
        wanted = [(r, n) for r, n in told if r in targets]
        if not wanted:
            return 0
        try:
            fresh = await self.queue.first_in([n for _, n in wanted], self.throttle_s)
            jobs = [
                PushJob.new(recipient, notification_id, target.ref, _host(target.endpoint))
                for recipient, notification_id in wanted if notification_id in fresh
                for target in targets[recipient]
            ]  # fmt: skip
            await self.queue.enqueue(jobs)
        except REDIS_ERRORS as error:
            log.warning("push not queued: Redis is away", notifications=len(wanted),
                        error=str(error))  # fmt: skip
            return 0
        if jobs:
            self._queued.set()
        return len(jobs)

    async def run(self, poll_s: float = 0.5) -> None:
        """Send until cancelled; Redis or the graph being away is waited out."""
        while True:
            try:
                handled = await self.step()
            except REDIS_ERRORS as error:
                log.warning("push sender waits for Redis", error=str(error))
                await asyncio.sleep(1.0)
                continue
            except Exception:
                log.exception("push sender step failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if not handled:
                # Jobs queued by other processes, and retries falling due, wait for the poll.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._queued.wait(), poll_s)
                self._queued.clear()

    async def step(self, now: float | None = None) -> int:
        """Claim the jobs due by `now` and send them, `concurrency` at a time; returns how
        many were handled. Jobs whose handling was cut short are claimed again after the
        lease."""
        now = time.time() if now is None else now
        jobs = await self.queue.claim(now, self.concurrency * CLAIM_PER_SLOT)
        if not jobs:
            return 0
        recipients = sorted({job.recipient for job in jobs})
        targets = {
            (target.user, target.ref): target
            for target in await self.subscriptions.push_targets(recipients)
        }
        await asyncio.gather(
            *(
                self._handle(job, targets.get((job.recipient, job.subscription)), now)
                for job in jobs
            )
        )
        return len(jobs)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _handle(self, job: PushJob, target: PushTarget | None, now: float) -> None:
        async with self._slots:
            try:
                outcome = await self._deliver(job, target, now)
            except REDIS_ERRORS as error:
                log.warning("push job left to its lease: Redis is away", job=job.id,
                            error=str(error), **job.where())  # fmt: skip
                return
            except Exception as error:  # one job's failure (a bug, the graph away) stops no other
                log.exception("push delivery failed", job=job.id, **job.where())
                try:
                    outcome = await self.queue.retry(job, f"internal: {type(error).__name__}", now)
                except REDIS_ERRORS:
                    return
        self.on_event(outcome)

    async def _deliver(self, job: PushJob, target: PushTarget | None, now: float) -> str:
        where = {"job": job.id, "attempt": job.attempt + 1, **job.where()}
        payload = (
            None if target is None else await self.payload_of(job.recipient, job.notification_id)
        )
        if target is None or payload is None:
            await self.queue.done(job)
            log.info(
                "push dropped",
                reason="no subscription" if target is None else "no payload",
                **where,
            )
            return "dropped"
        try:
            body = _encrypt(target, orjson.dumps(payload))
            authorization = self._authorization(target.endpoint)
        except Exception as error:  # a stored key or an audience that cannot be used at all
            await self.queue.dead(job, f"cannot encrypt or sign: {type(error).__name__}")
            log.warning("push dead: cannot encrypt or sign", error=type(error).__name__, **where)
            return "dead"
        try:
            status, detail = await self._post(target.endpoint, body, authorization)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            reason = _describe(error, target.endpoint)
            outcome = await self.queue.retry(job, reason, now)
            log.warning("push failed", outcome=outcome, error=reason, **where)
            return outcome
        if 200 <= status < 300:
            await self.queue.done(job)
            log.debug("push sent", status=status, **where)
            return "sent"
        if status in (404, 410):
            await self.subscriptions.unregister_ref(job.subscription)
            await self.queue.done(job)
            log.info("push subscription gone; unregistered", status=status, **where)
            return "gone"
        reason = f"HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429 or status >= 500:
            outcome = await self.queue.retry(job, reason, now)
        else:
            await self.queue.dead(replace(job, attempt=job.attempt + 1), reason)
            outcome = "dead"
        log.warning("push refused", outcome=outcome, status=status, **where)
        return outcome

    async def _post(self, endpoint: str, body: bytes, authorization: str) -> tuple[int, str]:
        """POST one message; redirects are not followed (the endpoint was checked, wherever
        it redirects to was not). Returns the status and the start of an error's body."""
        headers = {
            "Authorization": authorization,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.ttl_s),
        }
        async with self._client().post(
            endpoint, data=body, headers=headers, allow_redirects=False
        ) as response:
            if 200 <= response.status < 300:
                return response.status, ""
            detail = await response.content.read(200)
            return response.status, detail.decode("utf-8", "replace").strip()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), trust_env=False
            )
        return self._session

    def _authorization(self, endpoint: str) -> str:
        """`vapid t=<JWT>, k=<public key>` for the endpoint's origin, signed once and reused
        until shortly before it expires (signing is the costly part of a send)."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        wall = int(time.time())
        cached = self._tokens.get(audience)
        if cached is not None and cached[0] - wall > VAPID_RENEW_S:
            return cached[1]
        exp = wall + VAPID_LIFETIME_S
        signed: dict[str, str] = self.vapid.sign({"sub": self.subject, "aud": audience, "exp": exp})
        if len(self._tokens) >= 1000:  # a handful of push services in practice
            self._tokens.clear()
        self._tokens[audience] = (exp, signed["Authorization"])
        return signed["Authorization"]


def _encrypt(target: PushTarget, data: bytes) -> bytes:
    """The aes128gcm body (RFC 8188/8291) for the subscription's keys."""
    encoded: Any = WebPusher(target.subscription_info()).encode(data, "aes128gcm")
    body: bytes = encoded["body"]
    return body


def _describe(error: BaseException, endpoint: str) -> str:
    """An error as a dead letter keeps it: some (a connect timeout) quote the request URL,
    and its path is the capability."""
    text = type(error).__name__ + (f": {error}" if str(error) else "")
    path = urlsplit(endpoint).path
    text = text.replace(endpoint, "<endpoint>")
    if len(path) > 1:
        text = text.replace(path, "/<path>")
    return text[:MAX_ERROR_CHARS]
