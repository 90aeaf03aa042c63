"""Pydantic shapes of the graph's main entities (storage rows -> these -> API types)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DatasetStatus = Literal["loading", "ready", "failed"]
#: private: the owner lab and labs it is shared with; public: everyone, anonymous included.
Visibility = Literal["private", "public"]
CellKind = Literal["neuron", "muscle", "glia", "end_organ", "other"]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"


class DatasetMeta(BaseModel):
    """What a loader knows about a dataset before writing it (its provenance)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    name: str
    species: str
    version: str = "1"
    source: str = Field(description="where the data came from (file, package, generator)")
    source_files: tuple[str, ...] = ()
    citation: str = ""
    license: str = ""
    description: str = ""


class Dataset(DatasetMeta):
    status: DatasetStatus
    visibility: Visibility = "private"
    fingerprint: str = ""
    created_at: datetime | None = None
    loaded_at: datetime | None = None
    error: str | None = None
    neuron_count: int = 0
    non_neuronal_count: int = 0
    connection_count: int = 0
    gap_junction_count: int = 0
    synapse_count: int = 0
    chemical_synapse_total: int = 0
    gap_junction_total: int = 0


class Neuron(BaseModel):
    dataset: str
    id: str
    name: str
    kind: CellKind = "neuron"
    type: str | None = None
    cell_class: str | None = Field(default=None, alias="class")
    superclass: str | None = None
    side: str | None = None
    region: str | None = None
    neurotransmitter: str | None = None
    sign: int | None = Field(default=None, ge=-1, le=1)
    pre_synapses: int = 0
    post_synapses: int = 0
    in_degree: int = 0
    out_degree: int = 0

    model_config = ConfigDict(populate_by_name=True)


class CellType(BaseModel):
    dataset: str
    name: str
    level: str = "type"
    parent: str | None = None


class Connection(BaseModel):
    """An aggregated directed chemical connection (CONNECTS_TO)."""

    dataset: str
    pre: str
    post: str
    synapse_count: int = Field(ge=0)
    weight: float | None = None
    psd_area_total: float | None = None


class GapJunction(BaseModel):
    dataset: str
    a: str
    b: str
    count: int = Field(ge=0)


class Synapse(BaseModel):
    dataset: str
    id: str
    pre: str
    post: str
    x: float | None = None
    y: float | None = None
    z: float | None = None
    kind: Literal["chemical", "electrical"] = "chemical"
    confidence: float | None = None
    psd_area: float | None = None
    neurotransmitter: str | None = None
    region: str | None = None
