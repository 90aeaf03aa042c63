"""Plain HTTP beside GraphQL: /health, the files of model runs, and a small JSON mirror of
the hottest reads under /rest (same Cypher, same read check)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import FileResponse, JSONResponse

from connectomedb.errors import NotFound, Unavailable
from connectomedb.service.deps import QUERY_COUNT_HEADER, PrincipalDep, SettingsDep, StoreDep
from connectomedb.service.pagination import NEURON, decode_cursor, encode_cursor, page_size
from connectomedb.service.permissions import readable_dataset, readable_row
from connectomedb.service.types.neurons import PARTNERS, partner_key
from connectomedb.store.access import AccessRepository
from connectomedb.store.graphdb import Store
from connectomedb.store.jobs import JobRepository
from connectomedb.store.neurons import NeuronRepository

log = logging.getLogger("connectomedb.api")

router = APIRouter()


@router.get("/health")
async def health(store: StoreDep) -> JSONResponse:
    try:
        await store.ping()
    except Unavailable:  # already logged by the store, once per failed query
        return JSONResponse({"status": "unavailable", "neo4j": "down"}, status_code=503)
    except Exception:  # the point is to answer, whatever the failure
        log.exception("health check failed")
        return JSONResponse({"status": "unavailable", "neo4j": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "neo4j": "up"})


@router.get("/runs/{run_id}/files/{name}")
async def run_file(
    run_id: str, name: str, store: StoreDep, principal: PrincipalDep, settings: SettingsDep
) -> FileResponse:
    """A file a run wrote (its ModelRun lists them), for readers of its dataset."""
    from connectomedb.simulate.files import run_file as find

    r = await readable_row(
        await JobRepository(store).run(run_id),
        partial(AccessRepository(store).dataset, principal),
        f"model run {run_id!r}",
    )
    path, media = find(settings.artifacts, r["metrics"], name)
    return FileResponse(path, media_type=media, filename=name)


# Every route below reads one dataset: the router runs the read check before each of them.
rest = APIRouter(prefix="/rest/datasets/{dataset}", dependencies=[Depends(readable_dataset)])


def neurons_of(dataset: str, store: StoreDep) -> NeuronRepository:
    return NeuronRepository(store, dataset)


NeuronsDep = Annotated[NeuronRepository, Depends(neurons_of)]


def _count_queries(response: Response, store: Store) -> None:
    response.headers[QUERY_COUNT_HEADER] = str(store.queries)


@rest.get("/neurons/{neuron}")
async def rest_neuron(
    dataset: str, neuron: str, repo: NeuronsDep, store: StoreDep, response: Response
) -> dict[str, Any]:
    cells = await repo.cells([neuron])
    _count_queries(response, store)
    if neuron not in cells:
        raise NotFound(f"neuron {neuron!r} not found in dataset {dataset!r}")
    return cells[neuron]


@rest.get("/neurons/{neuron}/{direction}")
async def rest_partners(
    dataset: str,
    neuron: str,
    direction: str,
    repo: NeuronsDep,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
    min_weight: Annotated[int, Query(ge=1)] = 1,
    first: Annotated[int, Query(ge=0)] = 10,
    after: str | None = None,
) -> dict[str, Any]:
    """A page of partners, strongest first; ``after`` takes the ``end_cursor`` of the page
    before (the same cursors as GraphQL's)."""
    if direction not in ("upstream", "downstream"):
        raise NotFound(f"no such list {direction!r}")
    keyset = PARTNERS[direction]
    page = keyset.page(settings, first, after)
    cells = await repo.cells([neuron])
    if neuron not in cells:
        raise NotFound(f"neuron {neuron!r} not found in dataset {dataset!r}")
    found = await repo.partners(direction, [neuron], min_weight, page.after, page.limit)  # type: ignore[arg-type]
    _count_queries(response, store)
    rows = found.get(neuron, [])
    shown = rows[:first]
    return {
        "neuron": cells[neuron],
        direction: shown,
        "has_next_page": len(rows) > first,
        "end_cursor": keyset.cursor(partner_key(shown[-1])) if shown else None,
    }


@rest.get("/neurons")
async def rest_neurons(
    repo: NeuronsDep,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
    first: Annotated[int, Query(ge=0)] = 100,
    after: str | None = None,
) -> dict[str, Any]:
    """A page of neurons by id; ``after`` takes the ``end_cursor`` of the page before (the
    same cursors as GraphQL's ``neurons``)."""
    page_size(settings, first)
    rows, more = await repo.page(None, first, decode_cursor(NEURON, after))
    _count_queries(response, store)
    end = encode_cursor(NEURON, rows[-1]["id"]) if rows else None
    return {"neurons": rows, "has_next_page": more, "end_cursor": end}


router.include_router(rest)
