"""Jobs in the graph (schedules: :mod:`connectomedb.store.schedules`; what jobs produce:
:mod:`connectomedb.store.runs`).

A job moves ``queued -> running -> succeeded | failed | cancelled``. Every change of a
job first takes the job node's write lock in one statement and re-reads it in the next
(see :data:`LOCK_JOB`), inside one transaction: a read before the lock may be stale, a
read after it is the last committed state, so two workers can never both claim, finish
or fail the same run. Times are the database server's clock (``timestamp()``, ms), so
workers on machines with skewed clocks agree on leases.

The worker side (claim, renew, finish, fail) and the CLI use the sync driver
(:class:`JobQueue`); the API side (submit, cancel, list) the async :class:`Store`
(:class:`JobRepository`). Both run the Cypher below.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any, Final

import neo4j

from connectomedb.errors import NotFound
from connectomedb.jobs.contract import RunResult
from connectomedb.schema.jobs import (
    CANCELLED,
    DEFAULT_QUEUE,
    FAILED,
    NEW_JOB_STATE,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    JobRequest,
    new_id,
)
from connectomedb.store.driver import READ, chained_session
from connectomedb.store.graphdb import Store
from connectomedb.store.runs import RunRepository, write_run
from connectomedb.store.schedules import ScheduleRepository

LOCK_JOB: Final = "MATCH (j:Job {id: $id}) SET j.lock_seq = coalesce(j.lock_seq, 0) + 1"
READ_JOB: Final = "MATCH (j:Job {id: $id}) RETURN j {.*, now: timestamp()} AS job"

SUBMIT: Final = f"""
CREATE (j:Job {{id: $id, kind: $kind, params: $params, dataset: $dataset,
               requested_by: $user, queue: $queue, max_attempts: $max_attempts,
               {NEW_JOB_STATE}}})
RETURN j {{.*}} AS job"""

CANDIDATES: Final = """
MATCH (j:Job) WHERE j.queue = $queue AND NOT j.cancel_requested
  AND j.attempts < j.max_attempts
  AND (j.status = 'queued' OR (j.status = 'running' AND j.lease_until < timestamp()))
RETURN j.id AS id ORDER BY j.created_at, j.id LIMIT $scan"""

CLAIM: Final = """
MATCH (j:Job {id: $id})
SET j.status = 'running', j.worker = $worker, j.claim = $claim,
    j.attempts = j.attempts + 1, j.lease_until = timestamp() + $lease_ms,
    j.started_at = timestamp(), j.progress = 0.0, j.message = 'claimed'
RETURN j {.*} AS job"""

RENEW: Final = """
MATCH (j:Job {id: $id})
SET j.lease_until = timestamp() + $lease_ms,
    j.progress = coalesce($progress, j.progress), j.message = coalesce($message, j.message)
RETURN j.cancel_requested AS cancel"""

FINISH: Final = """
MATCH (j:Job {id: $id})
SET j.status = $status, j.finished_at = timestamp(), j.error = $error,
    j.progress = CASE WHEN $status = 'succeeded' THEN 1.0 ELSE j.progress END,
    j.message = $message, j.lease_until = null, j.run_id = $run_id
RETURN j {.*} AS job"""

REQUEUE: Final = """
MATCH (j:Job {id: $id})
SET j.status = 'queued', j.error = $error, j.message = 'retrying after: ' + $error,
    j.lease_until = null, j.worker = null, j.claim = null
RETURN j {.*} AS job"""


JOB: Final = "MATCH (j:Job {id: $id}) RETURN j {.*} AS job"

JOBS: Final = """
MATCH (j:Job) WHERE j.dataset IN $datasets
  AND ($status IS NULL OR j.status = $status) AND ($kind IS NULL OR j.kind = $kind)
  AND ($requested_by IS NULL OR j.requested_by = $requested_by)
RETURN j {.*} AS job ORDER BY j.created_at DESC, j.id DESC SKIP $skip LIMIT $limit"""

CANCEL: Final = """
MATCH (j:Job {id: $id})
WITH j, j.status AS was,
     j.status = 'queued' OR (j.status = 'running' AND j.lease_until < timestamp()) AS now
SET j.status = CASE WHEN now THEN 'cancelled' ELSE was END,
    j.finished_at = CASE WHEN now THEN timestamp() ELSE j.finished_at END,
    j.lease_until = CASE WHEN now THEN null ELSE j.lease_until END,
    j.cancel_requested = CASE WHEN was IN ['queued', 'running'] THEN true
                              ELSE j.cancel_requested END
