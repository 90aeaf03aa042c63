"""Cells of a dataset: a page of them, or one by id."""

from __future__ import annotations

import strawberry

from connectomedb.errors import NotFound
from connectomedb.service import inputs
from connectomedb.service.context import Info
from connectomedb.service.inputs import NeuronFilterInput
from connectomedb.service.pagination import (
    NEURON,
    Edge,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_size,
)
from connectomedb.service.permissions import ReadsDataset
from connectomedb.service.types.neurons import Neuron, NeuronConnection


@strawberry.type
class NeuronQueries:
    @strawberry.field(
        description="A page of neurons ordered by id (Relay cursors).",
        extensions=[ReadsDataset()],
    )
    async def neurons(
        self,
        info: Info,
        dataset: strawberry.ID,
        filter: NeuronFilterInput | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> NeuronConnection:
        ds = str(dataset)
        n = page_size(info.context.settings, first)
        f = inputs.neuron_filter(info.context.settings, filter)
        rows, more = await info.context.neurons(ds).page(f, n, decode_cursor(NEURON, after))
        edges = [Edge(cursor=encode_cursor(NEURON, r["id"]), node=Neuron.from_row(r)) for r in rows]
        return NeuronConnection(
            edges=edges, page_info=PageInfo.of(edges, more), _dataset=ds, _filter=f
        )

    @strawberry.field(
        description="One cell (neuron or non-neuronal) by id.", extensions=[ReadsDataset()]
    )
    async def neuron(self, info: Info, dataset: strawberry.ID, id: strawberry.ID) -> Neuron:
        ds = str(dataset)
        row = await info.context.cells.load((ds, str(id)))
        if row is None:
            raise NotFound(f"neuron {str(id)!r} not found in dataset {ds!r}")
        return Neuron.from_row(row)
