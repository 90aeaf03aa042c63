"""``connectomedb export``: a dataset, or the subgraph of selected cells, into one file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from connectomedb.cli._common import RichProgress, console, exit_on_error, load_settings


def export(
    dataset: Annotated[str, typer.Argument(help="dataset id")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the file to write")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="arrow, neuprint, codex or graphml")
    ] = "arrow",
    synapses: Annotated[bool, typer.Option(help="include synapses (arrow, neuprint)")] = False,
    table: Annotated[
        str | None,
        typer.Option(
            help="arrow: one table alone (neurons, connections, synapses) as an IPC stream"
        ),
    ] = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="select this cell (repeatable)")
    ] = None,
    types: Annotated[
        list[str] | None,
        typer.Option("--types", help="select cells whose --level property is one of these"),
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="type, class, superclass, neurotransmitter, side, region")
    ] = None,
    min_weight: Annotated[
        int, typer.Option(min=1, help="connections with at least this many synapses")
    ] = 1,
    page_size: Annotated[int, typer.Option(min=1, help="cells per query")] = 5_000,
) -> None:
    """Export DATASET to --out (written to a temporary file, renamed when complete).

    The subgraph of a selection is its cells and the connections among them."""
    from connectomedb.export.stream import export_to_file
    from connectomedb.store.export import ExportRepository, Selection
    from connectomedb.store.graphdb import Store, make_async_driver

    settings = load_settings()
    with exit_on_error():
        level = level if level is not None or not types else "type"
        sel = Selection(
            ids=tuple(ids) if ids else None,
            level=level,
            values=tuple(types) if types else None,
            min_weight=min_weight,
        )

        async def run(progress: RichProgress) -> dict[str, int]:
            driver = make_async_driver(settings)
            try:
                store = Store(driver, settings.neo4j_database, settings.query_timeout_s)
                repo = ExportRepository(store, dataset, sel, page_size)
                return await export_to_file(
                    repo, fmt, out, synapses=synapses, table=table, progress=progress
                )
            finally:
                await driver.close()

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            rows = asyncio.run(run(RichProgress(bar)))
    parts = ", ".join(f"{n} {part}" for part, n in rows.items())
    console.print(f"wrote {out} ({fmt}): {parts}")
