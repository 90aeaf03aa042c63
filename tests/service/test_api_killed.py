"""The API process killed (SIGKILL) in the middle of writes: every annotation and job it
acknowledged is in the database afterwards, and a new API process serves at once.
(A worker killed mid-job: tests/workers/test_worker.py, whose job another worker
finishes once its lease expires.)"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import httpx
import neo4j

from connectomedb.settings import Settings
from tests.bench import load_bench
from tests.world import World

faults = load_bench("faults")

ANNOTATE = """mutation($ds: ID!, $k: String!, $v: String!) {
  annotateNeuron(dataset: $ds, neuron: "AVAL", key: $k, value: $v) { id } }"""
SUBMIT = """mutation($ds: ID!, $q: String!) {
  submitJob(dataset: $ds, kind: PROBE, queue: $q) { id } }"""


def test_what_the_api_acknowledged_survives_its_death(
    world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    tag = uuid.uuid4().hex[:8]
    key, queue = f"killed_{tag}", f"q_killed_{tag}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    acked: dict[str, list[str]] = {"annotation": [], "job": []}
    stop = threading.Event()
    token = {"Authorization": f"Bearer {world.tokens['carol']}"}

    def writer(url: str, kind: str, i: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if kind == "annotation":
                body = {
                    "query": ANNOTATE,
                    "variables": {"ds": world.cook, "k": key, "v": f"{i}.{n}"},
                }
            else:
                body = {"query": SUBMIT, "variables": {"ds": world.cook, "q": queue}}
            try:
                r = httpx.post(f"{url}/graphql", json=body, headers=token, timeout=30)
            except httpx.HTTPError:
                return  # the server is gone
            data = r.json().get("data") or {}
            field = "annotateNeuron" if kind == "annotation" else "submitJob"
            if data.get(field):
                acked[kind].append(data[field]["id"])

    try:
        with faults.api(env) as (url, proc):
            threads = [
                threading.Thread(target=writer, args=(url, kind, i), daemon=True)
                for i, kind in enumerate(["annotation"] * 3 + ["job"])
            ]
            for t in threads:
                t.start()
            time.sleep(4)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
            stop.set()
            for t in threads:
                t.join(60)
        assert len(acked["annotation"]) >= 5 and acked["job"], acked
        found = driver.execute_query(
            "MATCH (a:Annotation {dataset: $ds, key: $k}) RETURN collect(a.id) AS ids",
            ds=world.cook,
            k=key,
        ).records[0]["ids"]
        assert set(acked["annotation"]) <= set(found)
        jobs = driver.execute_query(
            "MATCH (j:Job {queue: $q}) RETURN collect(j.id) AS ids", q=queue
        ).records[0]["ids"]
        assert set(acked["job"]) <= set(jobs)
        # a new process serves at once, with everything acknowledged before
        with faults.api(env) as (url, _):
            q = """query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") {
                     annotations(history: true) { id key } } }"""
            r = httpx.post(
                f"{url}/graphql", json={"query": q, "variables": {"ds": world.cook}},
                headers=token, timeout=30,
            ).json()  # fmt: skip
            ids = {a["id"] for a in r["data"]["neuron"]["annotations"] if a["key"] == key}
            assert set(acked["annotation"]) <= ids
    finally:
        driver.execute_query("MATCH (j:Job {queue: $q}) DETACH DELETE j", q=queue)
        driver.execute_query(
            "MATCH (a:Annotation {dataset: $ds, key: $k}) DETACH DELETE a", ds=world.cook, k=key
        )
