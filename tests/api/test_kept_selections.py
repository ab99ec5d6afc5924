"""What each process keeps to answer signed-in pages fast, and what it must not keep."""

from __future__ import annotations

from graphql import FieldNode, OperationDefinitionNode, parse

from cache.boards import BoardCache, BoardVersions
from graph.model import Privacy
from graph.repos import Repositories
from schema.build import build_schema
from schema.execution import keepable
from server.services import Services
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api

PAGE = """
query($id: ID!) { board(id: $id) { pins(first: 25) { edges { node {
  id title image { url(size: SMALL) width } creator { handle } } } } } }
"""
WITH_COUNT = """
query($id: ID!) { board(id: $id) { pins(first: 25) { edges { node { id saveCount } } } } }
"""


def node_selection(text: str) -> FieldNode:
    """The `node { ... }` field of a board page query."""
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    selections = operation.selection_set.selections
    for name in ("board", "pins", "edges", "node"):
        field = next(s for s in selections if isinstance(s, FieldNode) and s.name.value == name)
        assert isinstance(field, FieldNode)
        if name != "node":
            assert field.selection_set is not None
            selections = field.selection_set.selections
    return field


def test_only_selections_of_record_fields_are_kept() -> None:
    schema = build_schema(dev=False)._schema
    pin = schema.get_type("Pin")
    page = node_selection(PAGE)
    assert keepable(page, pin, stable_urls=True)  # type: ignore[arg-type]
    assert not keepable(page, pin, stable_urls=False)  # type: ignore[arg-type]  # presigned
    assert not keepable(node_selection(WITH_COUNT), pin, stable_urls=True)  # type: ignore[arg-type]
    sized = PAGE.replace("($id: ID!)", "($id: ID!, $s: ImageSize)").replace("SMALL", "$s")
    assert not keepable(node_selection(sized), pin, stable_urls=True)  # type: ignore[arg-type]
    skipped = PAGE.replace("title", "title @skip(if: true)")
    assert not keepable(node_selection(skipped), pin, stable_urls=True)  # type: ignore[arg-type]


async def test_a_kept_page_is_the_same_and_viewer_fields_stay_per_viewer(
    repos: Repositories, api: Api
) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, board)
    await repos.pins.save(owner.id, pin.id, secret.id)
    first = await api.data(PAGE, {"id": board.id}, token=api.token(other))
    again = await api.data(PAGE, {"id": board.id}, token=api.token(other))
    assert first == again
    assert first["board"]["pins"]["edges"][0]["node"]["creator"]["handle"] == owner.handle
    counts = [
        (await api.data(WITH_COUNT, {"id": board.id}, token=api.token(who)))["board"]["pins"]
        for who in (owner, other, owner)
    ]
    seen = [c["edges"][0]["node"]["saveCount"] for c in counts]
    assert seen == [2, 1, 2]  # the owner counts their secret board, nobody else does


async def test_a_board_made_secret_meanwhile_is_not_cached_as_public(
    services: Services, repos: Repositories, api: Api
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    await make_pin(repos, owner, board)
    as_read = await repos.boards.get(board.id, None)  # a reader got it while public...
    await api.data(
        "mutation($id: ID!) { updateBoard(id: $id, input: {privacy: SECRET}) { id } }",
        {"id": board.id}, token=api.token(owner),
    )  # fmt: skip
    cache = BoardCache(BoardVersions(services.cache), repos.boards)
    await cache.page(as_read, None)  # ...and builds its page after the write
    assert await cache.public_page(board.id) is None
    assert await services.board_cache.public_page(board.id) is None
    assert (await api.data("query($id: ID!) { board(id: $id) { id } }", {"id": board.id})) == {
        "board": None
    }


async def test_a_version_redis_lost_starts_again_elsewhere(
    services: Services, repos: Repositories
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    before = await services.board_cache.versions.scoped_key(board.id, "pub")
    await services.cache.delete(f"pg:bv:{board.id}", "pg:epoch")  # a restart, an eviction
    after = await services.board_cache.versions.scoped_key(board.id, "pub")
    assert after != before
    assert ":0:" not in after


async def test_a_pin_known_public_is_hidden_as_soon_as_no_public_board_holds_it(
    repos: Repositories, api: Api
) -> None:
    owner, other = await make_user(repos), await make_user(repos)
    board, second = await make_board(repos, owner), await make_board(repos, owner)
    pin = await make_pin(repos, owner, board)
    await repos.pins.save(owner.id, pin.id, second.id)
    query = "query($id: ID!) { pin(id: $id) { id } }"
    token = api.token(other)
    assert (await api.data(query, {"id": pin.id}, token=token))["pin"] == {"id": pin.id}
    await repos.pins.unsave(owner.id, pin.id, second.id)  # still on `board`
    assert (await api.data(query, {"id": pin.id}, token=token))["pin"] == {"id": pin.id}
    await api.data(
        "mutation($id: ID!) { updateBoard(id: $id, input: {privacy: SECRET}) { id } }",
        {"id": board.id}, token=api.token(owner),
    )  # fmt: skip
    assert (await api.data(query, {"id": pin.id}, token=token))["pin"] is None
    assert (await api.data(query, {"id": pin.id}, token=api.token(owner)))["pin"] == {"id": pin.id}
