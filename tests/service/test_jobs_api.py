"""Jobs, schedules and model runs over HTTP: the dataset's access rules on every field,
parameters checked per kind, results served on Neuron without one query per neuron."""

from __future__ import annotations

import uuid

import neo4j
import pytest

from connectomedb.settings import Settings
from connectomedb.workers.worker import Worker
from tests.world import World

SUBMIT = """mutation($ds: ID!, $kind: JobKind!, $params: JSON, $queue: String!) {
  submitJob(dataset: $ds, kind: $kind, params: $params, queue: $queue) {
    id status kind params requestedBy attempts maxAttempts queue } }"""
JOB = """query($id: ID!) { job(id: $id) { id status progress error
  modelRun { id kind metrics outputCount params codeVersion
             outputs(first: 3) { edges { node { neuron score vector } } } } } }"""


def _queue() -> str:
    return f"q_{uuid.uuid4().hex[:8]}"


def _work(driver: neo4j.Driver, settings: Settings, queue: str) -> None:
    Worker(driver, settings.neo4j_database, "api-test", 60, 0.1, queue).run(exit_when_idle=True)


def test_submit_needs_the_editor_role_and_valid_params(world: World) -> None:
    q = _queue()
    carol = world.client("carol")
    job = carol(SUBMIT, ds=world.cook, kind="PROBE", params={"steps": 2}, queue=q)["submitJob"]
    assert job["status"] == "QUEUED" and job["requestedBy"] == world.users["carol"]
    assert job["params"] == {"seconds": 0.0, "steps": 2} and job["queue"] == q
    code, _ = world.client("victor").error(SUBMIT, ds=world.cook, kind="PROBE", params={}, queue=q)
    assert code == "FORBIDDEN"  # a viewer may read, not run
    code, _ = world.client("bob").error(SUBMIT, ds=world.cook, kind="PROBE", params={}, queue=q)
    assert code == "NOT_FOUND"  # as for a dataset that does not exist
    code, _ = world.client(None).error(SUBMIT, ds=world.cook, kind="PROBE", params={}, queue=q)
    assert code == "UNAUTHENTICATED"
    code, msg = carol.error(SUBMIT, ds=world.cook, kind="CENSUS", params={"samples": 0}, queue=q)
    assert code == "BAD_INPUT" and "samples" in msg
    code, msg = carol.error(SUBMIT, ds=world.cook, kind="PROBE", params={"sleep": 1}, queue=q)
    assert code == "BAD_INPUT" and "sleep" in msg
    code, _ = carol.error(SUBMIT, ds=world.cook, kind="PROBE", params=[1, 2], queue=q)
    assert code == "BAD_INPUT"


