"""The per-request context: who asks, one Store (query counter), dataset access checked
once per dataset, and DataLoaders whose caches live as long as the request."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeAlias, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from connectomedb.errors import BadInput, Forbidden, Unauthenticated
from connectomedb.schema.functional import MeasurementSet
from connectomedb.settings import Settings
from connectomedb.store.access import AccessRepository, DatasetAccess, Principal, can_edit
from connectomedb.store.annotations import AnnotationRepository
from connectomedb.store.graphdb import Store
from connectomedb.store.jobs import JobRepository
from connectomedb.store.measurements import MeasurementRepository
from connectomedb.store.neurons import NeuronRepository

K = TypeVar("K", bound=tuple[Any, ...])

#: (dataset, direction, cell id, min weight, after (synapse count, partner id), limit)
PartnerKey = tuple[str, str, str, int, tuple[int, str] | None, int]
#: (dataset, direction, cell id, after synapse id, limit)
SynapseKey = tuple[str, str, str, str | None, int]
#: (dataset, cell id, after (gap junctions, partner id), limit)
GapKey = tuple[str, str, tuple[int, str] | None, int]
#: (dataset, cell id, history)
AnnotationKey = tuple[str, str, bool]
#: (dataset, cell id)
CellKey = tuple[str, str]
#: (dataset, job kind, model run or "", cell id)
OutputKey = tuple[str, str, str, str]
#: (dataset, direction, measurement set, max q, cell id, skip, limit)
ResponseKey = tuple[str, str, str, float | None, str, int, int]
#: (dataset, measurement set or "", cell id)
MeasuredKey = tuple[str, str, str]
#: (dataset, direction, measurement set or "", cell id, skip, limit)
ExtrasynapticKey = tuple[str, str, str, str, int, int]


def grouped_loader(
    group_of: Callable[[K], Hashable],
    id_of: Callable[[K], str],
    fetch: Callable[[K, list[str]], Awaitable[dict[str, Any]]],
    default: Any,
) -> Callable[[Sequence[K]], Awaitable[list[Any]]]:
    """A DataLoader batch function: keys in the same group (same dataset and arguments,
    different cell ids) go to the database as one query."""

    async def load(keys: Sequence[K]) -> list[Any]:
        groups: dict[Hashable, list[K]] = defaultdict(list)
        for k in keys:
            groups[group_of(k)].append(k)
        results: dict[K, Any] = {}
        for members in groups.values():
            ids = sorted({id_of(k) for k in members})
            found = await fetch(members[0], ids)
            for k in members:
                results[k] = found.get(id_of(k), default)
        return [results[k] for k in keys]

    return load


class Context(BaseContext):
    def __init__(self, settings: Settings, store: Store, principal: Principal) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.principal = principal
        self.access = AccessRepository(store)
        self._datasets: dict[str, asyncio.Task[DatasetAccess]] = {}
        self.partners: DataLoader[PartnerKey, list[dict[str, Any]]] = DataLoader(
            grouped_loader(
                lambda k: (k[0], k[1], k[3], k[4], k[5]), lambda k: k[2], self._partners, []
            )
        )
        self.synapses: DataLoader[SynapseKey, list[dict[str, Any]]] = DataLoader(
            grouped_loader(lambda k: (k[0], k[1], k[3], k[4]), lambda k: k[2], self._synapses, [])
        )
        self.gap_junctions: DataLoader[GapKey, list[dict[str, Any]]] = DataLoader(
            grouped_loader(lambda k: (k[0], k[2], k[3]), lambda k: k[1], self._gaps, [])
        )
        self.annotations: DataLoader[AnnotationKey, list[dict[str, Any]]] = DataLoader(
            grouped_loader(lambda k: (k[0], k[2]), lambda k: k[1], self._annotations, [])
        )
        self.cells: DataLoader[CellKey, dict[str, Any] | None] = DataLoader(
            grouped_loader(lambda k: k[0], lambda k: k[1], self._cells, None)
        )
        self.jobs = JobRepository(store)
        self.outputs: DataLoader[OutputKey, dict[str, Any] | None] = DataLoader(
            grouped_loader(lambda k: k[:3], lambda k: k[3], self._outputs, None)
        )
        self.responses: DataLoader[ResponseKey, list[dict[str, Any]]] = DataLoader(
            grouped_loader(lambda k: (*k[:4], *k[5:]), lambda k: k[4], self._responses, [])
        )
        self.measured: DataLoader[MeasuredKey, list[dict[str, Any]]] = DataLoader(
            grouped_loader(lambda k: k[:2], lambda k: k[2], self._measured, [])
        )
        self.extrasynaptic: DataLoader[ExtrasynapticKey, list[dict[str, Any]]] = DataLoader(
            grouped_loader(lambda k: (*k[:3], *k[4:]), lambda k: k[3], self._extrasynaptic, [])
        )
        self._sets: dict[tuple[str, str], asyncio.Task[MeasurementSet]] = {}

    # -- access ---------------------------------------------------------------------------
    async def dataset(self, dataset: str) -> DatasetAccess:
        """The dataset if the caller may read it (NotFound otherwise), checked once per request."""
        task = self._datasets.get(dataset)
        if task is None:
            task = asyncio.ensure_future(self.access.dataset(self.principal, dataset))
            self._datasets[dataset] = task
        return await task

    @property
    def checked_datasets(self) -> list[str]:
        """The datasets this request has checked access to so far."""
        return list(self._datasets)

    async def editable(self, dataset: str, doing: str = "annotating") -> DatasetAccess:
        """The dataset if the caller may change it: anonymous callers are asked to sign in,
        readers without the editor role are refused, others learn nothing."""
        if self.principal.user_id is None:
            raise Unauthenticated(f"sign in with an API token before {doing} a dataset")
        d = await self.dataset(dataset)
        if not can_edit(self.principal, d):
            raise Forbidden(f"{doing} {dataset!r} needs the editor role in a lab it is shared with")
        return d

    def neurons(self, dataset: str) -> NeuronRepository:
        return NeuronRepository(self.store, dataset)

    def measurements(self, dataset: str) -> MeasurementRepository:
        return MeasurementRepository(self.store, dataset)

    async def measurement_set(self, dataset: str, set_id: str, kind: str) -> MeasurementSet:
        """A ready measurement set of a dataset the caller reads (looked up once per
        request); NotFound when there is none, BadInput when it holds another kind."""
        await self.dataset(dataset)
        task = self._sets.get((dataset, set_id))
        if task is None:
            task = asyncio.ensure_future(self.measurements(dataset).get(set_id))
            self._sets[(dataset, set_id)] = task
        m = await task
        if m.kind != kind:
            raise BadInput(f"measurement set {set_id!r} holds {m.kind} data, not {kind}")
        return m

    # -- batch functions ---------------------------------------------------------------
    async def _partners(self, k: PartnerKey, ids: list[str]) -> dict[str, Any]:
        ds, direction, _, min_weight, after, limit = k
        return await self.neurons(ds).partners(direction, ids, min_weight, after, limit)  # type: ignore[arg-type]

    async def _synapses(self, k: SynapseKey, ids: list[str]) -> dict[str, Any]:
        ds, direction, _, after, limit = k
        return await self.neurons(ds).synapses(direction, ids, after, limit)  # type: ignore[arg-type]

    async def _gaps(self, k: GapKey, ids: list[str]) -> dict[str, Any]:
        return await self.neurons(k[0]).gap_junctions(ids, k[2], k[3])

    async def _annotations(self, k: AnnotationKey, ids: list[str]) -> dict[str, Any]:
        return await AnnotationRepository(self.store, k[0]).of(ids, k[2])

    async def _cells(self, k: CellKey, ids: list[str]) -> dict[str, Any]:
        return await self.neurons(k[0]).cells(ids)

    async def _outputs(self, k: OutputKey, ids: list[str]) -> dict[str, Any]:
        return await self.jobs.neuron_outputs(k[0], k[1], k[2] or None, ids)

    async def _responses(self, k: ResponseKey, ids: list[str]) -> dict[str, Any]:
        ds, direction, set_id, max_q, _, skip, limit = k
        return await self.measurements(ds).responses(direction, set_id, ids, max_q, skip, limit)

    async def _measured(self, k: MeasuredKey, ids: list[str]) -> dict[str, Any]:
        return await self.measurements(k[0]).properties(k[1] or None, ids)

    async def _extrasynaptic(self, k: ExtrasynapticKey, ids: list[str]) -> dict[str, Any]:
        ds, direction, set_id, _, skip, limit = k
        return await self.measurements(ds).extrasynaptic(
            direction, set_id or None, ids, skip, limit
        )


#: What resolvers receive as ``info``: the request's :class:`Context` and no root value.
Info: TypeAlias = strawberry.Info[Context, None]
