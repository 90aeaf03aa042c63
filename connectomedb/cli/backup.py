"""``connectomedb backup`` and ``restore``: the local store through Neo4j's dump and load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectomedb.cli._common import console, exit_on_error, load_settings


def backup(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="the archive to write, or a directory to write it into"),
    ],
) -> None:
    """Back up the local store (data and system databases) into one archive, written under
    a temporary name and renamed when complete. A running server that `connectomedb neo4j
    start` started is stopped for the dump and started again."""
    from connectomedb.store.backup import backup as run_backup
    from connectomedb.store.backup import read_manifest

    s = load_settings()
    with exit_on_error():
        path = run_backup(s, out, console=console)
        store = read_manifest(path).get("store")
    size = path.stat().st_size
    console.print(f"wrote {path} ({size / 2**20:.1f} MiB)", highlight=False)
    if store:
        console.print(
            f"{store['nodes']:,} nodes, {store['relationships']:,} relationships, "
            f"{len(store['datasets'])} datasets",
            highlight=False,
        )


def restore(
    source: Annotated[Path, typer.Argument(help="a backup archive of `connectomedb backup`")],
    force: Annotated[bool, typer.Option(help="replace a store that holds data")] = False,
    system: Annotated[
        bool,
        typer.Option(
            help="also restore Neo4j's system database (its neo4j user and password as they "
            "were at the backup); users and API tokens of connectomedb are in the data "
            "database and always restored"
        ),
    ] = False,
) -> None:
    """Restore the local store from a backup (Neo4j's load, with the server stopped; a
    running server that `connectomedb neo4j start` started is started again)."""
    from connectomedb.store.backup import restore as run_restore
    from connectomedb.store.backup import store_counts

    s = load_settings()
    with exit_on_error():
        res = run_restore(s, source, force=force, system=system, console=console)
        console.print(
            f"restored {', '.join(res.databases)} from {source} "
            f"(backed up {res.manifest['created']})",
            highlight=False,
        )
        if res.restarted:
            now = store_counts(s)
            console.print(
                f"{now['nodes']:,} nodes, {now['relationships']:,} relationships, "
                f"{len(now['datasets'])} datasets",
                highlight=False,
            )
        else:
            console.print("start it with `connectomedb neo4j start`")
