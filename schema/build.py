"""The Schema object with the OWASP GraphQL protections, and its printed SDL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import strawberry
import structlog
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext

from domain.errors import DomainError
from schema.cost import CostLimiter
from schema.errors import list_enum_values, stamp
from schema.execution import fast_execution
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription

SDL_PATH = Path(__file__).with_name("schema.graphql")
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000
MAX_BATCH = 10
CACHED_DOCUMENTS = 512

log = structlog.get_logger("pingraph.graphql")


class RememberingNameConverter(NameConverter):
    """Strawberry converts every argument's Python name to camelCase on every call of a
    field; over a page that was a tenth of the server's time. The names are few and fixed."""

    def __init__(self) -> None:
        super().__init__()
        self._converted: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._converted.get(name)
        if converted is None:
            converted = self._converted[name] = super().apply_naming_config(name)
        return converted


class PingraphSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log what is our fault with its traceback; client mistakes are answered, not logged.
        Each error gets its client-facing message and `extensions.code` here, so that
        answers over WebSocket carry them as HTTP answers do."""
        for error in errors:
            list_enum_values(error, self._schema)
            stamp(error)
            original = error.original_error
            if original is None or isinstance(original, DomainError | GraphQLError):
                continue  # a client's mistake (a variable's value, for one), answered
            log.error(
                "graphql resolver failed",
                path=error.path,
                operation=execution_context.operation_name if execution_context else None,
                exc_info=original,
            )


def build_schema(*, dev: bool) -> strawberry.Schema:
    """Development keeps introspection and "did you mean" hints; production drops both.

    The limit rules are built once, not per request: the validation cache is keyed by the
    rule classes, and strawberry's limiter extensions would make new classes every time.
    """
    rules: list[type[ASTValidationRule]] = [
        query_depth_limiter.create_validator(MAX_DEPTH, should_ignore=None),
        max_aliases.create_validator(MAX_ALIASES),
    ]
    if not dev:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        CostLimiter,
    ]
    config = StrawberryConfig(
        disable_field_suggestions=not dev,
        batching_config={"max_operations": MAX_BATCH},
        name_converter=RememberingNameConverter(),
    )
    schema = PingraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=config,
    )
    schema.execution_context_class = fast_execution(schema._schema)
    return schema


def printed_sdl() -> str:
    return build_schema(dev=True).as_str() + "\n"
