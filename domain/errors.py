"""Typed domain errors, mapped once to GraphQL codes and HTTP statuses by the server."""


class DomainError(Exception):
    """Base of errors a caller can act on. `code` is the GraphQL `extensions.code`."""

    code = "INTERNAL"
    http_status = 500


class BadInput(DomainError):
    code = "BAD_USER_INPUT"
    http_status = 400


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(DomainError):
    code = "FORBIDDEN"
    http_status = 403


class WriteRefused(Forbidden):
    """An analyst query would write or escape the read-only sandbox."""


class NotFound(DomainError):
    code = "NOT_FOUND"
    http_status = 404


class Conflict(DomainError):
    code = "CONFLICT"
    http_status = 409


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A backing store (graph, cache, media) does not answer."""

    code = "UNAVAILABLE"
    http_status = 503
