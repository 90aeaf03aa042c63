"""The simulate job on Cook 2019: the network, signs and drive it builds equal the ones
assembled in the test from the source sheet and the neurons' transmitters, so the rates
equal the engine's on that network with the same seed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import neo4j
import numpy as np
import pytest
import torch

from connectomedb.loaders.base import Row, Source, Where
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.jobs import JobRequest
from connectomedb.schema.models import DatasetMeta
from connectomedb.settings import Settings
from connectomedb.simulate.engine import Drive, GapJunctions, LIFParams, simulate, weight_matrix
from connectomedb.simulate.rate import RateParams, simulate_rates
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker
from tests.oracles import cook_graphs, edge_arrays
from tests.simulate.shiu import agree, mixed, their_poisson_rates
from tests.world import World


def _run(driver: neo4j.Driver, settings: Settings, ds: str, params: dict, tmp: Path) -> dict:
    return _run_kind(driver, settings, ds, "simulate", params, tmp)


def _run_kind(
    driver: neo4j.Driver, settings: Settings, ds: str, kind: str, params: dict, tmp: Path
) -> dict:
    queue = f"q_{uuid.uuid4().hex[:8]}"
    q = JobQueue(driver, settings.neo4j_database)
    job = q.submit(JobRequest(ds, kind, params, None, 1, queue))
    Worker(driver, settings.neo4j_database, "sim", 120, 0.1, queue, tmp).run_once()
    return q.job(job["id"])


STIMULI = [{"ids": ["ASHL", "ASHR"], "rate_hz": 150.0}, {"class": "sensory", "rate_hz": 20.0}]


def _sheet_edges(ids: list[str], settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cook 2019's chemical connections among ``ids`` from the sheet: (pre, post, synapse
    count) as indices into ``ids``."""
    chem, _, _ = cook_graphs(str(settings.data_cache))
    return edge_arrays(chem, ids, "synapse_count")


def _sheet_network(
    world: World, driver: neo4j.Driver, settings: Settings
) -> tuple[list[str], torch.Tensor, np.ndarray, np.ndarray, GapJunctions]:
    """Cook 2019 from the sheet as the job should build it: neuron ids in order, weights
    (GABAergic neurons inhibitory, synapse counts as strengths), stimulus rates, signs,
    and the gap junctions between neurons (count x the default coupling 0.005)."""
    _, gap, _ = cook_graphs(str(settings.data_cache))
    cells = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.neurotransmitter AS nt, "
        "n.class AS cls",
        ds=world.cook,
    ).records
    ids = sorted(r["id"] for r in cells)
    meta = {r["id"]: r for r in cells}
    ix = {v: i for i, v in enumerate(ids)}
    pre, post, strength = _sheet_edges(ids, settings)
    sign = np.array([-1.0 if (meta[v]["nt"] or "").startswith("gaba") else 1.0 for v in ids])
    rates = np.zeros(len(ids))  # stimuli in order: a later one overrides an earlier one
    rates[[ix["ASHL"], ix["ASHR"]]] = 150.0
    rates[[ix[v] for v in ids if meta[v]["cls"] == "sensory"]] = 20.0
    w = weight_matrix(len(ids), pre, post, strength, sign, LIFParams().w_syn)
    a, b, count = edge_arrays(gap, ids, "count", self_loops=False)
    return ids, w, rates, sign, GapJunctions(a, b, count * 0.005)


