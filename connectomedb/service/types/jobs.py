"""Jobs, schedules and model runs (with a simulation run's spike trains and rates)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from connectomedb.errors import BadInput
from connectomedb.jobs.registry import kind_names
from connectomedb.schema.jobs import STATUSES
from connectomedb.service.context import Info
from connectomedb.service.pagination import Connection, OffsetPage
from connectomedb.service.types import from_row
from connectomedb.store.jobs import DEFAULT_QUEUE, ms_to_datetime

# Generated from the one definition of each (mypy cannot see members made from data,
# hence the ignores; members are looked up by value, e.g. ``JobKind("simulate")``).
JobStatus = Enum("JobStatus", {s.upper(): s for s in STATUSES})  # type: ignore[misc]
strawberry.enum(JobStatus)
JobKind = Enum("JobKind", {k.upper(): k for k in kind_names()})  # type: ignore[misc]
strawberry.enum(JobKind, description="What a job computes; its params are checked per kind.")


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _template(r: dict[str, Any]) -> dict[str, Any]:
    """What a job and a schedule store alike: the kind, its parameters, the queue."""
    return {
        "kind": JobKind(r["kind"]),
        "params": _json(r["params"]),
        "queue": r.get("queue") or DEFAULT_QUEUE,
    }


@strawberry.type
class NeuronOutput:
    neuron: strawberry.ID
    label: str | None
    score: float | None
    vector: list[float] | None
    layout: list[float] | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> NeuronOutput:
        return from_row(cls, r)


@strawberry.type(description="Spike times (ms) of one neuron in one condition and trial.")
class SpikeTrain:
    neuron_id: strawberry.ID
    condition: int
    trial: int
    times_ms: list[float]


@strawberry.type(description="Population rate of a simulation per time bin.")
class PopulationRate:
    condition: int
    name: str
    bin_ms: float
    rates_hz: list[float]


@strawberry.type(description="A file a run wrote, served at url.")
class RunFile:
    name: str
    url: str


@strawberry.type(
    description="One result of a job: its parameters, metrics, seed and code version "
    "(provenance), and per-neuron outputs."
)
class ModelRun:
    id: strawberry.ID
    kind: JobKind
    dataset: strawberry.ID
    job: strawberry.ID
    params: JSON
    metrics: JSON
    seed: int | None
    code_version: str
    requested_by: strawberry.ID | None
    created_at: datetime
    output_count: int

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> ModelRun:
        return from_row(
            cls,
            r,
            kind=JobKind(r["kind"]),
            params=_json(r["params"]),
            metrics=_json(r["metrics"]),
            created_at=ms_to_datetime(r["created_at"]),
            output_count=r.get("outputs") or 0,
        )

    @strawberry.field(
        description="Spike times of a simulation run, in one condition (of a sweep) and "
        "trial: of the neurons named, in that order, or else of the neurons that fired, "
        "most spikes first."
    )
    async def spike_trains(
        self,
        info: Info,
        neuron_ids: list[strawberry.ID] | None = None,
        condition: int = 0,
        trial: int = 0,
        first: int = 100,
    ) -> list[SpikeTrain]:
        from connectomedb.simulate.files import spike_trains

        self._simulation()
        trains = await asyncio.to_thread(  # reading a large npz must not block the loop
            spike_trains,
            info.context.settings.artifacts,
            self.metrics,
            condition,
            trial,
            [str(x) for x in neuron_ids] if neuron_ids is not None else None,
            first,
        )
        return [
            SpikeTrain(
                neuron_id=strawberry.ID(nid),
                condition=condition,
                trial=trial,
                times_ms=[float(t) for t in times],
            )
            for nid, times in trains
        ]

    @strawberry.field(
        description="Population rate (Hz, all neurons, mean over trials) per time bin of "
        "a simulation run, in one condition."
    )
    def population_rate(self, condition: int = 0) -> PopulationRate:
        self._simulation()
        metrics: dict[str, Any] = self.metrics  # type: ignore[assignment]
        conds = metrics.get("conditions") or []
        if not 0 <= condition < len(conds):
            raise BadInput(f"condition must be between 0 and {len(conds) - 1}")
        c = conds[condition]
        return PopulationRate(
            condition=condition,
            name=c["name"],
            bin_ms=float(metrics["bin_ms"]),
            rates_hz=[float(x) for x in c["population_rate_hz"]],
        )

    @strawberry.field(
        description="Files the run wrote (spike trains as npz, raster and rate plots as "
        "PNG), each at its URL on this server (GET, with the same token)."
    )
    def files(self) -> list[RunFile]:
        names = (self.metrics.get("files") or []) if isinstance(self.metrics, dict) else []
        return [RunFile(name=n, url=f"/runs/{self.id}/files/{n}") for n in names]

    def _simulation(self) -> None:
        if self.kind != JobKind("simulate"):
            raise BadInput("spike trains and population rates belong to simulate runs")

    @strawberry.field(description="Per-neuron outputs, by neuron id.")
    async def outputs(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[NeuronOutput]:
        page = OffsetPage.of(info.context.settings, first, after)
        rows = await info.context.jobs.run_outputs(str(self.id), page.skip, page.limit)
        return page.connection(rows, NeuronOutput.from_row)


@strawberry.type
class Job:
    id: strawberry.ID
    kind: JobKind
    dataset: strawberry.ID
    status: JobStatus
    progress: float
    message: str
    attempts: int
    max_attempts: int
    params: JSON
    error: str | None
    requested_by: strawberry.ID | None
    queue: str
    cancel_requested: bool
    schedule: strawberry.ID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_id: strawberry.ID | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Job:
        return from_row(
            cls,
            r,
            **_template(r),
            status=JobStatus(r["status"]),
            progress=float(r.get("progress") or 0.0),
            message=r.get("message") or "",
            cancel_requested=bool(r.get("cancel_requested")),
            created_at=ms_to_datetime(r["created_at"]),
            started_at=ms_to_datetime(r.get("started_at")),
            finished_at=ms_to_datetime(r.get("finished_at")),
        )

    @strawberry.field(description="The run this job produced (once it succeeded).")
    async def model_run(self, info: Info) -> ModelRun | None:
        if self.run_id is None:
            return None
        r = await info.context.jobs.run(str(self.run_id))
        return ModelRun.from_row(r) if r else None


@strawberry.type
class Schedule:
    id: strawberry.ID
    dataset: strawberry.ID
    kind: JobKind
    params: JSON
    cron: str
    enabled: bool
    queue: str
    next_due: datetime
    last_due: datetime | None
    created_by: strawberry.ID | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Schedule:
        return from_row(
            cls,
            r,
            **_template(r),
            enabled=bool(r["enabled"]),
            next_due=ms_to_datetime(r["next_due"]),
            last_due=ms_to_datetime(r.get("last_due")),
        )
