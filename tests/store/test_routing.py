"""A routing URI (``neo4j://``, as for a cluster or Aura) against the local server: the
loader, the graph reader, a worker's job and the API all run through it unchanged."""

from __future__ import annotations

import neo4j
import numpy as np

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.access import SET_VISIBILITY
from connectomedb.store.driver import make_driver
from connectomedb.store.graph import read_graph
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker
from tests.world import Client, LiveServer


def routed(settings: Settings) -> Settings:
    scheme, sep, rest = settings.uri.partition("://")
    assert sep and scheme in ("bolt", "neo4j"), settings.uri
    return settings.model_copy(update={"neo4j_uri": f"neo4j://{rest}"})


def test_everything_runs_through_a_routing_uri(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    r = routed(settings)
    assert r.uri.startswith("neo4j://")
    d = make_driver(r)
    try:
        d.verify_connectivity()
        # a routing table came back from the server: the driver routes by it
        assert (
            d.execute_query("RETURN 1 AS one", routing_=neo4j.RoutingControl.READ).records[0]["one"]
            == 1
        )
        src = SyntheticSource(SyntheticParams(n_neurons=60, n_connections=400, seed=3), dataset_id)
        DatasetWriter(d, r.neo4j_database).load(src)
        d.execute_query(SET_VISIBILITY, dataset=dataset_id, visibility="public")
        g = read_graph(d, r.neo4j_database, dataset_id)
        # the same graph as through the plain bolt driver
        plain = read_graph(driver, settings.neo4j_database, dataset_id)
        assert g.ids == plain.ids and len(g.ids) == 60
        assert np.array_equal(g.pre, plain.pre) and np.array_equal(g.post, plain.post)

        queue = f"q_route_{dataset_id}"
        q = JobQueue(d, r.neo4j_database)
        job = q.submit(JobRequest(dataset_id, "probe", {}, None, 1, queue))
        Worker(d, r.neo4j_database, "routing-test", 60, 0.1, queue).run(exit_when_idle=True)
        done = q.job(job["id"])
        assert done["status"] == "succeeded", done
    finally:
        d.close()

    with LiveServer(r) as url:
        c = Client(url)
        got = c(
            """query($ds: ID!) { dataset(id: $ds) { neuronCount connectionCount }
            networkStatistics(dataset: $ds) { neurons connections } }""",
            ds=dataset_id,
        )
    assert got["dataset"]["neuronCount"] == got["networkStatistics"]["neurons"] == 60
    assert got["networkStatistics"]["connections"] == int((g.pre != g.post).sum())
