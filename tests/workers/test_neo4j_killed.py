"""Neo4j killed (SIGKILL, the whole process group) while a dataset loads and jobs run,
and started again once the load has given up, all real processes on a Neo4j of its own: the load, run
again, resumes and ends with exactly the rows of an undisturbed load; the workers live
through the outage and every job finishes once, with one run."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neo4j
import pytest

from connectomedb import localneo4j
from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.driver import make_driver
from connectomedb.store.jobs import JobQueue
from tests.bench import load_bench

faults = load_bench("faults")
CLI = str(Path(sys.executable).parent / "connectomedb")

#: the synthetic dataset loaded under fire, and its undisturbed twin
SYNTHETIC = ("--neurons", "2000", "--connections", "60000", "--seed", "11", "--no-warm")
RESUME = "run the same command again to resume"

COUNTS = """
MATCH (d:Dataset {id: $ds})
CALL (d) { MATCH (c:Cell {dataset: d.id}) RETURN count(c) AS cells }
CALL (d) { MATCH (:Cell {dataset: d.id})-[r:CONNECTS_TO]->() RETURN count(r) AS connections,
           sum(r.weight) AS weight }
CALL (d) { MATCH (y:Synapse {dataset: d.id}) RETURN count(y) AS synapses }
CALL (d) { MATCH (:Cell {dataset: d.id})-[g:GAP_JUNCTION]->() RETURN count(g) AS gaps }
RETURN d.status AS status, cells, connections, weight, synapses, gaps
"""

JOBS = """
MATCH (j:Job) WHERE j.id IN $ids OPTIONAL MATCH (j)-[:PRODUCED]->(r:ModelRun)
RETURN j.id AS id, j.status AS status, j.attempts AS attempts, count(r) AS runs
"""


def _until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if cond():
                return
        except neo4j.exceptions.Neo4jError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _counts(drv: neo4j.Driver, ds: str) -> dict[str, Any]:
    recs = drv.execute_query(COUNTS, ds=ds).records
    return dict(recs[0]) if recs else {}


@dataclass
class Outage:
    load: list[str]  # the load command
    first: tuple[int, str]  # its exit code and stderr, cut by the outage
    again: subprocess.CompletedProcess[str]  # the same command, run again
    counts: dict[str, Any]  # of the dataset loaded twice
    twin: dict[str, Any]  # of the same dataset loaded without an outage
    jobs: dict[str, dict[str, Any]]
    workers_alive: bool


@pytest.fixture(scope="module")
def outage(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    home = tmp_path_factory.mktemp("neo4j-killed")
    with faults.own_server(settings, home) as s:
        env = faults.env_for(s, 20)
        faults.cli(env, "db", "init")
        tag = uuid.uuid4().hex[:6]
        ds, jobs_ds, queue = f"killed_{tag}", f"jobs_{tag}", f"q_{tag}"
        faults.cli(env, "load", "synthetic", "--id", jobs_ds, "--neurons", "200",
                   "--connections", "1000", "--no-warm")  # fmt: skip
        drv = make_driver(s)
        q = JobQueue(drv, s.neo4j_database)
        ids = [
            q.submit(JobRequest(jobs_ds, "probe", {"seconds": 6, "steps": 30}, None, 5, queue))[
                "id"
            ]
            for _ in range(4)
        ]
        workers = [
            subprocess.Popen(
                [CLI, "worker", "--queue", queue, "--lease", "4", "--poll", "0.3"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        load = [CLI, "load", "synthetic", "--id", ds, "--batch-size", "1000", *SYNTHETIC]
        first = subprocess.Popen(
            load, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            _until(lambda: any(q.job(i)["progress"] > 0 for i in ids), 120, "a job to run")
            _until(lambda: (_counts(drv, ds).get("connections") or 0) > 0, 120, "connections")
            faults.kill_server(s)
            # the server stays dead until the load has given up (its driver retries
            # for 30 s), so that the load is cut, not merely slowed
            _, err = first.communicate(timeout=300)
            localneo4j.start(s)
            again = subprocess.run(load, env=env, capture_output=True, text=True, timeout=600)
            twin = f"{ds}_twin"
            clean = [CLI, "load", "synthetic", "--id", twin, "--batch-size", "1000", *SYNTHETIC]
            subprocess.run(clean, env=env, check=True, capture_output=True, timeout=600)
            _until(
                lambda: all(q.job(i)["status"] in ("succeeded", "failed") for i in ids),
                240,
                "every job to end",
            )
            alive = all(w.poll() is None for w in workers)
            yield Outage(
                load=load,
                first=(first.returncode, err),
                again=again,
                counts=_counts(drv, ds),
                twin=_counts(drv, twin),
                jobs={r["id"]: dict(r) for r in drv.execute_query(JOBS, ids=ids).records},
                workers_alive=alive,
            )
        finally:
            first.kill()
            for w in workers:
                w.terminate()
                w.communicate(timeout=60)
            drv.close()


def test_a_load_cut_by_a_dead_server_resumes_to_the_exact_rows(outage: Outage) -> None:
    code, err = outage.first
    # the cut load failed with one line that says what to do
    assert code == 1 and "Traceback" not in err and RESUME in err, (code, err[-2000:])
    assert outage.again.returncode == 0, outage.again.stderr[-2000:]
    assert "resumed" in outage.again.stdout, outage.again.stdout[-1000:]
    assert outage.counts == outage.twin
    assert outage.counts["status"] == "ready" and outage.counts["connections"] > 50_000


def test_jobs_running_through_a_dead_server_each_finish_once(outage: Outage) -> None:
    assert outage.workers_alive  # both lived through the outage
    assert len(outage.jobs) == 4
    for j in outage.jobs.values():
        assert j["status"] == "succeeded", j
        assert j["runs"] == 1, j  # finished once, whatever attempts it took
