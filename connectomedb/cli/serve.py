"""``connectomedb serve`` and ``connectomedb schema``: the GraphQL API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectomedb.cli._common import check_reachable, console, load_settings

schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: settings)")] = None,
    example: Annotated[
        str | None, typer.Option(help="print an example query against this dataset")
    ] = None,
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
    uvicorn.run(create_app(s), host=h, port=p, log_level="info")


@schema_app.command("export")
def schema_export(
    output: Annotated[Path, typer.Option(help="where to write the SDL")] = Path("schema.graphql"),
) -> None:
    """Write the GraphQL schema (SDL) that clients can read and diff."""
    from connectomedb.service.schema import schema_sdl

    output.write_text(schema_sdl(), encoding="utf-8")
    console.print(f"wrote {output}")
