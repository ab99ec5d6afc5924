"""Password accounts through the API: signUp, signIn, refreshSession, changePassword and
signInAsDemo, the throttle on sign-ins, and what analysts can see of a password."""

from __future__ import annotations

import asyncio
import json
import stat
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from pydantic import SecretStr
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from structlog.testing import capture_logs

from accounts.passwords import needs_rehash
from accounts.throttle import SignInThrottle, address_key
from domain.identity import Role
from graph.repos import Repositories
from schema.build import MAX_BATCH
from server.services import Services
from server.settings import Env, Settings
from tests.api.test_media import post_media
from tests.server.test_cache_outage import RedisProcess
from tests.utils import images as samples
from tests.utils.apps import client_of, running
from tests.utils.factories import make_board, make_user, unique_handle
from tests.utils.graphql import Api, code
from tests.utils.processes import free_port
from tests.utils.replica import replicated

PASSWORD = "correct horse battery"
WRONG = "wrong handle or password"
SESSION = "token expiresAt refreshToken user { id handle displayName }"
SIGN_UP = f"""mutation($h: String!, $p: String!, $n: String, $l: String) {{
  signUp(handle: $h, password: $p, displayName: $n, lang: $l) {{ {SESSION} }} }}"""
SIGN_IN = f"""mutation($h: String!, $p: String!) {{
  signIn(handle: $h, password: $p) {{ {SESSION} }} }}"""
REFRESH = f"mutation($r: String!) {{ refreshSession(refreshToken: $r) {{ {SESSION} }} }}"
CHANGE = f"""mutation($c: String!, $n: String!) {{
  changePassword(currentPassword: $c, newPassword: $n) {{ {SESSION} }} }}"""
DEMO = f"mutation {{ signInAsDemo {{ {SESSION} }} }}"
ME = "{ me { id handle } }"
NO_RETRY = Retry(NoBackoff(), 0)


async def sign_up(api: Api, handle: str | None = None, **extra: Any) -> dict[str, Any]:
    variables = {"h": handle or unique_handle("acct"), "p": PASSWORD, **extra}
    session: dict[str, Any] = (await api.data(SIGN_UP, variables))["signUp"]
    return session


async def me(api: Api, token: str) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(ME, token=token))["me"]
    return found


async def away_from_a_window_end(period_s: int = 15 * 60, margin_s: float = 30) -> None:
    """Sign-in attempts are counted in fixed windows (the time divided by the period): a test
    that counts up to a limit must not straddle a window's end."""
    left = period_s - time.time() % period_s
    if left < margin_s:
        await asyncio.sleep(left + 0.5)


async def test_sign_up_then_me_with_the_token(
    api: Api, repos: Repositories, settings: Settings
) -> None:
    handle = unique_handle("Ada")
    session = await sign_up(api, handle, n="Ada L.")
    user = session["user"]
    assert user["handle"] == handle.lower()
    assert user["displayName"] == "Ada L."
    assert await me(api, session["token"]) == {"id": user["id"], "handle": handle.lower()}
    # Exactly the token `pingraph token issue` makes, for the session's lifetime.
    claims = jwt.decode(session["token"], options={"verify_signature": False})
    assert claims["sub"] == user["id"]
    assert claims["roles"] == ["user"]
    assert claims["exp"] - claims["iat"] == settings.session_ttl
    assert datetime.fromisoformat(session["expiresAt"]).timestamp() == claims["exp"]
    assert (await repos.users.get(user["id"])).lang == "en"
    stored = await repos.credentials.get(user["id"])
    assert stored is not None
    assert stored.generation == 0
    french = await sign_up(api, l="fr")
    assert (await repos.users.get(french["user"]["id"])).lang == "fr"


