"""A query past the API's Neo4j transaction time limit answers TIMEOUT over HTTP."""

from __future__ import annotations

import time

import neo4j

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.access import DATASET_ACCESS, SET_VISIBILITY
from tests.world import Client, LiveServer


def test_slow_query_answers_timeout(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    src = SyntheticSource(
        SyntheticParams(n_neurons=5000, n_connections=300_000, n_types=10, seed=3), dataset_id
    )
    DatasetWriter(driver, settings.neo4j_database).load(src)
    driver.execute_query(SET_VISIBILITY, dataset=dataset_id, visibility="public")
    # the load changes the statistics enough for Neo4j to plan the access check anew, and
    # planning alone can outlast 0.05 s on a slow machine (a query stopped then leaves no
    # plan behind): plan it here, without a limit
    driver.execute_query(DATASET_ACCESS, dataset=dataset_id)
    quick = settings.model_copy(update={"query_timeout_s": 0.05})
    with LiveServer(quick) as url:
        c = Client(url)
        # a small read still answers within the limit (a few tries: a pause of Neo4j's
        # JVM after the load can outlast 0.05 s too)
        small = "query($ds: ID!) { dataset(id: $ds) { id } }"
        for _ in range(5):
            body = c.raw(small, {"ds": dataset_id}).json()
            if "errors" not in body:
                break
            assert body["errors"][0]["extensions"]["code"] == "TIMEOUT", body
            time.sleep(0.5)
        assert body["data"]["dataset"]["id"] == dataset_id
        # a motif with a condition on its connections is counted by Cypher, which the
        # whole-dataset statistics' cost estimate does not cover
        code, message = c.error(
            "query($ds: ID!, $m: String!) { motifSearch(dataset: $ds, motif: $m, "
            "countOnly: true) { count } }",
            ds=dataset_id,
            m="A -> B [synapse_count >= 1]\nB -> C\nA -> C",
        )
    assert code == "TIMEOUT"
    assert "0.05 s" in message and "ask for less" in message
