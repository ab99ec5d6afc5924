"""What GraphQL resolvers use of notifications: the inbox, live delivery and push set-up."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.inbox import Inbox
from notifications.live import LiveHub
from notifications.subscriptions import PushSubscriptions


@dataclass(frozen=True)
class NotificationService:
    inbox: Inbox
    live: LiveHub
    subscriptions: PushSubscriptions
    push_key: str  # the VAPID public key, what browsers pass as `applicationServerKey`
    push_hosts: tuple[str, ...]  # push services a subscription's endpoint may name