async def test_a_taken_handle_is_a_conflict(api: Api, repos: Repositories) -> None:
    taken = await make_user(repos)
    error = await api.error(SIGN_UP, {"h": taken.handle.upper(), "p": PASSWORD})
    assert code(error) == "CONFLICT"
    assert "already taken" in error["message"]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        ("x" * 129, "at most 128 characters"),
        (" \t " * 4, "only whitespace"),
        ("\ud800" + "x" * 8, "lone surrogate"),
    ],
)
async def test_a_weak_password_is_refused_and_nothing_is_written(
    api: Api, repos: Repositories, password: str, message: str
) -> None:
    handle = unique_handle("weak")
    # As JSON with escapes: a lone surrogate has no UTF-8 form, though JSON can name it.
    body = json.dumps({"query": SIGN_UP, "variables": {"h": handle, "p": password}})
    response = await api.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    [error] = response.json()["errors"]
    assert code(error) == "BAD_USER_INPUT"
    assert message in error["message"]
    found = await api.data("query($h: String) { user(handle: $h) { id } }", {"h": handle})
    assert found == {"user": None}


async def test_a_bad_handle_is_refused(api: Api) -> None:
    error = await api.error(SIGN_UP, {"h": "no spaces", "p": PASSWORD})
    assert code(error) == "BAD_USER_INPUT"
    assert "handle must be" in error["message"]


async def test_sign_in_fails_alike_for_every_wrong_handle_or_password(
    api: Api, repos: Repositories
) -> None:
    session = await sign_up(api)
    handle = session["user"]["handle"]
    signed_in = (await api.data(SIGN_IN, {"h": handle.upper(), "p": PASSWORD}))["signIn"]
    assert signed_in["user"]["id"] == session["user"]["id"]
    assert (await me(api, signed_in["token"]))["id"] == session["user"]["id"]
    without_password = await make_user(repos)  # as `pingraph user create` makes one
    for attempt in (
        {"h": handle, "p": PASSWORD + "!"},
        {"h": unique_handle("nobody"), "p": PASSWORD},
        {"h": without_password.handle, "p": PASSWORD},
        {"h": "not a handle at all", "p": PASSWORD},
    ):
        error = await api.error(SIGN_IN, attempt)
        assert code(error) == "UNAUTHENTICATED", attempt
        assert error["message"] == WRONG, attempt


async def test_failed_sign_ins_throttle_the_handle_even_for_the_right_password(
    api: Api,
) -> None:
    handle = (await sign_up(api))["user"]["handle"]
    other = (await sign_up(api))["user"]["handle"]
    await away_from_a_window_end()
    for _ in range(5):
        assert code(await api.error(SIGN_IN, {"h": handle, "p": "not it at all"})) == (
            "UNAUTHENTICATED"
        )
    refused = await api.error(SIGN_IN, {"h": handle, "p": PASSWORD})
    assert code(refused) == "RATE_LIMITED"
    assert "too many failed sign-ins for this handle" in refused["message"]
    assert 1 <= refused["extensions"]["retryAfter"] <= 15 * 60
    assert f"retry in {refused['extensions']['retryAfter']}s" in refused["message"]
    # Another handle, from the same address, is not held up.
    assert (await api.data(SIGN_IN, {"h": other, "p": PASSWORD}))["signIn"]["token"]


async def test_refresh_rotates_and_gives_a_working_session(api: Api) -> None:
    first = await sign_up(api)
    second = (await api.data(REFRESH, {"r": first["refreshToken"]}))["refreshSession"]
    assert second["refreshToken"] != first["refreshToken"]
    assert second["user"]["id"] == first["user"]["id"]
    assert (await me(api, second["token"]))["id"] == first["user"]["id"]
    third = (await api.data(REFRESH, {"r": second["refreshToken"]}))["refreshSession"]
    assert (await me(api, third["token"]))["id"] == first["user"]["id"]


