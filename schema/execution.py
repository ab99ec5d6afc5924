"""graphql-core's executor with a short path for plain leaf fields.

Most fields of a page are plain attributes of an object already loaded (a pin's `id`,
`title`, an image's `width`): no resolver, no arguments, a scalar or enum value. For each
of them the general path builds two info objects, calls three wrappers and checks for an
awaitable twice; here the value is read and serialised directly, which is what that path
ends up doing. Anything unusual (a null in a non-null field, a value the scalar refuses)
goes the general way, so errors are reported exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    attribute: str
    serialize: Any
    nullable: bool


def plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], PlainLeaf]:
    """(type, field) -> how to read it, for every field that is a plain attribute holding
    a scalar or enum: strawberry resolves those with its default resolver, which is getattr."""
    found: dict[tuple[str, str], PlainLeaf] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            nullable = not isinstance(field.type, GraphQLNonNull)
            leaf = field.type if nullable else field.type.of_type
            if (
                not isinstance(definition, StrawberryField)
                or not definition.is_basic_field
                or field.args
                or not isinstance(leaf, GraphQLScalarType | GraphQLEnumType)
            ):
                continue
            found[type_.name, name] = PlainLeaf(definition.python_name, leaf.serialize, nullable)
    return found


def fast_execution(schema: GraphQLSchema) -> type[FastExecutionContext]:
    """The execution context class for `schema`, its plain leaves found once."""
    return type("PingraphExecution", (FastExecutionContext,), {"leaves": plain_leaves(schema)})


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Set as the schema's `execution_context_class`; `leaves` comes from `plain_leaves`."""

    leaves: ClassVar[dict[tuple[str, str], PlainLeaf]] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        leaf = self.leaves.get((parent_type.name, node.name.value))
        if leaf is not None and not node.arguments:
            value = getattr(source, leaf.attribute, None)
            if value is None and leaf.nullable:
                return None
            if value is not None:
                try:
                    serialized = leaf.serialize(value)
                except Exception:  # the general path reports it
                    serialized = Undefined
                if serialized is not Undefined and serialized is not None:
                    return serialized
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
