"""Web Push against a real push service on loopback, the real Redis and the real graph store.

Each test has a queue of its own (a unique key prefix), so the app's own background sender
never sees its jobs; time is a virtual clock handed to `step(now=...)`, never slept on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
import structlog.testing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from cache.errors import REDIS_ERRORS
from domain.errors import BadInput
from graph.model import User
from notifications.push import PushSender, check_subscription, endpoint_ref
from notifications.push_queue import PushJob, PushQueue
from notifications.vapid import (
    KEY_FILE,
    application_server_key,
    b64url_decode,
    b64url_encode,
    generate_raw_key,
    load_vapid,
)
from server.embedded import EmbeddedServices
from server.services import Services
from server.settings import Settings, SettingsError
from tests.utils.factories import make_user
from tests.utils.push_receiver import PushReceiver, Subscription

TRIES = 3
BACKOFF_S = 0.01
SUBJECT = "mailto:push-tests@localhost"
LATER_S = 3600.0  # a step this much later finds every back-off of these tests over


@dataclass
class Push:
    """A sender over a queue of the test's own, and what it reported."""

    sender: PushSender
    queue: PushQueue
    outcomes: list[str]
    hidden: set[str] = field(default_factory=set)  # notifications payload_of calls gone

    async def steps(self, start: float, rounds: int = 10) -> float:
        """Step on a virtual clock, an hour apart, until the queue is empty; the last time."""
        now = start
        for _ in range(rounds):
            await self.sender.step(now=now)
            if await self.queue.depth() == 0:
                return now
            now += LATER_S
        raise AssertionError(f"queue not empty after {rounds} steps")


def payload(recipient: str, notification_id: str) -> dict[str, Any]:
    return {"id": notification_id, "title": f"for {recipient}", "body": "ana saved your pin"}


@pytest.fixture(scope="module")
def vapid(settings: Settings, services: Services) -> Any:
    """The app's own key: subscriptions are sealed with keys derived from it."""
    return load_vapid(settings)


@pytest.fixture
async def receiver() -> AsyncIterator[PushReceiver]:
    async with PushReceiver() as started:
        yield started


@pytest.fixture
async def push(services: Services, vapid: Any) -> AsyncIterator[Push]:
    outcomes: list[str] = []
    hidden: set[str] = set()
    queue = PushQueue(
        services.cache, prefix=f"pg:test-push:{uuid.uuid4().hex}", tries=TRIES, backoff_s=BACKOFF_S
    )

    async def payload_of(recipient: str, notification_id: str) -> dict[str, Any] | None:
        return None if notification_id in hidden else payload(recipient, notification_id)

    sender = PushSender(
        services.notifications.subscriptions,
        queue,
        vapid,
        subject=SUBJECT,
        payload_of=payload_of,
        ttl_s=600,
        on_event=outcomes.append,
    )
    yield Push(sender, queue, outcomes, hidden)
    await sender.close()
    await services.cache.delete(queue.queue_key, queue.jobs_key, queue.dead_key)


async def subscribed(
    services: Services, receiver: PushReceiver, script: list[int], user: User | None = None
) -> tuple[User, Subscription]:
    """A user whose browser subscribed at the receiver, registered as the API does."""
    user = user or await make_user(services.repos)
    sub = receiver.subscribe(script)
    valid = check_subscription(sub.endpoint, sub.p256dh, sub.auth, [receiver.host])
    assert await services.notifications.subscriptions.register(valid.target(user.id), now_ms())
    return user, sub


async def due(services: Services, queue: PushQueue, job_id: bytes | str) -> float:
    """When a queued job is due (its score), epoch seconds."""
    score = await services.cache.zscore(queue.queue_key, job_id)
    assert score is not None
    return float(score)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- Delivery ------------------------------------------------------------------------------


async def test_a_delivery_decrypts_to_the_payload_with_a_valid_vapid_header(
    services: Services, receiver: PushReceiver, push: Push, vapid: Any
) -> None:
    user, sub = await subscribed(services, receiver, [201])
    assert await push.sender.enqueue_for(user.id, "n1") == 1
    assert await push.sender.step() == 1
    [delivery] = await sub.received(1)
    assert delivery.error is None
    assert delivery.status == 201
    assert delivery.payload == payload(user.id, "n1")
    assert delivery.vapid_key == application_server_key(vapid)
    assert delivery.claims["aud"] == receiver.origin
    assert delivery.claims["sub"] == SUBJECT
    assert delivery.ttl == "600"
    assert push.outcomes == ["sent"]
    assert await push.queue.depth() == 0
    assert await push.queue.dead_count() == 0