async def test_reusing_a_refresh_token_ends_every_session(api: Api) -> None:
    first = await sign_up(api)
    handle = first["user"]["handle"]
    other_device = (await api.data(SIGN_IN, {"h": handle, "p": PASSWORD}))["signIn"]
    # The user refreshes A and gets B; A turns up again (stolen): one of the two is a thief.
    second = (await api.data(REFRESH, {"r": first["refreshToken"]}))["refreshSession"]
    reused = await api.error(REFRESH, {"r": first["refreshToken"]})
    assert code(reused) == "UNAUTHENTICATED"
    assert "ended because its refresh token was used twice" in reused["message"]
    # Whoever holds B, and every other session of the user, must sign in again.
    for ended in (second, other_device):
        refused = await api.error(REFRESH, {"r": ended["refreshToken"]})
        assert code(refused) == "UNAUTHENTICATED"
        assert "this session has ended" in refused["message"]
    # Ended, not locked: signing in starts a session that refreshes.
    again = (await api.data(SIGN_IN, {"h": handle, "p": PASSWORD}))["signIn"]
    assert (await api.data(REFRESH, {"r": again["refreshToken"]}))["refreshSession"]["token"]


async def test_refresh_and_access_tokens_are_not_interchangeable(
    api: Api, repos: Repositories
) -> None:
    session = await sign_up(api)
    # PyJWT refuses a token with an audience when none is expected: a refresh token is no
    # bearer token.
    as_bearer = await api.post(ME, token=session["refreshToken"])
    assert as_bearer.status_code == 401
    assert as_bearer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    issued = api.token(await repos.users.get(session["user"]["id"]))  # `pingraph token issue`
    for wrong in (session["token"], issued, "not.a.token"):
        error = await api.error(REFRESH, {"r": wrong})
        assert code(error) == "UNAUTHENTICATED"
        assert "not a valid refresh token" in error["message"]


async def test_change_password_ends_earlier_sessions(api: Api) -> None:
    first = await sign_up(api)
    handle = first["user"]["handle"]
    second = (await api.data(SIGN_IN, {"h": handle, "p": PASSWORD}))["signIn"]
    new = "a brand new secret"
    variables = {"c": PASSWORD, "n": new}
    assert code(await api.error(CHANGE, variables)) == "UNAUTHENTICATED"  # signed out
    wrong = await api.error(CHANGE, {"c": "not the password", "n": new}, token=first["token"])
    assert code(wrong) == "BAD_USER_INPUT"
    assert "currentPassword is wrong" in wrong["message"]
    weak = await api.error(CHANGE, {"c": PASSWORD, "n": "short"}, token=first["token"])
    assert code(weak) == "BAD_USER_INPUT"
    assert "newPassword must be at least 8" in weak["message"]
    changed = (await api.data(CHANGE, variables, token=first["token"]))["changePassword"]
    assert (await me(api, changed["token"]))["handle"] == handle
    old = await api.error(SIGN_IN, {"h": handle, "p": PASSWORD})
    assert old["message"] == WRONG
    assert (await api.data(SIGN_IN, {"h": handle, "p": new}))["signIn"]["token"]
    for earlier in (first, second):
        refused = await api.error(REFRESH, {"r": earlier["refreshToken"]})
        assert code(refused) == "UNAUTHENTICATED"
        assert "the password was changed" in refused["message"]
    assert (await api.data(REFRESH, {"r": changed["refreshToken"]}))["refreshSession"]


async def test_an_account_without_a_password_cannot_change_it(
    api: Api, repos: Repositories
) -> None:
    user = await make_user(repos)
    error = await api.error(CHANGE, {"c": "whatever it is", "n": PASSWORD}, token=api.token(user))
    assert code(error) == "FORBIDDEN"
    assert "pingraph user set-password" in error["message"]


async def test_an_old_hash_is_replaced_at_sign_in(api: Api, services: Services) -> None:
    user = await make_user(services.repos)
    weak_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    old_hash = weak_hasher.hash(PASSWORD)
    seal = services.accounts.seal
    generation = await services.repos.credentials.set(user.id, seal.seal(user.id, old_hash))
    assert (await api.data(SIGN_IN, {"h": user.handle, "p": PASSWORD}))["signIn"]["token"]
    stored = await services.repos.credentials.get(user.id)
    assert stored is not None
    assert stored.generation == generation  # a rehash ends no session
    opened = seal.open(user.id, stored.sealed)
    assert opened is not None
    assert opened != old_hash
    assert not needs_rehash(opened)
    assert (await api.data(SIGN_IN, {"h": user.handle, "p": PASSWORD}))["signIn"]["token"]


