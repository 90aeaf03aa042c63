"""Bulk export over HTTP: ``GET /export/datasets/{dataset}``, streamed as it is read,
after the same read check as /rest (a dataset the caller cannot read answers 404
NOT_FOUND, exactly like a missing one).

Parameters: ``format`` (arrow, neuprint, codex, graphml), ``table`` (arrow only: one
table as a bare Arrow IPC stream), ``synapses``, ``min_weight``, and a selection:
``ids`` (repeated) and/or ``level`` with ``values`` (repeated). Bad parameters answer
400 BAD_INPUT before any byte is sent; a failure after the first byte cuts the
transfer short: the chunked response ends without its last chunk, which HTTP clients
report as an error (``Client.export`` raises and keeps no file). A zip or GraphML file
saved from a cut transfer does not parse; a bare Arrow stream (``table=``) cut at a
batch boundary still reads, shorter, so check the transfer, not only the bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from connectomedb.errors import BadInput
from connectomedb.export.stream import ChunkSink, export_chunks, make_writer
from connectomedb.service.deps import SettingsDep
from connectomedb.service.permissions import readable_dataset
from connectomedb.store.export import ExportRepository, Selection
from connectomedb.store.graphdb import Store

router = APIRouter(prefix="/export/datasets/{dataset}", dependencies=[Depends(readable_dataset)])


@router.get("")
async def export_dataset(
    dataset: str,
    request: Request,
    settings: SettingsDep,
    format: str = "arrow",
    table: str | None = None,
    synapses: bool = False,
    min_weight: Annotated[int, Query(ge=1)] = 1,
    ids: Annotated[list[str] | None, Query()] = None,
    level: str | None = None,
    values: Annotated[list[str] | None, Query()] = None,
) -> StreamingResponse:
    if values is not None and len(values) > settings.max_page_size:
        raise BadInput(f"values may name at most {settings.max_page_size} groups")
    sel = Selection(
        ids=tuple(ids) if ids else None,
        level=level,
        values=tuple(values) if values else None,
        min_weight=min_weight,
    )
    # An export runs one query per page: its own store, without the per-request budget.
    store = Store(request.app.state.driver, settings.neo4j_database, settings.query_timeout_s)
    repo = ExportRepository(store, dataset, sel)
    await repo.check_ready()
    sink = ChunkSink()
    writer = make_writer(format, sink, dataset, synapses=synapses, table=table)
    name = f"{dataset}.{table}.{writer.suffix}" if table else f"{dataset}.{writer.suffix}"
    return StreamingResponse(
        export_chunks(repo, writer, sink),
        media_type=writer.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