RETURN j {.*} AS job"""

#: running jobs whose lease expired and that nobody may claim again: out of attempts, or
#: cancelled (their worker stopped before it saw the cancel)
ABANDONED: Final = """
MATCH (j:Job {status: 'running'})
WHERE j.lease_until < timestamp() AND (j.attempts >= j.max_attempts OR j.cancel_requested)
RETURN j.id AS id LIMIT 100"""


#: Jobs, schedules and model runs (with their outputs) of a dataset, removed with it.
DELETE_DATASET_JOBS: Final = """
MATCH (x) WHERE (x:Job OR x:Schedule OR x:ModelRun) AND x.dataset = $dataset
CALL (x) { DETACH DELETE x } IN TRANSACTIONS OF 1000 ROWS"""


def submit_args(req: JobRequest) -> dict[str, Any]:
    """The parameters of :data:`SUBMIT` for a new job (its params stored as JSON text)."""
    return {
        "id": new_id("job"),
        "kind": req.kind,
        "params": json.dumps(req.params, sort_keys=True),
        "dataset": req.dataset,
        "user": req.user,
        "max_attempts": req.max_attempts,
        "queue": req.queue,
    }


def ms_to_datetime(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def _finish(
    tx: neo4j.ManagedTransaction,
    job_id: str,
    status: str,
    message: str,
    error: str | None = None,
    run_id: str | None = None,
) -> None:
    """Mark a locked job finished with ``status`` (:data:`FINISH`)."""
    tx.run(FINISH, id=job_id, status=status, error=error, message=message, run_id=run_id).consume()


class LeaseLost(Exception):
    """The job is no longer this worker's (its lease expired and another claimed it)."""


class JobQueue:
    """The worker side of the queue, and submit/show/cancel for the CLI (sync driver)."""

    def __init__(self, driver: neo4j.Driver, database: str) -> None:
        self.driver = driver
        self.database = database

    def _write(self, work: Any) -> Any:
        with chained_session(self.driver, self.database) as s:
            return s.execute_write(work)

    @staticmethod
    def _locked(tx: neo4j.ManagedTransaction, job_id: str) -> dict[str, Any] | None:
        tx.run(LOCK_JOB, id=job_id).consume()
        rec = tx.run(READ_JOB, id=job_id).single()
        return dict(rec["job"]) if rec else None

    # -- submit (CLI and tests) ----------------------------------------------------------
    def submit(self, req: JobRequest) -> dict[str, Any]:
        rec = self.driver.execute_query(SUBMIT, submit_args(req), database_=self.database).records[
            0
        ]
        return dict(rec["job"])

    def job(self, job_id: str) -> dict[str, Any]:
        recs = self.driver.execute_query(
            JOB, id=job_id, database_=self.database, routing_=READ
        ).records
        if not recs:
            raise NotFound(f"job {job_id!r} not found")
        return dict(recs[0]["job"])

    # -- worker ------------------------------------------------------------------------------
    def reap(self) -> int:
        """Finish running jobs whose lease expired and that nobody may claim again:
        cancelled when a cancel was asked for, failed when out of attempts. Each is
        locked and re-read first (it may have finished meanwhile). Returns how many."""

        def work(tx: neo4j.ManagedTransaction) -> int:
            done = 0
            for r in list(tx.run(ABANDONED)):
                j = self._locked(tx, r["id"])
                if j is None or j["status"] != RUNNING or (j.get("lease_until") or 0) >= j["now"]:
                    continue
                if j["cancel_requested"]:
                    status, error = CANCELLED, None
                    message = "cancelled (its worker stopped before the next progress point)"
                elif j["attempts"] >= j["max_attempts"]:
                    status, message = FAILED, "failed"
                    error = (
                        f"the worker stopped answering (lease expired) on attempt "
                        f"{j['attempts']} of {j['max_attempts']}"
                        + (f"; earlier: {j['error']}" if j.get("error") else "")
                    )
                else:
                    continue
                _finish(tx, j["id"], status, message, error)
                done += 1
            return done

        return self._write(work)  # type: ignore[no-any-return]

    def claim(
        self, worker: str, lease_s: float, queue: str = DEFAULT_QUEUE, scan: int = 4
    ) -> dict[str, Any] | None:
        """Claim the oldest claimable job of ``queue`` (queued, or running with an expired
        lease) in one write transaction, or None when there is none."""

        def work(tx: neo4j.ManagedTransaction) -> dict[str, Any] | None:
            ids = [r["id"] for r in tx.run(CANDIDATES, scan=scan, queue=queue)]
            for job_id in ids:
                j = self._locked(tx, job_id)
                if j is None:
                    continue
                free = j["status"] == QUEUED or (
                    j["status"] == RUNNING and (j.get("lease_until") or 0) < j["now"]
                )
                if free and j["attempts"] < j["max_attempts"] and not j["cancel_requested"]:
                    rec = tx.run(
                        CLAIM,
                        id=job_id,
                        worker=worker,
                        claim=secrets.token_hex(8),
                        lease_ms=int(lease_s * 1000),
                    ).single()
                    assert rec is not None
                    return dict(rec["job"])
            return None

        return self._write(work)  # type: ignore[no-any-return]

    def _mine(self, tx: neo4j.ManagedTransaction, job: dict[str, Any]) -> dict[str, Any]:
        j = self._locked(tx, job["id"])
        if j is None or j["status"] != RUNNING or j.get("claim") != job["claim"]:
            raise LeaseLost(f"job {job['id']} is no longer held by this worker")
        return j

    def renew(
        self,
        job: dict[str, Any],
        lease_s: float,
        progress: float | None = None,
        message: str | None = None,
    ) -> bool:
        """Extend the lease (and record progress); True when a cancel was asked for.

        Raises:
            LeaseLost: when the job was claimed by another worker or finished meanwhile.
        """

        def work(tx: neo4j.ManagedTransaction) -> bool:
            self._mine(tx, job)
            rec = tx.run(
                RENEW,
                id=job["id"],
                lease_ms=int(lease_s * 1000),
                progress=progress,
                message=message,
            ).single()
            assert rec is not None
            return bool(rec["cancel"])

        return self._write(work)  # type: ignore[no-any-return]

    def succeed(
        self,
        job: dict[str, Any],
        result: RunResult,
        code_version: str,
        batch: int = 5_000,
    ) -> str:
        """Write the ModelRun with every output and mark the job succeeded, in one
        transaction: a crash or a lost lease leaves neither."""
        run_id = new_id("run")

        def work(tx: neo4j.ManagedTransaction) -> str:
            self._mine(tx, job)
            write_run(tx, run_id, job, result, code_version, batch)
            _finish(tx, job["id"], SUCCEEDED, "done", run_id=run_id)
            return run_id

        return self._write(work)  # type: ignore[no-any-return]

    def fail(self, job: dict[str, Any], error: str, retry: bool) -> str:
        """Record ``error``: queued again when ``retry`` and attempts remain, otherwise
        failed. Returns the new status."""

        def work(tx: neo4j.ManagedTransaction) -> str:
            j = self._mine(tx, job)
            if retry and j["attempts"] < j["max_attempts"] and not j["cancel_requested"]:
                tx.run(REQUEUE, id=job["id"], error=error).consume()
                return QUEUED
            _finish(tx, job["id"], FAILED, "failed", error)
            return FAILED

        return self._write(work)  # type: ignore[no-any-return]

    def record_cancelled(self, job: dict[str, Any]) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            self._mine(tx, job)
            _finish(tx, job["id"], CANCELLED, "cancelled at a progress point")

        self._write(work)

    def cancel(self, job_id: str) -> dict[str, Any]:
        def work(tx: neo4j.ManagedTransaction) -> dict[str, Any]:
            if self._locked(tx, job_id) is None:
                raise NotFound(f"job {job_id!r} not found")
            rec = tx.run(CANCEL, id=job_id).single()
            assert rec is not None
            return dict(rec["job"])

        return self._write(work)  # type: ignore[no-any-return]


