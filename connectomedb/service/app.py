"""The FastAPI app: GraphQL at /graphql (GraphiQL in the browser), /health, the files
of model runs under /runs, and a small JSON mirror of the hottest reads under /rest
(same Cypher, same access checks)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import GraphQLRouter

from connectomedb.errors import BadInput, ConnectomeDBError, NotFound, Unauthenticated
from connectomedb.service.context import Context
from connectomedb.service.schema import build_schema
from connectomedb.settings import Settings
from connectomedb.store.access import AccessRepository, Principal
from connectomedb.store.graphdb import Store, make_async_driver
from connectomedb.store.jobs import JobRepository
from connectomedb.store.neurons import NeuronRepository

log = logging.getLogger("connectomedb.api")

QUERY_COUNT_HEADER = "X-Neo4j-Queries"


class QueryCount(SchemaExtension):
    """Reports how many Neo4j queries the request ran (authentication included)."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context.context
        if isinstance(ctx, Context) and ctx.response is not None:
            ctx.response.headers[QUERY_COUNT_HEADER] = str(ctx.store.queries)


#: HTTP status of each client error code (GraphQL answers keep 200, as GraphQL does).
HTTP_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_INPUT": 400,
    "TIMEOUT": 504,
}


def error_response(code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=HTTP_STATUS.get(code, 500),
    )


def internal_error(request: Request, exc: BaseException) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response("INTERNAL", "internal error")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <API token>'")
    return token.strip()


def store_of(request: Request) -> Store:
    """One Store per request: it counts that request's queries."""
    s: Settings = request.app.state.settings
    return Store(
        request.app.state.driver, s.neo4j_database, s.query_timeout_s, s.max_queries_per_request
    )


StoreDep = Annotated[Store, Depends(store_of)]


async def principal_of(request: Request, store: StoreDep) -> Principal:
    return await AccessRepository(store).authenticate(bearer_token(request))


PrincipalDep = Annotated[Principal, Depends(principal_of)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        driver = make_async_driver(settings)
        app.state.driver = driver
        try:
            yield
        finally:
            await driver.close()

    app = FastAPI(title="connectomedb", lifespan=lifespan)
    app.state.settings = settings

    async def context(store: StoreDep, principal: PrincipalDep) -> Context:
        return Context(settings, store, principal)

    schema = build_schema(settings, extra=[QueryCount])
    app.include_router(GraphQLRouter(schema, context_getter=context), prefix="/graphql")

    @app.exception_handler(ConnectomeDBError)
    async def our_errors(request: Request, exc: ConnectomeDBError) -> JSONResponse:
        if exc.code not in HTTP_STATUS:
            return internal_error(request, exc)
        return error_response(exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors()
        )
        return error_response("BAD_INPUT", where or "invalid request")

    @app.exception_handler(Exception)
    async def anything_else(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request, exc)

    @app.get("/health")
    async def health(store: StoreDep) -> JSONResponse:
        try:
            await store.read("health", "RETURN 1 AS ok")
        except Exception:  # the point is to answer, whatever the failure
            log.exception("health check failed")
            return JSONResponse({"status": "unavailable", "neo4j": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "neo4j": "up"})

    @app.get("/runs/{run_id}/files/{name}")
    async def run_file(
        run_id: str, name: str, store: StoreDep, principal: PrincipalDep
    ) -> FileResponse:
        """A file a run wrote (its ModelRun lists them), for readers of its dataset."""
        from connectomedb.simulate.files import run_file as find

        r = await JobRepository(store).run(run_id)
        if r is None:
            raise NotFound(f"model run {run_id!r} not found")
        try:
            await AccessRepository(store).dataset(principal, r["dataset"])
        except NotFound:
            raise NotFound(f"model run {run_id!r} not found") from None
        path, media = find(settings.artifacts, r["metrics"], name)
        return FileResponse(path, media_type=media, filename=name)

    # -- /rest: the same reads as plain JSON (a baseline for the GraphQL layer) ---------
    async def readable(store: Store, principal: Principal, dataset: str) -> NeuronRepository:
        await AccessRepository(store).dataset(principal, dataset)
        return NeuronRepository(store, dataset)

    @app.get("/rest/datasets/{dataset}/neurons/{neuron}")
    async def rest_neuron(
        dataset: str, neuron: str, store: StoreDep, principal: PrincipalDep, response: Response
    ) -> dict[str, Any]:
        repo = await readable(store, principal, dataset)
        cells = await repo.cells([neuron])
        response.headers[QUERY_COUNT_HEADER] = str(store.queries)
        if neuron not in cells:
            raise NotFound(f"neuron {neuron!r} not found in dataset {dataset!r}")
        return cells[neuron]

    @app.get("/rest/datasets/{dataset}/neurons/{neuron}/{direction}")
    async def rest_partners(
        dataset: str,
        neuron: str,
        direction: str,
        store: StoreDep,
        principal: PrincipalDep,
        response: Response,
        min_weight: Annotated[int, Query(ge=1)] = 1,
        first: Annotated[int, Query(ge=0)] = 10,
    ) -> dict[str, Any]:
        if direction not in ("upstream", "downstream"):
            raise NotFound(f"no such list {direction!r}")
        _check_first(settings, first)
        repo = await readable(store, principal, dataset)
        cells = await repo.cells([neuron])
        if neuron not in cells:
            raise NotFound(f"neuron {neuron!r} not found in dataset {dataset!r}")
        found = await repo.partners(direction, [neuron], min_weight, 0, first)  # type: ignore[arg-type]
        response.headers[QUERY_COUNT_HEADER] = str(store.queries)
        return {"neuron": cells[neuron], direction: found.get(neuron, [])}

    @app.get("/rest/datasets/{dataset}/neurons")
    async def rest_neurons(
        dataset: str,
        store: StoreDep,
        principal: PrincipalDep,
        response: Response,
        first: Annotated[int, Query(ge=0)] = 100,
        after: str | None = None,
    ) -> dict[str, Any]:
        _check_first(settings, first)
        repo = await readable(store, principal, dataset)
        rows, more = await repo.page(None, first, after)
        response.headers[QUERY_COUNT_HEADER] = str(store.queries)
        return {"neurons": rows, "has_next_page": more}

    return app


def _check_first(settings: Settings, first: int) -> None:
    if first > settings.max_page_size:
        raise BadInput(f"first must be between 0 and {settings.max_page_size}")