async def test_every_subscription_of_the_recipient_gets_one(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, phone = await subscribed(services, receiver, [201])
    _, laptop = await subscribed(services, receiver, [201], user)
    other, elsewhere = await subscribed(services, receiver, [201])
    assert await push.sender.enqueue_for(user.id, "n2") == 2
    await push.steps(time.time())
    assert [d.payload for d in phone.deliveries] == [payload(user.id, "n2")]
    assert [d.payload for d in laptop.deliveries] == [payload(user.id, "n2")]
    assert elsewhere.deliveries == []
    assert await push.sender.enqueue_for(other.id, "n3") == 1


async def test_server_errors_are_retried_with_backoff_until_delivered(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, sub = await subscribed(services, receiver, [500, 500, 201])
    await push.sender.enqueue_for(user.id, "n1")
    start = time.time()
    assert await push.sender.step(now=start) == 1
    assert await push.sender.step(now=start) == 0  # not due again until its back-off is over
    [job_id] = await services.cache.hkeys(push.queue.jobs_key)
    first_delay = await due(services, push.queue, job_id) - start
    assert BACKOFF_S * 0.999 <= first_delay <= BACKOFF_S * 1.101  # plus at most 10 % jitter
    assert await push.sender.step(now=start + 1) == 1
    second_delay = await due(services, push.queue, job_id) - (start + 1)
    assert 2 * BACKOFF_S * 0.999 <= second_delay <= 2 * BACKOFF_S * 1.101  # doubled
    await push.steps(start + 2)
    assert [d.status for d in sub.deliveries] == [500, 500, 201]
    assert all(d.payload == payload(user.id, "n1") for d in sub.deliveries)
    assert push.outcomes == ["retried", "retried", "sent"]
    assert await push.queue.dead_count() == 0


async def test_a_delivery_that_always_fails_is_a_dead_letter_and_can_be_requeued(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, sub = await subscribed(services, receiver, [503])
    await push.sender.enqueue_for(user.id, "n1")
    later = await push.steps(time.time())
    assert [d.status for d in sub.deliveries] == [503] * TRIES
    assert push.outcomes == ["retried"] * (TRIES - 1) + ["dead"]
    assert await push.queue.dead_count() == 1
    [letter] = await push.queue.dead_letters()
    assert letter["attempt"] == TRIES
    assert letter["error"].startswith("HTTP 503")
    assert (letter["recipient"], letter["notification_id"]) == (user.id, "n1")
    assert letter["subscription"] == services.notifications.subscriptions.ref(sub.endpoint)
    assert letter["host"] == "127.0.0.1"
    assert "endpoint" not in letter  # a capability: never kept outside the sealed store

    sub.script.append(201)  # the push service is back
    assert await push.queue.requeue_dead() == 1
    assert await push.queue.dead_count() == 0
    assert await push.queue.depth() == 1
    await push.steps(later)
    assert [d.status for d in sub.deliveries] == [503] * TRIES + [201]
    assert push.outcomes[-1] == "sent"


async def test_an_unreachable_push_service_is_retried_and_never_logged_in_full(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    user = await make_user(services.repos)
    endpoint = f"http://127.0.0.1:{port}/push/secret-capability-token"
    p256dh, auth = browser_keys()
    target = check_subscription(endpoint, p256dh, auth, [receiver.host]).target(user.id)
    await services.notifications.subscriptions.register(target, now_ms())
    with structlog.testing.capture_logs() as logs:
        await push.sender.enqueue_for(user.id, "n1")
        await push.steps(time.time())
    assert push.outcomes == ["retried"] * (TRIES - 1) + ["dead"]
    [letter] = await push.queue.dead_letters()
    assert letter["error"].startswith("ClientConnectorError")
    assert "secret-capability-token" not in letter["error"]
    ref = services.notifications.subscriptions.ref(endpoint)
    mine = [entry for entry in logs if entry.get("subscription") == ref[:12]]
    assert len(mine) == TRIES
    assert all(entry["host"] == "127.0.0.1" for entry in mine)
    assert "secret-capability-token" not in repr(logs)


async def test_run_sends_until_cancelled(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, sub = await subscribed(services, receiver, [201])
    running = asyncio.create_task(push.sender.run(poll_s=0.01))
    try:
        await push.sender.enqueue_for(user.id, "n1")
        [delivery] = await sub.received(1)
        assert delivery.payload == payload(user.id, "n1")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert running.cancelled()


@pytest.mark.parametrize("status", [404, 410])
async def test_an_expired_subscription_is_unregistered(
    services: Services, receiver: PushReceiver, push: Push, status: int
) -> None:
    user, gone = await subscribed(services, receiver, [status])
    _, alive = await subscribed(services, receiver, [201], user)
    repo = services.notifications.subscriptions
    assert {t.endpoint for t in await repo.push_targets([user.id])} == {
        gone.endpoint,
        alive.endpoint,
    }
    assert await push.sender.enqueue_for(user.id, "n1") == 2
    await push.steps(time.time())
    assert sorted(push.outcomes) == ["gone", "sent"]
    assert [t.endpoint for t in await repo.push_targets([user.id])] == [alive.endpoint]
    assert await push.queue.dead_count() == 0
    assert len(gone.deliveries) == 1  # not retried


async def test_a_client_error_is_a_dead_letter_at_once(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, sub = await subscribed(services, receiver, [400])
    await push.sender.enqueue_for(user.id, "n1")
    assert await push.sender.step() == 1
    assert push.outcomes == ["dead"]
    assert len(sub.deliveries) == 1
    [letter] = await push.queue.dead_letters()
    assert letter["attempt"] == 1
    assert letter["error"].startswith("HTTP 400")
    assert await push.queue.depth() == 0
    assert await services.notifications.subscriptions.count(user.id) == 1  # still registered


async def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, sub = await subscribed(services, receiver, [201])
    await push.sender.enqueue_for(user.id, "n1")
    start = time.time()
    [taken] = await push.queue.claim(start, 10)  # a worker took it and died before sending
    assert await push.sender.step(now=start) == 0
    assert await push.sender.step(now=start + push.queue.lease_s - 1) == 0  # still leased
    assert sub.deliveries == []
    assert await push.sender.step(now=start + push.queue.lease_s) == 1
    [delivery] = await sub.received(1)
    assert delivery.payload == payload(user.id, "n1")
    assert taken.attempt == 0
    assert push.outcomes == ["sent"]


async def test_jobs_without_a_payload_or_subscription_are_dropped(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, sub = await subscribed(services, receiver, [201])
    push.hidden.add("hidden")
    await push.sender.enqueue_for(user.id, "hidden")
    assert await push.sender.step() == 1
    assert push.outcomes == ["dropped"]
    await push.sender.enqueue_for(user.id, "n2")
    assert await services.notifications.subscriptions.unregister_push(sub.endpoint, user.id)
    assert await push.sender.step() == 1  # unsubscribed between queueing and sending
    assert push.outcomes == ["dropped", "dropped"]
    assert sub.deliveries == []
    assert await push.queue.depth() == 0
    assert await push.queue.dead_count() == 0


async def test_enqueue_without_redis_loses_nothing_but_the_push(
    services: Services, receiver: PushReceiver, push: Push, vapid: Any
) -> None:
    user, _ = await subscribed(services, receiver, [201])
    away = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    try:
        queue = PushQueue(away, prefix=f"pg:test-push:{uuid.uuid4().hex}")
        sender = PushSender(
            services.notifications.subscriptions,
            queue,
            vapid,
            subject=SUBJECT,
            payload_of=push_payload,
        )
        assert await sender.enqueue_for(user.id, "n1") == 0
        with pytest.raises(REDIS_ERRORS):  # which the sender's loop waits out
            await sender.step()
    finally:
        await away.aclose()


async def push_payload(recipient: str, notification_id: str) -> dict[str, Any]:
    return payload(recipient, notification_id)


def test_job_json_round_trips() -> None:
    job = PushJob.new("u1", "n1", "a" * 64, "fcm.googleapis.com")
    assert PushJob.from_json(job.to_json()) == job
    assert orjson.loads(job.to_json())["notification_id"] == "n1"


# --- Subscriptions -------------------------------------------------------------------------

HOSTS = ["fcm.googleapis.com", ".push.services.mozilla.com", "127.0.0.1"]


def browser_keys() -> tuple[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url_encode(point), b64url_encode(os.urandom(16))


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        ("http://fcm.googleapis.com/fcm/send/x", "must be an https:// URL"),
        ("http://localhost:8080/push/x", "must be an https:// URL"),  # loopback, not listed
        ("ftp://fcm.googleapis.com/x", "must be an https:// URL"),
        ("https://evil.example/push/x", "'evil.example' is not an allowed push service"),
        ("https://fcm.googleapis.com.evil.example/x", "is not an allowed push service"),
        ("https://notpush.services.mozilla.com/x", "is not an allowed push service"),
        ("https://push.services.mozilla.com/x", "is not an allowed push service"),
        ("https://user:pw@fcm.googleapis.com/fcm/send/x", "must not contain user info"),
        ("https://evil.example@fcm.googleapis.com/x", "must not contain user info"),
        ("https://evil.example\\@fcm.googleapis.com/x", "printable ASCII"),
        ("https://fcm.googleapis.com/fcm/send/x y", "printable ASCII"),
        ("https://fcm.googleapis.com:99999/x", "port is not a number from 1 to 65535"),
        ("https://fcm.googleapis.com:0/x", "port is not a number from 1 to 65535"),
        ("https://fcm.googleapis.com/" + "x" * 2048, "longer than 2048 characters"),
        ("not a url", "printable ASCII"),
        ("fcm.googleapis.com/fcm/send/x", "must be an https:// URL"),
    ],
)
def test_endpoints_the_server_must_not_post_to_are_refused(endpoint: str, problem: str) -> None:
    p256dh, auth = browser_keys()
    with pytest.raises(BadInput, match=re.escape(problem)):
        check_subscription(endpoint, p256dh, auth, HOSTS)


def test_bad_keys_are_refused() -> None:
    endpoint = "https://fcm.googleapis.com/fcm/send/abc"
    p256dh, auth = browser_keys()
    not_on_curve = b64url_encode(b"\x04" + b"\x01" * 64)
    compressed = b64url_encode(b"\x02" + b64url_decode(p256dh)[1:33])
    for bad in ("", "!!!", p256dh[:-4], compressed, p256dh + "AAAA", "+" + p256dh[1:]):
        with pytest.raises(BadInput, match="p256dh must be the base64url of an uncompressed"):
            check_subscription(endpoint, bad, auth, HOSTS)
    with pytest.raises(BadInput, match="p256dh is not a point on the P-256 curve"):
        check_subscription(endpoint, not_on_curve, auth, HOSTS)
    for bad in ("", b64url_encode(os.urandom(15)), b64url_encode(os.urandom(17)), "%%%"):
        with pytest.raises(BadInput, match="auth must be the base64url of a 16-byte secret"):
            check_subscription(endpoint, p256dh, bad, HOSTS)


def test_push_services_and_a_listed_loopback_one_are_accepted() -> None:
    p256dh, auth = browser_keys()
    padded = p256dh + "=" * (-len(p256dh) % 4)
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://FCM.googleapis.com:443/fcm/send/abc",
        "http://127.0.0.1:8080/push/abc",
    ):
        valid = check_subscription(endpoint, padded, auth + "==", HOSTS)
        assert valid.endpoint == endpoint
        assert (valid.p256dh, valid.auth) == (p256dh, auth)  # padding dropped
        endpoint_, p256dh_, auth_ = valid  # the resolver unpacks it
        assert valid.target("u1").subscription_info() == {
            "endpoint": endpoint_,
            "keys": {"p256dh": p256dh_, "auth": auth_},
        }


def test_the_endpoint_is_logged_as_host_and_hash_only() -> None:
    ref = endpoint_ref("https://fcm.googleapis.com/fcm/send/secret-token")
    assert ref["host"] == "fcm.googleapis.com"
    assert len(ref["endpoint_hash"]) == 12
    assert "secret-token" not in str(ref)


# --- The VAPID key -------------------------------------------------------------------------


def test_load_vapid_generates_a_private_key_file_once(settings: Settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"data_dir": tmp_path / "data", "vapid_private_key": None})
    first = load_vapid(local)
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in key_file.parent.iterdir()) == [KEY_FILE]  # no temporary left
    again = load_vapid(local)
    assert application_server_key(again) == application_server_key(first)
    key_file.chmod(0o644)
    tightened = load_vapid(local)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert application_server_key(tightened) == application_server_key(first)
    assert len(b64url_decode(application_server_key(first))) == 65


def test_load_vapid_takes_a_pem_or_a_raw_key(settings: Settings, tmp_path: Path) -> None:
    vapid, raw = generate_raw_key()
    public = application_server_key(vapid)
    pem = vapid.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    for text in (raw, raw + "=", pem, pem.replace("\n", "\\n")):
        configured = settings.model_copy(
            update={"data_dir": tmp_path, "vapid_private_key": SecretStr(text)}
        )
        assert application_server_key(load_vapid(configured)) == public
    assert not (tmp_path / KEY_FILE).exists()  # a configured key writes no file


def test_an_unusable_key_file_names_the_variable(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n")
    local = settings.model_copy(update={"data_dir": tmp_path, "vapid_private_key": None})
    with pytest.raises(SettingsError, match="PINGRAPH_VAPID_PRIVATE_KEY is unset and"):
        load_vapid(local)


@pytest.mark.parametrize(
    "text",
    [
        "not a key",
        b64url_encode(os.urandom(31)),
        b64url_encode(b"\x00" * 32),  # zero is no private key
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ],
)
def test_a_malformed_key_names_the_variable_and_not_the_value(
    settings: Settings, tmp_path: Path, text: str
) -> None:
    configured = settings.model_copy(
        update={"data_dir": tmp_path, "vapid_private_key": SecretStr(text)}
    )
    with pytest.raises(SettingsError, match="PINGRAPH_VAPID_PRIVATE_KEY") as raised:
        load_vapid(configured)
    assert text.strip() not in str(raised.value)


# --- The CLI -------------------------------------------------------------------------------

PINGRAPH = str(Path(sys.executable).with_name("pingraph"))


def pingraph(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGRAPH_")}
    env.update(PINGRAPH_DATA_DIR=str(data_dir), PINGRAPH_LOG_LEVEL="warning")
    return subprocess.run([PINGRAPH, *args], env=env, capture_output=True, text=True, timeout=120)


def test_push_keygen_prints_a_usable_key(settings: Settings, tmp_path: Path) -> None:
    made = pingraph(tmp_path / "untouched", "push", "keygen")
    assert made.returncode == 0, made.stderr
    private_line, public_line = made.stdout.splitlines()
    raw = private_line.removeprefix("PINGRAPH_VAPID_PRIVATE_KEY=")
    assert len(b64url_decode(raw)) == 32
    configured = settings.model_copy(update={"vapid_private_key": SecretStr(raw)})
    public = application_server_key(load_vapid(configured))
    assert public_line == f"# applicationServerKey={public}"
    assert not (tmp_path / "untouched").exists()  # no store was opened


@pytest.fixture
def own_services(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Embedded services of a data directory of the test's own, which the CLI attaches to:
    its dead letters are under the default prefix, as the CLI reads them."""
    data_dir = tmp_path / "data"
    with EmbeddedServices(data_dir, fsync="no") as embedded:
        assert embedded.endpoints is not None
        yield data_dir, embedded.endpoints.redis_url


def test_push_dead_letters_lists_without_endpoints_and_requeues(
    own_services: tuple[Path, str],
) -> None:
    data_dir, redis_url = own_services
    refs = [f"{i}" * 64 for i in range(3)]
    asyncio.run(bury(redis_url, refs))

    listed = pingraph(data_dir, "push", "dead-letters", "--limit", "2")
    assert listed.returncode == 0, listed.stderr
    letters = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert [letter["subscription"] for letter in letters] == [
        ref[:12] for ref in reversed(refs[1:])
    ]  # newest first
    assert letters[0]["host"] == "fcm.googleapis.com"
    assert letters[0]["attempts"] == 1
    assert letters[0]["error"] == "HTTP 400: bad key"
    assert letters[0]["at"].startswith(str(time.gmtime().tm_year))
    assert "2 of 3 dead letters" in listed.stderr

    requeued = pingraph(data_dir, "push", "dead-letters", "--requeue")
    assert requeued.returncode == 0, requeued.stderr
    assert "requeued 3 dead letters; 0 left" in requeued.stderr
    assert asyncio.run(queue_state(redis_url)) == (3, 0)


async def bury(redis_url: str, refs: list[str]) -> None:
    cache = aioredis.Redis.from_url(redis_url)
    try:
        queue = PushQueue(cache)
        for ref in refs:
            job = PushJob.new("u1", "n1", ref, "fcm.googleapis.com")
            await queue.enqueue([job])
            await queue.dead(replace(job, attempt=1), "HTTP 400: bad key")
    finally:
        await cache.aclose()


async def queue_state(redis_url: str) -> tuple[int, int]:
    cache = aioredis.Redis.from_url(redis_url)
    try:
        queue = PushQueue(cache)
        return await queue.depth(), await queue.dead_count()
    finally:
        await cache.aclose()


async def test_a_burst_on_one_notification_makes_one_push(
    services: Services, receiver: PushReceiver, push: Push
) -> None:
    user, sub = await subscribed(services, receiver, [201])
    assert await push.sender.enqueue_for(user.id, "n1") == 1
    assert await push.sender.enqueue_for(user.id, "n1") == 0  # another actor, same notification
    assert await push.sender.enqueue_for(user.id, "n2") == 1
    await push.steps(time.time())
    assert sorted(d.payload["id"] for d in sub.deliveries if d.payload) == ["n1", "n2"]
