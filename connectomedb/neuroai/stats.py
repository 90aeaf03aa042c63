"""Statistics over seeds: percentile bootstrap intervals of a mean, two-sided
Mann-Whitney U tests between variants, and Holm's step-down correction for a family of
tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from connectomedb.errors import BadInput

#: the test named in every comparison
TEST = "two-sided Mann-Whitney U over seeds, Holm-corrected within each task"


@dataclass(frozen=True)
class Summary:
    """A metric over seeds: mean, percentile bootstrap interval of the mean, spread."""

    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    std: float | None


def bootstrap_ci(
    values: np.ndarray, *, level: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> Summary:
    """The mean of the finite ``values`` with its percentile bootstrap interval (``resamples``
    resamples of the seeds, with replacement)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Summary(0, None, None, None, None)
    if not 0 < level < 1:
        raise BadInput(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(v.size, size=(resamples, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return Summary(int(v.size), float(v.mean()), float(lo), float(hi), std)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control) for ``p``."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


@dataclass(frozen=True)
class Comparison:
    """Variant ``a`` against ``b`` on one metric."""

    a: str
    b: str
    metric: str
    difference: float | None  # mean(a) - mean(b)
    p: float | None
    p_adjusted: float | None = None
    different: bool = False


def compare(a: str, b: str, metric: str, x: np.ndarray, y: np.ndarray) -> Comparison:
    """The two-sided Mann-Whitney U test of ``x`` against ``y`` (finite values only); no
    p-value when either side has fewer than two values or all values are equal."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size < 2 or y.size < 2:
        return Comparison(a, b, metric, None, None)
    diff = float(x.mean() - y.mean())
    if np.ptp(np.concatenate([x, y])) == 0:
        return Comparison(a, b, metric, diff, 1.0)
    p = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    return Comparison(a, b, metric, diff, p)


def correct(tests: list[Comparison], alpha: float = 0.05) -> list[Comparison]:
    """``tests`` with Holm-adjusted p-values over the family and the verdict at ``alpha``."""
    ps = np.array([t.p for t in tests if t.p is not None])
    adj = iter(holm(ps)) if ps.size else iter(())
    out = []
    for t in tests:
        if t.p is None:
            out.append(t)
            continue
        q = float(next(adj))
        out.append(Comparison(t.a, t.b, t.metric, t.difference, t.p, q, q < alpha))
    return out