async def test_analysts_never_read_a_password_hash(
    api: Api, repos: Repositories, services: Services, settings: Settings
) -> None:
    session = await sign_up(api)
    stored = await repos.credentials.get(session["user"]["id"])
    assert stored is not None
    # Sealed to its user: the same ciphertext does not open as anyone else's.
    assert services.accounts.seal.open(session["user"]["id"], stored.sealed)
    assert services.accounts.seal.open((await make_user(repos)).id, stored.sealed) is None
    analyst = api.token(await make_user(repos), Role.ANALYST)
    await replicated(settings)
    response = await api.http.post(
        "/cypher",
        json={"query": "MATCH (c:Credential) RETURN c", "limit": 10_000},
        headers={"Authorization": f"Bearer {analyst}"},
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    users = {row[0]["properties"]["user"] for row in rows}
    assert session["user"]["id"] in users
    assert "argon2" not in response.text
    users_only = await api.http.post(
        "/cypher",
        json={"query": "MATCH (u:User {id: $id}) RETURN u", "params": {"id": users.pop()}},
        headers={"Authorization": f"Bearer {analyst}"},
    )
    assert "sealed" not in users_only.text


async def test_image_key_is_the_key_in_its_url(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    token = api.token(user)
    key = (await post_media(api, samples.jpeg(320, 200), token=token)).json()["imageKey"]
    variables = {"input": {"title": "Keyed", "boardId": board.id, "imageKey": key}}
    created = await api.data(
        "mutation($input: CreatePinInput!) { createPin(input: $input) { "
        "image { key url(size: SMALL) } } }",
        variables,
        token=token,
    )
    image = created["createPin"]["image"]
    assert image["key"] == key
    assert image["url"] == f"/media/{image['key']}/small"


async def test_the_generated_password_key_is_private(settings: Settings, app: object) -> None:
    key_file = settings.data_dir / "password.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_the_throttle_is_off_while_redis_is_away() -> None:
    # As the app's client: no retries (redis-py's default backs off for seconds).
    unreachable = aioredis.Redis(port=free_port(), socket_connect_timeout=1, retry=NO_RETRY)
    throttle = SignInThrottle(
        unreachable,
        failures_per_handle="1/minute",
        failures_per_address="1/minute",
        sign_ups_per_address="1/minute",
    )
    try:
        with capture_logs() as logs:
            for _ in range(3):
                await (await throttle.reserve_sign_in("someone", "192.0.2.1")).release()
                await throttle.reserve_sign_in("someone", "192.0.2.1")
                await throttle.count_sign_up("192.0.2.1")
    finally:
        await unreachable.aclose()
    assert any("throttle is off" in entry["event"] for entry in logs)


async def test_refresh_fails_closed_while_redis_is_away(settings: Settings, tmp_path: Path) -> None:
    cache_server = RedisProcess(tmp_path)
    cache_server.start()
    own = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{cache_server.port}/0"})
    try:
        async with running(own) as app, client_of(app) as http:
            api = Api(http, own)
            session = await sign_up(api)
            cache_server.stop()
            # Spent tokens cannot be remembered, so none is taken: a replay must not pass.
            refused = await api.error(REFRESH, {"r": session["refreshToken"]})
            assert code(refused) == "UNAUTHENTICATED"
            assert refused["message"] == "sessions cannot be refreshed right now; sign in again"
            # Signing in still works, unthrottled (with a warning).
            with capture_logs() as logs:
                handle = session["user"]["handle"]
                signed_in = await api.data(SIGN_IN, {"h": handle, "p": PASSWORD})
            assert signed_in["signIn"]["user"]["id"] == session["user"]["id"]
            assert any("throttle is off" in entry["event"] for entry in logs)
    finally:
        cache_server.stop()


# --- counting sign-in attempts -------------------------------------------------------------


async def test_concurrent_wrong_passwords_are_counted_exactly(api: Api) -> None:
    """Strawberry runs a batch's operations concurrently: each attempt is counted when it
    begins, so the limit (5, the default) holds however many arrive at once."""
    handle = (await sign_up(api))["user"]["handle"]
    await away_from_a_window_end()
    batch = [
        {"query": SIGN_IN, "variables": {"h": handle, "p": f"guess number {n}"}}
        for n in range(MAX_BATCH)
    ]
    response = await api.http.post("/graphql", json=batch)
    assert response.status_code == 200, response.text
    codes = [code(answer["errors"][0]) for answer in response.json()]
    assert sorted(codes) == ["RATE_LIMITED"] * (MAX_BATCH - 5) + ["UNAUTHENTICATED"] * 5
    refused = await api.error(SIGN_IN, {"h": handle, "p": PASSWORD})
    assert code(refused) == "RATE_LIMITED"
    assert "too many failed sign-ins for this handle from this address" in refused["message"]


async def test_parallel_requests_are_counted_exactly(api: Api) -> None:
    handle = (await sign_up(api))["user"]["handle"]
    await away_from_a_window_end()
    attempts = [api.post(SIGN_IN, {"h": handle, "p": f"guess {n}"}) for n in range(8)]
    answers = await asyncio.gather(*attempts)
    codes = sorted(code(answer.json()["errors"][0]) for answer in answers)
    assert codes == ["RATE_LIMITED"] * 3 + ["UNAUTHENTICATED"] * 5
    assert code(await api.error(SIGN_IN, {"h": handle, "p": PASSWORD})) == "RATE_LIMITED"


async def test_failures_from_one_address_do_not_lock_out_another(app: Any, api: Api) -> None:
    handle = (await sign_up(api))["user"]["handle"]
    await away_from_a_window_end()
    async with (
        client_of(app, client=("192.0.2.21", 1)) as guesser_http,
        client_of(app, client=("192.0.2.22", 1)) as owner_http,
    ):
        guesser, owner = Api(guesser_http, api_settings(app)), Api(owner_http, api_settings(app))
        for _ in range(5):
            assert (await guesser.error(SIGN_IN, {"h": handle, "p": "a guess"}))["message"] == WRONG
        held = await guesser.error(SIGN_IN, {"h": handle, "p": PASSWORD})
        assert code(held) == "RATE_LIMITED"
        assert "for this handle from this address" in held["message"]
        assert (await owner.data(SIGN_IN, {"h": handle, "p": PASSWORD}))["signIn"]["token"]
        # The owner's own mistakes are counted apart.
        assert code(await owner.error(SIGN_IN, {"h": handle, "p": "a typo"})) == "UNAUTHENTICATED"


async def test_a_successful_sign_in_gives_its_attempt_back(api: Api) -> None:
    handle = (await sign_up(api))["user"]["handle"]
    await away_from_a_window_end()
    for _ in range(4):
        assert code(await api.error(SIGN_IN, {"h": handle, "p": "wrong"})) == "UNAUTHENTICATED"
    assert (await api.data(SIGN_IN, {"h": handle, "p": PASSWORD}))["signIn"]["token"]
    assert code(await api.error(SIGN_IN, {"h": handle, "p": "wrong"})) == "UNAUTHENTICATED"
    # Five failures now, and only failures: the sixth attempt is refused.
    assert code(await api.error(SIGN_IN, {"h": handle, "p": PASSWORD})) == "RATE_LIMITED"


async def test_a_wrong_current_password_counts_as_a_failed_sign_in(api: Api) -> None:
    session = await sign_up(api)
    handle, token = session["user"]["handle"], session["token"]
    await away_from_a_window_end()
    for _ in range(2):  # a right one gives its attempt back
        new = await api.data(CHANGE, {"c": PASSWORD, "n": PASSWORD + "!"}, token=token)
        token = new["changePassword"]["token"]
        new = await api.data(CHANGE, {"c": PASSWORD + "!", "n": PASSWORD}, token=token)
        token = new["changePassword"]["token"]
    for _ in range(5):
        wrong = await api.error(CHANGE, {"c": "not it", "n": "whatever it is"}, token=token)
        assert code(wrong) == "BAD_USER_INPUT"
    held = await api.error(CHANGE, {"c": PASSWORD, "n": "whatever it is"}, token=token)
    assert code(held) == "RATE_LIMITED"
    assert code(await api.error(SIGN_IN, {"h": handle, "p": PASSWORD})) == "RATE_LIMITED"


def api_settings(app: Any) -> Settings:
    found: Settings = app.state.settings
    return found


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::1", "::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4 on a dual-stack socket
        ("192.0.2.7", "192.0.2.7"),
        ("unknown", "unknown"),
    ],
)
def test_an_ipv6_address_is_counted_by_its_64_network(address: str, counted_as: str) -> None:
    assert address_key(address) == counted_as


