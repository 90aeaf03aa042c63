"""A query past the API's Neo4j transaction time limit answers TIMEOUT over HTTP."""

from __future__ import annotations

import neo4j

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.access import SET_VISIBILITY
from tests.service.conftest import Client, LiveServer


def test_slow_query_answers_timeout(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    src = SyntheticSource(
        SyntheticParams(n_neurons=5000, n_connections=300_000, n_types=10, seed=3), dataset_id
    )
    DatasetWriter(driver, settings.neo4j_database).load(src)
    driver.execute_query(SET_VISIBILITY, dataset=dataset_id, visibility="public")
    quick = settings.model_copy(update={"query_timeout_s": 0.05})
    with LiveServer(quick) as url:
        c = Client(url)
        # a small read still answers within the limit
        assert (
            c("query($ds: ID!) { dataset(id: $ds) { id } }", ds=dataset_id)["dataset"]["id"]
            == dataset_id
        )
        code, message = c.error(
            "query($ds: ID!) { networkStatistics(dataset: $ds) { neurons } }", ds=dataset_id
        )
    assert code == "TIMEOUT"
    assert "0.05 s" in message and "ask for less" in message
