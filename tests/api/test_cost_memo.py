"""The remembered cost of an operation follows the variables that decide it."""

from __future__ import annotations

from graphql import parse

from schema.build import build_schema
from schema.cost import known_cost

QUERY = """query($a: Int = 100, $b: Int = 100) {
  board(id: "x") {
    pins(first: $a) { edges { node { boards(first: $b) { edges { node { id } } } } } }
  }
}"""


def test_a_cost_counted_with_other_variables_is_not_reused() -> None:
    schema = build_schema(dev=False)._schema
    document = parse(QUERY)
    with_strings = known_cost(schema, QUERY, document, None, {"a": "x", "b": "x"})
    with_defaults = known_cost(schema, QUERY, document, None, {})
    with_nulls = known_cost(schema, QUERY, document, None, {"a": None, "b": None})
    assert with_defaults == 100 + 100 * 100
    assert with_strings < with_defaults
    assert with_nulls < with_defaults
