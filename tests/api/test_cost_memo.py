"""The remembered cost of an operation follows the variables that decide it; lists without
`first` count as their maximum."""

from __future__ import annotations

from graphql import parse

from graph.repos.collaborators import MAX_INVITES_LISTED
from graph.repos.sections import MAX_SECTIONS
from schema.build import build_schema
from schema.cost import known_cost, operation_cost

QUERY = """query($a: Int = 100, $b: Int = 100) {
  board(id: "x") {
    pins(first: $a) { edges { node { boards(first: $b) { edges { node { id } } } } } }
  }
}"""


def test_a_cost_counted_with_other_variables_is_not_reused() -> None:
    schema = build_schema(dev=False)._schema
    document = parse(QUERY)
    with_strings = known_cost(schema, QUERY, document, None, {"a": "x", "b": "x"})[0]
    with_defaults = known_cost(schema, QUERY, document, None, {})[0]
    with_nulls = known_cost(schema, QUERY, document, None, {"a": None, "b": None})[0]
    assert with_defaults == 100 + 100 * 100
    assert with_strings < with_defaults
    assert with_nulls < with_defaults


def test_lists_without_first_count_as_their_maximum() -> None:
    schema = build_schema(dev=False)._schema

    def cost(query: str) -> int:
        return operation_cost(schema, parse(query).definitions, None, {})

    # `me` is one object; its invites up to MAX_INVITES_LISTED, each with one board.
    invites = "{ me { boardInvites { id board { id } } } }"
    assert cost(invites) == MAX_INVITES_LISTED
    nested = "{ me { boardInvites { board { sections { id } topics { name } } } } }"
    assert cost(nested) == MAX_INVITES_LISTED * (1 + MAX_SECTIONS + 10)
    assert cost('{ board(id: "x") { sections { pins(first: 10) { totalCount } } } }') == (
        MAX_SECTIONS + MAX_SECTIONS * 10
    )
