"""The linear propagation model and its cross-validation: propagators of hand-written
networks, the Jacobian against finite differences of a model computed here, planted
gains recovered and better than every baseline on held-out neurons, no gain over the
no-wiring baseline where responses ignore the wiring, and the job on Cook 2019 with the
signal propagation atlas against the h5 file read here."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import neo4j
import numpy as np
import pytest

from connectomedb.errors import BadInput
from connectomedb.jobs.registry import check_params
from connectomedb.loaders.functional import MeasurementLoad
from connectomedb.settings import Settings
from connectomedb.simulate import propagation as prop
from connectomedb.simulate.propagation_job import OTHER, PropagationFitParams, rule_signs
from tests.factories import run_job
from tests.oracles import cook_graphs, funatlas
from tests.world import World

NONE = np.zeros(0, dtype=np.int64)


def _wiring(
    n: int,
    edges: list[tuple[int, int, float]],
    sign: list[float],
    groups: list[int],
    gaps: list[tuple[int, int, float]] = (),  # type: ignore[assignment]
) -> prop.Wiring:
    pre, post, w = (np.array(c) for c in zip(*edges, strict=True))
    ga, gb, gc = (np.array(c) for c in zip(*gaps, strict=True)) if gaps else (NONE, NONE, NONE)
    return prop.Wiring(
        n,
        pre.astype(np.int64),
        post.astype(np.int64),
        w.astype(float),
        np.array(sign, dtype=float),
        np.array(groups),
        max(groups) + 1,
        ga.astype(np.int64),
        gb.astype(np.int64),
        gc.astype(float),
    )


def test_a_chain_propagates_along_its_paths_only() -> None:
    # 0 -> 1 -> 2 -> 3 with 2, 3 and 4 synapses; neuron 1 is inhibitory; groups 0, 1, 0, 1
    # with gains 0.5 and 2. A chain has no cycle: its Perron root is 0 and W stays as read.
    w = _wiring(4, [(0, 1, 2), (1, 2, 3), (2, 3, 4)], [1, -1, 1, 1], [0, 1, 0, 1])
    net = prop.network(w, rho=0.5)
    assert net.normaliser == 1.0
    # by hand: M[1,0] = 2 x 0.5 = 1, M[2,1] = 3 x -1 x 2 = -6, M[3,2] = 4 x 0.5 = 2;
    # (I - M)^-1 = I + M + M^2 + M^3 (M is nilpotent)
    want = np.array(
        [
            [1, 0, 0, 0],
            [1, 1, 0, 0],
            [-6, -6, 1, 0],
            [-12, -12, 2, 1],
        ],
        dtype=float,
    )
    got = prop.propagator(net, prop.Gains(np.array([0.5, 2.0]), 0.0))
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_a_ring_is_normalised_by_its_perron_root_and_inverted_in_closed_form() -> None:
    # 0 -> 1 -> 2 -> 3 -> 0 with 1, 2, 4, 8 synapses, neuron 3 inhibitory: the Perron root
    # of |W| is (1 x 2 x 4 x 8)^(1/4) = 2 sqrt 2, so c = 0.5 / (2 sqrt 2)
    w = _wiring(4, [(0, 1, 1), (1, 2, 2), (2, 3, 4), (3, 0, 8)], [1, 1, 1, -1], [0, 0, 0, 0])
    net = prop.network(w, rho=0.5)
    c = 0.5 / (2 * math.sqrt(2))
    assert net.normaliser == pytest.approx(c)
    r = prop.propagator(net, prop.Gains.unit(net))
    # around the loop: L = c^4 x 64 x (-1) = -rho^4 = -1/16, and the path 0 -> 1 -> 2
    # gains 1 x 2 x c^2, so R[2, 0] = 2 c^2 / (1 - L); R[0, 0] = 1 / (1 - L)
    assert r[2, 0] == pytest.approx(2 * c**2 / (1 + 1 / 16))
    assert r[0, 0] == pytest.approx(1 / (1 + 1 / 16))
    assert r[0, 2] == pytest.approx(4 * -8 * c**2 / (1 + 1 / 16))
    assert prop.radius(net, prop.Gains.unit(net)) == pytest.approx(0.5)


def test_gap_junctions_couple_both_ways_with_their_own_gain() -> None:
    w = _wiring(3, [(0, 1, 3), (1, 2, 1)], [1, -1, 1], [0, 1, 0], gaps=[(0, 2, 2)])
    net = prop.network(w, rho=0.4)
    raw = np.array([[0, 0, 2], [3, 0, 0], [2, 1, 0]], dtype=float)  # |W|: chemical + gap
    c = 0.4 / np.abs(np.linalg.eigvals(raw)).max()
    assert net.normaliser == pytest.approx(c)
    g1, g2, gap = 1.3, 0.6, 0.7
    m = c * np.array(
        [
            [0, 0, 2 * gap],
            [3 * g1, 0, 0],
            [2 * gap, -1 * g2, 0],
        ]
    )
    got = prop.propagator(net, prop.Gains(np.array([g1, g2]), gap))
    np.testing.assert_allclose(got, np.linalg.inv(np.eye(3) - m), rtol=1e-12)
    # the bound keeps W S stable for any gains within it, signs and all
    worst = prop.Gains(np.full(2, net.bound), net.bound)
    assert prop.radius(net, worst) < 1


def _random_wiring(
    seed: int, n: int = 50, k: int = 4, p: float = 0.1
) -> tuple[prop.Wiring, np.random.Generator]:
    rng = np.random.default_rng(seed)
    adj = rng.random((n, n)) < p
    np.fill_diagonal(adj, False)
    post, pre = np.nonzero(adj)
    ga, gb = np.nonzero(np.triu(rng.random((n, n)) < 0.03, 1))
    sign = np.where(rng.random(n) < 0.3, -1.0, 1.0)
    # transmitter groups: the inhibitory ones (free), half the excitatory ones (free),
    # the rest pinned
    tg = np.where(sign < 0, 0, np.where(rng.random(n) < 0.5, 1, -1))
    w = prop.Wiring(
        n,
        pre,
        post,
        rng.integers(1, 10, pre.size).astype(float),
        sign,
        rng.integers(0, k, n),
        k,
        ga,
        gb,
        rng.integers(1, 5, ga.size).astype(float),
        tg,
        2,
    )
    return w, rng


def _all_pairs(n: int, stimulated: int) -> tuple[np.ndarray, np.ndarray]:
    s, r = np.meshgrid(np.arange(stimulated), np.arange(n), indexing="ij")
    keep = s != r
    return s[keep], r[keep]


@pytest.mark.parametrize(("intercept", "free_signs"), [(False, False), (True, True)])
def test_the_jacobian_equals_finite_differences(intercept: bool, free_signs: bool) -> None:
    w, rng = _random_wiring(3, n=25, k=3, p=0.2)
    net = prop.network(w)
    stim = rng.integers(0, 25, 300)
    resp = rng.integers(0, 25, 300)
    keep = stim != resp
    stim, resp = stim[keep], resp[keep]
    y = rng.normal(0, 1, stim.size)

    def residuals(theta: np.ndarray) -> np.ndarray:
        """The model written out here: W S from the matrices, then y ~ a x (+ b)."""
        g, gap = theta[:3], theta[3]
        s = w.sign.copy()
        if free_signs:
            assert w.sign_groups is not None
            s = np.where(w.sign_groups >= 0, theta[4:][np.maximum(w.sign_groups, 0)], s)
        m = net.chem * (s * g[w.groups])[None, :] + gap * net.gap
        x = np.linalg.inv(np.eye(25) - m)[resp, stim]
        phi = np.stack([x, np.ones_like(x)], 1) if intercept else x[:, None]
        c = np.linalg.lstsq(phi, y, rcond=None)[0]
        return phi @ c - y

    theta = np.array([0.4, 1.2, 0.9, 0.7] + ([-0.6, 0.3] if free_signs else []))
    layout, res, jac = prop._problem(net, stim, resp, y, free_signs, intercept)
    assert layout.size == theta.size
    np.testing.assert_allclose(res(theta), residuals(theta), atol=1e-12)
    h = 1e-6
    numeric = np.stack(
        [(residuals(theta + e) - residuals(theta - e)) / (2 * h) for e in np.eye(theta.size) * h],
        axis=1,
    )
    np.testing.assert_allclose(jac(theta), numeric, atol=1e-7)


def test_planted_gains_are_recovered_and_beat_every_baseline_on_held_out_neurons() -> None:
    w, rng = _random_wiring(1, n=60)
    net = prop.network(w)
    truth = prop.Gains(np.array([0.3, 1.5, 0.8, 1.2]), 0.5)
    stim, resp = _all_pairs(60, 40)
    r = np.linalg.inv(np.eye(60) - prop.coupling(net, truth))
    y = 2.0 * r[resp, stim] + rng.normal(0, 0.005, stim.size)
    cv = prop.cross_validate(w, stim, resp, y, folds=5, shuffles=2, seed=4)
    np.testing.assert_allclose(cv.final.gains.group, truth.group, atol=0.05)
    assert cv.final.gains.gap == pytest.approx(0.5, abs=0.05)
    assert cv.final.scale == pytest.approx(2.0, rel=0.05)
    for fold in range(5):
        fitted = cv.scores["fitted"][fold]
        for other in ("synapse_count", "shuffled", "no_wiring"):
            assert fitted["mse"] < cv.scores[other][fold]["mse"], (fold, other)
            assert fitted["pearson"] > cv.scores[other][fold]["pearson"], (fold, other)
    paired = cv.paired()
    for other in ("synapse_count", "shuffled", "no_wiring"):
        assert paired[other]["mse"]["difference"]["high"] < 0, other
        assert paired[other]["mse"]["t_test_p"] < 0.05, other
        assert paired[other]["mse"]["better_in"] == 5
        # 5 of 5 folds: the two-sided sign test's smallest p, 2 / 2^5
        assert paired[other]["mse"]["sign_test_p"] == pytest.approx(0.0625)
    summary = cv.summary()
    assert summary["fitted"]["pearson"]["low"] > 0.9
    assert summary["no_wiring"]["pearson"]["high"] < 0.5


def test_a_planted_sign_is_recovered_with_free_signs() -> None:
    w, rng = _random_wiring(2, n=60)
    net = prop.network(w)
    # group 0 inhibitory as the rule says; group 1, excitatory by the rule, in truth
    # inhibitory at half strength
    truth = prop.Gains(np.array([0.6, 1.4, 1.0, 0.8]), 0.5, np.array([-1.0, -0.5]))
    stim, resp = _all_pairs(60, 45)
    r = np.linalg.inv(np.eye(60) - prop.coupling(net, truth))
    y = r[resp, stim] + rng.normal(0, 0.002, stim.size)
    fixed = prop.fit(net, stim, resp, y)
    free = prop.fit(net, stim, resp, y, free_signs=True)
    np.testing.assert_allclose(free.gains.signs, truth.signs, atol=0.05)
    np.testing.assert_allclose(free.gains.group, truth.group, atol=0.1)
    assert free.mse < fixed.mse / 10


def test_many_planted_gains_are_recovered_by_the_lsmr_steps() -> None:
    k = 25  # more parameters than prop.EXACT_UP_TO
    w, rng = _random_wiring(7, n=60, k=k, p=0.15)
    net = prop.network(w)
    truth = prop.Gains(rng.uniform(0.3, 1.7, k), 0.8)
    stim, resp = _all_pairs(60, 60)
    y = 1.5 * np.linalg.inv(np.eye(60) - prop.coupling(net, truth))[resp, stim]
    f = prop.fit(net, stim, resp, y)
    sends = np.bincount(w.groups[w.pre], minlength=k) > 0
    assert 0 < (~sends).sum() < k  # some groups have no neuron: their gain never moves
    np.testing.assert_allclose(f.gains.group[sends], truth.group[sends], atol=1e-4)
    np.testing.assert_array_equal(f.gains.group[~sends], 1.0)
    np.testing.assert_array_equal(f.constrained, sends)
    assert f.scale == pytest.approx(1.5, rel=1e-4) and f.mse < 1e-12


def test_responses_that_ignore_the_wiring_are_no_better_predicted_by_it() -> None:
    w, rng = _random_wiring(5, n=60)
    stim, resp = _all_pairs(60, 40)
    # each responder has its own mean response, whoever is stimulated
    offset = rng.normal(0, 1, 60)
    y = offset[resp] + rng.normal(0, 0.5, stim.size)
    cv = prop.cross_validate(w, stim, resp, y, folds=5, shuffles=1, seed=1)
    vs = cv.paired()["no_wiring"]
    assert not vs["mse"]["difference"]["high"] < 0  # not significantly lower error
    assert vs["mse"]["better_in"] == 0
    assert not vs["pearson"]["difference"]["low"] > 0  # nor significantly higher r
    assert cv.summary()["no_wiring"]["pearson"]["low"] > 0.7


def test_folds_partition_the_stimulated_neurons_and_follow_the_seed() -> None:
    stim = np.array([5, 5, 7, 9, 9, 9, 11, 12, 12, 20])
    a = prop.stimulus_folds(stim, 3, np.random.default_rng(0))
    b = prop.stimulus_folds(stim, 3, np.random.default_rng(0))
    assert sorted(np.concatenate(a).tolist()) == [5, 7, 9, 11, 12, 20]
    assert [len(f) for f in a] == [2, 2, 2]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(BadInput, match="7 folds"):
        prop.stimulus_folds(stim, 7, np.random.default_rng(0))
    with pytest.raises(BadInput):
        prop.stimulus_folds(stim, 1, np.random.default_rng(0))


def test_a_shuffle_keeps_degrees_out_weights_autapses_and_gap_degrees() -> None:
    w, _ = _random_wiring(6, n=40, p=0.15)
    w = prop.Wiring(
        w.n,
        np.append(w.pre, 3),
        np.append(w.post, 3),
        np.append(w.weight, 7.0),
        w.sign,
        w.groups,
        w.n_groups,
        w.gap_a,
        w.gap_b,
        w.gap_count,
    )
    s = w.shuffled(np.random.default_rng(0))
    n = w.n
    for idx in ("pre", "post"):
        assert np.array_equal(
            np.bincount(getattr(s, idx), minlength=n), np.bincount(getattr(w, idx), minlength=n)
        )
    for v in range(n):  # each neuron sends the same synapse counts
        assert sorted(w.weight[w.pre == v]) == sorted(s.weight[s.pre == v])
    assert ((s.pre == 3) & (s.post == 3) & (s.weight == 7.0)).sum() == 1
    assert len(set(zip(s.pre.tolist(), s.post.tolist(), strict=True))) == s.pre.size
    assert set(zip(s.pre, s.post, strict=True)) != set(zip(w.pre, w.post, strict=True))
    gap_degree = lambda x: np.bincount(np.concatenate([x.gap_a, x.gap_b]), minlength=n)  # noqa: E731
    assert np.array_equal(gap_degree(s), gap_degree(w))
    assert sorted(s.gap_count) == sorted(w.gap_count) and (s.gap_a < s.gap_b).all()


def test_the_no_wiring_baseline_is_each_responders_training_mean() -> None:
    got = prop.responder_means(
        np.array([0, 0, 2]), np.array([1.0, 3.0, 5.0]), np.array([0, 1, 2]), 3
    )
    np.testing.assert_allclose(got, [2.0, 3.0, 5.0])  # responder 1 unseen: the mean 3


def test_intervals_and_paired_tests_equal_hand_computed_values() -> None:
    ci = prop.t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    # t(0.975, 4 df) = 2.776445 (tables); sd = sqrt(2.5)
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert ci["mean"] == 3.0 and ci["sd"] == pytest.approx(math.sqrt(2.5))
    assert (ci["low"], ci["high"]) == (pytest.approx(3 - half), pytest.approx(3 + half))
    # differences 1, 2, 3, 4, 5 (all positive): t = 3 / (sqrt 2.5 / sqrt 5) = 4.2426,
    # two-sided p with 4 df = 0.01324; sign test 5 of 5: 2 / 32
    d = prop.paired([2, 4, 6, 8, 10], [1, 2, 3, 4, 5], lower_is_better=False)
    assert d["better_in"] == 5 and d["sign_test_p"] == pytest.approx(0.0625)
    assert d["t_test_p"] == pytest.approx(0.01324, abs=1e-4)
    worse = prop.paired([2, 4, 6, 8, 10], [1, 2, 3, 4, 5], lower_is_better=True)
    assert worse["better_in"] == 0
    assert prop.t_interval([1.0])["low"] is None


def test_the_sign_rule_and_transmitter_groups() -> None:
    sign, group = rule_signs(
        ["gaba", "Acetylcholine,serotonin", None, "dopamine", "glutamate,betaine"], "celegans"
    )
    assert sign.tolist() == [-1, 1, 1, 1, 1]
    assert group == ["gaba", "acetylcholine", OTHER, OTHER, "glutamate"]


def test_bad_inputs_are_refused() -> None:
    w = _wiring(3, [(0, 1, 1), (1, 2, 1)], [1, 1, 1], [0, 0, 0])
    with pytest.raises(BadInput, match="rho"):
        prop.network(w, rho=1.0)
    with pytest.raises(BadInput, match="responder"):
        prop.cross_validate(w, np.array([0, 1]), np.array([0, 2]), np.zeros(2))
    with pytest.raises(BadInput, match="free signs"):
        prop.fit(prop.network(w), np.array([0]), np.array([1]), np.ones(1), free_signs=True)
    with pytest.raises(BadInput, match="folds"):
        check_params("fit_propagation", {"measurements": "x", "folds": 1})
    with pytest.raises(BadInput, match="rho"):
        check_params("fit_propagation", {"measurements": "x", "rho": 1})
    with pytest.raises(BadInput, match="measurements"):
        check_params("fit_propagation", {})
    got = check_params("fit_propagation", {"measurements": "randi2023_wt"})
    assert got == PropagationFitParams(measurements="randi2023_wt").model_dump(mode="json")
    assert got["level"] == "class" and got["folds"] == 5 and got["rho"] == 0.5


def test_the_job_module_imports_neither_torch_nor_the_simulate_job() -> None:
    code = (
        "import sys, connectomedb.simulate.propagation_job, connectomedb.simulate.propagation;"
        "print(sorted(m for m in ('torch', 'connectomedb.simulate.job') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the job on Cook 2019 and the atlas ----------------------------------------------------
def _run_job(driver: neo4j.Driver, settings: Settings, ds: str, params: dict, tmp: Path) -> dict:
    return run_job(driver, settings, ds, "fit_propagation", params, tmp)


def _metrics(driver: neo4j.Driver, run_id: str) -> tuple[dict, dict]:
    rec = driver.execute_query(
        "MATCH (r:ModelRun {id: $id})-[o:OUTPUT]->(n:Neuron) "
        "RETURN r.metrics AS m, collect([n.id, o.score]) AS gains",
        id=run_id,
    ).records[0]
    return json.loads(rec["m"]), dict(rec["gains"])


def test_the_job_on_cook_2019_and_the_atlas(
    atlas: dict[str, MeasurementLoad],
    world: World,
    driver: neo4j.Driver,
    settings: Settings,
    tmp_path: Path,
) -> None:
    df = funatlas(str(settings.data_cache), "wt")
    names = cook_graphs(str(settings.data_cache))[2]
    used = df[
        np.isfinite(df.dFF)
        & df.stimulated.isin(names)
        & df.responder.isin(names)
        & (df.stimulated != df.responder)
    ]
    params = {"measurements": "randi2023_wt", "folds": 5, "shuffles": 1, "seed": 3}
    j = _run_job(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    m, gains = _metrics(driver, j["run_id"])
    assert m["pairs"] == len(used)
    assert m["stimulated_neurons"] == used.stimulated.nunique()
    assert m["responders"] == used.responder.nunique()
    assert m["pairs_dropped"]["no_amplitude"] == int(
        (~np.isfinite(df.dFF) & df.stimulated.isin(names) & df.responder.isin(names)).sum()
    )
    folds = [set(f["stimulated"]) for f in m["folds"]]
    assert len(folds) == 5 and set().union(*folds) == set(used.stimulated)
    assert sum(len(f) for f in folds) == used.stimulated.nunique()  # disjoint
    per_stim = used.groupby("stimulated").size()
    for f in m["folds"]:
        assert f["test_pairs"] == int(per_stim[list(f["stimulated"])].sum())
        assert f["train_pairs"] == len(used) - f["test_pairs"]
        for model in prop.MODELS:
            s = f["models"][model]
            assert s["pairs"] == f["test_pairs"]
            assert math.isfinite(s["mse"]) and s["mse"] > 0, model
            assert -1 <= s["pearson"] <= 1, model
    for model in prop.MODELS:
        assert m["summary"][model]["mse"]["n"] == 5
        assert m["summary"][model]["pearson"]["low"] <= m["summary"][model]["pearson"]["high"]
    assert set(m["paired"]) == {"synapse_count", "shuffled", "no_wiring"}
    # one gain per Cook 2019 class, within the stability bound; every neuron's output
    # is its class's gain
    classes = {
        r["id"]: r["cls"]
        for r in driver.execute_query(
            "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.class AS cls", ds=world.cook
        ).records
    }
    assert set(m["gains"]) == {c if c else "(none)" for c in classes.values()}
    for c, row in m["gains"].items():
        assert 0 <= row["gain"] <= m["gain_bound"] + 1e-9, c
    # a class none of whose neurons sends a chemical synapse (in the sheet) cannot be
    # fitted: its gain stays 1 and says so
    chem = cook_graphs(str(settings.data_cache))[0]
    silent = {
        c or "(none)"
        for c in set(classes.values())
        if not any(chem.out_degree(i) for i, k in classes.items() if k == c and i in chem)
    }
    assert silent  # Cook 2019's CANL and CANR make no chemical synapses
    for c in silent:
        assert m["gains"][c]["gain"] == 1.0 and not m["gains"][c]["constrained"], c
    assert all(gains[i] == m["gains"][classes[i] or "(none)"]["gain"] for i in classes)
    assert m["radius"] < 1
    folder = Path(m["artifact_dir"])
    assert m["files"] == ["scatter.png", "heldout.png"]
    for name in m["files"]:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any("assumption" in c for c in m["caveats"])


def test_the_job_refuses_an_unknown_set(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    j = _run_job(driver, settings, world.cook, {"measurements": "no_such_set"}, tmp_path)
    assert j["status"] == "failed"
    assert "no_such_set" in j["error"]