def test_jobs_and_runs_are_seen_by_readers_only(
    world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    q = _queue()
    carol, victor, bob = world.client("carol"), world.client("victor"), world.client("bob")
    job = carol(SUBMIT, ds=world.cook, kind="EMBEDDING", params={"dim": 2}, queue=q)["submitJob"]
    _work(driver, settings, q)
    done = victor(JOB, id=job["id"])["job"]
    assert done["status"] == "SUCCEEDED" and done["progress"] == 1.0
    run = done["modelRun"]
    assert run["kind"] == "EMBEDDING" and run["outputCount"] == 302
    assert run["params"]["dim"] == 2 and run["codeVersion"]
    assert len(run["outputs"]["edges"]) == 3
    assert len(run["outputs"]["edges"][0]["node"]["vector"]) == 4
    missing = bob.error(JOB, id="job_doesnotexist")
    hidden = bob.error(JOB, id=job["id"])
    assert (hidden[0], hidden[1].replace(job["id"], "job_doesnotexist")) == missing
    runs = victor(
        "query($ds: ID!) { modelRuns(dataset: $ds, kind: EMBEDDING) { edges { node { id } } } }",
        ds=world.cook,
    )["modelRuns"]["edges"]
    assert run["id"] in [r["node"]["id"] for r in runs]
    one = "query($id: ID!) { modelRun(id: $id) { id } }"
    assert victor(one, id=run["id"])["modelRun"]["id"] == run["id"]
    code, msg = bob.error(one, id=run["id"])
    assert (code, msg.replace(run["id"], "x")) == bob.error(one, id="x")
    listed = victor(
        "query($ds: ID!) { jobs(dataset: $ds, status: SUCCEEDED, first: 500) { edges { node { id } } } }",
        ds=world.cook,
    )["jobs"]["edges"]
    assert job["id"] in [j["node"]["id"] for j in listed]


def test_results_on_neurons_come_in_a_fixed_number_of_queries(
    world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    q = _queue()
    carol = world.client("carol")
    runs = {}
    for kind, params in (
        ("EMBEDDING", {"dim": 2}),
        ("ANOMALY", {}),
        ("CELLTYPE_GNN", {"seeds": 1, "epochs": 20}),
    ):
        job = carol(SUBMIT, ds=world.cook, kind=kind, params=params, queue=q)["submitJob"]
        runs[kind] = job["id"]
    _work(driver, settings, q)
    page = """query($ds: ID!, $n: Int!) { neurons(dataset: $ds, first: $n) { edges { node {
      id embedding { run vector layout } anomalyScore { run score }
      predictions { run label confidence } } } } }"""
    c = world.client("victor")
    counts = {}
    for n in (5, 100):
        nodes = [e["node"] for e in c(page, ds=world.cook, n=n)["neurons"]["edges"]]
        counts[n] = c.last_queries
        assert all(x["embedding"] and len(x["embedding"]["layout"]) == 2 for x in nodes)
        assert all(x["anomalyScore"]["score"] >= 0 for x in nodes)
        assert all(
            x["predictions"]["label"] in {"interneuron", "motor", "pharyngeal", "sensory"}
            for x in nodes
        )
    assert counts[5] == counts[100]
    # the values served on Neuron are the run's outputs
    run_id = c(JOB, id=runs["ANOMALY"])["job"]["modelRun"]["id"]
    outs = c(
        "query($id: ID!) { modelRun(id: $id) { outputs(first: 1000) { edges { node { neuron score } } } } }",
        id=run_id,
    )["modelRun"]["outputs"]["edges"]
    by_id = {o["node"]["neuron"]: o["node"]["score"] for o in outs}
    nodes = [e["node"] for e in c(page, ds=world.cook, n=50)["neurons"]["edges"]]
    assert all(x["anomalyScore"]["run"] == run_id for x in nodes)
    assert all(x["anomalyScore"]["score"] == pytest.approx(by_id[x["id"]]) for x in nodes)


def test_cancel_and_schedules_follow_the_dataset_roles(world: World) -> None:
    q = _queue()
    carol, victor, bob = world.client("carol"), world.client("victor"), world.client("bob")
    job = carol(SUBMIT, ds=world.cook, kind="PROBE", params={}, queue=q)["submitJob"]
    cancel = "mutation($id: ID!) { cancelJob(id: $id) { status cancelRequested } }"
    assert victor.error(cancel, id=job["id"])[0] == "FORBIDDEN"
    assert bob.error(cancel, id=job["id"])[0] == "NOT_FOUND"
    assert carol(cancel, id=job["id"])["cancelJob"] == {
        "status": "CANCELLED",
        "cancelRequested": True,
    }
    create = """mutation($ds: ID!, $cron: String!) {
      createSchedule(dataset: $ds, kind: ANOMALY, cron: $cron, queue: "nobody-serves-this") {
        id cron kind nextDue enabled params } }"""
    code, msg = carol.error(create, ds=world.cook, cron="61 * * * *")
    assert code == "BAD_INPUT" and "cron" in msg
    assert victor.error(create, ds=world.cook, cron="0 3 * * *")[0] == "FORBIDDEN"
    s = carol(create, ds=world.cook, cron="0  3 * * 1")["createSchedule"]
    assert s["cron"] == "0 3 * * 1" and s["enabled"] and s["params"]["method"] == "type_profile"
    assert s["nextDue"].endswith("03:00:00+00:00")
    listed = victor("query($ds: ID!) { schedules(dataset: $ds) { id } }", ds=world.cook)
    assert s["id"] in [x["id"] for x in listed["schedules"]]
    assert bob.error("query($ds: ID!) { schedules(dataset: $ds) { id } }", ds=world.cook)[0] == (
        "NOT_FOUND"
    )
