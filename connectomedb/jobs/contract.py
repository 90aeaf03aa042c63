"""What a job kind is given and what it hands back. This module imports nothing of the
package, so every layer may use it: the science packages write their kinds against it,
the store writes what they return, the worker provides the context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import neo4j
from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    """The base of every kind's parameters: unknown fields are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class JobContext(Protocol):
    """What a running job sees.

    Attributes:
        driver: the sync Neo4j driver (read through :mod:`connectomedb.store`).
        database: the Neo4j database name.
        dataset: the job's dataset id.
        artifacts: where the job writes files its ModelRun refers to.
        job: the job as claimed (``id``, ``kind``, ``attempts``, ...).
    """

    driver: neo4j.Driver
    database: str
    dataset: str
    artifacts: Path
    job: dict[str, Any]

    def progress(self, fraction: float, message: str = "") -> None:
        """Note progress and stop here (by raising) if the job was cancelled."""


@dataclass(frozen=True)
class Output:
    """One neuron's output of a model run: a label, a score, a vector, a 2-D layout."""

    id: str
    label: str | None = None
    score: float | None = None
    vector: Sequence[float] | None = None
    layout: Sequence[float] | None = None

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "score": None if self.score is None else float(self.score),
            "vector": None if self.vector is None else [float(v) for v in self.vector],
            "layout": None if self.layout is None else [float(v) for v in self.layout],
        }


@dataclass(frozen=True)
class RunResult:
    """What a job hands back: metrics (JSON-able), per-neuron outputs, the seed used."""

    metrics: dict[str, Any]
    outputs: list[Output] = field(default_factory=list)
    seed: int | None = None
