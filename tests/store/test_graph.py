"""The graph reader: its pure parts exactly, and reads of a tiny hand-made dataset against
a hand count (real Neo4j)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import neo4j
import pytest

from connectomedb.errors import BadInput, NotFound
from connectomedb.loaders.csvbundle import NeuprintBundle
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.graph import LEVELS
from connectomedb.settings import Settings
from connectomedb.store.graph import (
    PACK,
    TOTALS,
    Graph,
    GraphReader,
    assemble,
    dataset_size,
    graph_queries,
    neighbourhood_query,
    read_graph,
)
from connectomedb.store.graphdb import Store, make_async_driver
from connectomedb.store.neurons import NeuronFilter
from tests.factories import neuprint_bundle


def testassemble_maps_internal_ids_and_drops_targets_outside() -> None:
    """Two edge parts; node keys 70, 10, 40 are neurons a, b, c (in id order); 99 is a
    target outside the selection; a source the node query did not see means the dataset
    changed between the queries."""
    cols = {p: ["", "x", ""] for p in LEVELS} | {t: [1, 2, 3] for t in TOTALS}
    nodes = {"key": [70, 10, 40], "id": ["a", "b", "c"], **cols}
    parts = [
        {"pair": [70 * PACK + 10, 70 * PACK + 99], "w": [5, 6]},
        {"pair": [40 * PACK + 70], "w": [7]},
    ]
    g = assemble("d", nodes, parts, None)
    assert g is not None and g.ids == ["a", "b", "c"]
    assert list(zip(g.pre.tolist(), g.post.tolist(), g.weight.tolist(), strict=True)) == [
        (0, 1, 5.0),
        (2, 0, 7.0),
    ]
    assert g.props["type"] == [None, "x", None] and g.props["in_degree"] == [1, 2, 3]
    stale = [{"pair": [55 * PACK + 10], "w": [1]}]
    assert assemble("d", nodes, stale, None) is None


def test_graph_queries_exactly() -> None:
    nodes, edges, params = graph_queries(NeuronFilter(region="head"), min_weight=3)
    where = "n.dataset = $dataset AND n.id IS NOT NULL AND n.region = $region"
    assert nodes.startswith(
        f"MATCH (n:Neuron) WHERE {where}\nWITH n ORDER BY n.id\n"
        "RETURN collect(id(n)) AS key, collect(n.id) AS id, "
        "collect(coalesce(n.`type`, '')) AS `type`, "
    )
    assert nodes.endswith("collect(coalesce(n.`pre_synapses`, 0)) AS `pre_synapses`")
    assert edges == (
        f"MATCH (n:Neuron) WHERE {where} AND id(n) % $parts = $part\n"
        "MATCH (n)-[r:CONNECTS_TO]->(m) WHERE r.synapse_count >= $min_weight\n"
        "RETURN collect(id(n) * 4294967296 + id(m)) AS pair, "
        "collect(coalesce(r.`synapse_count`, -1)) AS w"
    )
    assert params == {"region": "head"}
    _, every, _ = graph_queries(None, strength="psd_area_total")
    assert "WHERE r.synapse_count" not in every  # min_weight 1 keeps every connection
    assert "coalesce(r.`psd_area_total`, -1)" in every
    assert neighbourhood_query(2) == (
        "MATCH (s:Neuron) WHERE s.dataset = $dataset AND s.id IN $seeds\n"
        "MATCH (s)-[:CONNECTS_TO*0..2]-(n:Neuron)\n"
        "RETURN collect(DISTINCT n.id) AS ids"
    )


# -- reads of the hand-made neuPrint bundle (tests/factories.py), against a hand count ---
#: 101 -> 201 (12), 102 -> 201 (7), 201 -> 301 (3), 301 -> 101 (5), 301 -> 102 (4);
#: types KC, KC, MBON, APL
HAND = {
    ("101", "201", 12.0),
    ("102", "201", 7.0),
    ("201", "301", 3.0),
    ("301", "101", 5.0),
    ("301", "102", 4.0),
}


def _edges(g: Graph) -> set[tuple[str, str, float]]:
    return {
        (g.ids[a], g.ids[b], float(w))
        for a, b, w in zip(g.pre.tolist(), g.post.tolist(), g.weight.tolist(), strict=True)
    }


@pytest.fixture
def bundle(driver: neo4j.Driver, settings: Settings, dataset_id: str, tmp_path: Path) -> str:
    src = NeuprintBundle(neuprint_bundle(tmp_path / "bundle"), dataset_id)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    return dataset_id


def test_read_graph_is_the_hand_count(
    driver: neo4j.Driver, settings: Settings, bundle: str
) -> None:
    g = read_graph(driver, settings.neo4j_database, bundle, level="type")
    assert g.ids == ["101", "102", "201", "301"] and _edges(g) == HAND
    assert g.group_names == ("APL", "KC", "MBON") and g.groups.tolist() == [1, 1, 2, 0]
    heavy = read_graph(driver, settings.neo4j_database, bundle, min_weight=5)
    assert _edges(heavy) == {e for e in HAND if e[2] >= 5}
    kc = read_graph(driver, settings.neo4j_database, bundle, NeuronFilter(type="KC"))
    assert kc.ids == ["101", "102"] and kc.m == 0  # no connection between the two KCs
    near = read_graph(driver, settings.neo4j_database, bundle, seeds=["201"], hops=1)
    assert near.ids == ["101", "102", "201", "301"]  # 201's partners, both ways
    one = read_graph(driver, settings.neo4j_database, bundle, seeds=["101"], hops=0)
    assert one.ids == ["101"]


def test_the_async_reader_reads_the_same_graph(
    driver: neo4j.Driver, settings: Settings, bundle: str
) -> None:
    async def read() -> Graph:
        d = make_async_driver(settings)
        try:
            store = Store(d, settings.neo4j_database, 30)
            return await GraphReader(store).read(bundle, None, 1, "type")
        finally:
            await d.close()

    g = asyncio.run(read())
    assert g.ids == ["101", "102", "201", "301"] and _edges(g) == HAND
    assert g.group_names == ("APL", "KC", "MBON")


def test_a_missing_dataset_and_bad_arguments(
    driver: neo4j.Driver, settings: Settings, bundle: str
) -> None:
    with pytest.raises(NotFound):
        read_graph(driver, settings.neo4j_database, "no_such_dataset_here")
    with pytest.raises(BadInput, match="level"):
        read_graph(driver, settings.neo4j_database, bundle, level="colour")
    with pytest.raises(BadInput, match="min_weight"):
        read_graph(driver, settings.neo4j_database, bundle, min_weight=0)
    with pytest.raises(BadInput, match="hops"):
        read_graph(driver, settings.neo4j_database, bundle, seeds=["101"], hops=9)
    with pytest.raises(BadInput, match="strength"):
        read_graph(driver, settings.neo4j_database, bundle, strength="colour")
    assert dataset_size(driver, settings.neo4j_database, bundle) == (4, 5)
