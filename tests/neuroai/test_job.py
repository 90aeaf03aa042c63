"""The rnn_experiment kind on Cook 2019, run by a worker: masks built from the dataset
(checked against the source sheet with networkx), trained weights stored as datasets
whose reciprocity the service's own networkStatistics measures, readable by the source's
lab and by nobody else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import neo4j
import networkx as nx
import numpy as np
import pytest

from connectomedb.errors import BadInput
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from tests.factories import run_job
from tests.oracles import cook_graphs
from tests.world import World

STATS = """query($ds: ID!) { networkStatistics(dataset: $ds) {
  neurons connections density reciprocalPairs reciprocityEnrichment } }"""


def _enrichment(g: nx.DiGraph) -> float:
    n = g.number_of_nodes()
    p = nx.density(g)
    mutual = sum(1 for a, b in g.edges if a != b and g.has_edge(b, a)) / 2
    return mutual / (n * (n - 1) / 2 * p * p)


@pytest.fixture(scope="module")
def experiment(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    params = {
        "tasks": ["pattern"],
        "seeds": 2,
        "steps": 6,
        "eval_every": 3,
        "store_weights": True,
        "variants": [
            {"name": "dense", "kind": "dense"},
            {"name": "random", "kind": "random"},
            {"name": "reciprocal", "kind": "reciprocal", "enrichment": 4.0},
            {"name": "measured", "kind": "reciprocal"},
            {"name": "connectome", "kind": "connectome", "dale": True},
        ],
    }
    art = tmp_path_factory.mktemp("rnn")
    j = run_job(driver, settings, world.cook, "rnn_experiment", params, art)
    assert j["status"] == "succeeded", j.get("error")
    recs, _, _ = driver.execute_query(
        "MATCH (r:ModelRun {id: $id}) RETURN r.metrics AS m", id=j["run_id"]
    )
    m = json.loads(recs[0]["m"])
    yield m
    for s in m["stored_datasets"]:
        delete_dataset(driver, s["dataset"])


def test_masks_are_built_from_the_dataset(experiment: Any, settings: Settings) -> None:
    chem, gj, names = cook_graphs(str(settings.data_cache))
    cells = (set(chem.nodes) | set(gj.nodes)) & names  # the neurons in the sheets
    g = nx.DiGraph(chem.subgraph(cells))
    g.add_nodes_from(cells)
    g.remove_edges_from(nx.selfloop_edges(g))
    n, m = g.number_of_nodes(), g.number_of_edges()
    masks = experiment["masks"]
    assert experiment["units"] == n == 302
    assert masks["connectome"]["trainable"] == m
    assert masks["connectome"]["dale"] is True
    for v in ("random", "reciprocal", "measured"):  # matched to the connectome
        assert masks[v]["trainable"] == m
        assert masks[v]["density"] == pytest.approx(nx.density(g))
    assert masks["dense"]["trainable"] == n * n
    # recurrent learning rates scaled by fan-in: 0.01 x 10 / 302 dense, 10 / 12.2 sparse
    assert masks["dense"]["recurrent_lr"] == pytest.approx(0.01 * 10 / n)
    assert masks["random"]["recurrent_lr"] == pytest.approx(0.01 * 10 / (m / n))
    assert masks["reciprocal"]["reciprocity_enrichment"]["min"] == pytest.approx(4.0, rel=0.05)
    assert masks["reciprocal"]["reciprocity_enrichment"]["max"] == pytest.approx(4.0, rel=0.05)
    measured = _enrichment(g)
    assert masks["measured"]["reciprocity_enrichment"]["mean"] == pytest.approx(measured, rel=0.05)
    assert masks["connectome"]["reciprocity_enrichment"]["mean"] == pytest.approx(measured)
    assert 0.75 < masks["random"]["reciprocity_enrichment"]["mean"] < 1.25


def test_the_run_reports_every_metric_with_intervals_and_tests(experiment: Any) -> None:
    s = experiment["summary"]["pattern"]
    assert set(s) == {"dense", "random", "reciprocal", "measured", "connectome"}
    for by_metric in s.values():
        acc = by_metric["final_accuracy"]
        assert acc["n"] == 2 and acc["ci_low"] <= acc["mean"] <= acc["ci_high"]
        assert set(by_metric) >= {"examples_to_criterion", "spectral_radius", "grad_spikes"}
    comps = experiment["comparisons"]["pattern"]
    assert len(comps) == 10 * len(experiment["metric_definitions"])  # 5 choose 2 pairs
    assert any("evolved" in c for c in experiment["caveats"])
    assert {"runs.json", "learning_curves_pattern.png"} <= set(experiment["files"])
    runs = json.loads((Path(experiment["artifact_dir"]) / "runs.json").read_text())
    assert len(runs) == 10 and runs[0]["curve"][-1][0] == 6 * 32


def test_stored_networks_are_datasets_the_service_measures(experiment: Any, world: World) -> None:
    stored = {s["variant"]: s for s in experiment["stored_datasets"]}
    assert set(stored) == {"dense", "random", "reciprocal", "measured", "connectome"}
    reader = world.client("victor")  # a viewer of the source's lab
    rec = reader(STATS, ds=stored["reciprocal"]["dataset"])["networkStatistics"]
    assert rec["neurons"] == 302
    assert rec["connections"] == experiment["masks"]["reciprocal"]["trainable"]
    assert rec["reciprocityEnrichment"] == pytest.approx(4.0, rel=0.05)
    con = reader(STATS, ds=stored["connectome"]["dataset"])["networkStatistics"]
    assert con["reciprocalPairs"] == experiment["masks"]["connectome"]["reciprocal_pairs"]["min"]
    dense = reader(STATS, ds=stored["dense"]["dataset"])["networkStatistics"]
    assert dense["connections"] == 302 * 301  # every trained weight, autapses left out
    outsider = world.client("bob")
    code, _ = outsider.error(STATS, ds=stored["connectome"]["dataset"])
    assert code == "NOT_FOUND"


def test_enrichment_measured_on_a_cell_type_subset() -> None:
    """The reciprocal variant's ratio measured among the neurons of the given classes only
    (a hand-built graph: among a, b, c the pairs a<->b and b<->c are reciprocal)."""
    from connectomedb.neuroai.job import _measured_enrichment
    from connectomedb.neuroai.params import VariantParams
    from connectomedb.store.graph import Graph

    edges = [("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("a", "c"), ("c", "d"), ("d", "a")]
    ids = ["a", "b", "c", "d"]
    idx = {x: i for i, x in enumerate(ids)}
    g = Graph(
        "t",
        ids,
        np.array([idx[a] for a, _ in edges]),
        np.array([idx[b] for _, b in edges]),
        np.ones(len(edges), dtype=np.float32),
        props={"class": ["x", "x", "x", "y"]},
    )
    sub = nx.DiGraph(nx.DiGraph(edges).subgraph(["a", "b", "c"]))
    v = VariantParams(name="r", kind="reciprocal", types=["x"], level="class")
    assert _measured_enrichment(g, v) == pytest.approx(_enrichment(sub))
    whole = VariantParams(name="r", kind="reciprocal")
    assert _measured_enrichment(g, whole) == pytest.approx(_enrichment(nx.DiGraph(edges)))
    with pytest.raises(BadInput, match="fewer than 2"):
        _measured_enrichment(g, VariantParams(name="r", kind="reciprocal", types=["y"]))