def _vectors(driver: neo4j.Driver, run_id: str) -> dict[str, list[float]]:
    rec = driver.execute_query(
        "MATCH (r:ModelRun {id: $id})-[o:OUTPUT]->(n:Neuron) RETURN collect([n.id, o.vector]) AS v",
        id=run_id,
    ).records[0]
    return dict(rec["v"])


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
    # 30 ms bins: the last of the 0.5 s is 20 ms long
    params = {"seconds": 0.5, "trials": 2, "seed": 3, "stimuli": STIMULI, "bin_ms": 30}
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    stored = json.loads(j["params"])["stimuli"][1]  # kept as given: "class", not "cell_class"
    assert stored["class"] == "sensory" and "cell_class" not in stored
    metrics, got = _outputs(driver, j["run_id"])
    ids, w, rates, sign, gaps = _sheet_network(world, driver, settings)
    p = LIFParams()
    want_trials = simulate(
        w, p, 5000, Drive(rates=rates, weight=250 * p.w_syn), 2, 3, gaps=gaps
    ).rates
    want = want_trials.mean(axis=0)
    assert metrics["gap_junction_pairs"] == len(gaps.a) > 400
    assert metrics["sign_rule"] == "celegans"
    # Shiu et al.'s model but for the worm's signs and its gap junctions
    assert (metrics["input_target"], metrics["refractory_driven"]) == ("v", False)
    assert metrics["departures_from_shiu2024"] == [
        "signs by the celegans rule, not acetylcholine + / GABA, glutamate -",
        "gap junctions as electrical couplings (not in their model)",
    ]
    assert metrics["inhibitory_neurons"] == int((sign < 0).sum()) > 20
    assert metrics["driven_neurons"] == int((rates > 0).sum())
    np.testing.assert_allclose([got[v] for v in ids], want, rtol=1e-6)
    vectors = _vectors(driver, j["run_id"])  # per-trial rates
    np.testing.assert_allclose([vectors[v] for v in ids], want_trials.T, rtol=1e-6)
    assert metrics["mean_rate_hz"] > 0
    # the spike trains behind the rates
    art = np.load(metrics["artifact"])
    counts = np.bincount(art["neuron"], minlength=len(ids)) / (0.5 * 2)
    names = list(art["neuron_ids"])
    np.testing.assert_allclose([counts[names.index(v)] for v in ids], want, rtol=1e-6)
    # the population rate integrates to the spikes per trial
    widths = np.array([30.0] * 16 + [20.0]) / 1000
    assert len(metrics["population_rate_hz"]) == 17
    spikes = (np.array(metrics["population_rate_hz"]) * widths).sum() * len(ids)
    assert spikes == pytest.approx(art["step"].size / 2)


