"""The analytics jobs end to end: a worker pulls the dataset from Neo4j, computes and
writes a ModelRun with per-neuron outputs, checked against answers computed in the test
(a dense SVD of the graph read from the source sheet; planted merge errors)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import neo4j
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from connectomedb.analytics.planted import merge_neurons
from connectomedb.loaders.csvbundle import NeuprintBundle
from connectomedb.loaders.registry import make_source
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.graph import read_graph
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker
from tests.factories import write_csv
from tests.oracles import cook_graphs
from tests.world import World


def _run(driver: neo4j.Driver, settings: Settings, ds: str, kind: str, params: dict) -> dict:
    """Submit one job on a queue of its own, run it in this process, return its run."""
    queue = f"q_{uuid.uuid4().hex[:8]}"
    q = JobQueue(driver, settings.neo4j_database)
    job = q.submit(JobRequest(ds, kind, params, None, 1, queue))
    Worker(driver, settings.neo4j_database, "test", 60, 0.1, queue).run_once()
    j = q.job(job["id"])
    assert j["status"] == "succeeded", j.get("error")
    recs, _, _ = driver.execute_query(
        "MATCH (r:ModelRun {id: $id})-[o:OUTPUT]->(n:Neuron) "
        "RETURN r.metrics AS metrics, collect([n.id, o {.*}]) AS outputs",
        id=j["run_id"],
    )
    return {
        "metrics": json.loads(recs[0]["metrics"]),
        "outputs": {nid: o for nid, o in recs[0]["outputs"]},
    }


def test_spectral_embedding_job_equals_a_dense_svd_of_the_sheet(
    world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    chem, _, neurons = cook_graphs(str(settings.data_cache))
    r = _run(driver, settings, world.cook, "embedding", {"dim": 4})
    ids = sorted(r["outputs"])
    assert set(ids) == neurons & set(r["outputs"]) and len(ids) == 302
    ix = {v: i for i, v in enumerate(ids)}
    a = np.zeros((302, 302))
    for u, v, d in chem.edges(data=True):
        if u in ix and v in ix:
            a[ix[u], ix[v]] = np.log1p(d["synapse_count"])
    u, s, vt = np.linalg.svd(a)
    best = (u[:, :4] * s[:4]) @ vt[:4]  # the rank-4 approximation, free of sign choices
    vec = np.array([r["outputs"][v]["vector"] for v in ids])
    np.testing.assert_allclose(vec[:, :4] @ vec[:, 4:].T, best, atol=1e-3)
    lay = np.array([r["outputs"][v]["layout"] for v in ids])
    assert lay.shape == (302, 2) and np.allclose(lay.mean(axis=0), 0, atol=1e-4)


def test_gae_embedding_job_trains_in_mini_batches(
    world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    """Batches of 256 of Cook 2019's connections: a vector of the asked width for every
    neuron, and a loss over the whole graph below 2 ln 2, what an embedding that tells
    connections from non-connections no better than chance scores."""
    params = {"method": "gae", "dim": 4, "steps": 60, "batch_size": 256}
    r = _run(driver, settings, world.cook, "embedding", params)
    m = r["metrics"]
    assert m["width"] == 4 and len(r["outputs"]) == 302
    assert all(len(o["vector"]) == 4 for o in r["outputs"].values())
    assert m["final_loss"] < 2 * np.log(2) - 0.1
    assert m["training"]["steps"] == 60 and m["training"]["batch_size"] == 256


@pytest.fixture(scope="module")
def merged(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, set[str]]]:
    """A copy of Cook 2019 with ten planted merge errors between neurons of different
    classes (:func:`merge_neurons`), loaded as a neuPrint bundle."""
    g = read_graph(driver, settings.neo4j_database, world.cook, level="class")
    m = merge_neurons(g.n, g.pre, g.post, g.weight, g.groups, k=10, seed=0)
    ids = [g.ids[i] for i in m.keep]
    body = {v: i + 1 for i, v in enumerate(ids)}
    root = tmp_path_factory.mktemp("merged")
    write_csv(
        root / "neurons.csv",
        ["bodyId", "instance", "type", "predictedNt"],
        [
            [body[g.ids[i]], g.ids[i], g.props["type"][i], g.props["neurotransmitter"][i] or ""]
            for i in m.keep
        ],
    )
    write_csv(
        root / "connections.csv",
        ["bodyId_pre", "bodyId_post", "weight"],
        [[a + 1, b + 1, int(w)] for a, b, w in zip(m.pre, m.post, m.weight, strict=True)],
    )
    ds = f"t_merged_{uuid.uuid4().hex[:8]}"
    DatasetWriter(driver, settings.neo4j_database).load(NeuprintBundle(root, ds))
    names = {
        r["id"]: r["name"]
        for r in driver.execute_query(
            "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.name AS name", ds=ds
        ).records
    }
    absorbing = {g.ids[a] for a, _ in m.pairs}
    planted = {nid for nid, name in names.items() if name in absorbing}
    assert len(planted) == 10 and len(names) == g.n - 10
    yield ds, planted
    delete_dataset(driver, ds, settings.neo4j_database)


@pytest.mark.parametrize(("method", "floor"), [("type_profile", 0.8), ("isolation_forest", 0.6)])
def test_planted_merge_errors_rank_high(
    merged: tuple[str, set[str]],
    driver: neo4j.Driver,
    settings: Settings,
    method: str,
    floor: float,
) -> None:
    ds, planted = merged
    r = _run(driver, settings, ds, "anomaly", {"method": method, "top": 30})
    ids = sorted(r["outputs"])
    truth = [nid in planted for nid in ids]
    auroc = roc_auc_score(truth, [r["outputs"][v]["score"] for v in ids])
    print(f"anomaly {method}: AUROC {auroc:.3f} for 10 planted merges in {len(ids)} neurons")
    assert auroc >= floor
    top = [t["neuron"] for t in r["metrics"]["top"]]
    scores = {v: r["outputs"][v]["score"] for v in ids}
    assert top == sorted(scores, key=lambda v: -scores[v])[:30]


@pytest.fixture(scope="module")
def larva(driver: neo4j.Driver, settings: Settings) -> Iterator[str]:
    src = make_source("larva-mb-left", settings.data_cache)
    ds = f"t_larva_{uuid.uuid4().hex[:8]}"
    src.meta = src.meta.model_copy(update={"id": ds})
    DatasetWriter(driver, settings.neo4j_database).load(src)
    yield ds
    delete_dataset(driver, ds, settings.neo4j_database)


def test_celltype_gnn_on_the_larval_mushroom_body(
    larva: str, driver: neo4j.Driver, settings: Settings
) -> None:
    r = _run(
        driver,
        settings,
        larva,
        "celltype_gnn",
        {"label_level": "type", "seeds": 2, "epochs": 80},
    )
    m: dict[str, Any] = r["metrics"]
    assert m["labels"] == ["I", "K", "O", "P"] and m["labelled"] == 209
    s = m["scores"]
    assert set(s) == {"majority", "logistic_regression", "label_spreading", "graphsage", "gat"}
    counts = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds}) RETURN n.type AS t, count(*) AS c", ds=larva
    ).records
    held_out = sum(round(0.3 * r["c"]) for r in counts)  # stratified, per label
    for name, v in s.items():
        assert len(v["accuracy"]) == 2, name
        assert sum(map(sum, v["confusion"])) == 2 * held_out, name
    # majority predicts the most common label: its accuracy is that label's test share
    conf = np.array(s["majority"]["confusion"])
    assert conf[:, 1].sum() == conf.sum()  # K, the Kenyon cells
    assert s["graphsage"]["macro_f1_mean"] > s["majority"]["macro_f1_mean"] + 0.3
    assert all(o["label"] in m["labels"] and 0 < o["score"] <= 1 for o in r["outputs"].values())
    assert len(r["outputs"]) == 209
