"""``connectomedb datasets`` and ``connectomedb dataset``: list, show, delete, publish."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from connectomedb.cli._common import connect, console, exit_on_error
from connectomedb.settings import Settings

dataset_app = typer.Typer(help="Inspect, share or remove one dataset.", no_args_is_help=True)


def list_datasets() -> None:
    """List datasets."""
    from connectomedb.store.datasets import DatasetRepository

    with connect() as (s, d), exit_on_error():
        rows = DatasetRepository(d, s.neo4j_database).list()
    cells = [
        (
            ds.id,
            ds.status,
            f"{ds.neuron_count:,}",
            f"{ds.connection_count:,}",
            f"{ds.chemical_synapse_total:,}",
            ds.name,
        )
        for ds in rows
    ]
    heads = ("id", "status", "neurons", "connections", "synapses", "name")
    t = Table(box=None, padding=(0, 2, 0, 0))
    for i, head in enumerate(heads):
        width = max([len(head), *(len(c[i]) for c in cells)])
        if head == "name":  # the only column that gives way on a narrow terminal
            t.add_column(head, overflow="ellipsis", no_wrap=True)
        else:
            t.add_column(head, no_wrap=True, min_width=width, justify="left" if i < 2 else "right")
    for c in cells:
        t.add_row(*c)
    console.print(t)


@dataset_app.command("show")
def dataset_show(dataset_id: str) -> None:
    """Show a dataset's provenance, status and counts."""
    from connectomedb.store.datasets import DatasetRepository

    with connect() as (s, d), exit_on_error():
        ds = DatasetRepository(d, s.neo4j_database).get(dataset_id)
    t = Table(show_header=False, box=None)
    for k, v in ds.model_dump().items():
        if v not in (None, "", ()):
            t.add_row(k, str(v))
    console.print(t)


@dataset_app.command("delete")
def dataset_delete(dataset_id: str) -> None:
    """Remove a dataset and everything in it."""
    from connectomedb.store.datasets import DatasetRepository

    with connect() as (s, d), exit_on_error():
        DatasetRepository(d, s.neo4j_database).delete(dataset_id)
    console.print(f"deleted {dataset_id}")


@dataset_app.command("visibility")
def dataset_visibility(
    dataset_id: str, visibility: Annotated[str, typer.Argument(help="private or public")]
) -> None:
    """Make a dataset public (anyone, anonymous included) or private (its labs only)."""
    from connectomedb.store.datasets import DatasetRepository

    with connect() as (s, d), exit_on_error():
        DatasetRepository(d, s.neo4j_database).set_visibility(dataset_id, visibility)
    console.print(f"{dataset_id} is {visibility}")


@dataset_app.command("warm")
def dataset_warm(dataset_id: str) -> None:
    """Compute and store a dataset's whole-dataset statistics ahead of its users (network
    statistics, also with reciprocity by class; cell-type connectivity by class and type;
    the triad census; the dashboard's hubs); `load` does it after each load. Answers
    already stored for the dataset's version are kept."""
    with connect() as (s, _), exit_on_error():
        warm_dataset(s, dataset_id)


def warm_dataset(s: Settings, dataset_id: str) -> None:
    """:func:`connectomedb.service.aggregates.warm` with a status line per answer; each
    query may run ten times the API's time limit."""
    import asyncio

    from connectomedb.service.aggregates import warm
    from connectomedb.store.datasets import DatasetRepository
    from connectomedb.store.driver import make_driver
    from connectomedb.store.graphdb import Store, make_async_driver

    sync = make_driver(s)
    try:
        DatasetRepository(sync, s.neo4j_database).get(dataset_id)  # NOT_FOUND before work
    finally:
        sync.close()

    async def run() -> dict[str, float]:
        driver = make_async_driver(s)
        try:
            store = Store(driver, s.neo4j_database, timeout_s=10 * s.query_timeout_s)
            return await warm(store, s, dataset_id)
        finally:
            await driver.close()

    with console.status(f"computing the statistics of {dataset_id}"):
        seconds = asyncio.run(run())
    for name, t in seconds.items():
        console.print(f"  {name}: {t:.1f} s")
