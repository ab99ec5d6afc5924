"""All repositories over one backend, as handed to resolvers and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from graph.backend import GraphBackend
from graph.boards import BoardRepo
from graph.feed import FeedRepo
from graph.pins import PinRepo
from graph.topics import TopicRepo
from graph.users import UserRepo


@dataclass(frozen=True)
class Repositories:
    backend: GraphBackend
    users: UserRepo
    boards: BoardRepo
    pins: PinRepo
    topics: TopicRepo
    feed: FeedRepo

    @classmethod
    def over(cls, backend: GraphBackend) -> Repositories:
        return cls(
            backend,
            UserRepo(backend),
            BoardRepo(backend),
            PinRepo(backend),
            TopicRepo(backend),
            FeedRepo(backend),
        )
