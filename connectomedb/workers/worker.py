"""A worker: claim a job, run it under a renewed lease, write its result.

Run as many workers as you like (``connectomedb worker``), on any machine that reaches
Neo4j. Each claims one job per write transaction. While the job runs, a heartbeat thread
renews the lease every ``min(lease / 3, 1 s)`` and writes the progress the job noted;
the job's progress points stop it when the heartbeat has seen a cancel request. The
ModelRun and every per-neuron output are written in the transaction that marks the job
succeeded. A worker that dies (even by SIGKILL) stops renewing; when its lease expires
another worker claims the job again, up to ``max_attempts`` claims, and a job that
nobody may claim any more (out of attempts, or cancelled) is finished by the next
worker's reaper. A job that never reaches a progress point cannot be cancelled.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import traceback
from pathlib import Path
from typing import Any

import neo4j
from pydantic import ValidationError

from connectomedb import __version__
from connectomedb.errors import BadInput, ConfigError
from connectomedb.jobs.registry import get_kind
from connectomedb.schema.jobs import DEFAULT_QUEUE
from connectomedb.store.jobs import JobQueue, LeaseLost

log = logging.getLogger("connectomedb.worker")


class Cancelled(Exception):
    """A cancel was asked for; raised at the job's next progress point."""


class Context:
    """What a running job sees (:class:`connectomedb.jobs.contract.JobContext`): the
    driver, its dataset, a folder for files and ``progress``."""

    def __init__(
        self, queue: JobQueue, job: dict[str, Any], heartbeat: _Heartbeat, artifacts: Path
    ) -> None:
        self.queue = queue
        self.artifacts = artifacts  # where jobs write files their ModelRun refers to
        self.driver: neo4j.Driver = queue.driver
        self.database = queue.database
        self.job = job
        self.dataset: str = job["dataset"]
        self._heartbeat = heartbeat

    def progress(self, fraction: float, message: str = "") -> None:
        """Note progress (the heartbeat writes it with the next lease renewal) and stop
        here if a cancel was asked for.

        Raises:
            Cancelled: a cancel was asked for.
            LeaseLost: the job was taken over by another worker.
        """
        self._heartbeat.note(min(max(fraction, 0.0), 1.0), message)
        self._heartbeat.check()


class _Heartbeat(threading.Thread):
    """The one writer of a running job's lease and progress: renews every
    ``min(lease_s / 3, 1 s)`` and picks up a cancel request when it does."""

    def __init__(self, queue: JobQueue, job: dict[str, Any], lease_s: float) -> None:
        super().__init__(name=f"heartbeat-{job['id']}", daemon=True)
        self.queue = queue
        self.job = job
        self.lease_s = lease_s
        self.stopped = threading.Event()
        self.cancel = False
        self.lost = False
        self._progress: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def note(self, fraction: float, message: str) -> None:
        with self._lock:
            self._progress = (fraction, message)

    def run(self) -> None:
        while not self.stopped.wait(min(self.lease_s / 3, 1.0)):
            with self._lock:
                p, self._progress = self._progress, None
            try:
                cancel = self.queue.renew(
                    self.job, self.lease_s, p[0] if p else None, p[1] if p else None
                )
                self.cancel = self.cancel or cancel
            except LeaseLost:
                self.lost = True
                return
            except Exception:  # a transient database error: try again next beat
                log.exception("renewing the lease of %s failed", self.job["id"])

    def stop(self) -> None:
        self.stopped.set()
        self.join()

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(f"job {self.job['id']} was taken over")
        if self.cancel:
            raise Cancelled()


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        driver: neo4j.Driver,
        database: str,
        worker_id: str | None = None,
        lease_s: float = 30.0,
        poll_s: float = 1.0,
        queue: str = DEFAULT_QUEUE,
        artifacts: Path | None = None,
    ) -> None:
        if lease_s <= 0 or poll_s <= 0:
            raise BadInput("lease and poll intervals must be positive")
        self.queue = JobQueue(driver, database)
        self.id = worker_id or default_worker_id()
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.queue_name = queue
        self.artifacts = artifacts or Path.home() / ".cache" / "connectomedb" / "artifacts"
        self.stopping = threading.Event()

    def run_once(self) -> dict[str, Any] | None:
        """Claim and run one job; returns it (as claimed) or None when none was free."""
        self.queue.reap()
        job = self.queue.claim(self.id, self.lease_s, self.queue_name)
        if job is None:
            return None
        log.info("claimed %s (%s, attempt %d)", job["id"], job["kind"], job["attempts"])
        print(f"claimed {job['id']} attempt {job['attempts']} by {self.id}", flush=True)
        beat = _Heartbeat(self.queue, job, self.lease_s)
        beat.start()
        try:
            self._execute(job, beat)
        finally:
            if beat.is_alive():
                beat.stop()
        return job

    def _execute(self, job: dict[str, Any], beat: _Heartbeat) -> None:
        ctx = Context(self.queue, job, beat, self.artifacts)
        try:
            k = get_kind(job["kind"])
            params = k.params.model_validate(json.loads(job["params"]))
            try:
                result = k.load()(ctx, params)
            except ImportError as e:  # a package its computation imports when it needs it
                raise k.missing(e) from e
            beat.stop()  # the lease stays ours until it expires; one writer at a time
            beat.check()
            run_id = self.queue.succeed(job, result, __version__)
            log.info("%s succeeded: %s", job["id"], run_id)
        except Cancelled:
            beat.stop()
            try:
                self.queue.record_cancelled(job)
                log.info("%s cancelled", job["id"])
            except Exception:  # the reaper finishes it once the lease expires
                log.exception("recording the cancel of %s failed", job["id"])
        except LeaseLost:
            log.warning("%s was taken over by another worker; its result is dropped", job["id"])
        except (BadInput, ValidationError, ConfigError) as e:  # cannot work here: no retry
            beat.stop()
            self._fail(job, f"{type(e).__name__}: {e}", retry=False)
        except Exception as e:
            log.error("%s failed:\n%s", job["id"], traceback.format_exc())
            beat.stop()
            self._fail(job, f"{type(e).__name__}: {e}", retry=True)

    def _fail(self, job: dict[str, Any], error: str, retry: bool) -> None:
        try:
            status = self.queue.fail(job, error[:2000], retry)
            log.info("%s %s: %s", job["id"], status, error)
        except LeaseLost:
            log.warning("%s was taken over before its failure was recorded", job["id"])
        except Exception:  # the lease expires and the job is claimed or reaped again
            log.exception("recording the failure of %s failed", job["id"])

    def run(self, max_jobs: int | None = None, exit_when_idle: bool = False) -> int:
        """Work until stopped (SIGTERM or SIGINT finish the current job first), until
        ``max_jobs`` jobs ran, or, with ``exit_when_idle``, until the queue is empty."""
        done = 0
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stopping.set())
        while not self.stopping.is_set() and (max_jobs is None or done < max_jobs):
            try:
                job = self.run_once()
            except neo4j.exceptions.ServiceUnavailable:
                log.warning("Neo4j is not reachable; retrying in %.1f s", self.poll_s)
                job = None
            except Exception:  # one bad turn must not end the worker
                log.exception("a worker turn failed; retrying in %.1f s", self.poll_s)
                job = None
            if job is None:
                if exit_when_idle:
                    break
                self.stopping.wait(self.poll_s)
            else:
                done += 1
        return done
