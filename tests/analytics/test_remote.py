"""PyG's NeighborLoader (with the plain-torch sampler) over the Neo4j remote backend yields
the same mini-batches as over the in-memory Data (same seed), and the pulled graph is the
one in the source sheet."""

from __future__ import annotations

import logging
import warnings

import neo4j
import pytest
import torch

from connectomedb.analytics.features import labels, to_pyg
from connectomedb.analytics.remote import ReadOnly, remote_backend
from connectomedb.analytics.sampling import neighbor_loader
from connectomedb.settings import Settings
from connectomedb.store.graph import read_gap_junctions, read_graph
from tests.oracles import cook_graphs
from tests.world import World


def test_the_pull_is_the_sheet(world: World, driver: neo4j.Driver, settings: Settings) -> None:
    chem, _, neurons = cook_graphs(str(settings.data_cache))
    g = read_graph(driver, settings.neo4j_database, world.cook, min_weight=3)
    assert g.ids == sorted(g.ids) and set(g.ids) <= neurons and len(g.ids) == 302
    got = {(g.ids[a], g.ids[b]): w for a, b, w in zip(g.pre, g.post, g.weight, strict=True)}
    want = {
        (a, b): d["synapse_count"]
        for a, b, d in chem.edges(data=True)
        if a in g.ids and b in g.ids and d["synapse_count"] >= 3
    }
    assert got == want
    k = read_graph(driver, settings.neo4j_database, world.cook, seeds=["AVAL"], hops=1)
    near = {"AVAL"} | {
        v for a, b in chem.edges for v in (a, b) if "AVAL" in (a, b) and v in neurons
    }
    assert set(k.ids) == near


@pytest.mark.parametrize("seed", [0, 7])
def test_neighbor_loader_batches_equal_in_memory(
    world: World, driver: neo4j.Driver, settings: Settings, seed: int
) -> None:
    g = read_graph(driver, settings.neo4j_database, world.cook)
    data = to_pyg(g, "class")
    features, graph = remote_backend(
        driver, settings.neo4j_database, world.cook, label_level="class"
    )
    assert graph.ids == g.ids and features.feature_names[4:] == [
        f"nt={v}" for v in sorted({v for v in g.props["neurotransmitter"] if v})
    ]

    def batches(src: object) -> list:
        torch.manual_seed(seed)
        loader = neighbor_loader(
            src,
            num_neighbors=[5, 3],
            batch_size=32,
            input_nodes=torch.arange(len(g.ids)),
            shuffle=True,
        )
        return list(loader)

    uncached, _ = remote_backend(
        driver, settings.neo4j_database, world.cook, label_level="class", cache=False
    )
    mem = batches(data)
    for store in (features, uncached):
        remote = batches((store, graph))
        assert len(mem) == len(remote) == 10
        for a, b in zip(mem, remote, strict=True):
            assert torch.equal(a.n_id, b.n_id)
            assert torch.equal(a.edge_index, b.edge_index)
            assert torch.equal(a.x, b.x)
            assert torch.equal(a.y, b.y)
            assert a.batch_size == b.batch_size
    assert uncached.queries == 10  # one query per mini-batch
    assert features.queries <= 10 and features.rows_read <= len(g.ids)  # each neuron once
    # labels decoded the same way
    names = labels(g, "class")[1]
    assert names == features.vocab.labels
    with pytest.raises(ReadOnly):
        features.put_tensor(torch.zeros(1), group_name=None, attr_name="x", index=None)


def test_library_calls_print_nothing(
    world: World, settings: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    """With a driver of the caller's own, made with no options (the README's snippet),
    pulling a graph and iterating the remote loader logs, warns and prints nothing: Cook
    2019 lacks properties other datasets have (superclass), and the pull matches by
    internal id, both of which the server would otherwise report on every query."""
    plain = neo4j.GraphDatabase.driver(
        settings.uri, auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value())
    )
    caplog.set_level(logging.DEBUG, logger="neo4j.notifications")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            g = read_graph(plain, settings.neo4j_database, world.cook, min_weight=3)
            read_gap_junctions(plain, settings.neo4j_database, g)
            features, graph = remote_backend(
                plain, settings.neo4j_database, world.cook, label_level="class"
            )
            batches = list(neighbor_loader((features, graph), [10, 5], batch_size=64))
    finally:
        plain.close()
    assert len(batches) == 5
    assert [r.getMessage()[:200] for r in caplog.records if r.name.startswith("neo4j")] == []
    assert [str(w.message)[:200] for w in caught] == []
    out, err = capfd.readouterr()
    assert out == err == ""
