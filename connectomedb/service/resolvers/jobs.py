"""Jobs, schedules and model runs: reading needs read access to their dataset; submitting,
cancelling and scheduling need the editor role."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from connectomedb.errors import Unauthenticated
from connectomedb.jobs.cron import check_cron, next_after
from connectomedb.jobs.registry import check_params
from connectomedb.schema.jobs import JobRequest
from connectomedb.service import inputs
from connectomedb.service.context import Info
from connectomedb.service.pagination import Connection, OffsetPage
from connectomedb.service.permissions import ChangesDataset, ReadsDataset, readable_row
from connectomedb.service.types.jobs import Job, JobKind, JobStatus, ModelRun, Schedule
from connectomedb.store.jobs import DEFAULT_QUEUE


async def _readable_job(info: Info, job_id: str) -> Job:
    row = await info.context.jobs.job(job_id)
    return Job.from_row(await readable_row(row, info.context.dataset, f"job {job_id!r}"))


@strawberry.type
class JobQueries:
    @strawberry.field(description="A job (its dataset must be readable).")
    async def job(self, info: Info, id: strawberry.ID) -> Job:
        return await _readable_job(info, str(id))

    @strawberry.field(description="Jobs on a dataset, newest first.", extensions=[ReadsDataset()])
    async def jobs(
        self,
        info: Info,
        dataset: strawberry.ID,
        status: JobStatus | None = None,
        kind: JobKind | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Job]:
        page = OffsetPage.of(info.context.settings, first, after)
        rows = await info.context.jobs.jobs(
            [str(dataset)],
            status.value if status else None,
            kind.value if kind else None,
            page.skip,
            page.limit,
        )
        return page.connection(rows, Job.from_row)

    @strawberry.field(description="Schedules on a dataset.", extensions=[ReadsDataset()])
    async def schedules(self, info: Info, dataset: strawberry.ID) -> list[Schedule]:
        return [Schedule.from_row(r) for r in await info.context.jobs.schedules([str(dataset)])]

    @strawberry.field(
        description="Model runs on a dataset, newest first.", extensions=[ReadsDataset()]
    )
    async def model_runs(
        self,
        info: Info,
        dataset: strawberry.ID,
        kind: JobKind | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ModelRun]:
        page = OffsetPage.of(info.context.settings, first, after)
        rows = await info.context.jobs.runs(
            [str(dataset)], kind.value if kind else None, page.skip, page.limit
        )
        return page.connection(rows, ModelRun.from_row)

    @strawberry.field(description="A model run (its dataset must be readable).")
    async def model_run(self, info: Info, id: strawberry.ID) -> ModelRun:
        row = await info.context.jobs.run(str(id))
        return ModelRun.from_row(
            await readable_row(row, info.context.dataset, f"model run {str(id)!r}")
        )


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Queue a job on a dataset (editor role). params are checked for the "
        "kind; workers (`connectomedb worker`) run it.",
        extensions=[ChangesDataset("running jobs on")],
    )
    async def submit_job(
        self,
        info: Info,
        dataset: strawberry.ID,
        kind: JobKind,
        params: JSON | None = None,
        max_attempts: int = 3,
        queue: str = DEFAULT_QUEUE,
    ) -> Job:
        await info.context.editable(str(dataset), "running jobs on")
        req = _request(info, dataset, kind, params, max_attempts, queue)
        return Job.from_row(await info.context.jobs.submit(req))

    @strawberry.mutation(
        description="Cancel a job (editor role): a queued one at once, a running one at its "
        "next progress point."
    )
    async def cancel_job(self, info: Info, id: strawberry.ID) -> Job:
        # Like every other mutation: anonymous callers are asked to sign in first.
        if info.context.principal.user_id is None:
            raise Unauthenticated("sign in with an API token before cancelling jobs on a dataset")
        job = await _readable_job(info, str(id))
        await info.context.editable(str(job.dataset), "cancelling jobs on")
        return Job.from_row(await info.context.jobs.cancel(str(id)))

    @strawberry.mutation(
        description="Run a job on a cron schedule (editor role): five fields, or six with "
        "seconds last, in UTC; each due time is enqueued once by `connectomedb scheduler`.",
        extensions=[ChangesDataset("scheduling jobs on")],
    )
    async def create_schedule(
        self,
        info: Info,
        dataset: strawberry.ID,
        kind: JobKind,
        cron: str,
        params: JSON | None = None,
        max_attempts: int = 3,
        queue: str = DEFAULT_QUEUE,
    ) -> Schedule:
        await info.context.editable(str(dataset), "scheduling jobs on")
        req = _request(info, dataset, kind, params, max_attempts, queue)
        expr = check_cron(cron)
        now = await info.context.jobs.now()  # the server's clock, as leases and ticks
        row = await info.context.jobs.create_schedule(req, expr, next_after(expr, now))
        return Schedule.from_row(row)


def _request(
    info: Info,
    dataset: strawberry.ID,
    kind: JobKind,
    params: JSON | None,
    max_attempts: int,
    queue: str,
) -> JobRequest:
    """A new job's request from a mutation's arguments, every one checked."""
    return JobRequest(
        str(dataset),
        kind.value,
        check_params(kind.value, inputs.json_object(params)),
        info.context.principal.user_id,
        inputs.max_attempts(max_attempts),
        inputs.queue_name(queue),
    )
