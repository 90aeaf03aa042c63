"""``connectomedb neo4j``: the local Neo4j server."""

from __future__ import annotations

from typing import Any

import typer

from connectomedb.cli._common import console, err, exit_on_error, load_settings

neo4j_app = typer.Typer(help="Manage the local Neo4j server.", no_args_is_help=True)


@neo4j_app.command("start")
def neo4j_start() -> None:
    """Build (first time) and start the local Neo4j; waits until Bolt answers."""
    from connectomedb import localneo4j

    s = load_settings()
    if not s.local:
        err.print(f"CONNECTOMEDB_NEO4J_URI is set ({s.uri}); nothing to start")
        return
    with exit_on_error():
        localneo4j.start(s, console=console)


@neo4j_app.command("stop")
def neo4j_stop() -> None:
    """Stop the local Neo4j cleanly."""
    from connectomedb import localneo4j

    s = load_settings()
    with exit_on_error():
        localneo4j.stop(s)


@neo4j_app.command("status")
def neo4j_status() -> None:
    """Is the local Neo4j running and answering?"""
    from connectomedb import localneo4j

    s = load_settings()
    if not s.local:
        from connectomedb.store.driver import make_driver

        d = make_driver(s)
        try:
            d.verify_connectivity()
            st: dict[str, Any] = {"uri": s.uri, "external": True, "answering": True}
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            st = {"uri": s.uri, "external": True, "answering": False}
        finally:
            d.close()
    else:
        with exit_on_error():
            st = localneo4j.status(s)
    for k, v in st.items():
        console.print(f"{k}: {v}")
    if not st.get("answering"):
        raise typer.Exit(3)
