"""Notifications through GraphQL: the inbox, settings and push subscriptions."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from graph.repos import Repositories
from server.services import Services
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api, code

INBOX = """
query($first: Int, $after: String, $unreadOnly: Boolean) {
  me {
    unreadNotificationCount
    notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id kind read createdAt actorCount actors(first: 2) { handle } pin { id } } }
    }
  }
}
"""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_inbox_pages_counts_and_marks_read(
    api: Api, repos: Repositories, services: Services
) -> None:
    creator = await make_user(repos)
    board = await make_board(repos, creator)
    pins = [await make_pin(repos, creator, board) for _ in range(3)]
    saver = await make_user(repos)
    saver_board = await make_board(repos, saver)
    for pin in pins:
        await repos.pins.save(saver.id, pin.id, saver_board.id)
    await drained(services.cache)
    token = api.token(creator)

    first = (await api.data(INBOX, {"first": 2}, token=token))["me"]
    assert first["unreadNotificationCount"] == 3
    page = first["notifications"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"]
    rest = (await api.data(INBOX, {"after": page["pageInfo"]["endCursor"]}, token=token))["me"]
    nodes = [e["node"] for e in page["edges"] + rest["notifications"]["edges"]]
    assert sorted(n["pin"]["id"] for n in nodes) == sorted(p.id for p in pins)
    assert {n["kind"] for n in nodes} == {"PIN_SAVED"}
    times = [n["createdAt"] for n in nodes]
    assert times == sorted(times, reverse=True)  # newest first
    assert nodes[0]["actors"] == [{"handle": saver.handle}]
    assert nodes[0]["actorCount"] == 1

    marked = await api.data(
        "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }",
        {"ids": [nodes[0]["id"]]},
        token=token,
    )
    assert marked == {"markNotificationsRead": 1}
    unread = (await api.data(INBOX, {"unreadOnly": True}, token=token))["me"]
    assert unread["unreadNotificationCount"] == 2
    assert unread["notifications"]["totalCount"] == 2
    everything = await api.data("mutation { markNotificationsRead(all: true) }", token=token)
    assert everything == {"markNotificationsRead": 2}
    assert (await api.data(INBOX, {}, token=token))["me"]["unreadNotificationCount"] == 0


async def test_an_inbox_is_its_owners_alone(api: Api, repos: Repositories) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    query = "query($id: ID!) { user(id: $id) { unreadNotificationCount } }"
    error = await api.error(query, {"id": owner.id}, token=api.token(other))
    assert code(error) == "FORBIDDEN"
    error = await api.error(query, {"id": owner.id})
    assert code(error) == "UNAUTHENTICATED"
    error = await api.error("mutation { markNotificationsRead }", token=api.token(owner))
    assert code(error) == "BAD_USER_INPUT"
    error = await api.error(
        "mutation { markNotificationsRead(ids: [], all: true) }", token=api.token(owner)
    )
    assert code(error) == "BAD_USER_INPUT"


async def test_settings_mute_kinds_and_choose_the_digest(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    token = api.token(user)
    read = "{ notificationSettings { muted topicDigest } }"
    assert await api.data(read, token=token) == {
        "notificationSettings": {"muted": [], "topicDigest": False}
    }
    changed = await api.data(
        "mutation { updateNotificationSettings(muted: [USER_FOLLOWED, PIN_SAVED]) "
        "{ muted topicDigest } }",
        token=token,
    )
    assert changed["updateNotificationSettings"] == {
        "muted": ["PIN_SAVED", "USER_FOLLOWED"],
        "topicDigest": False,
    }
    await api.data(
        "mutation { updateNotificationSettings(topicDigest: true) { topicDigest } }", token=token
    )
    assert await api.data(read, token=token) == {
        "notificationSettings": {"muted": ["PIN_SAVED", "USER_FOLLOWED"], "topicDigest": True}
    }
    error = await api.error(
        "mutation { updateNotificationSettings(muted: [LOUD]) { topicDigest } }", token=token
    )
    assert code(error) == "BAD_USER_INPUT"
    assert code(await api.error(read)) == "UNAUTHENTICATED"


async def test_push_subscriptions_are_checked_and_kept(
    api: Api, repos: Repositories, services: Services
) -> None:
    user = await make_user(repos)
    token = api.token(user)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    p256dh = b64(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
    auth = b64(b"0123456789abcdef")
    register = """
    mutation($endpoint: String!, $p256dh: String!, $auth: String!) {
      registerPushSubscription(endpoint: $endpoint, p256dh: $p256dh, auth: $auth)
    }
    """
    endpoint = "https://fcm.googleapis.com/fcm/send/abc123"
    variables = {"endpoint": endpoint, "p256dh": p256dh, "auth": auth}
    assert await api.data(register, variables, token=token) == {"registerPushSubscription": True}
    [target] = await services.notifications.subscriptions.push_targets([user.id])
    assert (target.endpoint, target.p256dh, target.auth) == (endpoint, p256dh, auth)
    # Stored sealed: neither the endpoint nor the keys can be read from the graph store.
    [stored] = await repos.backend.read(
        "MATCH (s:PushSubscription {user: $u}) RETURN s {.*} AS s", {"u": user.id}
    )
    assert set(stored["s"]) == {"ref", "user", "sealed", "at"}
    assert not {endpoint, p256dh, auth, "abc123"} & {str(v) for v in stored["s"].values()}
    assert all("abc123" not in str(v) for v in stored["s"].values())
    for bad in (
        {"endpoint": "http://fcm.googleapis.com/fcm/send/abc"},  # not https
        {"endpoint": "https://169.254.169.254/latest/meta-data"},  # not a push service
        {"p256dh": b64(b"short")},
        {"auth": b64(b"0123")},
    ):
        error = await api.error(register, {**variables, **bad}, token=token)
        assert code(error) == "BAD_USER_INPUT", bad
    unregister = "mutation($e: String!) { unregisterPushSubscription(endpoint: $e) }"
    other = await make_user(repos)
    assert await api.data(unregister, {"e": endpoint}, token=api.token(other)) == {
        "unregisterPushSubscription": False  # not theirs
    }
    assert await api.data(unregister, {"e": endpoint}, token=token) == {
        "unregisterPushSubscription": True
    }
    assert await services.notifications.subscriptions.push_targets([user.id]) == []
    server_key = (await api.data("{ pushPublicKey }"))["pushPublicKey"]
    assert len(base64.urlsafe_b64decode(server_key + "==")) == 65  # an uncompressed P-256 point
    assert server_key == services.notifications.push_key


async def test_a_browser_may_register_again_at_the_limit(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    token = api.token(user)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    keys = {
        "p256dh": b64(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)),
        "auth": b64(b"0123456789abcdef"),
    }
    register = """
    mutation($endpoint: String!, $p256dh: String!, $auth: String!) {
      registerPushSubscription(endpoint: $endpoint, p256dh: $p256dh, auth: $auth)
    }
    """
    endpoints = [f"https://fcm.googleapis.com/fcm/send/device{i}" for i in range(11)]
    for endpoint in endpoints[:10]:
        await api.data(register, {"endpoint": endpoint, **keys}, token=token)
    again = await api.data(register, {"endpoint": endpoints[0], **keys}, token=token)
    assert again == {"registerPushSubscription": True}
    error = await api.error(register, {"endpoint": endpoints[10], **keys}, token=token)
    assert code(error) == "CONFLICT"
