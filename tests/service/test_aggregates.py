"""Whole-dataset statistics kept per dataset version: computed once, read back equal,
recomputed after a reload, refused before computing when estimated too costly, gone with
the dataset; structural motif counts from the triad census equal Cypher's enumeration."""

from __future__ import annotations

import neo4j
import networkx as nx
import pytest
from typer.testing import CliRunner

from connectomedb.cli import app
from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.access import SET_VISIBILITY
from connectomedb.store.datasets import delete_dataset
from tests.world import Client, LiveServer, World

STATS = """query($ds: ID!, $level: Level) { networkStatistics(dataset: $ds, groupLevel: $level) {
  neurons connections density reciprocalPairs reciprocity clusteringCoefficient transitivity
  inDegreeDistribution { degree count }
  reciprocityByGroup { entries { groupA groupB pairs reciprocalPairs expected } } } }"""
TYPES = """query($ds: ID!) { cellTypeConnectivity(dataset: $ds, level: TYPE) {
  entries { pre post synapses connectedPairs possiblePairs } } }"""
COUNT = """query($ds: ID!, $m: String!, $x: Boolean!) { motifSearch(dataset: $ds, motif: $m,
  countOnly: true, excludeAutomorphisms: $x) { count automorphisms } }"""

STORED = "MATCH (a:Aggregate {dataset: $ds}) RETURN a.kind AS kind, a.version AS version"


def _load(
    driver: neo4j.Driver, settings: Settings, ds: str, seed: int, m: int = 3000
) -> nx.DiGraph:
    src = SyntheticSource(SyntheticParams(n_neurons=300, n_connections=m, seed=seed), ds)
    DatasetWriter(driver, settings.neo4j_database).load(src, replace=True)
    driver.execute_query(SET_VISIBILITY, dataset=ds, visibility="public")
    g = nx.DiGraph()
    g.add_nodes_from(f"n{i}" for i in range(300))
    g.add_edges_from((r["pre"], r["post"]) for _, r in src.connections())
    return g


def _stored(driver: neo4j.Driver, ds: str) -> dict[str, str]:
    recs, _, _ = driver.execute_query(STORED, ds=ds)
    return {r["kind"]: r["version"] for r in recs}


def test_stored_answers_equal_computed_and_follow_reloads(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    g = _load(driver, settings, dataset_id, seed=1)
    with LiveServer(settings) as url:
        c = Client(url)
        first = c(STATS, ds=dataset_id, level="TYPE")["networkStatistics"]
        assert set(_stored(driver, dataset_id)) == {"network_statistics"}
        again = c(STATS, ds=dataset_id, level="TYPE")["networkStatistics"]
        assert again == first
        # the values are the graph's (networkx), whether computed or read back
        assert (first["neurons"], first["connections"]) == (300, g.number_of_edges())
        assert first["transitivity"] == pytest.approx(nx.transitivity(g.to_undirected()))
        types_first = c(TYPES, ds=dataset_id)["cellTypeConnectivity"]
        assert c(TYPES, ds=dataset_id)["cellTypeConnectivity"] == types_first
        version = _stored(driver, dataset_id)["network_statistics"]

        # a reload under the same id is a new version: the stored answer is not used
        g2 = _load(driver, settings, dataset_id, seed=2, m=4000)
        after = c(STATS, ds=dataset_id, level="TYPE")["networkStatistics"]
        assert after["connections"] == g2.number_of_edges() != first["connections"]
        assert after["transitivity"] == pytest.approx(nx.transitivity(g2.to_undirected()))
        assert _stored(driver, dataset_id)["network_statistics"] != version
    delete_dataset(driver, dataset_id, settings.neo4j_database)
    assert _stored(driver, dataset_id) == {}


def test_cost_estimate_refuses_before_computing_and_warm_lifts_it(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    _load(driver, settings, dataset_id, seed=3)
    slow = settings.model_copy(update={"analysis_edges_per_s": 1.0})
    with LiveServer(slow) as url:
        c = Client(url)
        code, message = c.error(STATS, ds=dataset_id, level=None)
        assert code == "TOO_EXPENSIVE"
        assert "estimated" in message and f"connectomedb dataset warm {dataset_id}" in message
        code, _ = c.error(
            "query($ds: ID!) { motifCensus(dataset: $ds, nullModel: ERDOS_RENYI, samples: 2) "
            "{ seed } }",
            ds=dataset_id,
        )
        assert code == "TOO_EXPENSIVE"
        assert _stored(driver, dataset_id) == {}  # nothing was computed
        # the operator computes the defaults ahead (no estimate there); users get them
        result = CliRunner().invoke(app, ["dataset", "warm", dataset_id])
        assert result.exit_code == 0, result.output
        assert "networkStatistics" in result.output
        assert c(STATS, ds=dataset_id, level=None)["networkStatistics"]["neurons"] == 300
        # a filter is another selection: estimated again, refused again
        code, _ = c.error(
            'query($ds: ID!) { networkStatistics(dataset: $ds, filter: {type: "T1"}) { neurons } }',
            ds=dataset_id,
        )
        assert code == "TOO_EXPENSIVE"
    result = CliRunner().invoke(app, ["dataset", "warm", "no_such_dataset"])
    assert result.exit_code != 0 and "no_such_dataset" in result.output


@pytest.mark.parametrize(
    "motif",
    [
        "A -> B\nB -> C\nA -> C",
        "A -> B\nB -> C\nC -> A",
        "A -> B\nB -> A\nB -> C",
        "A -> B\nA -> C\nB !> C\nC !> B",
        "A -> B\nB -> C\nA !> C",
    ],
)
def test_structural_counts_equal_cypher_enumeration(world: World, motif: str) -> None:
    """The census-based count against Cypher's: the same motif with a condition every
    connection meets (synapse_count >= 1) goes through the Cypher query. Negative edges
    carry no condition there (with one they would forbid only such connections)."""
    c = world.client("victor")
    # on every connection, so that the motif keeps its symmetries (automorphisms)
    cypher = "\n".join(
        line + " [synapse_count >= 1]" if "->" in line else line for line in motif.split("\n")
    )
    for exclude in (False, True):
        ours = c(COUNT, ds=world.cook, m=motif, x=exclude)["motifSearch"]
        theirs = c(COUNT, ds=world.cook, m=cypher, x=exclude)["motifSearch"]
        assert ours["count"] == theirs["count"] > 0
