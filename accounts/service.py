"""Password accounts: sign up, sign in, refresh a session, change a password, and the
development's quick sign-in as the demo user. Every success answers a new `Session`.

A wrong password, an unknown handle and an account without a password (made by `pingraph
user create`) are one failure to the caller: the same message, and the same argon2 work,
so that neither the answer nor its timing tells which handles exist.
"""

from __future__ import annotations

import contextlib

import structlog

from accounts.passwords import (
    check_password,
    hash_password,
    needs_rehash,
    verify_nothing,
    verify_password,
)
from accounts.seal import PasswordSeal
from accounts.sessions import Session, Sessions
from accounts.throttle import SignInThrottle
from domain.errors import BadInput, Conflict, Forbidden, NotFound, Unauthenticated
from graph.model import User, handle
from graph.repos import Repositories
from graph.repos.credentials import StoredCredential

log = structlog.get_logger(__name__)

WRONG_CREDENTIALS = "wrong handle or password"
ENDED = (
    "this session has ended (the password was changed, or a refresh token was used twice, "
    "since it began); sign in again"
)
REUSED = (
    "the session was ended because its refresh token was used twice (each works once), and "
    "so was every other session of this account; sign in again"
)
DEMO_HANDLE = "demo"


class Accounts:
    def __init__(
        self,
        repos: Repositories,
        seal: PasswordSeal,
        sessions: Sessions,
        throttle: SignInThrottle,
        *,
        demo_sign_in: bool,
    ) -> None:
        self.repos = repos
        self.seal = seal
        self.sessions = sessions
        self.throttle = throttle
        self.demo_sign_in = demo_sign_in

    async def sign_up(
        self,
        handle_: str,
        password: str,
        display_name: str | None,
        lang: str | None,
        *,
        address: str,
    ) -> Session:
        """A new user with a password, signed in. Bad input writes nothing."""
        await self.throttle.count_sign_up(address)
        handle(handle_)  # before the hashing: a bad handle costs no CPU
        check_password(password)
        hashed = await hash_password(password)

        def sealed(user_id: str) -> str:
            return self.seal.seal(user_id, hashed)

        user = await self.repos.users.create(handle_, display_name, lang, sealed_password=sealed)
        return self.sessions.start(user, generation=0)

    async def sign_in(self, handle_: str, password: str, *, address: str) -> Session:
        # The attempt is counted before the password is looked at (so that concurrent
        # attempts are counted too), and given back when it succeeds.
        reservation = await self.throttle.reserve_sign_in(handle_, address)
        user, stored = await self._credential_by_handle(handle_)
        password_hash = self._open(stored)
        if user is None or stored is None or password_hash is None:
            await verify_nothing(password)
        elif await verify_password(password_hash, password):
            await reservation.release()
            await self._rehash_if_old(stored, password_hash, password)
            return self.sessions.start(user, stored.generation)
        raise Unauthenticated(WRONG_CREDENTIALS)

    async def refresh(self, refresh_token: str) -> Session:
        """The next session; the refresh token given is spent. A token presented a second
        time ends every session of its user: one of the two holders is not the user."""
        claims = self.sessions.read_refresh(refresh_token)
        stored = await self.repos.credentials.get(claims.user_id)
        generation = stored.generation if stored else 0
        if claims.generation != generation:
            raise Unauthenticated(ENDED)
        if not await self.sessions.spend(claims):
            await self._end_sessions(claims.user_id, stored)
            raise Unauthenticated(REUSED)
        try:
            user = await self.repos.users.get(claims.user_id)
        except NotFound:
            raise Unauthenticated("the account no longer exists") from None
        return self.sessions.start(user, generation)

    async def change_password(
        self, user_id: str, current_password: str, new_password: str, *, address: str
    ) -> Session:
        """A new password for a signed-in user; every earlier session's refresh token stops
        working. The current password is throttled as a sign-in is."""
        check_password(new_password, "newPassword")
        user = await self.repos.users.get(user_id)
        stored = await self.repos.credentials.get(user_id)
        password_hash = self._open(stored)
        if stored is None or password_hash is None:
            raise Forbidden(
                "this account has no password; an operator sets one with "
                "`pingraph user set-password`"
            )
        reservation = await self.throttle.reserve_sign_in(user.handle, address)
        if not await verify_password(password_hash, current_password):
            raise BadInput("currentPassword is wrong")
        await reservation.release()
        if new_password == current_password:
            raise BadInput("newPassword must differ from the current one")
        sealed = self.seal.seal(user_id, await hash_password(new_password))
        generation = await self.repos.credentials.replace(stored, sealed, new_generation=True)
        return self.sessions.start(user, generation)

    async def sign_in_as_demo(self) -> Session:
        """Development only: a session for the demo data's user, without a password."""
        if not self.demo_sign_in:
            raise Forbidden("quick sign-in is for development only")
        try:
            user = await self.repos.users.by_handle(DEMO_HANDLE)
        except NotFound:
            raise NotFound(
                f"there is no user {DEMO_HANDLE!r}: load the demo data into an empty graph "
                "with `pingraph seed --small` (or start with `pingraph serve --demo`)"
            ) from None
        return self.sessions.start(user, await self.repos.credentials.generation(user.id))

    async def set_password(self, user: User, password: str) -> int:
        """An operator's reset: the user's new password, whatever the old one was (or
        none). Ends every earlier session's refresh; returns the new generation."""
        check_password(password)
        sealed = self.seal.seal(user.id, await hash_password(password))
        return await self.repos.credentials.set(user.id, sealed)

    async def _end_sessions(self, user_id: str, stored: StoredCredential | None) -> None:
        """Move the user's generation on, which ends the refresh of every session (access
        tokens run until they expire). The password stays as it is."""
        if stored is None:
            # No credential (the demo user, signed in by `signInAsDemo` without a password):
            # there is no generation to move on, so only the reused token is refused.
            log.warning("a refresh token was used twice by a user without a password",
                        user=user_id)  # fmt: skip
            return
        for _ in range(3):
            try:
                await self.repos.credentials.replace(stored, stored.sealed, new_generation=True)
                break
            except Conflict:  # changed meanwhile (a password change, or a rehash): again
                again = await self.repos.credentials.get(user_id)
                if again is None:
                    return
                stored = again
        log.warning("a refresh token was used twice: every session of its user was ended",
                    user=user_id)  # fmt: skip

    async def _credential_by_handle(
        self, handle_: str
    ) -> tuple[User | None, StoredCredential | None]:
        try:
            user = await self.repos.users.by_handle(handle_)
        except NotFound:
            return None, None
        return user, await self.repos.credentials.get(user.id)

    def _open(self, stored: StoredCredential | None) -> str | None:
        if stored is None:
            return None
        opened = self.seal.open(stored.user_id, stored.sealed)
        if opened is None:
            log.warning("a stored password does not open: was PINGRAPH_PASSWORD_KEY changed?",
                        user=stored.user_id)  # fmt: skip
        return opened

    async def _rehash_if_old(
        self, stored: StoredCredential, password_hash: str, password: str
    ) -> None:
        """Hashes made with older parameters are replaced at sign-in, the one time the
        password is at hand."""
        if not needs_rehash(password_hash):
            return
        sealed = self.seal.seal(stored.user_id, await hash_password(password))
        # A Conflict: the password changed meanwhile, and the new one's hash is current.
        with contextlib.suppress(Conflict):
            await self.repos.credentials.replace(stored, sealed, new_generation=False)
