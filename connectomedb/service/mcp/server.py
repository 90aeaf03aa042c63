"""The MCP server over its two transports.

- HTTP: ``mount(app, ...)`` adds ``/mcp`` (streamable HTTP, stateless, JSON answers) to
  the API. The caller is the bearer token of each HTTP request, checked and rate-limited
  as on ``/graphql``.
- stdio: ``serve_stdio``, for ``connectomedb mcp``, which runs the operations here
  (``LocalRun`` with ``CONNECTOMEDB_TOKEN``) or forwards them to an API with the Python
  client.

Either way a tool runs one GraphQL operation of the API's schema as the caller, so what a
tool sees, refuses and limits is what the API sees, refuses and limits."""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from fastapi import FastAPI
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request

from connectomedb import __version__
from connectomedb.errors import ConnectomeDBError
from connectomedb.service.context import Context
from connectomedb.service.deps import authenticate, bearer_token
from connectomedb.service.errors import CLIENT_CODES, client_code
from connectomedb.service.mcp.tools import INSTRUCTIONS, Run, register
from connectomedb.service.schema import schema_sdl
from connectomedb.settings import Settings
from connectomedb.store.access import ANONYMOUS, AccessRepository, Principal
from connectomedb.store.graphdb import Store

log = logging.getLogger("connectomedb.mcp")

#: The HTTP request a tool call came in on (None over stdio), set for each MCP request.
_REQUEST: contextvars.ContextVar[Request | None] = contextvars.ContextVar(
    "mcp_request", default=None
)


async def remember_request(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Server middleware: makes the HTTP request of the message visible to the tools (and
    to resources, which are not handed a context)."""
    request = ctx.request if isinstance(ctx.request, Request) else None
    token = _REQUEST.set(request)
    try:
        return await call_next(ctx)
    finally:
        _REQUEST.reset(token)


def build_server(run: Run) -> MCPServer:
    # The SDK configures the root logger when it has no handler yet (logging.basicConfig);
    # logging is the application's to set up, so it is put back as it was.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        server: MCPServer = MCPServer(
            "connectomedb",
            title="connectomedb",
            instructions=INSTRUCTIONS,
            version=__version__,
            middleware=[remember_request],
            subscriptions=False,
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    register(server, run, functools.cache(schema_sdl))
    return server


class LocalRun:
    """Runs operations on the API's schema in this process, as the caller: the bearer
    token of the HTTP request, or else ``token`` (stdio)."""

    def __init__(
        self,
        settings: Settings,
        driver: Callable[[], Any],
        schema: strawberry.Schema,
        token: str | None = None,
    ) -> None:
        self.settings = settings
        self.driver = driver
        self.schema = schema
        self.token = token

    async def principal(self, store: Store) -> Principal:
        request = _REQUEST.get()
        if request is not None:
            return await authenticate(request, store, bearer_token(request))
        if self.token is None:
            return ANONYMOUS
        return await AccessRepository(store).authenticate(self.token)

    async def __call__(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        store = Store(self.driver(), s.neo4j_database, s.query_timeout_s, s.max_queries_per_request)
        try:
            principal = await self.principal(store)
        except ConnectomeDBError as e:
            if e.code not in CLIENT_CODES:
                log.error("internal error signing in an MCP caller", exc_info=e)
                raise ToolError("INTERNAL: internal error") from None
            raise ToolError(f"{e.code}: {e}") from None
        result = await self.schema.execute(
            query, variable_values=variables, context_value=Context(s, store, principal)
        )
        if result.errors:
            first = result.errors[0]
            raise ToolError(f"{client_code(first)}: {first.message}")
        assert result.data is not None
        return dict(result.data)


def mount(app: FastAPI, settings: Settings, schema: strawberry.Schema) -> Callable[[], Any]:
    """Adds ``/mcp`` to ``app``; returns the context manager its lifespan must enter (it
    runs the MCP session manager)."""
    server = build_server(LocalRun(settings, lambda: app.state.driver, schema))
    # Who may call is decided by the bearer token, as on /graphql; the API is not tied to
    # one host name, so the SDK's check of Host and Origin headers is left off.
    starlette = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.router.routes.extend(starlette.routes)
    return server.session_manager.run


async def serve_stdio(run: Run, close: Callable[[], Awaitable[None]] | None = None) -> None:
    server = build_server(run)
    try:
        await server.run_stdio_async()
    finally:
        if close is not None:
            await close()
