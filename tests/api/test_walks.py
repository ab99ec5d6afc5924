"""/walks/* for recommendation jobs, end to end over a snapshot of the real graph."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson
import pytest

from domain.identity import Role
from graph.model import Privacy, User
from graph.repos import Repositories
from server.services import Services
from tests.utils.events_drain import drained, trending_settled
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api
from walks.build import build_from_store
from walks.engine import WalkEngine
from walks.snapshots import stream_position


@pytest.fixture
async def world(repos: Repositories) -> dict[str, object]:
    """Two boards sharing pins, a secret board, and a pin on its own."""
    owner = await make_user(repos)
    one, two = await make_board(repos, owner), await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pins = [await make_pin(repos, owner, one) for _ in range(4)]
    for pin in pins[:3]:
        await repos.pins.save(owner.id, pin.id, two.id)
    hidden = await make_pin(repos, owner, secret)
    await repos.pins.save(owner.id, pins[0].id, secret.id)
    return {"owner": owner, "pins": [p.id for p in pins], "hidden": hidden.id}


@pytest.fixture
async def walks(services: Services, world: dict[str, object]) -> WalkEngine:
    """The server's walk graph, with the world in it."""
    return await rebuilt(services)


async def rebuilt(services: Services) -> WalkEngine:
    """The server's walk graph rebuilt from the store, as after a `pingraph walks build`."""
    await drained(services.cache)  # every delta so far is logged before the position
    position = await stream_position(services.walk_deltas)
    built = await build_from_store(services.graph)
    services.walks.swap(dataclasses.replace(built, stream_id=position))
    return services.walks


def owner_and_pins(world: dict[str, object]) -> tuple[User, list[str]]:
    owner, pins = world["owner"], world["pins"]
    assert isinstance(owner, User)
    assert isinstance(pins, list)
    return owner, pins


def auth(api: Api, user: User, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(user, *roles)}"}


