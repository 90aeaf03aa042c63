"""Statistics over seeds: Holm's adjustment against a hand-worked example, the bootstrap
interval against scipy's, the Mann-Whitney test's false positives at the nominal rate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from connectomedb.neuroai.stats import Comparison, bootstrap_ci, compare, correct, holm


def test_holm_matches_a_hand_worked_example() -> None:
    # sorted: .005 x4 = .02; .01 x3 = .03; .03 x2 = .06; .04 x1 = .04 -> max so far .06
    assert holm(np.array([0.01, 0.04, 0.03, 0.005])) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm(np.array([0.5, 0.6])) == pytest.approx([1.0, 1.0])


def test_bootstrap_interval_agrees_with_scipy() -> None:
    x = np.random.default_rng(0).normal(3.0, 2.0, size=12)
    s = bootstrap_ci(x, resamples=100_000, seed=1)
    ref = sps.bootstrap(
        (x,), np.mean, method="percentile", n_resamples=100_000, random_state=2
    ).confidence_interval
    assert s.mean == pytest.approx(x.mean())
    assert s.ci_low == pytest.approx(ref.low, abs=0.03)
    assert s.ci_high == pytest.approx(ref.high, abs=0.03)
    assert bootstrap_ci(np.array([np.nan])).n == 0


def test_mann_whitney_rejects_at_the_nominal_rate_under_the_null() -> None:
    rng = np.random.default_rng(7)
    rejected = sum(
        compare("a", "b", "m", rng.normal(size=10), rng.normal(size=10)).p < 0.05  # type: ignore[operator]
        for _ in range(2000)
    )
    # scipy's normal approximation at 10 + 10; binomial sd of 2000 draws ~ .005
    assert 0.03 < rejected / 2000 < 0.06


def test_compare_and_correct() -> None:
    # 3 against 3, fully separated: 2 of the C(6, 3) = 20 orderings are as extreme
    c = compare("a", "b", "m", np.array([4.0, 5.0, 6.0]), np.array([1.0, 2.0, 3.0]))
    assert c.difference == pytest.approx(3.0)
    assert c.p == pytest.approx(0.1)
    same = compare("a", "b", "m", np.ones(5), np.ones(5))
    assert same.p == 1.0
    few = compare("a", "b", "m", np.ones(1), np.ones(5))
    assert few.p is None
    out = correct([c, few, Comparison("a", "c", "m", 0.1, 0.04)])
    # Holm over two p-values, .1 and .04: .04 x 2 = .08, then max(.08, .1 x 1) = .1
    assert out[0].p_adjusted == pytest.approx(0.1) and not out[0].different
    assert out[1].p_adjusted is None and not out[1].different
    assert out[2].p_adjusted == pytest.approx(0.08) and not out[2].different
    strict = correct([Comparison("a", "c", "m", 0.1, 0.01), Comparison("a", "d", "m", 0.1, 0.02)])
    assert [x.different for x in strict] == [True, True]  # .02 and .02
