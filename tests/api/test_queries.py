"""Every query through POST /graphql: look-ups, lists, pagination, counts, search, feed."""

from domain.identity import Role
from graph.model import Privacy
from graph.repos import Repositories
from tests.utils.factories import make_board, make_pin, make_user, newest_first, unique_handle
from tests.utils.graphql import Api, code

PIN_CLOSEUP = """
query Closeup($id: ID!) {
  pin(id: $id) {
    id title description link createdAt saveCount image { url width }
    creator { id handle displayName }
    topics { name }
    boards(first: 10) { totalCount edges { node { id name privacy owner { handle } } } }
  }
}
"""
BOARD_PAGE = """
query BoardPage($id: ID!, $first: Int, $after: String) {
  board(id: $id) {
    id name description privacy createdAt pinCount followerCount viewerIsFollowing
    owner { id handle }
    topics { name }
    pins(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id title creator { handle } } }
    }
  }
}
"""


async def test_me_is_null_when_signed_out_and_the_user_when_signed_in(
    api: Api, repos: Repositories
) -> None:
    user = await make_user(repos)
    assert (await api.data("{ me { id } }")) == {"me": None}
    data = await api.data("{ me { id handle createdAt } }", token=api.token(user))
    assert data["me"]["id"] == user.id
    assert data["me"]["handle"] == user.handle
    assert data["me"]["createdAt"].endswith("+00:00")
    # A token without the user role is not a signed-in user, and `me` says why.
    robot = api.token(user, Role.RECOMMENDER)
    response = await api.post("{ me { id } }", token=robot)
    assert response.json()["data"] == {"me": None}
    error = response.json()["errors"][0]
    assert code(error) == "FORBIDDEN"
    assert "needs a token with the 'user' role; this one has: recommender" in error["message"]


async def test_user_by_id_or_handle(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    query = "query($id: ID, $handle: String) { user(id: $id, handle: $handle) { id handle } }"
    by_id = await api.data(query, {"id": user.id})
    by_handle = await api.data(query, {"handle": user.handle.upper()})
    assert by_id == by_handle == {"user": {"id": user.id, "handle": user.handle}}
    assert await api.data(query, {"handle": "nobody_here_x"}) == {"user": None}
    assert await api.data(query, {"id": "01NOPE"}) == {"user": None}
    error = await api.error(query, {"id": user.id, "handle": user.handle})
    assert code(error) == "BAD_USER_INPUT"


async def test_pin_closeup(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner, name="Lamps")
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, board, title="Brass lamp", topics=["Lighting"])
    await repos.pins.save(owner.id, pin.id, secret.id)

    anonymous = (await api.data(PIN_CLOSEUP, {"id": pin.id}))["pin"]
    assert anonymous["title"] == "Brass lamp"
    assert anonymous["creator"]["handle"] == owner.handle
    assert anonymous["topics"] == [{"name": "lighting"}]
    assert anonymous["saveCount"] == 1
    assert anonymous["image"] is None
    assert anonymous["boards"]["totalCount"] == 1
    assert [e["node"]["id"] for e in anonymous["boards"]["edges"]] == [board.id]

    mine = (await api.data(PIN_CLOSEUP, {"id": pin.id}, token=api.token(owner)))["pin"]
    assert mine["saveCount"] == 2
    assert {e["node"]["id"] for e in mine["boards"]["edges"]} == {board.id, secret.id}


async def test_board_page_paginates_newest_save_first(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner, topics=["Gardens"])
    pins = [await make_pin(repos, owner, board, title=f"p{i}") for i in range(5)]
    newest = newest_first(pins)

    seen, after = [], None
    while True:
        data = await api.data(BOARD_PAGE, {"id": board.id, "first": 2, "after": after})
        page = data["board"]["pins"]
        assert page["totalCount"] == 5
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == newest
    board_data = data["board"]
    assert board_data["owner"]["handle"] == owner.handle
    assert board_data["topics"] == [{"name": "gardens"}]
    assert board_data["pinCount"] == 5
    assert board_data["privacy"] == "PUBLIC"
    # The default page size applies when `first` is left out or null.
    default = await api.data(BOARD_PAGE, {"id": board.id, "first": None})
    assert len(default["board"]["pins"]["edges"]) == 5