async def test_counter_keys() -> None:
    never_used = aioredis.Redis(port=free_port())
    throttle = SignInThrottle(
        never_used,
        failures_per_handle="5/15 minutes",
        failures_per_address="20/15 minutes",
        sign_ups_per_address="10/hour",
    )
    await never_used.aclose()
    now = 1_000 * 900 + 10.0  # 10 s into window 1000
    pair, anywhere, address = throttle.counters(" Ada Lovelace! ", "2001:db8::1", now)
    same = throttle.counters("ada lovelace!", "2001:db8::ffff:1", now + 800)
    assert [c.key for c in same] == [pair.key, anywhere.key, address.key]
    for counter in (pair, anywhere, address):
        assert counter.key.startswith("pingraph:accounts:sign-in:")
        assert counter.key.endswith(":1000")
        assert "ada" not in counter.key.lower()  # the handle is hashed
        assert counter.window_end == 1_001 * 900
    assert address.key == "pingraph:accounts:sign-in:address:2001:db8::/64:1000"
    assert "2001:db8::/64" in pair.key
    assert (pair.item.amount, anywhere.item.amount, address.item.amount) == (5, 50, 20)
    assert pair.item.get_expiry() == anywhere.item.get_expiry() == 15 * 60
    later = throttle.counters("ada lovelace!", "2001:db8:0:1::1", now + 900)
    assert later[1].key.endswith(":1001")
    assert later[2].key == "pingraph:accounts:sign-in:address:2001:db8:0:1::/64:1001"


