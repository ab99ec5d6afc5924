"""All repositories over one backend, as handed to resolvers and the CLI.

Every write a repository commits is published to `events` as one domain event: caches, the
walk graph and feeds follow from there, whichever door (GraphQL, REST, CLI) the write came in.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.bus import EventSink
from graph.backends.base import GraphBackend
from graph.repos.boards import BoardRepo
from graph.repos.collaborators import CollaboratorRepo
from graph.repos.comments import CommentRepo
from graph.repos.credentials import CredentialRepo
from graph.repos.feed import FeedRepo
from graph.repos.notifications import NotificationRepo
from graph.repos.pins import PinRepo
from graph.repos.sections import SectionRepo
from graph.repos.topics import TopicRepo
from graph.repos.trending import TrendingRepo
from graph.repos.users import UserRepo
from graph.repos.visual import VisualRepo


@dataclass(frozen=True)
class Repositories:
    backend: GraphBackend
    users: UserRepo
    boards: BoardRepo
    pins: PinRepo
    topics: TopicRepo
    feed: FeedRepo
    notifications: NotificationRepo
    visual: VisualRepo
    trending: TrendingRepo
    credentials: CredentialRepo
    comments: CommentRepo
    collaborators: CollaboratorRepo
    sections: SectionRepo

    @classmethod
    def over(cls, backend: GraphBackend, events: EventSink) -> Repositories:
        return cls(
            backend,
            UserRepo(backend, events),
            BoardRepo(backend, events),
            PinRepo(backend, events),
            TopicRepo(backend, events),
            FeedRepo(backend),
            NotificationRepo(backend),
            VisualRepo(backend),
            TrendingRepo(backend),
            CredentialRepo(backend),
            CommentRepo(backend, events),
            CollaboratorRepo(backend, events),
            SectionRepo(backend, events),
        )
