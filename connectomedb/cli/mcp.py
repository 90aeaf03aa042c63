"""``connectomedb mcp``: the MCP server on stdin and stdout, for an assistant that starts
it as a subprocess. Nothing but the protocol goes to stdout; messages go to stderr."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from connectomedb.cli._common import check_reachable, err, load_settings

TOKEN_ENV = "CONNECTOMEDB_TOKEN"


class RemoteRun:
    """Runs the tools' operations on the API at ``url`` with the Python client (its
    errors, ``CODE: message``, become the tool's)."""

    def __init__(self, url: str, token: str | None) -> None:
        from connectomedb.client import Client

        self.client = Client(url, token)

    async def __call__(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        import anyio
        from mcp.server.mcpserver.exceptions import ToolError

        from connectomedb.client import ClientError

        try:
            return await anyio.to_thread.run_sync(lambda: self.client.query(query, **variables))
        except ClientError as e:
            raise ToolError(str(e)) from None

    async def aclose(self) -> None:
        self.client.close()


def mcp(
    url: Annotated[
        str | None,
        typer.Option(
            envvar="CONNECTOMEDB_URL",
            help="a running API to forward to (e.g. http://lab-server:8000); "
            "without it, the configured Neo4j is read directly",
        ),
    ] = None,
) -> None:
    """Serve the MCP tools over stdio as the user of $CONNECTOMEDB_TOKEN (anonymous, so
    public datasets only, without it). The token is read from the environment only, so
    that it never shows in a process list."""
    import anyio

    from connectomedb.service.mcp.server import LocalRun, serve_stdio

    token = os.environ.get(TOKEN_ENV) or None
    if url is not None:
        remote = RemoteRun(url, token)
        anyio.run(serve_stdio, remote, remote.aclose)
        return

    from connectomedb.service.schema import build_schema
    from connectomedb.store.graphdb import make_async_driver

    s = load_settings()
    check_reachable(s)
    err.print(f"MCP over stdio on {s.uri} ({'signed in' if token else 'anonymous'})")

    async def main() -> None:
        driver = make_async_driver(s)
        local = LocalRun(s, lambda: driver, build_schema(s), token)
        await serve_stdio(local, driver.close)

    anyio.run(main)
