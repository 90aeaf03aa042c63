"""Shared fixtures. Integration tests need a running Neo4j: the local one
(`connectomedb neo4j start`) or any Neo4j 5 named by CONNECTOMEDB_NEO4J_URI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from connectomedb.settings import Settings
from connectomedb.store.driver import check_connectivity, init_schema, make_driver
from tests.world import atlas, world  # noqa: F401  (the live API, its users, the atlas)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def driver(settings: Settings) -> Iterator[neo4j.Driver]:
    d = make_driver(settings)
    check_connectivity(d)  # fails (not skips) when no Neo4j answers
    init_schema(d, settings.neo4j_database)
    yield d
    d.close()


@pytest.fixture
def dataset_id(driver: neo4j.Driver, settings: Settings) -> Iterator[str]:
    """A fresh dataset id, removed after the test whatever happened."""
    from connectomedb.store.datasets import delete_dataset

    ds = f"t_{uuid.uuid4().hex[:10]}"
    yield ds
    delete_dataset(driver, ds, settings.neo4j_database)


def graph_counts(driver: neo4j.Driver, ds: str) -> dict[str, int]:
    """Counts read back from the graph with plain Cypher (not from the Dataset node)."""
    q = """
    MATCH (d:Dataset {id: $ds})
    RETURN
      COUNT { MATCH (n:Neuron {dataset: $ds}) } AS neurons,
      COUNT { MATCH (n:NonNeuronal {dataset: $ds}) } AS non_neuronal,
      COUNT { MATCH (:Cell {dataset: $ds})-[:CONNECTS_TO]->() } AS connections,
      COALESCE(COLLECT { MATCH (:Cell {dataset: $ds})-[r:CONNECTS_TO]->()
                         RETURN sum(r.synapse_count) }[0], 0) AS chemical_synapse_total,
      COUNT { MATCH (:Cell {dataset: $ds})-[:GAP_JUNCTION]->() } AS gap_junctions,
      COALESCE(COLLECT { MATCH (:Cell {dataset: $ds})-[r:GAP_JUNCTION]->()
                         RETURN sum(r.count) }[0], 0) AS gap_junction_total,
      COUNT { MATCH (s:Synapse {dataset: $ds}) } AS synapses
    """
    recs, _, _ = driver.execute_query(q, ds=ds)
    if not recs:
        return {}
    return {k: int(v) for k, v in dict(recs[0]).items()}


def dataset_node(driver: neo4j.Driver, ds: str) -> dict | None:
    recs, _, _ = driver.execute_query("MATCH (d:Dataset {id: $ds}) RETURN d", ds=ds)
    return dict(recs[0]["d"]) if recs else None


def cell_count(driver: neo4j.Driver, ds: str) -> int:
    recs, _, _ = driver.execute_query("MATCH (n:Cell {dataset: $ds}) RETURN count(n) AS c", ds=ds)
    return int(recs[0]["c"])
