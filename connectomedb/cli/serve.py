"""``connectomedb serve`` and ``connectomedb schema``: the GraphQL API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectomedb.cli._common import check_reachable, console, load_settings

schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)

#: What each worker process imports and calls to build its app (``--workers`` above 1).
APP_FACTORY = "connectomedb.service.app:create_app"
#: Seconds a worker may go without answering its supervisor's ping before it is replaced.
#: uvicorn's default (5 s) is shorter than one long C call that holds the GIL (a motif
#: census in igraph) on a busy machine, and the worker killed for it drops every request
#: it was serving.
WORKER_HEALTHCHECK_S = 60


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: settings)")] = None,
    example: Annotated[
        str | None, typer.Option(help="print an example query against this dataset")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="worker processes, each with its own Neo4j driver")
    ] = 1,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql in a browser)."""
    import uvicorn

    from connectomedb.service.app import create_app

    s = load_settings()
    check_reachable(s)
    h, p = host or s.api_host, port or s.api_port
    url = f"http://{h}:{p}/graphql"
    console.print(f"GraphQL API on [bold]{url}[/bold] (open it in a browser for GraphiQL)")
    if example is not None:
        q = (
            f'{{ neuron(dataset: \\"{example}\\", id: \\"AVAL\\") {{ name class '
            "upstream(minWeight: 3, first: 5) { edges { node { synapseCount neuron { id } } } } } }"
        )
        console.print("Try:", style="bold")
        console.print(
            f"curl -s {url} -H 'content-type: application/json' -d '{{\"query\": \"{q}\"}}'",
            highlight=False,
            soft_wrap=True,
        )
    if workers == 1:
        uvicorn.run(create_app(s), host=h, port=p, log_level="info")
        return
    # Each worker is a fresh interpreter (spawned) that calls the factory: it reads its
    # settings from the same environment and opens its own driver in the app's lifespan,
    # so no secret goes on a command line and no connection is shared across a fork.
    console.print(f"{workers} worker processes on one socket")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        workers=workers,
        host=h,
        port=p,
        log_level="info",
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


@schema_app.command("export")
def schema_export(
    output: Annotated[Path, typer.Option(help="where to write the SDL")] = Path("schema.graphql"),
) -> None:
    """Write the GraphQL schema (SDL) that clients can read and diff."""
    from connectomedb.service.schema import schema_sdl

    output.write_text(schema_sdl(), encoding="utf-8")
    console.print(f"wrote {output}")
