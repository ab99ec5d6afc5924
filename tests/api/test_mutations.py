"""Every mutation through POST /graphql, and who may do what."""

from domain.identity import Role
from graph.model import Privacy
from graph.repos import Repositories
from server.services import Services
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_pin, make_user, unique_handle
from tests.utils.graphql import Api, code

CREATE_BOARD = """
mutation($input: CreateBoardInput!) {
  createBoard(input: $input) { id name description privacy topics { name } owner { id } }
}
"""
UPDATE_BOARD = """
mutation($id: ID!, $input: UpdateBoardInput!) {
  updateBoard(id: $id, input: $input) { id name description privacy topics { name } }
}
"""
CREATE_PIN = """
mutation($input: CreatePinInput!) {
  createPin(input: $input) { id title description link topics { name } creator { id } saveCount }
}
"""
SAVE = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id saveCount } }"
UNSAVE = "mutation($p: ID!, $b: ID!) { unsavePin(pinId: $p, boardId: $b) }"


async def test_board_lifecycle(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    token = api.token(owner)
    created = await api.data(
        CREATE_BOARD,
        {"input": {"name": " Kitchens ", "topics": ["Interior", "interior"], "privacy": "SECRET"}},
        token=token,
    )
    board = created["createBoard"]
    assert board["name"] == "Kitchens"
    assert board["privacy"] == "SECRET"
    assert board["topics"] == [{"name": "interior"}]
    assert board["owner"] == {"id": owner.id}
    assert board["description"] is None

    changes = {"description": "warm wood", "privacy": "PUBLIC", "topics": []}
    updated = await api.data(UPDATE_BOARD, {"id": board["id"], "input": changes}, token=token)
    assert updated["updateBoard"] == {
        "id": board["id"], "name": "Kitchens", "description": "warm wood",
        "privacy": "PUBLIC", "topics": [],
    }  # fmt: skip
    # A field left out stays; an explicit null clears.
    renamed = await api.data(
        UPDATE_BOARD, {"id": board["id"], "input": {"name": "K2"}}, token=token
    )
    assert renamed["updateBoard"]["description"] == "warm wood"
    cleared = await api.data(
        UPDATE_BOARD, {"id": board["id"], "input": {"description": None}}, token=token
    )
    assert cleared["updateBoard"]["description"] is None

    deleted = await api.data("mutation($id: ID!) { deleteBoard(id: $id) }", {"id": board["id"]},
                             token=token)  # fmt: skip
    assert deleted == {"deleteBoard": True}
    assert await api.data("query($id: ID!) { board(id: $id) { id } }", {"id": board["id"]},
                          token=token) == {"board": None}  # fmt: skip


async def test_pin_lifecycle_save_and_unsave(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    fan = await make_user(repos)
    board = await make_board(repos, owner)
    fan_board = await make_board(repos, fan)
    new = {
        "title": "Oak table",
        "description": "solid",
        "link": "https://example.com/table",
        "boardId": board.id,
        "topics": ["Furniture"],
    }
    pin = (await api.data(CREATE_PIN, {"input": new}, token=api.token(owner)))["createPin"]
    assert pin["title"] == "Oak table"
    assert pin["topics"] == [{"name": "furniture"}]
    assert pin["creator"] == {"id": owner.id}
    assert pin["saveCount"] == 1

    fan_token = api.token(fan)
    saved = await api.data(SAVE, {"p": pin["id"], "b": fan_board.id}, token=fan_token)
    assert saved["savePin"] == {"id": pin["id"], "saveCount": 2}
    again = await api.data(SAVE, {"p": pin["id"], "b": fan_board.id}, token=fan_token)
    assert again["savePin"]["saveCount"] == 2  # idempotent
    assert await api.data(UNSAVE, {"p": pin["id"], "b": fan_board.id}, token=fan_token) == {
        "unsavePin": True
    }
    assert await api.data(UNSAVE, {"p": pin["id"], "b": fan_board.id}, token=fan_token) == {
        "unsavePin": False
    }

    gone = await api.data("mutation($id: ID!) { deletePin(id: $id) }", {"id": pin["id"]},
                          token=api.token(owner))  # fmt: skip
    assert gone == {"deletePin": True}
    assert (await api.data("query($id: ID!) { pin(id: $id) { id } }", {"id": pin["id"]})) == {
        "pin": None
    }


async def test_follows_are_idempotent_and_reported(api: Api, repos: Repositories) -> None:
    viewer = await make_user(repos)
    target = await make_user(repos)
    board = await make_board(repos, target)
    topic = unique_handle("t")
    token = api.token(viewer)
    query = """
    mutation($u: ID!, $b: ID!, $t: String!) {
      followUser(userId: $u) { id followerCount viewerIsFollowing }
      followBoard(boardId: $b) { id followerCount viewerIsFollowing }
      followTopic(name: $t) { name followerCount viewerIsFollowing }
    }
    """
    variables = {"u": target.id, "b": board.id, "t": topic}
    for _ in range(2):
        data = await api.data(query, variables, token=token)
        assert data["followUser"] == {
            "id": target.id,
            "followerCount": 1,
            "viewerIsFollowing": True,
        }
        assert data["followBoard"]["followerCount"] == 1
        assert data["followBoard"]["viewerIsFollowing"] is True
        assert data["followTopic"] == {"name": topic, "followerCount": 1, "viewerIsFollowing": True}
    undo = """
    mutation($u: ID!, $b: ID!, $t: String!) {
      unfollowUser(userId: $u) { followerCount viewerIsFollowing }
      unfollowBoard(boardId: $b) { followerCount viewerIsFollowing }
      unfollowTopic(name: $t) { followerCount viewerIsFollowing }
    }
    """
    data = await api.data(undo, variables, token=token)
    assert set(map(str, data.values())) == {"{'followerCount': 0, 'viewerIsFollowing': False}"}
    error = await api.error("mutation($u: ID!) { followUser(userId: $u) { id } }",
                            {"u": viewer.id}, token=token)  # fmt: skip
    assert code(error) == "BAD_USER_INPUT"


async def test_record_engagement_hides_from_the_feed(
    api: Api, repos: Repositories, services: Services
) -> None:
    viewer = await make_user(repos)
    friend = await make_user(repos)
    board = await make_board(repos, friend)
    pin = await make_pin(repos, friend, board)
    await repos.users.follow(viewer.id, friend.id)
    token = api.token(viewer)

    async def feed() -> list[str]:
        data = await api.data("{ homeFeed(first: 100) { edges { node { id } } } }", token=token)
        return [edge["node"]["id"] for edge in data["homeFeed"]["edges"]]

    assert pin.id in await feed()
    record = "mutation($p: ID!, $k: EngagementKind!) { recordEngagement(pinId: $p, kind: $k) }"
    for kind in ("CLICK", "CLOSEUP", "HIDE"):
        assert await api.data(record, {"p": pin.id, "k": kind}, token=token) == {
            "recordEngagement": True
        }
    await drained(services.cache)  # the feed consumer marks the feed stale
    assert pin.id not in await feed()


async def test_only_owners_change_what_they_own(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    intruder = await make_user(repos)
    board = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, board)
    token = api.token(intruder)
    attempts = [
        (UPDATE_BOARD, {"id": board.id, "input": {"name": "mine now"}}),
        ("mutation($id: ID!) { deleteBoard(id: $id) }", {"id": board.id}),
        ("mutation($id: ID!) { deletePin(id: $id) }", {"id": pin.id}),
        (SAVE, {"p": pin.id, "b": board.id}),
        (UNSAVE, {"p": pin.id, "b": board.id}),
        (CREATE_PIN, {"input": {"title": "spam", "boardId": board.id}}),
    ]
    for query, variables in attempts:
        assert code(await api.error(query, variables, token=token)) == "FORBIDDEN", query
    # A secret board is not even there for others.
    hidden = [
        (UPDATE_BOARD, {"id": secret.id, "input": {"name": "x"}}),
        (SAVE, {"p": pin.id, "b": secret.id}),
        ("mutation($b: ID!) { followBoard(boardId: $b) { id } }", {"b": secret.id}),
    ]
    for query, variables in hidden:
        assert code(await api.error(query, variables, token=token)) == "NOT_FOUND", query
    # Nothing changed.
    after = await repos.boards.get(board.id, owner.id)
    assert after.name == board.name
    assert (await repos.boards.pins(board.id, owner.id, 10, None)).items[0].id == pin.id


async def test_mutations_need_a_signed_in_user(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    query = 'mutation($b: ID!) { createPin(input: {title: "x", boardId: $b}) { id } }'
    assert code(await api.error(query, {"b": board.id})) == "UNAUTHENTICATED"
    robot = api.token(user, Role.RECOMMENDER, Role.ANALYST)
    assert code(await api.error(query, {"b": board.id}, token=robot)) == "FORBIDDEN"
    assert (await repos.boards.pins(board.id, None, 5, None)).items == []
