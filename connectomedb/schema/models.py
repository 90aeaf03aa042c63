"""Pydantic shapes of a dataset: what a loader declares and what the store reads back."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DatasetStatus = Literal["loading", "ready", "failed", "deleting"]
#: private: the owner lab and labs it is shared with; public: everyone, anonymous included.
Visibility = Literal["private", "public"]

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