def test_the_options_that_depart_from_shius_model_equal_the_engine_with_them(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """Poisson input into g and a refractory period for its targets: the job equals the
    engine with both options, differs from the default, and its metrics name them."""
    params = {
        "seconds": 0.3,
        "trials": 2,
        "seed": 5,
        "stimuli": STIMULI,
        "input_target": "g",
        "refractory_driven": True,
        "gap_coupling": 0,
    }
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, got = _outputs(driver, j["run_id"])
    ids, w, rates, _, _ = _sheet_network(world, driver, settings)
    p = LIFParams()
    drive = Drive(rates=rates, weight=250 * p.w_syn)
    options = Drive(rates, drive.weight, target="g", refractory_driven=True)
    want = simulate(w, p, 3000, options, 2, 5).rates.mean(axis=0)
    default = simulate(w, p, 3000, drive, 2, 5).rates.mean(axis=0)
    np.testing.assert_allclose([got[v] for v in ids], want, rtol=1e-6)
    assert not np.allclose(want, default)
    assert (metrics["input_target"], metrics["refractory_driven"]) == ("g", True)
    assert metrics["departures_from_shiu2024"][:2] == [
        "Poisson input jumps g, not v",
        "neurons with Poisson input keep the refractory period (theirs have none)",
    ]
    assert (
        "departures: Poisson input jumps g, not v; neurons with Poisson input" in metrics["model"]
    )


def test_the_rate_model_job_equals_the_rate_model_on_the_sheet_network(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    params = {"model": "rate", "seconds": 0.2, "stimuli": STIMULI}
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, got = _outputs(driver, j["run_id"])
    ids, w, rates, _, _ = _sheet_network(world, driver, settings)
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


def test_a_sweep_over_stimulus_sets_and_weights_equals_the_engine_per_condition(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """Two stimulus sets (Poisson input to ASH; a step current into the touch neurons
    from 50 to 150 ms) crossed with two synaptic weights: four conditions, each equal to
    the engine run with that drive and weight; outputs carry the rate per condition;
    spike trains and plots lie in the run's folder."""
    touch = ["ALML", "ALMR", "PLML", "PLMR"]
    params = {
        "seconds": 0.2,
        "trials": 2,
        "seed": 1,
        "stimulus_sets": [
            [{"ids": ["ASHL", "ASHR"], "rate_hz": 150.0}],
            [
                {
                    "ids": touch,
                    "kind": "current",
                    "amplitude_mv": 12.0,
                    "start_ms": 50,
                    "end_ms": 150,
                }
            ],
        ],
        "grid": {"w_syn": [0.2, 0.4]},
    }
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, got = _outputs(driver, j["run_id"])
    vectors = _vectors(driver, j["run_id"])
    ids, _, _, sign, gaps = _sheet_network(world, driver, settings)
    ix = {v: i for i, v in enumerate(ids)}
    pre, post, strength = _sheet_edges(ids, settings)
    poisson = np.zeros(len(ids))
    poisson[[ix["ASHL"], ix["ASHR"]]] = 150.0
    t = np.array([ix[v] for v in touch])
    names = [c["name"] for c in metrics["conditions"]]
    assert names == ["set 1, w_syn=0.2", "set 1, w_syn=0.4", "set 2, w_syn=0.2", "set 2, w_syn=0.4"]
    # the Poisson weight follows w_syn (250 x w_syn, as in Shiu et al.)
    assert [c["drive_weight_mv"] for c in metrics["conditions"]] == [50.0, 100.0] * 2
    want = []
    for s in range(2):
        for w_syn in (0.2, 0.4):
            drive = (
                Drive(rates=poisson, weight=250 * w_syn)
                if s == 0
                else Drive(
                    rates=np.zeros(len(ids)),
                    weight=250 * w_syn,
                    currents=(t, np.full(4, 12.0), np.full(4, 500), np.full(4, 1500)),
                )
            )
            w = weight_matrix(len(ids), pre, post, strength, sign, w_syn)
            p = LIFParams(w_syn=w_syn)
            want.append(simulate(w, p, 2000, drive, 2, 1, gaps=gaps).rates.mean(axis=0))
    want_ = np.stack(want)  # (conditions, neurons)
    np.testing.assert_allclose([vectors[v] for v in ids], want_.T, rtol=1e-6)
    np.testing.assert_allclose([got[v] for v in ids], want_[0], rtol=1e-6)
    assert [c["current_neurons"] for c in metrics["conditions"]] == [0, 0, 4, 4]
    assert (want_[2:, t] > 0).all()  # the current drives the touch neurons
    folder = Path(metrics["artifact_dir"])
    for name in metrics["files"]:
        data = (folder / name).read_bytes()
        assert len(data) > 1000
        if name.endswith(".png"):
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
    art = np.load(folder / "spikes.npz")
    assert list(art["condition_names"]) == names
    for c in range(4):
        keep = art["condition"] == c
        counts = np.bincount(art["neuron"][keep], minlength=len(ids)) / (0.2 * 2)
        order = [list(art["neuron_ids"]).index(v) for v in ids]
        np.testing.assert_allclose(counts[order], want_[c], rtol=1e-6)
        if c >= 2:  # the current flows from 50 to 150 ms: no spike outside that window
            steps = art["step"][keep]
            assert steps.min() >= 500 and steps.max() < 1500


class _PsdSource(Source):
    """Twelve neurons in a ring with shortcuts; each connection carries a PSD area."""

    def __init__(self, dataset: str) -> None:
        self.meta = DatasetMeta(
            id=dataset, name="psd ring", species="Drosophila melanogaster", source="test"
        )
        rng = np.random.default_rng(4)
        self.edges = [(i, (i + 1) % 12) for i in range(12)] + [
            (i, (i + 5) % 12) for i in range(0, 12, 3)
        ]
        self.area = rng.uniform(0.5, 3.0, len(self.edges)).round(3)

    def fingerprint(self) -> str:
        return "psd-ring-1"

    def neurons(self) -> Iterator[Row]:
        for i in range(12):
            nt = "gaba" if i == 7 else "acetylcholine"
            yield (
                Where("ring", i + 1),
                {"id": f"n{i:02d}", "kind": "neuron", "name": f"n{i:02d}", "neurotransmitter": nt},
            )

    def connections(self) -> Iterator[Row]:
        for k, (a, b) in enumerate(self.edges):
            yield (
                Where("ring", k + 1),
                {
                    "pre": f"n{a:02d}",
                    "post": f"n{b:02d}",
                    "synapse_count": 1,
                    "psd_area_total": float(self.area[k]),
                },
            )


def test_psd_area_as_strength(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """A ring whose connections carry PSD areas: with strength psd_area the job equals
    the engine on those areas (GABAergic n07 inhibitory under the Drosophila rule);
    Cook 2019 has no PSD areas, so asking for them there fails at once."""
    ds = f"t_psd_{uuid.uuid4().hex[:8]}"
    src = _PsdSource(ds)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    try:
        params = {
            "seconds": 0.3,
            "strength": "psd_area",
            "w_syn": 30.0,
            "stimuli": [{"ids": ["n00"], "kind": "current", "amplitude_mv": 9.0}],
        }
        j = _run(driver, settings, ds, params, tmp_path)
        assert j["status"] == "succeeded", j.get("error")
        metrics, got = _outputs(driver, j["run_id"])
        pre = np.array([a for a, _ in src.edges])
        post = np.array([b for _, b in src.edges])
        sign = np.array([-1.0 if i == 7 else 1.0 for i in range(12)])
        w = weight_matrix(12, pre, post, src.area, sign, 30.0)
        drive = Drive(currents=(np.array([0]), np.array([9.0]), np.array([0]), np.array([3000])))
        want = simulate(w, LIFParams(w_syn=30.0), 3000, drive).rates[0]
        assert metrics["sign_rule"] == "drosophila" and metrics["strength"] == "psd_area"
        np.testing.assert_allclose([got[f"n{i:02d}"] for i in range(12)], want, rtol=1e-6)
        assert (want > 0).sum() > 3  # the current's activity travelled around the ring
    finally:
        delete_dataset(driver, ds)
    bad = _run(
        driver,
        settings,
        world.cook,
        {"strength": "psd_area", "seconds": 0.1, "stimuli": [{"ids": ["ASHL"]}]},
        tmp_path,
    )
    assert (bad["status"], bad["attempts"]) == ("failed", 1) and "PSD area" in bad["error"]


class _MixedSource(Source):
    """The four-type network of the Brian2 tests (A and B cholinergic, C GABAergic, D
    glutamatergic) as a fly dataset."""

    NT: tuple[str, ...] = ("acetylcholine", "acetylcholine", "gaba", "glutamate")

    def __init__(self, dataset: str, seed: int) -> None:
        self.meta = DatasetMeta(
            id=dataset, name="four types", species="Drosophila melanogaster", source="test"
        )
        self.types, self.pre, self.post, self.strength, self.sign, self.driven = mixed(seed)

    def fingerprint(self) -> str:
        return "four-types-1"

    def neurons(self) -> Iterator[Row]:
        for i, t in enumerate(self.types):
            row = {"id": f"n{i:04d}", "kind": "neuron", "name": f"n{i:04d}"}
            yield (
                Where("types", i + 1),
                {**row, "type": "ABCD"[t], "neurotransmitter": self.NT[t]},
            )

    def connections(self) -> Iterator[Row]:
        for k, (a, b, c) in enumerate(zip(self.pre, self.post, self.strength, strict=True)):
            row = {"pre": f"n{a:04d}", "post": f"n{b:04d}", "synapse_count": int(c)}
            yield (Where("connections", k + 1), row)


def test_the_job_runs_shius_model_on_a_fly_network(
    driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """A 1000-neuron fly network of four types, 20 type-A neurons driven at 150 Hz, 20
    trials of 1 s, nothing but the stimulus given: the job's per-trial rates agree with
    Shiu et al.'s own model in Brian2 as the engine's do (``agree``), and its metrics
    name no departure from their model."""
    ds = f"t_types_{uuid.uuid4().hex[:8]}"
    src = _MixedSource(ds, 11)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    try:
        stimulus = {"ids": [f"n{i:04d}" for i in src.driven], "rate_hz": 150.0}
        params = {"trials": 20, "seed": 2, "stimuli": [stimulus]}
        j = _run(driver, settings, ds, params, tmp_path)
        assert j["status"] == "succeeded", j.get("error")
        metrics, _ = _outputs(driver, j["run_id"])
        vectors = _vectors(driver, j["run_id"])
    finally:
        delete_dataset(driver, ds)
    assert metrics["sign_rule"] == "drosophila"
    assert metrics["inhibitory_neurons"] == 400
    assert metrics["departures_from_shiu2024"] == []
    n = src.types.size
    ours = np.array([vectors[f"n{i:04d}"] for i in range(n)]).T  # (trials, n)
    theirs = their_poisson_rates(
        n, src.pre, src.post, src.strength, src.sign, src.driven, 20, seed=1
    )
    agree(ours, theirs, src.types, src.driven)


RUN_QUERY = """
query($id: ID!, $ids: [ID!], $trial: Int!) {
  modelRun(id: $id) {
    kind
    spikeTrains(first: 5, trial: $trial) { neuronId trial timesMs }
    named: spikeTrains(neuronIds: $ids, trial: $trial) { neuronId timesMs }
    populationRate { binMs ratesHz }
    files { name url }
  }
}"""


def test_spike_trains_rates_and_plots_over_the_api(
    world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    """A run written to the artifact folder the API shares: its spike trains over
    GraphQL equal the npz, the most active first; its population rate is the metrics';
    its plots come over HTTP to readers of the dataset only."""
    queue = f"q_{uuid.uuid4().hex[:8]}"
    q = JobQueue(driver, settings.neo4j_database)
    params = {
        "seconds": 0.2,
        "trials": 2,
        "stimuli": [{"ids": ["ASHL", "ASHR"], "kind": "current", "amplitude_mv": 15.0}],
    }
    job = q.submit(JobRequest(world.cook, "simulate", params, None, 1, queue))
    Worker(driver, settings.neo4j_database, "sim", 120, 0.1, queue, settings.artifacts).run_once()
    j = q.job(job["id"])
    assert j["status"] == "succeeded", j.get("error")
    metrics, _ = _outputs(driver, j["run_id"])
    folder = Path(metrics["artifact_dir"])
    try:
        data = world.client("victor")(RUN_QUERY, id=j["run_id"], ids=["AVAL", "ASHL"], trial=1)
        run = data["modelRun"]
        art = np.load(folder / "spikes.npz")
        names = list(art["neuron_ids"])
        mine = art["trial"] == 1
        counts = {names[i]: c for i, c in enumerate(np.bincount(art["neuron"][mine])) if c}
        top = sorted(counts, key=lambda v: (-counts[v], v))[:5]
        assert [t["neuronId"] for t in run["spikeTrains"]] == top
        for t in run["spikeTrains"] + run["named"]:
            k = names.index(t["neuronId"])
            want = art["step"][mine & (art["neuron"] == k)] * 0.1
            np.testing.assert_allclose(t["timesMs"], want)
        assert [t["neuronId"] for t in run["named"]] == ["AVAL", "ASHL"]
        assert len(run["named"][1]["timesMs"]) > 10  # ASHL is driven
        assert run["populationRate"]["ratesHz"] == metrics["population_rate_hz"]
        assert {f["name"] for f in run["files"]} == {"spikes.npz", "raster-0.png", "rate-0.png"}
        url = next(f["url"] for f in run["files"] if f["name"] == "raster-0.png")
        ok = httpx.get(
            world.url + url, headers={"Authorization": f"Bearer {world.tokens['victor']}"}
        )
        assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
        assert ok.content == (folder / "raster-0.png").read_bytes()
        other = httpx.get(
            world.url + url, headers={"Authorization": f"Bearer {world.tokens['bob']}"}
        )
        assert other.status_code == 404  # lab B cannot read lab A's dataset
        assert httpx.get(world.url + url).status_code in (401, 404)
        missing = httpx.get(
            world.url + f"/runs/{j['run_id']}/files/..%2F..%2Fsettings.py",
            headers={"Authorization": f"Bearer {world.tokens['victor']}"},
        )
        assert missing.status_code == 404
        code, _ = world.client("victor").error(RUN_QUERY, id=j["run_id"], ids=["NOPE"], trial=0)
        assert code == "NOT_FOUND"
        code, _ = world.client("victor").error(RUN_QUERY, id=j["run_id"], ids=None, trial=2)
        assert code == "BAD_INPUT"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _rate_steady_state(
    w: np.ndarray, x: np.ndarray, tau: float, dt: float, r_max: float
) -> np.ndarray:
    """The rate model's fixed point by plain Euler steps (dense, written here)."""
    r = np.zeros_like(x)
    for _ in range(100_000):
        step = dt / tau * (np.clip(w @ r + x, 0, r_max) - r)
        r += step
        if np.abs(step).max() < 1e-12:
            return r
    raise AssertionError("no steady state")


def test_fit_strengths_recovers_planted_gains_and_simulate_uses_them(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """Rates from Cook 2019 with a planted gain per presynaptic class (the rate
    model's steady state, computed here); the fit sees half of the neurons' rates and
    recovers every constrained class's gain; a rate simulation with the fitted run as
    strength_run reproduces all the planted rates."""
    ids, _, _, sign, _ = _sheet_network(world, driver, settings)
    ix = {v: i for i, v in enumerate(ids)}
    cls = {
        r["id"]: r["cls"] or "(none)"
        for r in driver.execute_query(
            "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.class AS cls", ds=world.cook
        ).records
    }
    classes = sorted(set(cls.values()))
    rng = np.random.default_rng(8)
    planted = dict(zip(classes, rng.uniform(0.5, 2.0, len(classes)), strict=True))
    chem, _, _ = cook_graphs(str(settings.data_cache))
    dense = np.zeros((len(ids), len(ids)))
    for a, b, d in chem.edges(data=True):
        if a in ix and b in ix:
            dense[ix[b], ix[a]] += sign[ix[a]] * 0.01 * d["synapse_count"] * planted[cls[a]]
    x = np.zeros(len(ids))
    stim = ["ASHL", "ASHR", "ALML", "ALMR", "PLML", "PLMR"]
    x[[ix[v] for v in stim]] = 50.0
    truth = _rate_steady_state(dense, x, 10.0, 1.0, 200.0)
    assert (truth > 0).sum() > 100
    seen = sorted(rng.choice(len(ids), len(ids) // 2, replace=False))
    params = {
        "level": "class",
        "w_syn": 0.01,
        "stimuli": [{"ids": stim, "rate_hz": 50.0}],
        "targets": [{"ids": [ids[i]], "rate_hz": float(truth[i])} for i in seen],
    }
    j = _run_kind(driver, settings, world.cook, "fit_strengths", params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, gains = _outputs(driver, j["run_id"])
    assert len(metrics["identified"]) >= 3 and not metrics["not_identified"]
    for c in metrics["identified"]:
        assert metrics["gains"][c] == pytest.approx(planted[c], rel=1e-4), c
    for c in metrics["unconstrained"]:
        assert metrics["gains"][c] == 1.0
    assert metrics["rms_hz"][-1] < 1e-3 < metrics["rms_hz"][0]
    assert gains["AVAL"] == metrics["gains"][cls["AVAL"]]
    sim = _run(
        driver,
        settings,
        world.cook,
        {
            "model": "rate",
            "dt": 1.0,
            "seconds": 2.0,
            "w_syn": 0.01,
            "rate_gain": 1.0,
            "strength_run": j["run_id"],
            "stimuli": [{"ids": stim, "rate_hz": 50.0}],
        },
        tmp_path,
    )
    assert sim["status"] == "succeeded", sim.get("error")
    _, rates = _outputs(driver, sim["run_id"])
    np.testing.assert_allclose([rates[v] for v in ids], truth, rtol=1e-3, atol=1e-3)
    wrong = _run(
        driver,
        settings,
        world.cook,
        {"strength_run": sim["run_id"], "seconds": 0.1, "stimuli": [{"ids": ["ASHL"]}]},
        tmp_path,
    )
    assert wrong["status"] == "failed" and "not fit_strengths" in wrong["error"]


def test_the_cli_reads_sweep_parameters_from_a_file(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """`connectomedb job submit DATASET simulate --params @FILE`: the job carries the
    file's parameters; a file that is not JSON is refused with its line and column."""
    cli = str(Path(sys.executable).parent / "connectomedb")
    queue = f"q_{uuid.uuid4().hex[:8]}"
    good = tmp_path / "sweep.json"
    good.write_text(json.dumps({"stimuli": [{"ids": ["ASHL"]}], "grid": {"w_syn": [0.2, 0.3]}}))
    out = subprocess.run(
        [cli, "job", "submit", world.cook, "simulate", "--params", f"@{good}", "--queue", queue],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    job = JobQueue(driver, settings.neo4j_database).job(out.stdout.strip().splitlines()[-1])
    assert json.loads(job["params"])["grid"] == {"w_syn": [0.2, 0.3]}
    JobQueue(driver, settings.neo4j_database).cancel(job["id"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"stimuli": [\n  {"ids": ["ASHL"],}\n]}')
    out = subprocess.run(
        [cli, "job", "submit", world.cook, "simulate", "--params", f"@{bad}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    said = " ".join((out.stdout + out.stderr).split())  # the console may wrap long paths
    assert "is not JSON: line 2, column" in said and "bad.json" in said
