"""`pingraph push`: the server's VAPID key, and the Web Push deliveries that never got through."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer

from notifications.push_queue import PushQueue
from notifications.vapid import application_server_key, generate_raw_key
from server.cli.common import err, run, settings_or_exit
from server.services import open_stores

push_cli = typer.Typer(no_args_is_help=True, help="Web Push: VAPID keys and dead letters.")


@push_cli.command("keygen")
def keygen() -> None:
    """Print a new VAPID private key for PINGRAPH_VAPID_PRIVATE_KEY (base64url of the raw
    P-256 key) and the public applicationServerKey browsers subscribe with. Touches no
    store. Keep the private key secret, and keep it: subscriptions are bound to its public
    key and stop working when it changes."""
    vapid, raw = generate_raw_key()
    typer.echo(f"PINGRAPH_VAPID_PRIVATE_KEY={raw}")
    typer.echo(f"# applicationServerKey={application_server_key(vapid)}")


@push_cli.command("dead-letters")
def dead_letters(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many letters, listed or requeued.")
    ] = 100,
    requeue: Annotated[
        bool, typer.Option("--requeue", help="Queue the oldest letters again, attempts reset.")
    ] = False,
) -> None:
    """List push deliveries that failed for good, newest first, one JSON object a line. An
    endpoint shows as its host and a short hash only: the URL itself lets anyone push."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            queue = PushQueue(
                stores.cache, tries=settings.push_tries, backoff_s=settings.push_backoff_s
            )
            if requeue:
                count = await queue.requeue_dead(limit)
                left = await queue.dead_count()
                err.print(f"requeued {count} dead letters; {left} left", highlight=False)
                return
            letters = await queue.dead_letters(limit)
            for letter in letters:
                typer.echo(orjson.dumps(shown(letter)).decode())
            total = await queue.dead_count()
            err.print(f"{len(letters)} of {total} dead letters", highlight=False)

    run(ctx, go())


def shown(letter: dict[str, Any]) -> dict[str, Any]:
    """A dead letter as an operator may see it: everything but the endpoint URL."""
    return {
        "at": _iso(letter.get("at")),
        "attempts": letter.get("attempt"),
        "error": letter.get("error"),
        "host": letter.get("host"),
        "subscription": str(letter.get("subscription", ""))[:12],
        "recipient": letter.get("recipient"),
        "notification_id": letter.get("notification_id"),
        "queued_at": _iso(letter.get("created_at")),
    }


def _iso(ms: object) -> str | None:
    if not isinstance(ms, int) or ms <= 0:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
