"""Datasets as callers see them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from connectomedb.schema.functional import MeasurementSet as MeasurementSetModel
from connectomedb.service.context import Info
from connectomedb.store.access import DatasetAccess, Principal


@strawberry.enum
class Visibility(Enum):
    PRIVATE = "private"
    PUBLIC = "public"


def _native(v: Any) -> datetime | None:
    return v.to_native() if hasattr(v, "to_native") else v


@strawberry.type
class Dataset:
    id: strawberry.ID
    name: str
    species: str
    version: str
    source: str
    source_files: list[str]
    citation: str
    license: str
    description: str
    status: str
    visibility: Visibility
    owner_lab: str | None
    shared_with: list[str]
    created_at: datetime | None
    loaded_at: datetime | None
    neuron_count: int
    non_neuronal_count: int
    connection_count: int
    chemical_synapse_total: int
    gap_junction_count: int
    gap_junction_total: int
    synapse_count: int

    @strawberry.field(
        description="Functional data loaded beside the wiring: pairwise measurements, "
        "per-neuron properties and extrasynaptic layers, each with its provenance."
    )
    async def measurement_sets(self, info: Info) -> list[MeasurementSet]:
        rows = await info.context.measurements(str(self.id)).sets()
        return [MeasurementSet.from_model(m) for m in rows]

    @classmethod
    def from_access(cls, d: DatasetAccess, who: Principal) -> Dataset:
        """Lab ids are shown only to those labs: the owner to members of the owner lab
        and of labs it is shared with, the share list to the owner lab's members."""
        p = d.props
        in_owner = who.admin or (d.owner is not None and d.owner in who.labs)
        in_shared = bool(set(d.shared_with) & set(who.labs))
        return cls(
            id=strawberry.ID(d.id),
            name=p.get("name") or d.id,
            species=p.get("species") or "",
            version=str(p.get("version") or ""),
            source=p.get("source") or "",
            source_files=list(p.get("source_files") or []),
            citation=p.get("citation") or "",
            license=p.get("license") or "",
            description=p.get("description") or "",
            status=p.get("status") or "",
            visibility=Visibility(d.visibility),
            owner_lab=d.owner if in_owner or in_shared else None,
            shared_with=list(d.shared_with) if in_owner else [],
            created_at=_native(p.get("created_at")),
            loaded_at=_native(p.get("loaded_at")),
            neuron_count=int(p.get("neuron_count") or 0),
            non_neuronal_count=int(p.get("non_neuronal_count") or 0),
            connection_count=int(p.get("connection_count") or 0),
            chemical_synapse_total=int(p.get("chemical_synapse_total") or 0),
            gap_junction_count=int(p.get("gap_junction_count") or 0),
            gap_junction_total=int(p.get("gap_junction_total") or 0),
            synapse_count=int(p.get("synapse_count") or 0),
        )


@strawberry.enum
class MeasurementKind(Enum):
    PAIRWISE = "pairwise"
    NEURON = "neuron"
    EXTRASYNAPTIC = "extrasynaptic"


@strawberry.type(description="A measurement set of a dataset and its provenance.")
class MeasurementSet:
    id: strawberry.ID
    kind: MeasurementKind
    name: str
    condition: str
    description: str
    source: str
    source_files: list[str]
    citation: str
    license: str
    properties: list[str] = strawberry.field(description="per-neuron property names")
    count: int = strawberry.field(description="pairs, neurons or links stored")
    unmatched: list[str] = strawberry.field(
        description="names in the input that match no neuron of the dataset (not loaded)"
    )
    created_at: datetime | None

    @classmethod
    def from_model(cls, m: MeasurementSetModel) -> MeasurementSet:
        return cls(
            id=strawberry.ID(m.id),
            kind=MeasurementKind(m.kind),
            name=m.name,
            condition=m.condition,
            description=m.description,
            source=m.source,
            source_files=list(m.source_files),
            citation=m.citation,
            license=m.license,
            properties=list(m.properties),
            count=m.count,
            unmatched=list(m.unmatched),
            created_at=m.created_at,
        )