class JobRepository(ScheduleRepository, RunRepository):
    """The API side: submit, cancel, read jobs (and, inherited, schedules and runs; async)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def submit(self, req: JobRequest) -> dict[str, Any]:
        recs = await self.store.write("submit_job", SUBMIT, **submit_args(req))
        return dict(recs[0]["job"])

    async def job(self, job_id: str) -> dict[str, Any] | None:
        recs = await self.store.read("job", JOB, id=job_id)
        return dict(recs[0]["job"]) if recs else None

    async def jobs(
        self,
        datasets: list[str],
        status: str | None,
        kind: str | None,
        skip: int,
        limit: int,
        requested_by: str | None = None,
    ) -> list[dict[str, Any]]:
        """A page of the jobs on ``datasets``, newest first (optionally of one status,
        kind or requester)."""
        recs = await self.store.read(
            "jobs",
            JOBS,
            datasets=datasets,
            status=status,
            kind=kind,
            requested_by=requested_by,
            skip=skip,
            limit=limit,
        )
        return [dict(r["job"]) for r in recs]

    async def cancel(self, job_id: str) -> dict[str, Any]:
        out = await self.store.write_tx(
            "cancel_job", [(LOCK_JOB, {"id": job_id}), (CANCEL, {"id": job_id})]
        )
        if not out[1]:  # deleted with its dataset meanwhile
            raise NotFound(f"job {job_id!r} not found")
        return dict(out[1][0]["job"])

    async def now(self) -> int:
        """The database server's clock (ms), which schedules and leases run on."""
        recs = await self.store.read("now", "RETURN timestamp() AS now")
        return int(recs[0]["now"])
