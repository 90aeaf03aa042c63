"""The simulate job on Cook 2019: the network, signs and drive it builds equal the ones
assembled in the test from the source sheet and the neurons' transmitters, so the rates
equal the engine's on that network with the same seed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import neo4j
import numpy as np
import pytest
import torch

from connectomedb.settings import Settings
from connectomedb.simulate.engine import Drive, LIFParams, simulate, weight_matrix
from connectomedb.simulate.rate import RateParams, simulate_rates
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker
from tests.oracles import cook_graphs
from tests.service.conftest import World


def _run(driver: neo4j.Driver, settings: Settings, ds: str, params: dict, tmp: Path) -> dict:
    queue = f"q_{uuid.uuid4().hex[:8]}"
    q = JobQueue(driver, settings.neo4j_database)
    job = q.submit(ds, "simulate", params, None, 1, queue)
    Worker(driver, settings.neo4j_database, "sim", 120, 0.1, queue, tmp).run_once()
    return q.job(job["id"])


STIMULI = [{"ids": ["ASHL", "ASHR"], "rate_hz": 150.0}, {"class": "sensory", "rate_hz": 20.0}]


def _sheet_network(
    world: World, driver: neo4j.Driver, settings: Settings
) -> tuple[list[str], torch.Tensor, np.ndarray, np.ndarray]:
    """Cook 2019 from the sheet as the job should build it: neuron ids in order, weights
    (GABAergic neurons inhibitory, synapse counts as strengths), stimulus rates, signs."""
    chem, _, _ = cook_graphs(str(settings.data_cache))
    cells = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.neurotransmitter AS nt, "
        "n.class AS cls",
        ds=world.cook,
    ).records
    ids = sorted(r["id"] for r in cells)
    meta = {r["id"]: r for r in cells}
    ix = {v: i for i, v in enumerate(ids)}
    e = [
        (ix[a], ix[b], d["synapse_count"])
        for a, b, d in chem.edges(data=True)
        if a in ix and b in ix
    ]
    pre, post = np.array([x[0] for x in e]), np.array([x[1] for x in e])
    strength = np.array([x[2] for x in e], dtype=float)
    sign = np.array([-1.0 if (meta[v]["nt"] or "").startswith("gaba") else 1.0 for v in ids])
    rates = np.zeros(len(ids))  # stimuli in order: a later one overrides an earlier one
    rates[[ix["ASHL"], ix["ASHR"]]] = 150.0
    rates[[ix[v] for v in ids if meta[v]["cls"] == "sensory"]] = 20.0
    w = weight_matrix(len(ids), pre, post, strength, sign, LIFParams().w_syn)
    return ids, w, rates, sign


def _outputs(driver: neo4j.Driver, run_id: str) -> tuple[dict, dict]:
    rec = driver.execute_query(
        "MATCH (r:ModelRun {id: $id})-[o:OUTPUT]->(n:Neuron) "
        "RETURN r.metrics AS m, collect([n.id, o.score]) AS rates",
        id=run_id,
    ).records[0]
    return json.loads(rec["m"]), dict(rec["rates"])


def test_simulate_job_equals_the_engine_on_the_sheet_network(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    params = {"seconds": 0.5, "trials": 2, "seed": 3, "stimuli": STIMULI}
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, got = _outputs(driver, j["run_id"])
    ids, w, rates, sign = _sheet_network(world, driver, settings)
    p = LIFParams()
    want = simulate(w, p, 5000, Drive(rates=rates, weight=250 * p.w_syn), 2, 3).rates.mean(axis=0)
    assert metrics["sign_rule"] == "celegans"
    assert metrics["inhibitory_neurons"] == int((sign < 0).sum()) > 20
    assert metrics["driven_neurons"] == int((rates > 0).sum())
    np.testing.assert_allclose([got[v] for v in ids], want, rtol=1e-6)
    assert metrics["mean_rate_hz"] > 0
    # the spike trains behind the rates
    art = np.load(metrics["artifact"])
    counts = np.bincount(art["neuron"], minlength=len(ids)) / (0.5 * 2)
    names = list(art["neuron_ids"])
    np.testing.assert_allclose([counts[names.index(v)] for v in ids], want, rtol=1e-6)
    # the population rate integrates to the spikes per trial
    spikes = sum(metrics["population_rate_hz"]) * metrics["bin_ms"] / 1000 * len(ids)
    assert spikes == pytest.approx(art["step"].size / 2)


def test_the_rate_model_job_equals_the_rate_model_on_the_sheet_network(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    params = {"model": "rate", "seconds": 0.2, "stimuli": STIMULI}
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, got = _outputs(driver, j["run_id"])
    ids, w, rates, _ = _sheet_network(world, driver, settings)
    want = simulate_rates(w, RateParams(), 2000, rates).rates[0]
    np.testing.assert_allclose([got[v] for v in ids], want, rtol=1e-5, atol=1e-6)
    assert (
        metrics["model"].startswith("graded rate model")
        and len(metrics["population_rate_hz"]) == 20
    )


def test_a_stimulus_that_selects_nothing_fails_without_retry(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    j = _run(
        driver, settings, world.cook, {"stimuli": [{"ids": ["NOPE"]}], "seconds": 0.1}, tmp_path
    )
    assert (j["status"], j["attempts"]) == ("failed", 1) and "NOPE" in j["error"]
