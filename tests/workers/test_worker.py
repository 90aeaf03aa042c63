"""The job queue with real worker and scheduler processes against the real Neo4j: no job
runs twice, a SIGKILLed worker's job is finished by another after its lease expires,
two schedulers enqueue each due time once, cancel stops queued and running jobs, and
failures are retried up to max_attempts."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

from connectomedb.jobs.cron import next_after
from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.jobs import DELETE_DATASET_JOBS, JobQueue
from connectomedb.store.schedules import CREATE_SCHEDULE

CLI = str(Path(sys.executable).parent / "connectomedb")


@pytest.fixture
def space(driver: neo4j.Driver, settings: Settings) -> Iterator[tuple[str, str, JobQueue]]:
    """A dataset name and a queue of its own, emptied afterwards."""
    tag = uuid.uuid4().hex[:8]
    ds, queue = f"t_jobs_{tag}", f"q_{tag}"
    yield ds, queue, JobQueue(driver, settings.neo4j_database)
    with driver.session(database=settings.neo4j_database) as s:
        s.run(DELETE_DATASET_JOBS, dataset=ds).consume()


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_mid_job(q: JobQueue, job_id: str, queue: str, *args: str) -> None:
    """Start a worker on ``queue`` (2 s lease) and SIGKILL it once the job has progress."""
    a = _spawn("worker", "--queue", queue, "--lease", "2", "--poll", "0.2", *args)
    try:
        _wait(lambda: q.job(job_id)["progress"] > 0, 60, "the worker to make progress")
    finally:
        a.send_signal(signal.SIGKILL)
        a.wait()


def _jobs(driver: neo4j.Driver, ds: str) -> list[dict[str, Any]]:
    recs, _, _ = driver.execute_query(
        "MATCH (j:Job {dataset: $ds}) OPTIONAL MATCH (j)-[:PRODUCED]->(r:ModelRun) "
        "RETURN j {.*} AS job, collect(r {.*}) AS runs",
        ds=ds,
    )
    return [{**r["job"], "runs": r["runs"]} for r in recs]


def test_four_workers_run_two_hundred_jobs_each_once(
    driver: neo4j.Driver, space: tuple[str, str, JobQueue]
) -> None:
    ds, queue, q = space
    ids = {
        q.submit(JobRequest(ds, "probe", {"seconds": 0, "steps": 1}, None, 3, queue))["id"]
        for _ in range(200)
    }
    workers = [
        _spawn("worker", "--queue", queue, "--exit-when-idle", "--poll", "0.2", "--id", f"w{i}")
        for i in range(4)
    ]
    outs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [e[-2000:] for _, e in outs]
    claims = [re.findall(r"^claimed (\S+) attempt (\d+) by (\S+)$", o, re.M) for o, _ in outs]
    claimed = Counter(job for c in claims for job, _, _ in c)
    assert set(claimed) == ids and set(claimed.values()) == {1}  # each job claimed once
    assert sum(1 for c in claims if c) >= 2  # the work was shared
    jobs = _jobs(driver, ds)
    assert len(jobs) == 200
    assert all(j["status"] == "succeeded" and j["attempts"] == 1 for j in jobs)
    assert all(len(j["runs"]) == 1 and j["runs"][0]["id"] == j["run_id"] for j in jobs)


def test_a_killed_workers_job_is_finished_by_another_after_the_lease(
    driver: neo4j.Driver, space: tuple[str, str, JobQueue]
) -> None:
    ds, queue, q = space
    job = q.submit(JobRequest(ds, "probe", {"seconds": 4, "steps": 40}, None, 3, queue))
    _kill_mid_job(q, job["id"], queue, "--id", "doomed")
    held = q.job(job["id"])
    assert held["status"] == "running" and held["worker"] == "doomed"
    b = _spawn(
        "worker",
        "--queue",
        queue,
        "--lease",
        "2",
        "--poll",
        "0.2",
        "--id",
        "heir",
    )
    # the heir must wait for the lease to run out before it can claim
    try:
        _wait(lambda: q.job(job["id"])["status"] == "succeeded", 60, "the heir to finish")
    finally:
        b.send_signal(signal.SIGTERM)
        b.communicate(timeout=60)
    done = _jobs(driver, ds)
    assert len(done) == 1
    j = done[0]
    assert j["worker"] == "heir" and j["attempts"] == 2
    assert j["started_at"] >= held["lease_until"]
    assert len(j["runs"]) == 1 and json.loads(j["runs"][0]["metrics"])["attempt"] == 2


def test_two_schedulers_enqueue_each_due_time_once(
    driver: neo4j.Driver, settings: Settings, space: tuple[str, str, JobQueue]
) -> None:
    ds, queue, _ = space
    now = driver.execute_query("RETURN timestamp() AS t").records[0]["t"]
    cron = "* * * * * */2"  # every two seconds
    first = next_after(cron, now)
    sid = f"sched_{uuid.uuid4().hex[:8]}"
    driver.execute_query(
        CREATE_SCHEDULE,
        id=sid,
        dataset=ds,
        kind="probe",
        params="{}",
        cron=cron,
        user=None,
        next_due=first,
        max_attempts=1,
        queue=queue,
    )
    schedulers = [_spawn("scheduler", "--tick", "0.25") for _ in range(2)]
    time.sleep(9)
    for s in schedulers:
        s.send_signal(signal.SIGTERM)
    logs = [s.communicate(timeout=30)[1] for s in schedulers]
    reported = sum(int(n) for log in logs for n in re.findall(r"enqueued (\d+) scheduled", log))
    driver.execute_query("MATCH (s:Schedule {id: $id}) SET s.enabled = false", id=sid)
    due = sorted(j["due"] for j in _jobs(driver, ds) if j.get("schedule") == sid)
    assert len(due) >= 3
    assert due == list(range(first, first + 2000 * len(due), 2000))  # each due time, once
    assert reported == len(due)  # and each was created by exactly one scheduler's tick
    # one audit event per scheduled job, written with it
    events = driver.execute_query(
        "MATCH (e:AuditEvent {action: 'scheduledJob'}) WHERE e.arguments CONTAINS $sid "
        "RETURN e.arguments AS a, e.datasets AS ds",
        sid=sid,
    ).records
    jobs = sorted(json.loads(r["a"])["job"] for r in events)
    assert jobs == sorted(j["id"] for j in _jobs(driver, ds) if j.get("schedule") == sid)
    assert all(r["ds"] == [ds] for r in events)


def test_cancel_a_queued_and_a_running_job(
    driver: neo4j.Driver, space: tuple[str, str, JobQueue]
) -> None:
    ds, queue, q = space
    queued = q.submit(JobRequest(ds, "probe", {}, None, 3, queue))
    assert q.cancel(queued["id"])["status"] == "cancelled"
    running = q.submit(JobRequest(ds, "probe", {"seconds": 60, "steps": 600}, None, 3, queue))
    w = _spawn("worker", "--queue", queue, "--lease", "3", "--poll", "0.2", "--exit-when-idle")
    _wait(lambda: q.job(running["id"])["progress"] > 0, 60, "the job to start")
    asked = q.cancel(running["id"])
    assert asked["status"] == "running" and asked["cancel_requested"]
    _wait(lambda: q.job(running["id"])["status"] == "cancelled", 10, "the job to stop")
    out, _ = w.communicate(timeout=60)
    assert queued["id"] not in out  # a cancelled queued job is never claimed
    jobs = {j["id"]: j for j in _jobs(driver, ds)}
    assert jobs[running["id"]]["progress"] < 0.5 and jobs[running["id"]]["runs"] == []


def test_failures_are_retried_then_fail_with_the_last_error(
    driver: neo4j.Driver, space: tuple[str, str, JobQueue]
) -> None:
    ds, queue, q = space
    job = q.submit(
        JobRequest(ds, "census", {"samples": 1}, None, 2, queue)
    )  # the dataset does not exist
    bad = q.submit(
        JobRequest(ds, "probe", {"seconds": -1}, None, 2, queue)
    )  # refused input: no retry
    w = _spawn("worker", "--queue", queue, "--poll", "0.2", "--exit-when-idle")
    out, err = w.communicate(timeout=120)
    assert w.returncode == 0, err[-2000:]
    j = q.job(job["id"])
    assert (j["status"], j["attempts"]) == ("failed", 2)
    assert "not found" in j["error"]
    b = q.job(bad["id"])
    assert (b["status"], b["attempts"]) == ("failed", 1)
    assert "greater than or equal to 0" in b["error"]


def test_a_cancel_outlives_the_worker_that_never_saw_it(
    driver: neo4j.Driver, space: tuple[str, str, JobQueue]
) -> None:
    """The worker dies before its next progress point: once the lease has expired the
    job is cancelled (by the cancel itself or by another worker's reaper), never run
    again, and never left running."""
    ds, queue, q = space
    job = q.submit(JobRequest(ds, "probe", {"seconds": 60, "steps": 600}, None, 3, queue))
    _kill_mid_job(q, job["id"], queue)
    asked = q.cancel(job["id"])
    assert asked["cancel_requested"]
    b = _spawn("worker", "--queue", queue, "--lease", "2", "--poll", "0.2", "--id", "reaper")
    try:
        _wait(lambda: q.job(job["id"])["status"] == "cancelled", 30, "the job to be cancelled")
    finally:
        b.send_signal(signal.SIGTERM)
        out, _ = b.communicate(timeout=60)
    assert job["id"] not in out  # the second worker never claimed it
    j = _jobs(driver, ds)[0]
    assert j["attempts"] == 1 and j["runs"] == [] and j.get("lease_until") is None
    late = q.cancel(job["id"])  # cancelling a finished job changes nothing
    assert late["status"] == "cancelled"


def _needs_a_missing_package(ctx: Any, p: Any) -> Any:
    import connectomedb_missing_package  # noqa: F401  (as torch on a worker without it)


@pytest.mark.parametrize(
    "run",
    [
        "connectomedb_without_torch.simulate:run",  # the kind's module does not import
        "tests.workers.test_worker:_needs_a_missing_package",  # it imports while it runs
    ],
)
def test_a_kind_this_worker_cannot_import_fails_at_once_with_what_to_install(
    driver: neo4j.Driver,
    settings: Settings,
    space: tuple[str, str, JobQueue],
    monkeypatch: pytest.MonkeyPatch,
    run: str,
) -> None:
    """As on a worker without the analytics extra."""
    from connectomedb.jobs import registry
    from connectomedb.workers import worker

    ds, queue, q = space
    missing = dataclasses.replace(registry.KINDS["simulate"], run=run)
    monkeypatch.setattr(worker, "get_kind", lambda name: missing)
    params = {"stimuli": [{"ids": ["a"]}]}
    job = q.submit(JobRequest(ds, "simulate", params, None, 3, queue))
    worker.Worker(driver, settings.neo4j_database, "no-torch", 30, 0.1, queue).run_once()
    j = q.job(job["id"])
    assert (j["status"], j["attempts"]) == ("failed", 1)  # no retry: it cannot work here
    assert "cannot run simulate jobs" in j["error"]
    assert "pip install 'connectomedb[analytics]'" in j["error"]