async def test_related_pins(api: Api, walks: WalkEngine, world: dict[str, object]) -> None:
    owner, pins = owner_and_pins(world)
    body = {"pins": {pins[0]: 2.0, "01NOTAPIN0000000000000000Z": 1.0}, "steps": 20000,
            "topK": 10, "seed": 7, "earlyStop": {"np": 50, "nv": 4}}  # fmt: skip
    response = await api.http.post(
        "/walks/related", json=body, headers=auth(api, owner, Role.RECOMMENDER)
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    returned = [item["pinId"] for item in answer["items"]]
    assert set(returned) <= set(pins[1:])  # never the query pin, never the secret-only pin
    assert world["hidden"] not in returned
    assert answer["unknownPins"] == ["01NOTAPIN0000000000000000Z"]
    assert answer["unknownTopics"] == []
    assert answer["graphVersion"] == walks.graph.version
    assert answer["stepsTaken"] > 0
    again = await api.http.post("/walks/related", json=body, headers=auth(api, owner, Role.ANALYST))
    assert again.json()["items"] == answer["items"]  # same seed, same answer


async def test_walk_limits_and_roles(api: Api, walks: WalkEngine, world: dict[str, object]) -> None:
    owner, pins = owner_and_pins(world)
    robot = auth(api, owner, Role.RECOMMENDER)
    bad = [
        ({"pins": [pins[0]], "steps": 10_000_001}, "steps"),
        ({"pins": [pins[0]], "topK": 1001}, "topK"),
        ({"pins": []}, "at least one pin"),
        ({"pins": {pins[0]: -1}}, f"pins.{pins[0]}: must be greater than 0"),
        ({"pins": {pins[0]: "heavy"}}, f"pins.{pins[0]}: must be a number"),
        ({"pins": [pins[0], 3]}, "pins.1: must be a string"),
        ({"pins": 5}, "pins: must be an object or a list"),
        ({"pins": [pins[0]], "restart": 0}, "restart"),
        ({"pins": [pins[0]], "surprise": 1}, "unknown field 'surprise'"),
        ({"pins": [pins[0]], "topk": 5}, "unknown field 'topk' (did you mean 'topK'?)"),
        ({"pins": [pins[0]], "bias": {"topic": []}},
         "bias: unknown field 'topic' (did you mean 'topics'?)"),
        ({"steps": 10}, "missing field 'pins'"),
    ]  # fmt: skip
    for body, message in bad:
        response = await api.http.post("/walks/related", json=body, headers=robot)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "BAD_USER_INPUT"
        said = response.json()["error"]["message"]
        assert message in said, said
        for internal in ("dict[", "list[", "float]", "Input should", "Value error"):
            assert internal not in said, said
    not_json = await api.http.post("/walks/related", content=b"{", headers={
        **robot, "Content-Type": "application/json"})  # fmt: skip
    assert not_json.status_code == 400
    as_form = await api.http.post("/walks/related", content=b'{"pins": ["x"]}', headers={
        **robot, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert as_form.status_code == 400
    assert "Content-Type: application/json" in as_form.json()["error"]["message"]
    anonymous = await api.http.post("/walks/related", json={"pins": [pins[0]]})
    assert anonymous.status_code == 401
    user_only = await api.http.post(
        "/walks/related", json={"pins": [pins[0]]}, headers=auth(api, owner, Role.USER)
    )
    assert user_only.status_code == 403
    assert user_only.json()["error"]["code"] == "FORBIDDEN"


async def test_batch_answers_every_line_in_input_order(
    api: Api, walks: WalkEngine, world: dict[str, object]
) -> None:
    owner, pins = owner_and_pins(world)
    lines = [
        {"id": "a", "pins": [pins[0]], "steps": 5000, "seed": 1},
        {"id": "b", "pins": [pins[1]], "steps": 10_000_001},
        "not json",
        "",
        "   \t",
        {"pins": [pins[2]], "steps": 5000, "seed": 2, "topK": 2},
        {"id": 7, "pins": [pins[2]], "steps": 5000, "seed": 2, "topK": 2},
        [1, 2],
    ]
    body = b"\n".join(
        line.encode() if isinstance(line, str) else orjson.dumps(line) for line in lines
    )
    response = await api.http.post(
        "/walks/batch", content=body + b"\n", headers={**auth(api, owner, Role.RECOMMENDER),
                                                       "Content-Type": "application/x-ndjson"},
    )  # fmt: skip
    assert response.status_code == 200
    answers = [orjson.loads(line) for line in response.content.splitlines()]
    assert [a["line"] for a in answers] == list(range(1, 9))  # the final newline adds none
    assert [a["id"] for a in answers] == ["a", "b", None, None, None, None, 7, None]
    assert answers[0]["items"]
    assert answers[0]["unknownTopics"] == []
    assert answers[0]["graphVersion"] == walks.graph.revision
    errors = {n: a["error"] for n, a in enumerate(answers, start=1) if "error" in a}
    assert sorted(errors) == [2, 3, 4, 5, 8]
    assert {error["code"] for error in errors.values()} == {"BAD_USER_INPUT"}
    assert errors[2]["message"].startswith("steps: must be less than or equal to")
    assert errors[3]["message"].startswith("the line is not valid JSON")
    assert errors[4]["message"].startswith("blank line: ")
    assert errors[5]["message"].startswith("blank line: ")
    assert errors[8]["message"] == "the line must be a JSON object"
    assert len(answers[5]["items"]) <= 2
    assert answers[6]["items"] == answers[5]["items"]  # the same request, but for its id
    robot = {**auth(api, owner, Role.RECOMMENDER), "Content-Type": "application/x-ndjson"}
    for nothing in (b"", b"\n \n"):
        refused = await api.http.post("/walks/batch", content=nothing, headers=robot)
        assert refused.status_code == 400


async def test_a_job_can_ask_for_the_graph_version_it_expects(
    api: Api, walks: WalkEngine, world: dict[str, object]
) -> None:
    owner, pins = owner_and_pins(world)
    robot = auth(api, owner, Role.RECOMMENDER)
    served = walks.graph.revision
    info = (await api.http.get("/walks/graph", headers=robot)).json()
    deltas = info["pendingDeltas"]
    assert served == (f"{info['version']}+{deltas}" if deltas else info["version"])
    assert info["graphVersion"] == served  # what a job sends, as /walks/graph gives it
    body = {"pins": [pins[0]], "steps": 2000, "seed": 4, "graphVersion": info["graphVersion"]}
    same = await api.http.post("/walks/related", json=body, headers=robot)
    assert same.status_code == 200, same.text
    assert same.json()["graphVersion"] == served
    gone = f"{served}+999"
    other = await api.http.post("/walks/related", json={**body, "graphVersion": gone},
                                headers=robot)  # fmt: skip
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "CONFLICT"
    assert f"'{gone}'" in other.json()["error"]["message"]
    assert f"'{served}'" in other.json()["error"]["message"]
    feed = await api.http.post(
        "/walks/feed", json={"userId": owner.id, "graphVersion": gone}, headers=robot
    )
    assert feed.status_code == 409
    assert feed.json()["error"]["code"] == "CONFLICT"
    lines = [orjson.dumps({"id": "now", **body}), orjson.dumps({**body, "graphVersion": gone})]
    ndjson = {**robot, "Content-Type": "application/x-ndjson"}
    batch = await api.http.post("/walks/batch", content=b"\n".join(lines), headers=ndjson)
    answers = [orjson.loads(line) for line in batch.content.splitlines()]
    assert answers[0]["items"] == same.json()["items"]
    assert answers[1]["error"]["code"] == "CONFLICT"
    assert answers[1]["line"] == 2


async def test_bias_topics_match_as_graphql_topic_does_and_unknown_ones_are_reported(
    api: Api, services: Services, repos: Repositories
) -> None:
    owner = await make_user(repos)
    pots, cars = (
        await make_board(repos, owner, topics=["ceramics"]),
        await make_board(repos, owner, topics=["cars"]),
    )
    query = await make_pin(repos, owner, pots)
    await repos.pins.save(owner.id, query.id, cars.id)
    on_topic = [(await make_pin(repos, owner, pots)).id for _ in range(3)]
    off_topic = [(await make_pin(repos, owner, cars)).id for _ in range(3)]
    for _ in range(2):  # more ceramics boards: among the walk graph's most common topics
        more = await make_board(repos, owner, topics=["ceramics"])
        await repos.pins.save(owner.id, on_topic[0], more.id)
    walks = await rebuilt(services)
    assert "ceramics" in walks.graph.topics
    robot = auth(api, owner, Role.RECOMMENDER)

    async def walk(*topics: str) -> dict[str, object]:
        body = {"pins": [query.id], "steps": 20_000, "seed": 5, "bias": {"topics": list(topics)}}
        response = await api.http.post("/walks/related", json=body, headers=robot)
        assert response.status_code == 200, response.text
        answer: dict[str, object] = response.json()
        return answer

    lower, title, plain = await walk("ceramics"), await walk("Ceramics"), await walk()
    assert title == lower
    assert lower["unknownTopics"] == []
    visits = {item["pinId"]: item["visits"] for item in lower["items"]}  # type: ignore[attr-defined]
    assert sum(visits.get(p, 0) for p in on_topic) > 3 * sum(visits.get(p, 0) for p in off_topic)
    unknown = await walk("zzz_no_such_topic")
    assert unknown["unknownTopics"] == ["zzz_no_such_topic"]
    assert unknown["items"] == plain["items"]  # no bias at all, and now it says so
    mixed = await walk("CERAMICS", "zzz_no_such_topic")
    assert mixed["unknownTopics"] == ["zzz_no_such_topic"]
    assert mixed["items"] == lower["items"]


async def test_feed_and_graph_info(
    api: Api, walks: WalkEngine, world: dict[str, object], repos: Repositories
) -> None:
    owner, pins = owner_and_pins(world)
    robot = auth(api, owner, Role.RECOMMENDER)
    fan = await make_user(repos)
    fan_board = await make_board(repos, fan)
    await repos.pins.save(fan.id, pins[1], fan_board.id)
    response = await api.http.post(
        "/walks/feed", json={"userId": fan.id, "topK": 5, "seed": 3, "steps": 5000}, headers=robot
    )
    assert response.status_code == 200, response.text
    returned = {item["pinId"] for item in response.json()["items"]}
    assert pins[1] not in returned  # the user's own save is not recommended back
    assert returned
    newcomer = await make_user(repos)  # no history: popular pins stand in
    fresh = await api.http.post("/walks/feed", json={"userId": newcomer.id}, headers=robot)
    assert fresh.status_code == 200
    assert fresh.json()["items"]
    unknown = await api.http.post("/walks/feed", json={"userId": "nobody"}, headers=robot)
    assert unknown.status_code == 400
    give_up = asyncio.get_running_loop().time() + 30
    while walks.graph.deltas < 1:  # the fan's save, merged live into the snapshot
        assert asyncio.get_running_loop().time() < give_up, "the save never reached the walks"
        await asyncio.sleep(0.01)
    info = (await api.http.get("/walks/graph", headers=robot)).json()
    assert info["version"] == walks.graph.version
    assert info["edges"] == walks.graph.edges
    assert info["pendingDeltas"] == walks.graph.deltas == 1
    assert info["builtAt"] == round(walks.graph.built_at * 1000)  # epoch ms, an integer
    assert isinstance(info["builtAt"], int)
    assert 1_600_000_000_000 < info["builtAt"] < 10**13
    assert response.json()["unknownTopics"] == []


async def test_graphql_related_and_home_feed_use_the_walks(
    api: Api, walks: WalkEngine, world: dict[str, object], repos: Repositories
) -> None:
    pins = world["pins"]
    assert isinstance(pins, list)
    related = await api.data(
        "query($id: ID!) { pin(id: $id) { related(first: 3) { id } } }", {"id": pins[0]}
    )
    ids = [pin["id"] for pin in related["pin"]["related"]]
    assert ids
    assert set(ids) <= set(pins[1:])  # co-saved pins; never the hidden one, never itself
    assert world["hidden"] not in ids

    viewer = await make_user(repos)
    board = await make_board(repos, viewer)
    await repos.pins.save(viewer.id, pins[0], board.id)
    await repos.pins.engage(viewer.id, pins[1], "HIDE")
    feed = """
    query($after: String) {
      homeFeed(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } }
      }
    }
    """
    token = api.token(viewer)
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(feed, {"after": after}, token=token))["homeFeed"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen
    assert len(seen) == len(set(seen)) == page["totalCount"]
    assert pins[0] not in seen  # saved by the viewer
    assert pins[1] not in seen  # hidden by the viewer
    assert world["hidden"] not in seen
    assert set(pins[2:]) & set(seen)  # walked from the saved pin

    newcomer = await make_user(repos)
    first = (await api.data(feed, token=api.token(newcomer)))["homeFeed"]
    assert first["edges"]  # popular pins, with no history at all


async def test_home_feed_is_cached_refreshed_by_activity_and_pages_stay_stable(
    api: Api,
    walks: WalkEngine,
    world: dict[str, object],
    repos: Repositories,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pins = world["pins"]
    assert isinstance(pins, list)
    viewer = await make_user(repos)
    board = await make_board(repos, viewer)
    await repos.pins.save(viewer.id, pins[3], board.id)
    events: list[str] = []
    monkeypatch.setattr(services.feed_cache, "on_event", events.append)
    token = api.token(viewer)
    feed = """
    query($after: String) {
      homeFeed(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } }
    }
    """
    first = (await api.data(feed, token=token))["homeFeed"]
    assert events[-1] == "rebuild"
    again = (await api.data(feed, token=token))["homeFeed"]
    assert events[-1] == "hit"
    assert again == first
    shown = first["edges"][0]["node"]["id"]
    # Saving the shown pin refreshes the feed: the next first page no longer has it ...
    await api.data("mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }",
                   {"p": shown, "b": board.id}, token=token)  # fmt: skip
    await drained(services.cache)  # the feed consumer has marked the feed stale
    fresh = (await api.data(feed, token=token))["homeFeed"]
    assert shown not in [edge["node"]["id"] for edge in fresh["edges"]]
    # ... while paging on from the old first page stays on the old list: no repeats.
    assert first["pageInfo"]["hasNextPage"]
    second = await api.data(feed, {"after": first["pageInfo"]["endCursor"]}, token=token)
    assert second["homeFeed"]["edges"][0]["node"]["id"] != shown


CREATE_PIN = 'mutation($b: ID!) { createPin(input: {title: "live", boardId: $b}) { id } }'


async def test_a_pin_created_into_a_secret_board_is_unknown_to_the_walks(
    api: Api, services: Services, walks: WalkEngine, repos: Repositories
) -> None:
    """No existence oracle: such a pin answers exactly as an id that never existed."""
    owner = await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    public = await make_board(repos, owner)
    robot = auth(api, owner, Role.RECOMMENDER)
    before = (await api.http.get("/walks/graph", headers=robot)).json()
    hidden = (await api.data(CREATE_PIN, {"b": secret.id}, token=api.token(owner)))["createPin"]
    shown = (await api.data(CREATE_PIN, {"b": public.id}, token=api.token(owner)))["createPin"]
    await drained(services.cache)
    give_up = asyncio.get_running_loop().time() + 30
    while not walks.graph.pin_index([shown["id"]])[0].size:  # merged, with the hidden one
        assert asyncio.get_running_loop().time() < give_up, "the saves never reached the walks"
        await asyncio.sleep(0.01)
    never = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    body = {"pins": [hidden["id"], never], "steps": 1000, "seed": 1}
    answer = (await api.http.post("/walks/related", json=body, headers=robot)).json()
    assert answer["unknownPins"] == [hidden["id"], never]
    after = (await api.http.get("/walks/graph", headers=robot)).json()
    assert after["pins"] == before["pins"] + 1  # the public pin only


async def test_walks_feed_is_not_steered_by_saves_to_secret_boards(
    api: Api,
    walks: WalkEngine,
    world: dict[str, object],
    repos: Repositories,
    services: Services,
) -> None:
    pins = world["pins"]
    assert isinstance(pins, list)
    newcomer, secretive = await make_user(repos), await make_user(repos)
    hideout = await make_board(repos, secretive, privacy=Privacy.SECRET)
    await repos.pins.save(secretive.id, pins[0], hideout.id)
    await trending_settled(services.cache)  # both newcomers' walks start from one ranking
    robot = auth(api, secretive, Role.RECOMMENDER)

    async def feed(user: User) -> list[str]:
        body = {"userId": user.id, "topK": 20, "seed": 11, "steps": 5000}
        response = await api.http.post("/walks/feed", json=body, headers=robot)
        assert response.status_code == 200, response.text
        return [item["pinId"] for item in response.json()["items"]]

    # The secret save neither seeds the walk nor is left out of the answer: the user looks
    # to a recommendation job exactly like someone with no history.
    assert await feed(secretive) == await feed(newcomer)


async def test_a_collaborators_saves_feed_the_walks_where_the_board_is_public(
    api: Api, services: Services, walks: WalkEngine, repos: Repositories
) -> None:
    """A collaborator's save into a public board is a save like the owner's; into a secret
    board it stays unknown to the walks."""
    owner, member = await make_user(repos), await make_user(repos)
    public = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    for board in (public, secret):
        invite = await repos.collaborators.invite(owner.id, board.id, member.id)
        await repos.collaborators.accept(member.id, invite.id)
    token = api.token(member)
    shown = (await api.data(CREATE_PIN, {"b": public.id}, token=token))["createPin"]
    hidden = (await api.data(CREATE_PIN, {"b": secret.id}, token=token))["createPin"]
    await drained(services.cache)
    give_up = asyncio.get_running_loop().time() + 30
    while not walks.graph.pin_index([shown["id"]])[0].size:
        assert asyncio.get_running_loop().time() < give_up, "the save never reached the walks"
        await asyncio.sleep(0.01)
    robot = auth(api, owner, Role.RECOMMENDER)
    body = {"pins": [shown["id"], hidden["id"]], "steps": 1000, "seed": 1}
    answer = (await api.http.post("/walks/related", json=body, headers=robot)).json()
    assert answer["unknownPins"] == [hidden["id"]]
