"""GraphQL for jobs, schedules and model runs. Every field checks the dataset the job,
schedule or run belongs to: reading needs read access, submitting, cancelling and
scheduling need the editor role; what a caller may not read answers NOT_FOUND, exactly
as if it did not exist."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from connectomedb.errors import BadInput, NotFound
from connectomedb.service.types import CInfo, PageInfo, decode_offset, offset_page, page_size
from connectomedb.store.jobs import ms_to_datetime
from connectomedb.workers.kinds import check_params
from connectomedb.workers.schedules import check_cron, next_after

MAX_ATTEMPTS = 20
QUEUE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@strawberry.enum
class JobStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@strawberry.enum(description="What a job computes; its params are checked per kind.")
class JobKind(Enum):
    PROBE = "probe"
    CENSUS = "census"
    EMBEDDING = "embedding"
    ANOMALY = "anomaly"
    CELLTYPE_GNN = "celltype_gnn"
    SIMULATE = "simulate"
    FIT_STRENGTHS = "fit_strengths"


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


@strawberry.type
class NeuronOutput:
    neuron: strawberry.ID
    label: str | None
    score: float | None
    vector: list[float] | None
    layout: list[float] | None


@strawberry.type
class NeuronOutputEdge:
    cursor: str
    node: NeuronOutput


@strawberry.type
class NeuronOutputConnection:
    edges: list[NeuronOutputEdge]
    page_info: PageInfo


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
        return cls(
            id=r["id"],
            kind=JobKind(r["kind"]),
            dataset=r["dataset"],
            job=r["job"],
            params=_json(r["params"]),
            metrics=_json(r["metrics"]),
            seed=r.get("seed"),
            code_version=r["code_version"],
            requested_by=r.get("requested_by"),
            created_at=ms_to_datetime(r["created_at"]),  # type: ignore[arg-type]
            output_count=r.get("outputs") or 0,
        )

    @strawberry.field(
        description="Spike times of a simulation run, in one condition (of a sweep) and "
        "trial: of the neurons named, in that order, or else of the neurons that fired, "
        "most spikes first."
    )
    async def spike_trains(
        self,
        info: CInfo,
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
        if self.kind != JobKind.SIMULATE:
            raise BadInput("spike trains and population rates belong to simulate runs")

    @strawberry.field(description="Per-neuron outputs, by neuron id.")
    async def outputs(
        self, info: CInfo, first: int = 100, after: str | None = None
    ) -> NeuronOutputConnection:
        n = page_size(info, first)
        skip = decode_offset(after)
        rows = await info.context.jobs.run_outputs(str(self.id), skip, n + 1)
        edges, page = offset_page(
            rows,
            skip,
            n,
            lambda c, r: NeuronOutputEdge(
                cursor=c,
                node=NeuronOutput(
                    neuron=r["neuron"],
                    label=r["label"],
                    score=r["score"],
                    vector=r["vector"],
                    layout=r["layout"],
                ),
            ),
        )
        return NeuronOutputConnection(edges=edges, page_info=page)


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
        return cls(
            id=r["id"],
            kind=JobKind(r["kind"]),
            dataset=r["dataset"],
            status=JobStatus(r["status"]),
            progress=float(r.get("progress") or 0.0),
            message=r.get("message") or "",
            attempts=r["attempts"],
            max_attempts=r["max_attempts"],
            params=_json(r["params"]),
            error=r.get("error"),
            requested_by=r.get("requested_by"),
            queue=r.get("queue") or "default",
            cancel_requested=bool(r.get("cancel_requested")),
            schedule=r.get("schedule"),
            created_at=ms_to_datetime(r["created_at"]),  # type: ignore[arg-type]
            started_at=ms_to_datetime(r.get("started_at")),
            finished_at=ms_to_datetime(r.get("finished_at")),
            run_id=r.get("run_id"),
        )

    @strawberry.field(description="The run this job produced (once it succeeded).")
    async def model_run(self, info: CInfo) -> ModelRun | None:
        if self.run_id is None:
            return None
        r = await info.context.jobs.run(str(self.run_id))
        return ModelRun.from_row(r) if r else None


@strawberry.type
class JobEdge:
    cursor: str
    node: Job


@strawberry.type
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo


@strawberry.type
class ModelRunEdge:
    cursor: str
    node: ModelRun


@strawberry.type
class ModelRunConnection:
    edges: list[ModelRunEdge]
    page_info: PageInfo


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
        return cls(
            id=r["id"],
            dataset=r["dataset"],
            kind=JobKind(r["kind"]),
            params=_json(r["params"]),
            cron=r["cron"],
            enabled=bool(r["enabled"]),
            queue=r.get("queue") or "default",
            next_due=ms_to_datetime(r["next_due"]),  # type: ignore[arg-type]
            last_due=ms_to_datetime(r.get("last_due")),
            created_by=r.get("created_by"),
        )


async def _readable_job(info: CInfo, job_id: str) -> dict[str, Any]:
    j = await info.context.jobs.job(job_id)
    if j is not None:
        try:
            await info.context.dataset(j["dataset"])
            return j
        except NotFound:
            pass
    raise NotFound(f"job {job_id!r} not found")


def _queue(name: str) -> str:
    if not QUEUE_NAME.fullmatch(name):
        raise BadInput("queue names are 1-64 letters, digits, '.', '_' or '-'")
    return name


def _attempts(v: int) -> int:
    if not 1 <= v <= MAX_ATTEMPTS:
        raise BadInput(f"maxAttempts must be between 1 and {MAX_ATTEMPTS}")
    return v


@strawberry.type
class JobQueries:
    @strawberry.field(description="A job (its dataset must be readable).")
    async def job(self, info: CInfo, id: strawberry.ID) -> Job:
        return Job.from_row(await _readable_job(info, str(id)))

    @strawberry.field(description="Jobs on a dataset, newest first.")
    async def jobs(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        status: JobStatus | None = None,
        kind: JobKind | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> JobConnection:
        await info.context.dataset(str(dataset))
        n = page_size(info, first)
        skip = decode_offset(after)
        rows = await info.context.jobs.jobs(
            [str(dataset)],
            status.value if status else None,
            kind.value if kind else None,
            skip,
            n + 1,
        )
        edges, page = offset_page(
            rows, skip, n, lambda c, r: JobEdge(cursor=c, node=Job.from_row(r))
        )
        return JobConnection(edges=edges, page_info=page)

    @strawberry.field(description="Schedules on a dataset.")
    async def schedules(self, info: CInfo, dataset: strawberry.ID) -> list[Schedule]:
        await info.context.dataset(str(dataset))
        return [Schedule.from_row(r) for r in await info.context.jobs.schedules([str(dataset)])]

    @strawberry.field(description="Model runs on a dataset, newest first.")
    async def model_runs(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        kind: JobKind | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ModelRunConnection:
        await info.context.dataset(str(dataset))
        n = page_size(info, first)
        skip = decode_offset(after)
        rows = await info.context.jobs.runs(
            [str(dataset)], kind.value if kind else None, skip, n + 1
        )
        edges, page = offset_page(
            rows, skip, n, lambda c, r: ModelRunEdge(cursor=c, node=ModelRun.from_row(r))
        )
        return ModelRunConnection(edges=edges, page_info=page)

    @strawberry.field(description="A model run (its dataset must be readable).")
    async def model_run(self, info: CInfo, id: strawberry.ID) -> ModelRun:
        r = await info.context.jobs.run(str(id))
        if r is not None:
            try:
                await info.context.dataset(r["dataset"])
                return ModelRun.from_row(r)
            except NotFound:
                pass
        raise NotFound(f"model run {str(id)!r} not found")


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Queue a job on a dataset (editor role). params are checked for the "
        "kind; workers (`connectomedb worker`) run it."
    )
    async def submit_job(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        kind: JobKind,
        params: JSON | None = None,
        max_attempts: int = 3,
        queue: str = "default",
    ) -> Job:
        await info.context.editable(str(dataset), "running jobs on")
        if params is not None and not isinstance(params, dict):
            raise BadInput("params must be a JSON object")
        checked = check_params(kind.value, params)
        row = await info.context.jobs.submit(
            str(dataset),
            kind.value,
            checked,
            info.context.principal.user_id,
            _attempts(max_attempts),
            _queue(queue),
        )
        return Job.from_row(row)

    @strawberry.mutation(
        description="Cancel a job (editor role): a queued one at once, a running one at its "
        "next progress point."
    )
    async def cancel_job(self, info: CInfo, id: strawberry.ID) -> Job:
        j = await _readable_job(info, str(id))
        await info.context.editable(j["dataset"], "cancelling jobs on")
        return Job.from_row(await info.context.jobs.cancel(str(id)))

    @strawberry.mutation(
        description="Run a job on a cron schedule (editor role): five fields, or six with "
        "seconds last, in UTC; each due time is enqueued once by `connectomedb scheduler`."
    )
    async def create_schedule(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        kind: JobKind,
        cron: str,
        params: JSON | None = None,
        max_attempts: int = 3,
        queue: str = "default",
    ) -> Schedule:
        await info.context.editable(str(dataset), "scheduling jobs on")
        if params is not None and not isinstance(params, dict):
            raise BadInput("params must be a JSON object")
        checked = check_params(kind.value, params)
        expr = check_cron(cron)
        now = await info.context.jobs.now()  # the server's clock, as leases and ticks
        row = await info.context.jobs.create_schedule(
            str(dataset),
            kind.value,
            checked,
            expr,
            info.context.principal.user_id,
            next_after(expr, now),
            _attempts(max_attempts),
            _queue(queue),
        )
        return Schedule.from_row(row)
