"""Datasets as callers see them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

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
