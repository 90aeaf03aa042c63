"""What a job kind is given and what it hands back. This module imports nothing of the
package, so every layer may use it: the science packages write their kinds against it,
the store writes what they return, the worker provides the context."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
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


def finite(v: Any) -> Any:
    """``v`` with every infinite or NaN float (in dicts, lists and tuples too) replaced by
    None, so that a kind's metrics are strict JSON (an odds ratio with a zero cell, the
    correlation of a constant prediction, an unbounded interval end read as null)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [finite(x) for x in v]
    return v


def run_folder(ctx: JobContext, kind: str) -> Path:
    """Where a run of ``kind`` keeps its files: one folder per job and attempt under
    the shared artifact folder (the API serves the files from there)."""
    return (ctx.artifacts / kind / f"{ctx.job['id']}-{ctx.job['attempts']}").resolve()


def whole_folder(folder: Path, write: Callable[[Path], list[str]]) -> list[str]:
    """``write`` into a partial folder, renamed to ``folder`` when complete, so that a
    failure leaves nothing half-written; returns what ``write`` returns (file names)."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        files = write(partial)
        shutil.rmtree(folder, ignore_errors=True)  # an earlier try of this attempt
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return files
