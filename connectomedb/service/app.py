"""The FastAPI app: GraphQL at /graphql (GraphiQL in the browser), the MCP server at /mcp
and the plain HTTP routes of ``service.routes``, with one answer shape for errors."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from strawberry.extensions import SchemaExtension

from connectomedb.errors import ConnectomeDBError, RateLimited
from connectomedb.service.context import Context
from connectomedb.service.dashboard import router as dashboard
from connectomedb.service.deps import QUERY_COUNT_HEADER, PrincipalDep, StoreDep
from connectomedb.service.errors import HTTP_STATUS
from connectomedb.service.export import router as export_router
from connectomedb.service.graphiql import ASSETS_PATH, OfflineGraphQLRouter, assets
from connectomedb.service.mcp import server as mcp
from connectomedb.service.routes import router
from connectomedb.service.schema import build_schema
from connectomedb.settings import Settings
from connectomedb.store.graphdb import make_async_driver

log = logging.getLogger("connectomedb.api")


class QueryCount(SchemaExtension):
    """Reports how many Neo4j queries the request ran (authentication included)."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context.context
        if isinstance(ctx, Context) and ctx.response is not None:
            ctx.response.headers[QUERY_COUNT_HEADER] = str(ctx.store.queries)


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=HTTP_STATUS.get(code, 500),
        headers=headers,
    )


def internal_error(request: Request, exc: BaseException) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response("INTERNAL", "internal error")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        driver = make_async_driver(settings)
        app.state.driver = driver
        try:
            async with mcp_running():
                yield
        finally:
            await driver.close()

    app = FastAPI(title="connectomedb", lifespan=lifespan)
    app.state.settings = settings

    async def context(store: StoreDep, principal: PrincipalDep) -> Context:
        return Context(settings, store, principal)

    schema = build_schema(settings, extra=[QueryCount])
    app.include_router(
        OfflineGraphQLRouter(schema, context_getter=context, subscription_protocols=()),
        prefix="/graphql",
    )
    app.mount(ASSETS_PATH, assets(), name="graphiql-assets")
    mcp_running = mcp.mount(app, settings, schema)
    app.include_router(router)
    app.include_router(export_router)
    app.include_router(dashboard)

    @app.exception_handler(ConnectomeDBError)
    async def our_errors(request: Request, exc: ConnectomeDBError) -> JSONResponse:
        if exc.code not in HTTP_STATUS:
            return internal_error(request, exc)
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
        return error_response(exc.code, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors()
        )
        return error_response("BAD_INPUT", where or "invalid request")

    @app.exception_handler(Exception)
    async def anything_else(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request, exc)

    return app
