"""Password accounts: signing up and in, refreshing a session, changing a password. Only
`change_password` needs a signed-in user; the others are how one gets signed in."""

from __future__ import annotations

from accounts.sessions import Session
from resolvers.context import Context


async def sign_up(
    ctx: Context, handle: str, password: str, display_name: str | None, lang: str | None
) -> Session:
    return await ctx.accounts.sign_up(
        handle, password, display_name, lang, address=ctx.client_address
    )


async def sign_in(ctx: Context, handle: str, password: str) -> Session:
    return await ctx.accounts.sign_in(handle, password, address=ctx.client_address)


async def refresh_session(ctx: Context, refresh_token: str) -> Session:
    return await ctx.accounts.refresh(refresh_token)


async def change_password(ctx: Context, current_password: str, new_password: str) -> Session:
    viewer = ctx.require_user()
    return await ctx.accounts.change_password(
        viewer, current_password, new_password, address=ctx.client_address
    )


async def sign_in_as_demo(ctx: Context) -> Session:
    return await ctx.accounts.sign_in_as_demo()
