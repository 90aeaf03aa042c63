"""``connectomedb user``, ``token`` and ``lab``: who may use the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from connectomedb.cli._common import check_reachable, console, err, exit_on_error, load_settings
from connectomedb.errors import BadInput

if TYPE_CHECKING:
    from connectomedb.store.access import AccessRepository

T = TypeVar("T")

user_app = typer.Typer(help="Users of the API.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
lab_app = typer.Typer(help="Labs and their members.", no_args_is_help=True)


def _as_operator(
    fn: Callable[[AccessRepository], Awaitable[T]],
    action: str,
    arguments: dict[str, Any],
    labs: tuple[str, ...] = (),
) -> T:
    """Run ``fn(AccessRepository)`` as the local operator, on an async driver, and write
    the change to the audit log as ``action``."""
    import asyncio

    from connectomedb.store.access import AccessRepository
    from connectomedb.store.audit import AuditRepository
    from connectomedb.store.graphdb import Store, make_async_driver

    s = load_settings()
    check_reachable(s)

    async def run() -> T:
        driver = make_async_driver(s)
        try:
            store = Store(driver, s.neo4j_database, s.query_timeout_s)
            out = await fn(AccessRepository(store))
            try:
                await AuditRepository(store).record(
                    user=None, token=None, action=action, arguments=arguments, outcome="OK",
                    labs=labs,
                )  # fmt: skip
            except Exception as e:  # the change stands: say so, and go on
                err.print(f"warning: the audit event of {action!r} was not written: {e}")
            return out
        finally:
            await driver.close()

    with exit_on_error():
        return asyncio.run(run())


@user_app.command("create")
def user_create(
    user_id: str,
    name: Annotated[str, typer.Option(help="display name")] = "",
    admin: Annotated[bool, typer.Option(help="site admin (may create labs and users)")] = False,
    lab: Annotated[
        str | None, typer.Option(help="also add to this lab (created if missing)")
    ] = None,
    role: Annotated[str, typer.Option(help="role in --lab: viewer, editor, admin")] = "admin",
) -> None:
    """Create a user and print their first API token (shown once)."""
    from connectomedb.store.access import ROLES, check_id

    with exit_on_error():
        check_id("user", user_id)
        if lab is not None:
            check_id("lab", lab)
        if role not in ROLES:
            raise BadInput(f"--role must be one of {', '.join(ROLES)}")

    async def fn(repo: AccessRepository) -> dict[str, Any]:
        await repo.create_user(None, user_id, name, admin)
        if lab is not None:
            await repo.ensure_lab(lab)
            await repo.add_member(None, lab, user_id, role)
        return await repo.create_token(None, "cli", user_id)

    t = _as_operator(
        fn,
        "user create",
        {"user": user_id, "admin": admin, "lab": lab, "role": role},
        (lab,) if lab else (),
    )
    console.print(f"created user [bold]{user_id}[/bold]" + (" (site admin)" if admin else ""))
    console.print(f"API token (shown once, keep it secret): [bold]{t['token']}[/bold]")


@token_app.command("create")
def token_create(
    user_id: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "",
    expires_in_days: Annotated[
        float | None,
        typer.Option("--expires-in-days", help="it stops working after this many days"),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="it may read, never change anything")
    ] = False,
) -> None:
    """Create an API token for a user (shown once)."""
    t = _as_operator(
        lambda repo: repo.create_token(
            None, name, user_id, expires_in_days=expires_in_days, read_only=read_only
        ),
        "token create",
        {"user": user_id, "name": name, "expires_in_days": expires_in_days, "read_only": read_only},
    )
    console.print(f"token id {t['id']}")
    if t.get("expires_at") is not None:
        console.print(f"expires at {t['expires_at']}")
    if read_only:
        console.print("read-only")
    console.print(f"API token (shown once, keep it secret): [bold]{t['token']}[/bold]")


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke an API token by its id (the 16 hex digits after cdb_)."""
    _as_operator(lambda repo: repo.revoke_token(None, token_id), "token revoke", {"id": token_id})
    console.print(f"revoked {token_id}")


@lab_app.command("create")
def lab_create(lab_id: str, name: Annotated[str, typer.Option()] = "") -> None:
    """Create a lab."""
    _as_operator(
        lambda repo: repo.create_lab(None, lab_id, name),
        "lab create",
        {"lab": lab_id, "name": name},
        (lab_id,),
    )
    console.print(f"created lab {lab_id}")


@lab_app.command("add-member")
def lab_add_member(
    lab_id: str,
    user_id: str,
    role: Annotated[str, typer.Option(help="viewer, editor, admin")] = "viewer",
) -> None:
    """Add a user to a lab (or change their role)."""
    _as_operator(
        lambda repo: repo.add_member(None, lab_id, user_id, role),
        "lab add-member",
        {"lab": lab_id, "user": user_id, "role": role},
        (lab_id,),
    )
    console.print(f"{user_id} is {role} of {lab_id}")
