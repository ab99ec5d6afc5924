"""Automatic persisted queries, Apollo's protocol.

A client sends `extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}` instead
of its document. When the server does not know the hash, the operation answers the error
`PersistedQueryNotFound` and the client sends the same request again with the document,
which the server checks against the hash, keeps and runs. A short GET URL then names a
whole document, so CDNs and browsers can cache anonymous reads.

Documents are kept in Redis, shared by every replica of the server, for a week (a client
whose document expired just sends it again), behind a small in-process LRU so that the hot
path costs no round trip. When Redis is away a hash that is not in the LRU is simply not
found: the client sends the document, and nothing fails.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from graphql import GraphQLError, parse

from cache.errors import REDIS_ERRORS
from domain.errors import BadInput, DomainError
from domain.recent import Recent
from schema.build import MAX_TOKENS

KEY_PREFIX = "pg:apq:"
TTL_S = 7 * 24 * 3600
# Documents longer than this run but are not kept: the store holds documents the schema can
# take (MAX_TOKENS) of a size no real client's document reaches, not whatever fits a body.
MAX_DOCUMENT_CHARS = 64_000
LOCAL_DOCUMENTS = 512
HASH = re.compile(r"[0-9a-f]{64}")
VERSION = 1


class PersistedQueryNotFound(DomainError):
    """The hash names no document this server knows: send the request with its `query`."""

    code = "PERSISTED_QUERY_NOT_FOUND"
    # What Apollo's servers answer and its clients expect: a 4xx makes older clients turn
    # persisted queries off instead of sending the document.
    http_status = 200

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


def requested_hash(extensions: object) -> str | None:
    """The document hash an operation's `extensions` name, or None when they name none.
    BadInput for a `persistedQuery` extension of the wrong shape."""
    if not isinstance(extensions, dict) or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    version = persisted.get("version") if isinstance(persisted, dict) else None
    if version != VERSION or isinstance(version, bool):
        raise BadInput(
            'extensions.persistedQuery must be {"version": 1, "sha256Hash": "<hex>"}; '
            "version 1 is the only one supported"
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not HASH.fullmatch(digest.lower()):
        raise BadInput("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
    return digest.lower()


def names_persisted_query(extensions: object) -> bool:
    return isinstance(extensions, dict) and extensions.get("persistedQuery") is not None


def verify(digest: str, document: str) -> None:
    """BadInput unless `digest` is the SHA-256 of the document's UTF-8 text."""
    try:
        text = document.encode()
    except UnicodeEncodeError:
        raise BadInput("the query is not valid Unicode text (a lone surrogate)") from None
    if hashlib.sha256(text).hexdigest() != digest:
        raise BadInput(
            "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query: hash "
            "the query's UTF-8 text exactly as sent"
        )


def storable(document: str) -> bool:
    """Whether a document is worth keeping: one the schema's parser accepts, of a sane size."""
    if len(document) > MAX_DOCUMENT_CHARS:
        return False
    try:
        parse(document, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False
    return True


class PersistedQueries:
    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        on_event: Callable[[str], None] | None = None,
        local_documents: int = LOCAL_DOCUMENTS,
    ) -> None:
        self.cache = cache
        self.on_event = on_event or (lambda event: None)
        self._local: Recent[str, str] = Recent(local_documents)

    async def resolve(self, operation: dict[str, Any]) -> None:
        """Fill in the `query` of an operation that names its document by hash, or keep the
        document it sends along with the hash. An unknown hash leaves `query` out: the
        operation then answers PersistedQueryNotFound. Operations without the extension are
        left as they are."""
        digest = requested_hash(operation.get("extensions"))
        if digest is None:
            return
        query = operation.get("query")
        if query is None:
            found = await self.lookup(digest)
            if found is not None:
                operation["query"] = found
        elif isinstance(query, str):  # any other type is refused by the view (400)
            verify(digest, query)
            await self.keep(digest, query)

    async def lookup(self, digest: str) -> str | None:
        """The document with this hash, from the LRU or Redis; None when unknown or when
        Redis does not answer."""
        document = self._local.get(digest)
        if document is not None:
            self.on_event("hit")
            return document
        try:
            stored = await self.cache.get(KEY_PREFIX + digest)
        except REDIS_ERRORS:
            self.on_event("error")
            return None
        if stored is None:
            self.on_event("miss")
            return None
        document = stored.decode(errors="replace") if isinstance(stored, bytes) else str(stored)
        self._local.put(digest, document)
        self.on_event("hit")
        return document

    async def keep(self, digest: str, document: str) -> None:
        """Store a verified document for every replica (once per process and document)."""
        if digest in self._local or not storable(document):
            return
        self._local.put(digest, document)
        try:
            await self.cache.set(KEY_PREFIX + digest, document, ex=TTL_S)
        except REDIS_ERRORS:
            self.on_event("error")  # this process still knows it; others ask for it again
            return
        self.on_event("stored")
