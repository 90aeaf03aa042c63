"""``connectomedb worker``, ``scheduler`` and ``job``: analytics jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectomedb.cli._common import connect, console, err, exit_on_error
from connectomedb.errors import BadInput, NotFound
from connectomedb.schema.jobs import DEFAULT_QUEUE

job_app = typer.Typer(help="Analytics jobs (run by `connectomedb worker`).", no_args_is_help=True)


def worker(
    worker_id: Annotated[str | None, typer.Option("--id", help="default: host:pid")] = None,
    lease: Annotated[float, typer.Option(help="lease length in seconds")] = 30.0,
    poll: Annotated[float, typer.Option(help="seconds between polls when idle")] = 1.0,
    max_jobs: Annotated[int | None, typer.Option(help="stop after this many jobs")] = None,
    exit_when_idle: Annotated[bool, typer.Option(help="stop when no job is free")] = False,
    queue: Annotated[str, typer.Option(help="the queue to serve")] = DEFAULT_QUEUE,
) -> None:
    """Claim and run jobs until stopped (SIGTERM or Ctrl-C finish the current job first)."""
    import logging

    from connectomedb.workers.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with connect() as (s, d), exit_on_error():
        w = Worker(d, s.neo4j_database, worker_id, lease, poll, queue, s.artifacts)
        err.print(
            f"worker {w.id} serving queue {queue!r}, polling every {poll} s (lease {lease} s)"
        )
        n = w.run(max_jobs, exit_when_idle)
        err.print(f"worker {w.id} stopped after {n} jobs")


def scheduler(
    tick: Annotated[float, typer.Option(help="seconds between ticks")] = 1.0,
    once: Annotated[bool, typer.Option(help="one tick, then exit")] = False,
) -> None:
    """Enqueue the due runs of every schedule (run one or several: each due time is
    enqueued once)."""
    import logging
    import signal
    import threading

    from connectomedb.store.schedules import ScheduleQueue
    from connectomedb.workers.scheduler import run_scheduler
    from connectomedb.workers.scheduler import tick as run_tick

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with connect() as (s, d), exit_on_error():
        q = ScheduleQueue(d, s.neo4j_database)
        if once:
            console.print(f"enqueued {run_tick(q)} jobs")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_scheduler(q, tick, stop)


@job_app.command("kinds")
def job_kinds() -> None:
    """The job kinds a worker runs, with what each computes."""
    from rich.table import Table

    from connectomedb.jobs.registry import KINDS

    table = Table("kind", "what it computes", "needs")
    for k in KINDS.values():
        table.add_row(k.name, k.description, f"the {k.extra} extra" if k.extra else "")
    console.print(table)


@job_app.command("submit")
def job_submit(
    dataset_id: str,
    kind: Annotated[str, typer.Argument(help="a job kind (see `connectomedb job kinds`)")],
    params: Annotated[
        str, typer.Option(help="parameters as JSON, or @FILE to read them from a file")
    ] = "{}",
    max_attempts: Annotated[int, typer.Option(min=1, max=20)] = 3,
    queue: Annotated[str, typer.Option(help="the queue workers take it from")] = DEFAULT_QUEUE,
) -> None:
    """Queue a job (as the operator; over the API a user's editor role is checked)."""
    import json

    from connectomedb.jobs.registry import check_params
    from connectomedb.schema.jobs import JobRequest
    from connectomedb.store.audit import record_operator
    from connectomedb.store.datasets import DatasetRepository
    from connectomedb.store.jobs import JobQueue

    with connect() as (s, d), exit_on_error():
        where = "--params"
        if params.startswith("@"):
            where = params[1:]
            try:
                params = Path(where).read_text()
            except OSError as e:
                raise BadInput(f"cannot read {where}: {e.strerror or e}") from e
        try:
            raw = json.loads(params)
        except json.JSONDecodeError as e:
            raise BadInput(
                f"{where} is not JSON: line {e.lineno}, column {e.colno}: {e.msg}"
            ) from e
        checked = check_params(kind, raw)
        if not DatasetRepository(d, s.neo4j_database).exists(dataset_id):
            raise NotFound(f"dataset {dataset_id!r} not found")
        req = JobRequest(dataset_id, kind, checked, None, max_attempts, queue)
        j = JobQueue(d, s.neo4j_database).submit(req)
        console.print(j["id"])
        try:
            record_operator(
                d,
                s.neo4j_database,
                "jobs submit",
                {"job": j["id"], "kind": kind, "params": checked},
                datasets=[dataset_id],
            )
        except Exception as e:  # the job stands: say so, and go on
            err.print(f"warning: the audit event of job {j['id']} was not written: {e}")


@job_app.command("show")
def job_show(job_id: str) -> None:
    """A job's status, progress, attempts and error."""
    from connectomedb.store.jobs import JobQueue

    with connect() as (s, d), exit_on_error():
        j = JobQueue(d, s.neo4j_database).job(job_id)
        for k in sorted(j):
            if k not in ("claim", "lock_seq"):
                console.print(f"{k}: {j[k]}", highlight=False)


@job_app.command("cancel")
def job_cancel(job_id: str) -> None:
    """Cancel a queued job, or stop a running one at its next progress point."""
    from connectomedb.store.jobs import JobQueue

    with connect() as (s, d), exit_on_error():
        j = JobQueue(d, s.neo4j_database).cancel(job_id)
        console.print(f"{j['id']}: {j['status']} (cancel requested: {j['cancel_requested']})")
