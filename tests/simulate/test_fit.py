"""Strength fitting on hand-made networks: the Jacobian against finite differences of a
steady state computed here, recovery of planted gains, and what the fit says when the
targets cannot pin the gains down."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from connectomedb.errors import BadInput
from connectomedb.simulate.fit import _jacobian, fit_gains
from connectomedb.simulate.job import apply_gains, fitted_gains
from connectomedb.simulate.rate import RateParams
from connectomedb.store.graph import Graph

P = RateParams(tau=10.0, dt=0.1, gain=1.3, threshold=2.0, r_max=60.0)


def _fixed_point(w: np.ndarray, s: np.ndarray, x: np.ndarray, p: RateParams) -> np.ndarray:
    """r = clip(gain (W (s r) + x) - threshold, 0, r_max), by damped iteration (dense)."""
    r = np.zeros_like(x)
    for _ in range(200_000):
        new = np.clip(p.gain * (w @ (s * r) + x) - p.threshold, 0, p.r_max)
        if np.abs(new - r).max() < 1e-13:
            return new
        r = r + 0.05 * (new - r)
    raise AssertionError("no fixed point")


def _network(seed: int, n: int = 40, k: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = (rng.random((n, n)) < 0.15) * rng.uniform(0.02, 0.12, (n, n))
    w[:, rng.random(n) < 0.4] *= -1  # inhibitory sources
    np.fill_diagonal(w, 0)
    return w, rng.integers(0, k, n), rng.uniform(0, 20, n)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_jacobian_equals_finite_differences(seed: int) -> None:
    w, groups, x = _network(seed)
    k = int(groups.max()) + 1
    theta = np.random.default_rng(seed).normal(0, 0.3, k)
    r = _fixed_point(w, np.exp(theta)[groups], x, P)
    assert ((r > 0) & (r < P.r_max)).sum() > 10
    onehot = sp.csr_matrix((np.ones(len(groups)), (np.arange(len(groups)), groups)))
    targets = np.arange(len(groups))
    got = _jacobian(sp.csr_matrix(w), onehot, groups, theta, r, x, P, targets)
    h = 1e-6
    for j in range(k):
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        fd = (
            _fixed_point(w, np.exp(up)[groups], x, P) - _fixed_point(w, np.exp(down)[groups], x, P)
        ) / (2 * h)
        np.testing.assert_allclose(got[:, j], fd, atol=1e-5, rtol=1e-4)


def test_planted_gains_are_recovered_from_half_the_rates() -> None:
    w, groups, x = _network(7, n=60)
    planted = np.array([0.6, 1.8, 1.2, 0.9])
    truth = _fixed_point(w, planted[groups], x, P)
    seen = np.arange(0, 60, 2)
    fit = fit_gains(sp.csr_matrix(w), groups, x, seen, truth[seen], P)
    assert fit.identified.all()
    np.testing.assert_allclose(fit.gains, planted, rtol=1e-6)
    assert fit.rms[-1] < 1e-8


def test_two_groups_into_one_observed_neuron_are_not_identified() -> None:
    """Neurons 0 (group 0) and 1 (group 1) both excite neuron 2, the only one observed:
    many pairs of gains give its rate, so neither is identified, though both moved it;
    group 2 (neuron 2 itself, projecting nowhere) is unconstrained and keeps gain 1."""
    w = np.zeros((3, 3))
    w[2, 0], w[2, 1] = 0.1, 0.1
    groups = np.array([0, 1, 2])
    x = np.array([20.0, 30.0, 0.0])
    p = RateParams(tau=10.0, dt=0.1)
    truth = _fixed_point(w, np.array([1.5, 0.7, 1.0]), x, p)
    fit = fit_gains(sp.csr_matrix(w), groups, x, np.array([2]), truth[[2]], p)
    assert fit.rms[-1] < 1e-8  # the rate is matched ...
    assert list(fit.constrained) == [True, True, False]
    assert not fit.identified.any()  # ... but not by a unique pair of gains
    assert fit.gains[2] == 1.0


def test_a_rotating_pair_settles_and_is_fitted() -> None:
    """A pair that excites and inhibits each other (eigenvalues +-5i) settles with the
    fit's default dt (0.1 ms, dt / tau = 0.01) at the fixed point computed here."""
    w = sp.csr_matrix(np.array([[0.0, -5.0], [5.0, 0.0]]))
    x = np.array([10.0, 10.0])
    groups = np.array([0, 0])
    p = RateParams(tau=10.0, dt=0.1, r_max=200.0)
    from connectomedb.simulate.fit import steady_state

    r = steady_state(w, np.ones(2), x, p)
    np.testing.assert_allclose(r, _fixed_point(w.toarray(), np.ones(2), x, p), atol=1e-6)
    assert fit_gains(w, groups, x, np.array([0]), r[[0]], p).rms[-1] < 1e-6


def test_a_fitted_gain_of_zero_is_applied_as_zero() -> None:
    g = Graph("ds", ["a", "b", "c"], np.array([0, 1]), np.array([2, 2]), np.array([3.0, 4.0]))
    run = ("fit_strengths", {"strength": "synapse_count"}, {"a": 0.0, "c": 2.0})  # b: gain 1
    out = apply_gains(g, fitted_gains(run, "run_1", "synapse_count"))
    np.testing.assert_array_equal(out.weight, [0.0, 4.0])
    with pytest.raises(BadInput, match="fitted gains on synapse_count"):
        fitted_gains(run, "run_1", "psd_area")
    with pytest.raises(BadInput, match="is a embedding run"):
        fitted_gains(("embedding", {}, {}), "run_1", "synapse_count")
    with pytest.raises(BadInput, match="no model run 'run_1'"):
        fitted_gains(None, "run_1", "synapse_count")
