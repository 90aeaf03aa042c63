"""``connectomedb db``: constraints and indexes."""

from __future__ import annotations

import typer

from connectomedb.cli._common import connect, console, exit_on_error

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("init")
def db_init() -> None:
    """Create every constraint and index (idempotent)."""
    from connectomedb.store.driver import init_schema

    with connect() as (s, d), exit_on_error():
        res = init_schema(d, s.neo4j_database)
    console.print(
        f"schema ready: {len(res['present'])} constraints and indexes, "
        f"{len(res['created'])} created now"
    )
