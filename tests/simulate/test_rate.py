"""The rate model against its linear fixed point and its rectification."""

from __future__ import annotations

import numpy as np
import torch

from connectomedb.simulate.engine import weight_matrix
from connectomedb.simulate.rate import RateParams, simulate_rates


def _stable(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = (rng.random((n, n)) < 0.1) * rng.random((n, n))
    np.fill_diagonal(a, 0)
    a *= 0.5 / np.abs(np.linalg.eigvals(a)).max()  # spectral radius 0.5
    post, pre = np.nonzero(a)
    return a, pre, post, a[post, pre]


def test_a_linear_network_settles_at_its_fixed_point() -> None:
    """With non-negative weights and input and no clipping, r* = (I - W)^-1 x."""
    n = 60
    a, pre, post, vals = _stable(n, 1)
    w = weight_matrix(n, pre, post, vals, np.ones(n), 1.0)
    x = np.random.default_rng(2).uniform(1, 5, n)
    want = np.linalg.solve(np.eye(n) - a, x)
    assert want.max() < 200
    got = simulate_rates(w, RateParams(), 20_000, x, dtype=torch.float64)
    np.testing.assert_allclose(got.rates[0], want, rtol=1e-6)
    assert got.population[0, -1] == np.mean(got.rates[0])


def test_rectification_and_saturation() -> None:
    n = 3
    w = weight_matrix(
        n, np.array([], dtype=int), np.array([], dtype=int), np.array([]), np.ones(n), 1.0
    )
    got = simulate_rates(w, RateParams(r_max=50.0), 5_000, np.array([-10.0, 20.0, 500.0]))
    np.testing.assert_allclose(got.rates[0], [0.0, 20.0, 50.0], atol=1e-3)
    # two input patterns as one batch
    both = simulate_rates(w, RateParams(), 5_000, np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    np.testing.assert_allclose(both.rates, [[1, 2, 3], [3, 2, 1]], atol=1e-3)