async def test_secret_boards_never_reach_others(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    other = await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET, name="Surprise")
    public = await make_board(repos, owner)
    hidden_pin = await make_pin(repos, owner, secret, title="qwertyzz gift", topics=["zsecret"])
    query = """
    query($board: ID!, $pin: ID!, $user: ID!) {
      board(id: $board) { id }
      pin(id: $pin) { id }
      user(id: $user) {
        boards { totalCount edges { node { id } } }
        pins { totalCount edges { node { id } } }
      }
      topic(name: "zsecret") { pins { totalCount edges { node { id } } } }
      searchPins(query: "qwertyzz") { totalCount edges { node { id } } }
    }
    """
    variables = {"board": secret.id, "pin": hidden_pin.id, "user": owner.id}
    for token in (None, api.token(other)):
        data = await api.data(query, variables, token=token)
        assert data["board"] is None
        assert data["pin"] is None
        assert data["user"]["boards"]["totalCount"] == 1
        assert [e["node"]["id"] for e in data["user"]["boards"]["edges"]] == [public.id]
        assert data["user"]["pins"] == {"totalCount": 0, "edges": []}
        assert data["topic"] is None  # named only by a secret pin: unknown to others
        assert data["searchPins"] == {"totalCount": 0, "edges": []}
    mine = await api.data(query, variables, token=api.token(owner))
    assert mine["board"] == {"id": secret.id}
    assert mine["pin"] == {"id": hidden_pin.id}
    assert mine["user"]["boards"]["totalCount"] == 2
    assert mine["topic"]["pins"]["totalCount"] == 1
    # Search covers public pins only, for everyone.
    assert mine["searchPins"]["totalCount"] == 0


async def test_search_pins(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    word = unique_handle("w").replace("_", "")
    for i in range(3):
        await make_pin(repos, user, board, title=f"{word} chair {i}")
    query = """
    query($q: String!, $after: String) {
      searchPins(query: $q, first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { title } }
      }
    }
    """
    first = (await api.data(query, {"q": word}))["searchPins"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"]
    after = first["pageInfo"]["endCursor"]
    rest = (await api.data(query, {"q": word, "after": after}))["searchPins"]
    titles = [e["node"]["title"] for e in first["edges"] + rest["edges"]]
    assert sorted(titles) == [f"{word} chair {i}" for i in range(3)]
    assert code(await api.error(query, {"q": " ?! "})) == "BAD_USER_INPUT"


async def test_topic_and_follow_lists(api: Api, repos: Repositories) -> None:
    alice = await make_user(repos)
    bob = await make_user(repos)
    topic = unique_handle("topic")
    await repos.users.follow(bob.id, alice.id)
    await repos.topics.follow(bob.id, topic)
    query = """
    query($id: ID!, $topic: String!, $bob: String!) {
      user(id: $id) {
        followerCount followingCount viewerIsFollowing
        followers { totalCount edges { node { handle } } }
        following { totalCount }
      }
      topic(name: $topic) { name followerCount viewerIsFollowing pins { totalCount } }
      bob: user(handle: $bob) { followedTopics { totalCount edges { node { name } } } }
    }
    """
    variables = {"id": alice.id, "topic": topic.upper(), "bob": bob.handle}
    data = await api.data(query, variables, token=api.token(bob))
    assert data["user"]["followerCount"] == 1
    assert data["user"]["followingCount"] == 0
    assert data["user"]["viewerIsFollowing"] is True
    assert data["user"]["followers"]["edges"] == [{"node": {"handle": bob.handle}}]
    assert data["topic"] == {
        "name": topic,
        "followerCount": 1,
        "viewerIsFollowing": True,
        "pins": {"totalCount": 0},
    }
    assert data["bob"]["followedTopics"]["edges"] == [{"node": {"name": topic}}]
    assert (await api.data('{ topic(name: "no such topic here") { id } }')) == {"topic": None}


FEED_PAGE = "query($first: Int) { homeFeed(first: $first) { totalCount edges { node { id } } } }"


async def test_home_feed(api: Api, repos: Repositories) -> None:
    viewer = await make_user(repos)
    friend = await make_user(repos)
    board = await make_board(repos, friend)
    pins = [await make_pin(repos, friend, board, title=f"f{i}") for i in range(3)]
    await repos.users.follow(viewer.id, friend.id)
    query = """
    query($after: String) {
      homeFeed(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } }
      }
    }
    """
    token = api.token(viewer)
    whole = (await api.data(FEED_PAGE, {"first": 100}, token=token))["homeFeed"]
    everything = [e["node"]["id"] for e in whole["edges"]]
    # Fresh pins from whom the viewer follows, newest first, between walk-ranked pins.
    assert [i for i in everything if i in {p.id for p in pins}] == newest_first(pins)
    assert len(set(everything)) == len(everything) == whole["totalCount"]
    paged: list[str] = []
    after = None
    while True:  # pages of two, each continuing where the last ended
        page = (await api.data(query, {"after": after}, token=token))["homeFeed"]
        paged += [e["node"]["id"] for e in page["edges"]]
        assert page["totalCount"] == whole["totalCount"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == everything
    assert code(await api.error(query)) == "UNAUTHENTICATED"


async def test_related_pins(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    seed = await make_pin(repos, user, board)
    other = await make_pin(repos, user, board)
    data = await api.data(
        "query($id: ID!) { pin(id: $id) { related(first: 5) { id } } }", {"id": seed.id}
    )
    assert data["pin"]["related"] == [{"id": other.id}]
