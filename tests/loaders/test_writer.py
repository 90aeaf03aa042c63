"""Loading into the real Neo4j: idempotence, resume after a kill, bad input, delete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import neo4j
import networkx as nx
import pytest

from connectomedb.errors import BadInput, LoaderError
from connectomedb.loaders.csvbundle import NeuprintBundle
from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from tests.conftest import cell_count, dataset_node, graph_counts
from tests.factories import DEFAULT_SYNAPSES, neuprint_bundle


def test_neuprint_bundle_hand_counted(
    driver: neo4j.Driver, dataset_id: str, tmp_path: Path
) -> None:
    src = NeuprintBundle(neuprint_bundle(tmp_path / "b", synapses=DEFAULT_SYNAPSES), dataset_id)
    res = DatasetWriter(driver, batch_size=2).load(src)
    expected = {
        "neurons": 4,
        "non_neuronal": 0,
        "connections": 5,
        "chemical_synapse_total": 31,
        "gap_junctions": 0,
        "gap_junction_total": 0,
        "synapses": 6,
    }
    assert graph_counts(driver, dataset_id) == expected
    assert res.counts == expected
    d = dataset_node(driver, dataset_id)
    assert d is not None and d["status"] == "ready"
    # per-neuron aggregates, hand-counted from the factory's five connections
    recs, _, _ = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.in_degree AS i, n.out_degree AS o,"
        " n.pre_synapses AS pre, n.post_synapses AS post ORDER BY id",
        ds=dataset_id,
    )
    assert [tuple(r) for r in recs] == [
        ("101", 1, 1, 12, 5),
        ("102", 1, 1, 7, 4),
        ("201", 2, 1, 3, 19),
        ("301", 1, 2, 9, 3),
    ]
    recs, _, _ = driver.execute_query(
        "MATCH (a:Neuron {dataset: $ds, id: '101'})-[:PRESYNAPTIC]->(s:Synapse)"
        "-[:POSTSYNAPTIC]->(b:Neuron {id: '201'}) RETURN s.location.x AS x ORDER BY x",
        ds=dataset_id,
    )
    assert [r["x"] for r in recs] == [1.0, 1.5]
    recs, _, _ = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds})-[:HAS_TYPE]->(t:CellType) "
        "RETURN t.name AS t, count(n) AS c ORDER BY t",
        ds=dataset_id,
    )
    assert [tuple(r) for r in recs] == [("APL", 1), ("KC", 2), ("MBON", 1)]


def test_load_twice_is_unchanged(driver: neo4j.Driver, dataset_id: str) -> None:
    src = SyntheticSource(SyntheticParams(n_neurons=300, n_connections=3000, seed=3), dataset_id)
    first = DatasetWriter(driver, batch_size=500).load(src)
    before = graph_counts(driver, dataset_id)
    second = DatasetWriter(driver, batch_size=500).load(src)
    assert second.status == "unchanged"
    assert graph_counts(driver, dataset_id) == before
    assert first.counts == second.counts
    g = src.graph
    assert before["connections"] == len(set(zip(g.pre.tolist(), g.post.tolist(), strict=True)))
    assert before["chemical_synapse_total"] == int(g.count.sum())


def test_different_input_same_id_is_refused(driver: neo4j.Driver, dataset_id: str) -> None:
    DatasetWriter(driver).load(
        SyntheticSource(SyntheticParams(n_neurons=50, n_connections=100), dataset_id)
    )
    other = SyntheticSource(SyntheticParams(n_neurons=50, n_connections=100, seed=9), dataset_id)
    with pytest.raises(BadInput, match="loaded from different input"):
        DatasetWriter(driver).load(other)
    res = DatasetWriter(driver).load(other, replace=True)
    assert res.status == "loaded"
    assert graph_counts(driver, dataset_id)["connections"] == other.graph.pre.size


def test_kill_halfway_then_resume(
    driver: neo4j.Driver, dataset_id: str, settings: Settings
) -> None:
    params = SyntheticParams(n_neurons=5000, n_connections=300_000, seed=5)
    cmd = [
        sys.executable,
        "-m",
        "connectomedb.cli",
        "load",
        "synthetic",
        "--id",
        dataset_id,
        "--neurons",
        "5000",
        "--connections",
        "300000",
        "--seed",
        "5",
        "--batch-size",
        "1000",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.time() + 120
    killed_at = 0
    while time.time() < deadline and proc.poll() is None:
        d = dataset_node(driver, dataset_id)
        if d and len(d.get("done_connections") or ()) >= 5:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = len(d["done_connections"])
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert killed_at > 0, (
        f"load finished or failed before it could be killed: {proc.stderr.read()!r}"
    )
    d = dataset_node(driver, dataset_id)
    assert d is not None and d["status"] == "loading"
    partial = graph_counts(driver, dataset_id)["connections"]
    assert 0 < partial < 290_000
    src = SyntheticSource(params, dataset_id)
    res = DatasetWriter(driver, batch_size=7777).load(src)  # the stored size wins
    assert res.status == "resumed"
    g = src.graph
    G = nx.DiGraph()
    G.add_weighted_edges_from(zip(g.pre.tolist(), g.post.tolist(), g.count.tolist(), strict=True))
    counts = graph_counts(driver, dataset_id)
    assert counts["neurons"] == 5000
    assert counts["connections"] == G.number_of_edges()
    assert counts["chemical_synapse_total"] == int(G.size(weight="weight"))
    recs, _, _ = driver.execute_query(
        "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->(b) WITH a, b, count(r) AS c "
        "WHERE c > 1 RETURN count(*) AS dup",
        ds=dataset_id,
    )
    assert recs[0]["dup"] == 0
    assert dataset_node(driver, dataset_id)["status"] == "ready"


BAD_CASES = [
    # (description, bundle kwargs, expected message)
    (
        "missing column",
        {"connection_header": ["bodyId_pre", "bodyId_post", "w"]},
        "connections.csv, row 1, column 'weight': missing required column "
        "(header has bodyId_pre, bodyId_post, w)",
    ),
    (
        "non-numeric count",
        {"connections": [[101, 201, 1]] * 0 + [[101, 201, 3], [102, 201, "x"]]},
        "connections.csv, row 3, column 'weight': expected a non-negative integer, got 'x'",
    ),
    (
        "negative count",
        {"connections": [[101, 201, 3], [102, 201, -2]]},
        "connections.csv, row 3, column 'weight': negative count '-2'",
    ),
    (
        "unknown neuron",
        {"connections": [[101, 201, 3], [102, 999, 2]]},
        "connections.csv, row 3, column 'bodyId_post': unknown neuron '999'",
    ),
    (
        "duplicate id",
        {"neurons": [[101, "a", "KC", ""], [102, "b", "KC", ""], [101, "c", "KC", ""]]},
        "neurons.csv, row 4, column 'bodyId': duplicate id '101' (first at row 2)",
    ),
    (
        "duplicate connection",
        {"connections": [[101, 201, 3], [101, 201, 4]]},
        "connections.csv, row 3, column 'bodyId_post': duplicate connection '101' -> '201'",
    ),
]


@pytest.mark.parametrize(("case", "kwargs", "message"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_leaves_nothing(
    driver: neo4j.Driver, dataset_id: str, tmp_path: Path, case: str, kwargs: dict, message: str
) -> None:
    b = neuprint_bundle(tmp_path / "b", **kwargs)
    with pytest.raises(LoaderError) as e:
        DatasetWriter(driver, batch_size=1).load(NeuprintBundle(b, dataset_id))
    assert str(e.value) == message
    assert cell_count(driver, dataset_id) == 0
    d = dataset_node(driver, dataset_id)
    assert d is not None and d["status"] == "failed" and d["error"] == message
    assert delete_dataset(driver, dataset_id)
    assert dataset_node(driver, dataset_id) is None


def test_unreadable_file_leaves_nothing(
    driver: neo4j.Driver, dataset_id: str, tmp_path: Path
) -> None:
    b = neuprint_bundle(tmp_path / "b", connections=[[101, 201, 3]] * 1)
    with open(b / "connections.csv", "ab") as f:
        f.write(b"102,201,\xff\n")
    with pytest.raises(LoaderError, match=r"^connections.csv, row 3: unreadable CSV"):
        DatasetWriter(driver, batch_size=1).load(NeuprintBundle(b, dataset_id))
    assert cell_count(driver, dataset_id) == 0
    assert dataset_node(driver, dataset_id)["status"] == "failed"


def test_duplicate_synapse_id_across_batches(
    driver: neo4j.Driver, dataset_id: str, tmp_path: Path
) -> None:
    from tests.factories import write_csv

    b = neuprint_bundle(tmp_path / "b")
    write_csv(
        b / "synapses.csv",
        ["synapse_id", "bodyId_pre", "bodyId_post", "x", "y", "z"],
        [
            ["s1", 101, 201, 0, 0, 0],
            ["s2", 101, 201, 1, 1, 1],
            ["s3", 102, 201, 2, 2, 2],
            ["s1", 201, 301, 3, 3, 3],
        ],
    )
    with pytest.raises(LoaderError) as e:
        DatasetWriter(driver, batch_size=2).load(NeuprintBundle(b, dataset_id))
    assert str(e.value) == (
        "synapses.csv, row 5, column 'synapse_id': duplicate synapse id 's1' (first at row 2)"
    )
    assert cell_count(driver, dataset_id) == 0
    assert graph_counts(driver, dataset_id)["synapses"] == 0
    assert dataset_node(driver, dataset_id)["status"] == "failed"


def test_duplicate_synapse_id_within_batch(
    driver: neo4j.Driver, dataset_id: str, tmp_path: Path
) -> None:
    from tests.factories import write_csv

    b = neuprint_bundle(tmp_path / "b")
    write_csv(
        b / "synapses.csv",
        ["synapse_id", "bodyId_pre", "bodyId_post", "x", "y", "z"],
        [["s1", 101, 201, 0, 0, 0], ["s1", 101, 201, 1, 1, 1]],
    )
    with pytest.raises(
        LoaderError,
        match=r"^synapses.csv, row 3, column 'synapse_id': "
        r"duplicate synapse id 's1' \(first at row 2\)$",
    ):
        DatasetWriter(driver, batch_size=100).load(NeuprintBundle(b, dataset_id))
    assert cell_count(driver, dataset_id) == 0


def test_failed_dataset_is_not_resumed(
    driver: neo4j.Driver, dataset_id: str, tmp_path: Path
) -> None:
    b = neuprint_bundle(tmp_path / "b", connections=[[101, 201, 3], [102, 999, 2]])
    with pytest.raises(LoaderError):
        DatasetWriter(driver, batch_size=1).load(NeuprintBundle(b, dataset_id))
    fixed = neuprint_bundle(tmp_path / "c")
    with pytest.raises(BadInput, match="status failed"):
        DatasetWriter(driver).load(NeuprintBundle(fixed, dataset_id))
    assert (
        DatasetWriter(driver)
        .load(NeuprintBundle(fixed, dataset_id), replace=True)
        .counts["connections"]
        == 5
    )


def test_flywire_rows_per_neuropil_are_summed(
    driver: neo4j.Driver, dataset_id: str, tmp_path: Path
) -> None:
    from connectomedb.loaders.csvbundle import FlywireBundle
    from tests.factories import write_csv

    d = tmp_path / "fw"
    write_csv(
        d / "neurons.csv",
        ["root_id", "group", "nt_type"],
        [["7201", "g1", "ACH"], ["7202", "g2", "GABA"], ["7203", "g3", "GLUT"]],
    )
    write_csv(
        d / "connections.csv",
        ["pre_root_id", "post_root_id", "neuropil", "syn_count", "nt_type"],
        [
            ["7201", "7202", "AL_L", 5, "ACH"],
            ["7201", "7203", "AL_L", 1, "ACH"],
            ["7201", "7202", "AL_R", 2, "ACH"],
            ["7203", "7201", "LH_L", 9, "GLUT"],
        ],
    )
    res = DatasetWriter(driver, batch_size=1).load(FlywireBundle(d, dataset_id))
    assert res.counts["connections"] == 3
    assert res.counts["chemical_synapse_total"] == 17
    recs, _, _ = driver.execute_query(
        "MATCH (a:Neuron {dataset: $ds})-[r:CONNECTS_TO]->(b) RETURN a.id AS a, b.id AS b, "
        "r.synapse_count AS n, r.weight AS w, r.neuropils AS np ORDER BY a, b",
        ds=dataset_id,
    )
    assert [tuple(r) for r in recs] == [
        ("7201", "7202", 7, 7, ["AL_L", "AL_R"]),
        ("7201", "7203", 1, 1, ["AL_L"]),
        ("7203", "7201", 9, 9, ["LH_L"]),
    ]
    recs, _, _ = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds, id: '7201'}) RETURN n.out_degree AS o, "
        "n.pre_synapses AS pre, n.neurotransmitter AS nt",
        ds=dataset_id,
    )
    assert tuple(recs[0]) == (2, 8, "ACH")
