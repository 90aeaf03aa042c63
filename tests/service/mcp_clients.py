"""The SDK's own MCP client over both transports: streamable HTTP to the live API's
``/mcp``, and stdio to a ``connectomedb mcp`` subprocess (forwarding to the live API, or
reading Neo4j itself), each with a user's token or none."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.world import World

CLI = str(Path(sys.executable).parent / "connectomedb")
TRANSPORTS = ("http", "stdio")


@asynccontextmanager
async def connect(world: World, transport: str, who: str | None) -> AsyncIterator[Client]:
    """An MCP session as ``who`` (a user of the world, or None: anonymous). ``transport``:
    "http" (the API's /mcp), "stdio" (``connectomedb mcp --url``) or "stdio-local"
    (``connectomedb mcp`` on the test Neo4j)."""
    token = world.tokens[who] if who else None
    if transport == "http":
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            server = streamable_http_client(f"{world.url}/mcp", http_client=http)
            async with Client(server, cache=None) as c:
                yield c
        return
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOMEDB_TOKEN"}
    if token:
        env["CONNECTOMEDB_TOKEN"] = token
    args = ["mcp", "--url", world.url] if transport == "stdio" else ["mcp"]
    params = StdioServerParameters(command=CLI, args=args, env=env)
    async with Client(params, cache=None) as c:
        yield c


def answer(result: Any) -> dict[str, Any]:
    """The structured answer of a successful tool call (its text content says the same)."""
    assert not result.is_error, result.content
    data = result.structured_content
    assert json.loads(result.content[0].text) == data
    return dict(data)


def failure(result: Any) -> str:
    """The message of a tool call that must fail, after the SDK's "Error executing tool
    NAME: " (for the service's own errors, "CODE: message")."""
    assert result.is_error, result.structured_content
    text = str(result.content[0].text)
    assert text.startswith("Error executing tool "), text
    return text.split(": ", 1)[1]


def session(world: World, transport: str, who: str | None, fn: Callable[[Client], Any]) -> Any:
    """Runs ``fn(client)`` (a coroutine function) in one session and returns its value."""

    async def go() -> Any:
        async with connect(world, transport, who) as c:
            return await fn(c)

    return asyncio.run(go())