TIGHT_LIMITS = {
    "sign_in_failures_per_handle": "1/15 minutes",  # from anywhere: 10
    "sign_in_failures_per_address": "3/15 minutes",
}


@pytest.fixture
async def tight_app(settings: Settings) -> AsyncIterator[Any]:
    async with running(settings.model_copy(update=TIGHT_LIMITS)) as app:
        yield app


async def test_a_handle_and_an_address_have_counters_of_their_own(tight_app: Any) -> None:
    settings = api_settings(tight_app)
    async with client_of(tight_app, client=("198.18.0.1", 1)) as http:
        handle = (await sign_up(Api(http, settings)))["user"]["handle"]

    async def sign_in(address: str, password: str) -> dict[str, Any]:
        async with client_of(tight_app, client=(address, 1)) as http:
            answer = await Api(http, settings).post(SIGN_IN, {"h": handle, "p": password})
            body: dict[str, Any] = answer.json()
            return body

    def refusal(body: dict[str, Any]) -> str:
        [error] = body["errors"]
        assert code(error) == "RATE_LIMITED", error
        message: str = error["message"]
        return message

    await away_from_a_window_end()
    assert (await sign_in("198.18.1.1", "wrong"))["errors"][0]["message"] == WRONG
    # Refused attempts are no guesses: they do not use up the handle's count from anywhere.
    for _ in range(20):
        held = refusal(await sign_in("198.18.1.1", "wrong"))
        assert "for this handle from this address: at most 1 per 15 minute" in held
    assert (await sign_in("198.18.1.2", PASSWORD))["data"]["signIn"]["token"]
    # Guessing from many addresses: ten times the per-handle limit, then nobody gets in.
    for n in range(2, 11):
        assert (await sign_in(f"198.18.2.{n}", "wrong"))["errors"][0]["message"] == WRONG
    held = refusal(await sign_in("198.18.3.1", PASSWORD))
    assert "too many failed sign-ins for this handle: at most 10 per 15 minute" in held

    # An IPv6 client has its /64: every address in it shares one budget (3), whatever handles.
    async def guess(address: str) -> dict[str, Any]:
        async with client_of(tight_app, client=(address, 1)) as http:
            variables = {"h": unique_handle("nobody"), "p": PASSWORD}
            body: dict[str, Any] = (await Api(http, settings).post(SIGN_IN, variables)).json()
            return body

    for n in range(1, 4):
        assert (await guess(f"2001:db8:77:1::{n}"))["errors"][0]["message"] == WRONG
    assert "for this address" in refusal(await guess("2001:db8:77:1:ffff:ffff:ffff:ffff"))
    assert (await guess("2001:db8:77:2::1"))["errors"][0]["message"] == WRONG


