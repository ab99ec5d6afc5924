"""Web Push end to end in the running app: a save is pushed, encrypted, to a loopback push
service that decrypts it; dead letters show in /metrics."""

from __future__ import annotations

import re
import time

import httpx

from graph.model import now_ms
from graph.repos import Repositories
from notifications.model import PushTarget
from notifications.push_queue import PushJob
from server.services import Services
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.push_receiver import PushReceiver


async def test_a_save_is_pushed_to_the_creators_browser(
    services: Services, repos: Repositories
) -> None:
    creator, saver = await make_user(repos), await make_user(repos)
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    async with PushReceiver() as receiver:
        browser = receiver.subscribe(script=[201])
        # Registered in the store directly: the session's settings admit real push services
        # only (registration's host check is tested in test_api and test_push).
        target = PushTarget(creator.id, browser.endpoint, browser.p256dh, browser.auth)
        assert await services.notifications.subscriptions.register(target, now_ms())
        await repos.pins.save(saver.id, pin.id, (await make_board(repos, saver)).id)
        [delivery] = await browser.received(1, 30)
    assert delivery.error is None
    assert delivery.payload is not None
    assert delivery.payload["kind"] == "PIN_SAVED"
    assert delivery.payload["pin"] == pin.id
    assert delivery.payload["text"] == f"{saver.handle} saved your pin"
    assert delivery.claims["sub"] == services.settings.vapid_subject


async def test_dead_letters_are_counted_in_metrics(
    services: Services, client: httpx.AsyncClient
) -> None:
    queue = services.push.queue
    before = await queue.dead_count()
    job = PushJob.new("u1", "n1", "0" * 64, "127.0.0.1")
    await queue.enqueue([job], now=time.time() + 3600)  # not due: the app's sender leaves it
    await queue.dead(job, "boom")
    text = (await client.get("/metrics")).text
    match = re.search(r"^pingraph_push_dead_letters (\S+)$", text, re.MULTILINE)
    assert match is not None
    assert float(match[1]) == before + 1
