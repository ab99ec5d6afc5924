"""The schema is a contract: its printed SDL is committed, and every part is described."""

from enum import Enum
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    Undefined,
    build_ast_schema,
    parse,
    value_from_ast_untyped,
)

from schema.build import SDL_PATH, build_schema, printed_sdl

DESIGN = Path(__file__).with_name("design_contract.graphql")


def test_committed_sdl_matches_the_schema() -> None:
    assert SDL_PATH.read_text() == printed_sdl(), (
        "the schema changed: review it, then run "
        "`.venv/bin/python -c 'from schema.build import *; SDL_PATH.write_text(printed_sdl())'`"
    )


def test_schema_honours_the_design_contract() -> None:
    """Every type, field, argument (with its default) and enum value of the design contract
    (design_contract.graphql) is there, with the same type; the schema may add more."""
    ours = build_schema(dev=True)._schema
    design = build_ast_schema(parse(DESIGN.read_text()))
    for name, wanted in design.type_map.items():
        if name.startswith("__"):
            continue
        have = ours.type_map.get(name)
        assert isinstance(have, type(wanted)), name
        if isinstance(wanted, GraphQLEnumType):
            assert isinstance(have, GraphQLEnumType)
            assert set(wanted.values) <= set(have.values), name
        if not isinstance(wanted, GraphQLObjectType | GraphQLInputObjectType):
            continue
        assert isinstance(have, GraphQLObjectType | GraphQLInputObjectType)
        for field_name, field in wanted.fields.items():
            mine = have.fields.get(field_name)
            assert mine is not None, f"{name}.{field_name} is missing"
            assert str(mine.type) == str(field.type), f"{name}.{field_name}"
            for arg_name, arg in getattr(field, "args", {}).items():
                got = mine.args.get(arg_name)  # type: ignore[union-attr]
                where = f"{name}.{field_name}({arg_name})"
                assert got is not None, where
                assert str(got.type) == str(arg.type), where
                assert _default(got) == _default(arg), where
        if isinstance(wanted, GraphQLInputObjectType):
            for field_name, field in wanted.fields.items():
                assert _default(have.fields[field_name]) == _default(field), field_name


def _default(arg: Any) -> Any:
    """The default as Python data, whether it came from SDL (an AST node) or from code."""
    value = arg.default_value
    if value is Undefined and arg.ast_node is not None and arg.ast_node.default_value:
        value = value_from_ast_untyped(arg.ast_node.default_value)
    if value is Undefined:
        return None
    return value.name if isinstance(value, Enum) else value


def test_every_type_field_and_argument_is_described() -> None:
    schema = build_schema(dev=True)._schema
    missing = []
    for name, kind in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in kind.values.items() if not value.description]
    assert missing == []