# --- the development's quick sign-in, and a production app ---------------------------------


@pytest.fixture
async def own_graph_api(settings: Settings, tmp_path: Path) -> AsyncIterator[Api]:
    """A development app over a graph of its own: the shared one must not get a `demo` user
    (other tests look that handle up and expect nobody)."""
    own = settings.model_copy(
        update={"graph_database": f"accounts_{uuid.uuid4().hex[:8]}", "data_dir": tmp_path}
    )
    async with running(own) as app, client_of(app) as http:
        yield Api(http, own)


async def test_sign_in_as_demo_in_development(own_graph_api: Api) -> None:
    missing = await own_graph_api.error(DEMO)
    assert code(missing) == "NOT_FOUND"
    assert "pingraph seed --small" in missing["message"]
    demo = await sign_up(own_graph_api, "demo")
    session = (await own_graph_api.data(DEMO))["signInAsDemo"]
    assert session["user"]["id"] == demo["user"]["id"]
    assert (await me(own_graph_api, session["token"]))["handle"] == "demo"
    again = await own_graph_api.data(REFRESH, {"r": session["refreshToken"]})
    assert again["refreshSession"]["user"]["handle"] == "demo"


PROD_LIMITS = {
    "sign_in_failures_per_address": "3/15 minutes",
    "sign_ups_per_address": "2/hour",
}


@pytest.fixture
async def prod_app(settings: Settings) -> AsyncIterator[Any]:
    prod = settings.model_copy(
        update={
            "env": Env.PROD,
            "jwt_secret": SecretStr("p" * 40),
            "response_cache_ttl_s": 30,
            **PROD_LIMITS,
        }
    )
    async with running(prod) as app:
        yield app


async def test_production_refuses_quick_sign_in_and_counts_per_address(prod_app: Any) -> None:
    prod: Settings = prod_app.state.settings
    client = ("198.51.100.7", 1)  # TEST-NET-2: an address of this test's own
    async with client_of(prod_app, client=client) as http:
        api = Api(http, prod)
        forbidden = await api.error(DEMO)
        assert code(forbidden) == "FORBIDDEN"
        assert forbidden["message"] == "quick sign-in is for development only"
        # Sign-ups: every attempt counts, per address.
        first = await sign_up(api)
        await sign_up(api)
        farmed = await api.error(SIGN_UP, {"h": unique_handle("farm"), "p": PASSWORD})
        assert code(farmed) == "RATE_LIMITED"
        assert "too many sign-ups from this address" in farmed["message"]
        # Refreshing twice with one token: the answer cache must not replay the first.
        refreshed = await api.data(REFRESH, {"r": first["refreshToken"]})
        assert refreshed["refreshSession"]["user"]["id"] == first["user"]["id"]
        assert code(await api.error(REFRESH, {"r": first["refreshToken"]})) == ("UNAUTHENTICATED")
        # Failed sign-ins, per address, whichever handles they name.
        await away_from_a_window_end()
        for _ in range(3):
            failed = await api.error(SIGN_IN, {"h": unique_handle("guess"), "p": PASSWORD})
            assert failed["message"] == WRONG
        held = await api.error(SIGN_IN, {"h": first["user"]["handle"], "p": PASSWORD})
        assert code(held) == "RATE_LIMITED"
        assert "for this address" in held["message"]
