"""How much the wiring predicts function.

Two kinds of functional data are set beside a connectome (directed chemical connections
with synapse counts, undirected gap junctions with counts, neurons ``0..n-1``):

- :func:`pairwise`: per-pair measurements, as in signal-propagation atlases (Randi et al.
  2023: neuron ``s`` stimulated, the response of neuron ``r`` measured with a q-value and
  an amplitude). Each measured pair gets a wiring category (:data:`CATEGORIES`); the
  result holds the probability of a functional connection per category, odds ratios
  against unwired pairs, rank correlations of the response strength with the synapse
  count and a path-summed weight, and the cross-validated R^2 of the strength from
  wiring features, each tested against a named null model.
- :func:`like_to_like`: per-neuron properties, as in MICrONS (orientation tuning,
  response vectors): connection probability as a function of the similarity of the two
  neurons' properties, with an OLS slope, its robust interval and a permutation test.

Strength is never measured here: synapse and gap-junction counts are the proxies, and
each feature says which count it uses. Inputs are arrays; results are frozen dataclasses
of plain numbers, strings and lists (``dataclasses.asdict`` gives JSON; an odds ratio or
interval end with a zero in its table may be ``inf``).

Cost, measured with ``bench/structure_function.py`` on a shared (loaded) 2-core AMD EPYC
machine, n = 100 000 neurons, 1 000 000 chemical connections, 200 000 gap junctions and
1 000 000 measured pairs: :func:`pairwise` with the label-permutation null and its
default 100 samples takes 26 s (the observed statistics 10 s, A @ A included; each null
sample 0.16 s, the lookups of A and A @ A built once). The degree-preserving null
rewires and rebuilds the whole graph for every sample: 35 s a sample at that size, about
an hour for 100. :func:`like_to_like` on 10 000 measured neurons (2 000 000 sampled
pairs) with its default 1000 permutations takes 2.4 s for a scalar property and 4.3 s
for 16-component vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy import optimize, special, stats

from connectomedb.analytics.checks import check_indices, check_int
from connectomedb.errors import BadInput
from connectomedb.motifs.nulls import degree_preserving

__all__ = [
    "CATEGORIES",
    "LIKE_TO_LIKE_NULL",
    "PAIRWISE_NULLS",
    "CategoryRate",
    "LikeToLikeResult",
    "NullTest",
    "OddsRatio",
    "PairwiseResult",
    "SimilarityBin",
    "categories",
    "like_to_like",
    "pairwise",
]

#: Wiring categories of a measured pair (s, r), in priority order; codes are positions.
CATEGORIES: Final = ("chemical", "gap_junction", "two_hop", "none")
_CHEMICAL, _GAP_JUNCTION, _TWO_HOP, _NONE = range(4)

PairwiseNull = Literal["label_permutation", "degree_preserving"]

#: Each null model of :func:`pairwise` and what it keeps (quoted in every result).
PAIRWISE_NULLS: Final[dict[str, str]] = {
    "label_permutation": "one random permutation of the neurons that occur in the measured "
    "pairs applied to the pairs' indices: the wiring and every degree kept, the alignment "
    "of wiring and function broken",
    "degree_preserving": "chemical connections rewired by edge swaps keeping every in- and "
    "out-degree and every neuron's mutual pairs (10 swaps per connection), synapse counts "
    "shuffled over the new connections; gap junctions rewired by undirected swaps keeping "
    "every neuron's gap-junction degree, each junction keeping its count",
}

#: The null model of :func:`like_to_like`.
LIKE_TO_LIKE_NULL: Final = "values permuted among the measured neurons"

CONFIDENCE: Final = 0.95
_Z: Final = 1.959963984540054  # standard normal 97.5% quantile
_RATE_CI: Final = "Wilson score"
_ODDS_RATIO_CI: Final = "exact conditional (Cornfield)"
# Pairs per block when correlating response vectors (bounds memory to ~100 MB at d = 25).
_BLOCK: Final = 1 << 18


@dataclass(frozen=True)
class CategoryRate:
    """Functional connections among the measured pairs of one wiring category, with a
    Wilson score 95% interval (``None`` where the category has no measured pair)."""

    category: str
    pairs: int
    functional: int
    probability: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class OddsRatio:
    """Odds of a functional connection in ``category`` over those in ``reference``.

    ``table`` is ``[a, b, c, d]``: functional and not functional pairs of the category,
    then of the reference; ``odds_ratio`` is the sample ratio ``a*d / (b*c)``, ``inf``
    when ``b*c = 0 < a*d`` and ``None`` when both products are 0. The 95% interval is
    the exact conditional one (Cornfield): the odds ratios whose noncentral
    hypergeometric tail beyond ``a`` is at least 2.5% each way; with ``a`` at the end of
    its range given the margins (a zero cell) that end is 0 or ``inf``, never an error.
    """

    category: str
    reference: str
    table: list[int]
    odds_ratio: float | None
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class NullTest:
    """An observed statistic against the null: ``p = (1 + #{null >= observed}) /
    (1 + samples)``, one-sided (greater). A null sample whose statistic is undefined
    counts as reaching the observed one; ``null_mean`` averages the finite ones.
    ``observed`` is ``None`` where the statistic is undefined, and so is ``p_value``."""

    statistic: str
    observed: float | None
    null_mean: float | None
    p_value: float | None


@dataclass(frozen=True)
class PairwiseResult:
    """Structure against function over measured pairs (see :func:`pairwise`).

    ``categories`` follows :data:`CATEGORIES`; ``odds_ratios`` holds chemical,
    gap_junction and two_hop against none; ``direct_odds_ratio`` any direct wiring
    (chemical or gap junction) against none. ``tests`` holds, in order, the direct odds
    ratio, ``spearman_count``, ``spearman_path`` and ``cv_r2`` against ``null``.
    """

    neurons: int
    pairs: int
    pairs_with_amplitude: int
    q_threshold: float
    amplitude_mode: str
    categories: list[CategoryRate]
    odds_ratios: list[OddsRatio]
    direct_odds_ratio: OddsRatio
    spearman_count: float | None
    spearman_path: float | None
    cv_r2: float | None
    folds: int
    tests: list[NullTest]
    null: str
    null_description: str
    null_samples: int
    seed: int
    confidence: float = CONFIDENCE
    rate_ci: str = _RATE_CI
    odds_ratio_ci: str = _ODDS_RATIO_CI


@dataclass(frozen=True)
class SimilarityBin:
    """Connection probability among the pairs of one quantile bin of similarity
    (``lower <= similarity < upper``; the last bin includes ``upper``), with a Wilson
    score 95% interval; ``centre`` is the mean similarity of the bin's pairs."""

    lower: float
    upper: float
    centre: float
    pairs: int
    connected: int
    probability: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class LikeToLikeResult:
    """Connection probability against property similarity (see :func:`like_to_like`).

    ``slope`` and ``intercept`` are the OLS fit of connected (0/1) on similarity over
    the pairs used; the 95% interval uses HC1 standard errors and Student's t with
    ``pairs_used - 2`` degrees of freedom; ``p_value`` is two-sided against
    ``null`` with ``permutations`` samples.
    """

    neurons: int
    similarity: str
    pairs_possible: int
    pairs_used: int
    sampled: bool
    connected_pairs: int
    bins: list[SimilarityBin]
    slope: float
    slope_se: float
    slope_ci_low: float
    slope_ci_high: float
    intercept: float
    p_value: float | None
    null: str
    permutations: int
    seed: int
    confidence: float = CONFIDENCE
    slope_ci: str = "HC1 (heteroskedasticity-robust) standard error, Student's t"


# ---------------------------------------------------------------------------------------
# checks


def _floats(name: str, values: npt.ArrayLike, size: int) -> npt.NDArray[np.float64]:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != size:
        raise BadInput(f"{name} must be a one-dimensional array of {size} numbers")
    if arr.size and arr.dtype.kind not in "iuf":
        raise BadInput(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _distinct(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sorted distinct values (by sorting: numpy's hashing unique is slower on 1e6 keys)."""
    out = np.sort(values)
    return out[np.r_[True, out[1:] != out[:-1]]] if out.size else out


def _same_length(names: str, *arrays: np.ndarray) -> None:
    if len({a.size for a in arrays}) > 1:
        sizes = ", ".join(str(a.size) for a in arrays)
        raise BadInput(f"{names} must have the same length, got {sizes}")


def _chemical(
    n: int, pre: npt.ArrayLike, post: npt.ArrayLike, count: npt.ArrayLike | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Checked chemical connections, self-connections left out (they join no pair)."""
    src, dst = check_indices("pre", pre, n), check_indices("post", post, n)
    w = np.ones(src.size) if count is None else _floats("count", count, src.size)
    _same_length("pre, post and count", src, dst, w)
    if not np.all(np.isfinite(w) & (w > 0)):
        raise BadInput("synapse counts must be finite and positive")
    if _distinct(src * n + dst).size != src.size:
        raise BadInput("chemical connections must list each ordered pair once")
    keep = src != dst
    return src[keep], dst[keep], w[keep]


def _gap_junctions(
    n: int, a: npt.ArrayLike, b: npt.ArrayLike, count: npt.ArrayLike | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    u, v = check_indices("gj_a", a, n), check_indices("gj_b", b, n)
    w = np.ones(u.size) if count is None else _floats("gj_count", count, u.size)
    _same_length("gj_a, gj_b and gj_count", u, v, w)
    if not np.all(np.isfinite(w) & (w > 0)):
        raise BadInput("gap junction counts must be finite and positive")
    if _distinct(np.minimum(u, v) * n + np.maximum(u, v)).size != u.size:
        raise BadInput("gap junctions must list each unordered pair once")
    keep = u != v
    return u[keep], v[keep], w[keep]


def _measured(
    n: int, stim: npt.ArrayLike, resp: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    s, r = check_indices("stim", stim, n), check_indices("resp", resp, n)
    _same_length("stim and resp", s, r)
    if np.any(s == r):
        raise BadInput("a measured pair must join two different neurons (stim != resp)")
    return s, r


# ---------------------------------------------------------------------------------------
# wiring lookups


@dataclass(frozen=True)
class _Table:
    """Values of sparse n x n matrices (one column each) by sorted key ``i * n + j``."""

    keys: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]  # (keys, matrices)

    @classmethod
    def of(cls, m: sp.csr_array, n: int, drop_diagonal: bool = False) -> _Table:
        m.sum_duplicates()
        m.sort_indices()
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(m.indptr))
        cols = m.indices.astype(np.int64)
        values = np.asarray(m.data, dtype=np.float64)
        if drop_diagonal:
            off = rows != cols
            rows, cols, values = rows[off], cols[off], values[off]
        return cls(rows * n + cols, values[:, None])

    @classmethod
    def union(cls, parts: list[_Table]) -> _Table:
        """One table whose column k holds the values of ``parts[k]`` (0 where absent)."""
        keys, inverse = np.unique(np.concatenate([p.keys for p in parts]), return_inverse=True)
        values = np.zeros((keys.size, len(parts)))
        start = 0
        for k, p in enumerate(parts):
            values[inverse[start : start + p.keys.size], k] = p.values[:, 0]
            start += p.keys.size
        return cls(keys, values)

    def at(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Values at ``keys`` (sorted keys are looked up fastest), 0 where absent."""
        out = np.zeros((keys.size, self.values.shape[1]))
        if self.keys.size == 0 or keys.size == 0:
            return out
        pos = np.searchsorted(self.keys, keys)
        pos[pos == self.keys.size] = 0
        hit = self.keys[pos] == keys
        out[hit] = self.values[pos[hit]]
        return out


def _hash(keys: npt.NDArray[np.int64], bits: int) -> npt.NDArray[np.intp]:
    """Fibonacci hashing of int64 keys to ``bits`` bits (uint64 products wrap)."""
    h = keys.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # keys are non-negative
    h >>= np.uint64(64 - bits)
    return h.view(np.intp)


class _Wiring:
    """The wiring features of any ordered pair (i, j), looked up by key ``i * n + j``:
    chemical count i -> j, chemical count j -> i, gap-junction count, and the two-hop
    weight (A @ A)[i, j] with ``A`` = chemical counts + gap-junction counts (both ways).
    A @ A is computed once; lookups are binary searches in its sorted keys."""

    def __init__(
        self,
        n: int,
        pre: npt.NDArray[np.int64],
        post: npt.NDArray[np.int64],
        count: npt.NDArray[np.float64],
        gj_a: npt.NDArray[np.int64],
        gj_b: npt.NDArray[np.int64],
        gj_count: npt.NDArray[np.float64],
    ) -> None:
        self.n = n
        chem = sp.csr_array(sp.coo_array((count, (pre, post)), shape=(n, n)))
        gap = sp.csr_array(
            sp.coo_array(
                (np.concatenate([gj_count, gj_count]), (np.r_[gj_a, gj_b], np.r_[gj_b, gj_a])),
                shape=(n, n),
            )
        )
        a = sp.csr_array(chem + gap)
        direct = [_Table.of(chem, n), _Table.of(sp.csr_array(chem.T), n), _Table.of(gap, n)]
        self.tables = (
            _Table.union(direct),
            _Table.of(sp.csr_array(a @ a), n, drop_diagonal=True),
        )
        self.log_out_degree = np.log1p(np.bincount(pre, minlength=n).astype(np.float64))
        self.log_in_degree = np.log1p(np.bincount(post, minlength=n).astype(np.float64))
        self._bits = 0
        self._bitmap = np.zeros(0, dtype=np.uint8)

    def _build_filter(self) -> None:
        """A one-hash Bloom filter over every key of the tables (16 bits a key, about 6%
        false positives), so that most pairs without wiring skip the binary searches."""
        size = sum(t.keys.size for t in self.tables)
        self._bits = int(min(31, max(16, math.ceil(math.log2(16 * max(size, 1))))))
        self._bitmap = np.zeros(1 << (self._bits - 3), dtype=np.uint8)
        for table in self.tables:
            h = _hash(table.keys, self._bits)
            word, bit = h >> 3, h & 7
            for b in range(8):
                # a repeated word is written with the same value, so fancy |= is exact
                self._bitmap[word[bit == b]] |= np.uint8(1 << b)

    def lookup(
        self, keys: npt.NDArray[np.int64], order: npt.NDArray[np.intp] | None = None
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """``(hit, features)``: the queries with any wiring and their four features.

        With ``order`` (the argsort of ``keys``) every key is searched in sorted order;
        without, the Bloom filter picks the candidates first.
        """
        if order is None:
            if self._bits == 0:
                self._build_filter()
            h = _hash(keys, self._bits)
            cand = np.flatnonzero((self._bitmap[h >> 3] >> (h & 7).astype(np.uint8)) & 1)
            cand = cand[np.argsort(keys[cand])]
        else:
            cand = order
        q = keys[cand]
        features = np.concatenate([t.at(q) for t in self.tables], axis=1)
        wired = features.any(axis=1)
        return cand[wired], features[wired]


def _code(features: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """Category codes from the features (chemical s->r, chemical r->s, gap, two-hop)."""
    code = np.full(features.shape[0], _NONE, dtype=np.int8)
    code[features[:, 3] > 0] = _TWO_HOP
    code[features[:, 2] > 0] = _GAP_JUNCTION
    code[features[:, 0] > 0] = _CHEMICAL
    return code


def categories(
    n: int,
    pre: npt.ArrayLike,
    post: npt.ArrayLike,
    gj_a: npt.ArrayLike,
    gj_b: npt.ArrayLike,
    stim: npt.ArrayLike,
    resp: npt.ArrayLike,
) -> npt.NDArray[np.int8]:
    """Wiring category code of each pair (stim[k], resp[k]), positions in :data:`CATEGORIES`.

    ``chemical``: a chemical connection s -> r; ``gap_junction``: a gap junction between s
    and r and no chemical s -> r; ``two_hop``: neither, but a path s -> x -> r whose steps
    are each a chemical connection in its direction or a gap junction; ``none``.

    Shapes:
        pre, post: (m,) chemical connections; gj_a, gj_b: (g,) gap junctions;
        stim, resp: (p,) pairs, stim != resp. Returns (p,) int8.
    """
    n = check_int("n", n, 1)
    src, dst, w = _chemical(n, pre, post, None)
    ga, gb, gw = _gap_junctions(n, gj_a, gj_b, None)
    s, r = _measured(n, stim, resp)
    keys = s * n + r
    hit, features = _Wiring(n, src, dst, w, ga, gb, gw).lookup(keys, np.argsort(keys))
    out = np.full(s.size, _NONE, dtype=np.int8)
    out[hit] = _code(features)
    return out


# ---------------------------------------------------------------------------------------
# pairwise statistics


def _wilson(k: int, m: int) -> tuple[float, float]:
    p = k / m
    denom = 1 + _Z**2 / m
    centre = (p + _Z**2 / (2 * m)) / denom
    half = _Z * math.sqrt(p * (1 - p) / m + _Z**2 / (4 * m * m)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _exact_interval(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Cornfield's exact conditional interval for the odds ratio of [[a, b], [c, d]]:
    given the margins, ``a`` follows Fisher's noncentral hypergeometric law with the
    odds ratio as parameter, and each end solves a tail probability of 2.5% for it
    (vectorised over the support; scipy's own takes seconds for tables of 1e5 pairs)."""
    n1, n0, t = a + b, c + d, a + c
    k = np.arange(max(0, t - n0), min(n1, t) + 1)
    base = (
        special.gammaln(n1 + 1)
        - special.gammaln(k + 1)
        - special.gammaln(n1 - k + 1)
        + special.gammaln(n0 + 1)
        - special.gammaln(t - k + 1)
        - special.gammaln(n0 - t + k + 1)
    )
    above, below = k >= a, k <= a
    alpha = (1 - CONFIDENCE) / 2

    def tail(log_ratio: float, side: npt.NDArray[np.bool_]) -> float:
        z = base + k * log_ratio
        p = np.exp(z - z.max())
        return float(p[side].sum() / p.sum())

    # f rises with the log odds ratio: widen a bracket about the (Haldane) estimate
    # until it changes sign
    centre = math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    width = 3 * math.sqrt(1 / (a + 0.5) + 1 / (b + 0.5) + 1 / (c + 0.5) + 1 / (d + 0.5))

    def solve(f: Callable[[float], float]) -> float:
        lo, hi, step = centre - width, centre + width, width
        while f(lo) > 0 and lo > -1e3:
            lo, step = lo - step, 2 * step
        step = width
        while f(hi) < 0 and hi < 1e3:
            hi, step = hi + step, 2 * step
        return math.exp(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))

    low = 0.0 if a == k[0] else solve(lambda x: tail(x, above) - alpha)
    high = math.inf if a == k[-1] else solve(lambda x: alpha - tail(x, below))
    return low, high


def _odds_ratio(category: str, a: int, b: int, c: int, d: int) -> OddsRatio:
    num, den = a * d, b * c
    ratio = num / den if den else (math.inf if num else None)
    low, high = _exact_interval(a, b, c, d)
    return OddsRatio(category, "none", [a, b, c, d], ratio, low, high)


def _ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Ranks 1..size, ties sharing their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    return (upper - (counts - 1) / 2)[inverse]


@dataclass
class _Sample:
    """The statistics of one alignment of wiring and measurements."""

    pairs: npt.NDArray[np.int64]  # per category
    functional: npt.NDArray[np.int64]  # per category
    rho_count: float
    rho_path: float
    r2: float

    @property
    def direct_odds_ratio(self) -> float:
        a = float(self.functional[_CHEMICAL] + self.functional[_GAP_JUNCTION])
        b = float(self.pairs[_CHEMICAL] + self.pairs[_GAP_JUNCTION]) - a
        c = float(self.functional[_NONE])
        d = float(self.pairs[_NONE]) - c
        if b * c == 0:
            return math.inf if a * d else math.nan
        return a * d / (b * c)


class _Pairs:
    """What stays fixed across null samples: the measured pairs, their functional flags,
    the strengths and their ranks, and the folds (grouped by stimulated neuron)."""

    def __init__(
        self,
        n: int,
        stim: npt.NDArray[np.int64],
        resp: npt.NDArray[np.int64],
        functional: npt.NDArray[np.bool_],
        strength: npt.NDArray[np.float64],
        folds: int,
        rng: np.random.Generator,
    ) -> None:
        self.n = n
        self.size = stim.size
        self.functional = functional
        self.n_functional = int(functional.sum())
        finite = np.flatnonzero(np.isfinite(strength))
        groups = _distinct(stim[finite])
        if finite.size < 3 or groups.size < folds:
            raise BadInput(
                f"too few measured pairs: {finite.size} with an amplitude, from "
                f"{groups.size} stimulated neurons; at least 3 pairs and {folds} "
                "stimulated neurons (one per fold) are needed"
            )
        fold_of_group = np.empty(groups.size, dtype=np.int64)
        fold_of_group[rng.permutation(groups.size)] = np.arange(groups.size) % folds
        fold = fold_of_group[np.searchsorted(groups, stim[finite])]
        order = np.argsort(fold, kind="stable")
        self.rows = finite[order]  # pairs with a strength, fold by fold
        self.fold_of_row = fold[order]
        self.bounds = np.searchsorted(self.fold_of_row, np.arange(folds + 1))
        self.row_of = np.full(stim.size, -1, dtype=np.int64)
        self.row_of[self.rows] = np.arange(self.rows.size)
        y = strength[self.rows]
        ranks = _ranks(y)
        self.rank_centred = ranks - ranks.mean()
        self.rank_ss = float(self.rank_centred @ self.rank_centred)
        # the OLS design, fold by fold: intercept, log1p of the four wiring features
        # (nonzero on few rows, refilled per sample), log1p of the two degrees, and the
        # centred strength last
        self.design = np.zeros((self.rows.size, 8), order="F")
        self.design[:, 0] = 1.0
        self.design[:, 7] = y - y.mean()
        self._filled = np.zeros(0, dtype=np.int64)

    def sample(
        self,
        wiring: _Wiring,
        ps: npt.NDArray[np.int64],
        pr: npt.NDArray[np.int64],
        order: npt.NDArray[np.intp] | None,
    ) -> _Sample:
        """Statistics with pair k read as (ps[k], pr[k]) in ``wiring``."""
        hit, features = wiring.lookup(ps * self.n + pr, order)
        code = _code(features)
        pairs = np.bincount(code, minlength=4).astype(np.int64)
        pairs[_NONE] += self.size - hit.size
        functional = np.bincount(code[self.functional[hit]], minlength=4).astype(np.int64)
        functional[_NONE] += self.n_functional - int(functional.sum())
        rows = self.row_of[hit]
        keep = rows >= 0
        rows, features = rows[keep], features[keep]
        rho_count = self._spearman(rows, features[:, 0])
        rho_path = self._spearman(rows, features[:, 0] + features[:, 2] + features[:, 3])
        design = self.design
        design[self._filled, 1:5] = 0.0
        design[rows, 1:5] = np.log1p(features)
        self._filled = rows
        design[:, 5] = wiring.log_out_degree[ps[self.rows]]
        design[:, 6] = wiring.log_in_degree[pr[self.rows]]
        return _Sample(pairs, functional, rho_count, rho_path, self._cv_r2())

    def _spearman(self, rows: npt.NDArray[np.int64], weight: npt.NDArray[np.float64]) -> float:
        """Spearman's rho of the strengths with a non-negative weight that is 0 outside
        ``rows``: ranks of the zeros are one shared value, so only the nonzero entries
        are sorted and summed."""
        nz = weight > 0
        rows, weight = rows[nz], weight[nz]
        total = self.rank_centred.size
        zeros = total - rows.size
        zero_rank = (zeros + 1) / 2
        ranks = zeros + _ranks(weight)
        mean = (total + 1) / 2
        ss = zeros * (zero_rank - mean) ** 2 + float(np.sum((ranks - mean) ** 2))
        if ss <= 0 or self.rank_ss <= 0:
            return math.nan
        # the strength ranks are centred, so the zeros' shared rank adds nothing
        cov = float(self.rank_centred[rows] @ (ranks - zero_rank))
        return cov / math.sqrt(self.rank_ss * ss)

    def _cv_r2(self) -> float:
        """Out-of-fold R^2 of OLS, each fold's fit from the moment matrices of the other
        folds and its squared error from its own (no per-row predictions needed)."""
        design, b = self.design, self.bounds
        m = np.stack(
            [design[b[k] : b[k + 1]].T @ design[b[k] : b[k + 1]] for k in range(b.size - 1)]
        )
        total = m.sum(axis=0)
        if total[7, 7] <= 0:
            return math.nan
        train = total - m
        # the pseudo-inverse gives the minimum-norm fit when a feature is constant in a
        # training set (no gap junctions among its pairs, say)
        inverse = np.linalg.pinv(train[:, :7, :7], rcond=1e-12, hermitian=True)
        beta = (inverse @ train[:, :7, 7:])[..., 0]
        sse = (
            m[:, 7, 7]
            - 2 * np.einsum("ki,ki->k", beta, m[:, :7, 7])
            + np.einsum("ki,kij,kj->k", beta, m[:, :7, :7], beta)
        )
        return 1.0 - float(np.maximum(sse, 0.0).sum()) / float(total[7, 7])


def _swap_undirected(
    n: int,
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    rng: np.random.Generator,
    swaps_per_edge: float = 10.0,
    max_rounds: int = 100_000,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Undirected edge swaps (a-b, c-d become a-d, c-b) keeping every node's degree and
    leaving no self-loop or repeated pair; edge k stays at position k, so a value
    attached to it (a count) moves with it. Swaps are proposed in vectorised rounds,
    each edge in one proposal a round, and only a conflict-free subset is applied."""
    a, b = a.copy(), b.copy()
    m = a.size
    target, done, idle = int(swaps_per_edge * m), 0, 0
    for _ in range(max_rounds):
        if done >= target or m < 2 or idle > 1000:
            break
        links = np.sort(np.minimum(a, b) * n + np.maximum(a, b))
        flip = rng.random(m) < 0.5  # random orientation: both swap partners are tried
        a, b = np.where(flip, b, a), np.where(flip, a, b)
        perm = rng.permutation(m)
        e1, e2 = perm[: m // 2], perm[m // 2 : 2 * (m // 2)]
        x, y, u, v = a[e1], b[e1], a[e2], b[e2]
        new1 = np.minimum(x, v) * n + np.maximum(x, v)
        new2 = np.minimum(u, y) * n + np.maximum(u, y)
        ok = (x != v) & (u != y) & (new1 != new2)
        for new in (new1, new2):
            pos = np.searchsorted(links, new)
            pos[pos == links.size] = 0
            ok &= links[pos] != new
        idx = np.flatnonzero(ok)
        made = np.concatenate([new1[idx], new2[idx]])
        ordered = np.sort(made)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if repeated.size:
            bad = np.isin(made, repeated)
            idx = idx[~(bad[: idx.size] | bad[idx.size :])]
        idx = idx[: target - done]
        idle = 0 if idx.size else idle + 1
        b[e1[idx]], b[e2[idx]] = v[idx], y[idx]
        done += idx.size
    return a, b


def _p_greater(null: npt.NDArray[np.float64], observed: float) -> float | None:
    if math.isnan(observed):
        return None
    tol = 1e-12 * abs(observed) if math.isfinite(observed) else 0.0
    reached = np.isnan(null) | (null >= observed - tol)
    return (1 + int(reached.sum())) / (1 + null.size)


def _number(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def pairwise(
    n: int,
    pre: npt.ArrayLike,
    post: npt.ArrayLike,
    count: npt.ArrayLike,
    gj_a: npt.ArrayLike,
    gj_b: npt.ArrayLike,
    gj_count: npt.ArrayLike,
    stim: npt.ArrayLike,
    resp: npt.ArrayLike,
    q: npt.ArrayLike,
    amplitude: npt.ArrayLike,
    *,
    q_threshold: float = 0.05,
    null: PairwiseNull = "label_permutation",
    null_samples: int = 100,
    folds: int = 5,
    seed: int = 0,
    amplitude_mode: Literal["abs", "signed"] = "abs",
) -> PairwiseResult:
    """How well the wiring between s and r predicts the measured response of r to s.

    - A pair is functional when ``q < q_threshold``. Per wiring category (see
      :func:`categories`): pairs, functional pairs, their probability with a Wilson score
      95% interval.
    - Odds ratios of chemical, gap_junction and two_hop against none, and of any direct
      wiring (chemical or gap junction) against none: the sample ratio ``a*d / (b*c)``
      with the exact conditional 95% interval (Cornfield; see :class:`OddsRatio` for
      zero cells).
    - Strength = ``|amplitude|`` (``amplitude_mode="abs"``) or ``amplitude``
      (``"signed"``), over the pairs with a finite amplitude. Spearman's rho of strength
      with the synapse count s -> r (0 when unconnected) and with the path-summed weight
      ``(A + A @ A)[s, r]``, where ``A[i, j]`` = chemical synapse count i -> j + gap
      junction count between i and j.
    - Cross-validated R^2 of strength from wiring: OLS with intercept on log1p of the
      chemical count s -> r, the chemical count r -> s, the gap-junction count,
      ``(A @ A)[s, r]``, the number of chemical partners s sends to and the number r
      receives from; ``folds`` folds grouped by the stimulated neuron (a stimulated
      neuron's pairs are all in one fold); R^2 = 1 - SSE/SST over all out-of-fold
      predictions, SST about the mean strength of all pairs.
    - The direct odds ratio, both rhos and R^2 against ``null`` (see
      :data:`PAIRWISE_NULLS`) with ``null_samples`` samples: ``label_permutation``
      permutes the neurons that occur in the measured pairs and reads the wiring of the
      permuted pairs (A and A @ A built once; 100 samples take 26 s at 1e6 pairs and
      1e6 connections); ``degree_preserving`` rewires the graph each sample (35 s a
      sample at that size; see the module docstring).

    Self-connections are left out of the wiring. Raises ``BadInput`` for bad shapes,
    indices, repeated pairs, counts or parameters, and when fewer than 3 pairs have a
    finite amplitude or fewer than ``folds`` neurons are stimulated among them.

    Args:
        n: number of neurons, indexed ``0..n-1``.
        q_threshold: a pair is functional when its q-value is below this.
        null: the null model, a key of :data:`PAIRWISE_NULLS`.
        null_samples: samples of the null (0: no p-values).
        folds: cross-validation folds, grouped by stimulated neuron.
        seed: seeds the folds and the null samples.
        amplitude_mode: strength is ``|amplitude|`` (``"abs"``) or ``amplitude``.

    Shapes:
        pre, post, count: (m,) chemical connections (one row per ordered pair);
        gj_a, gj_b, gj_count: (g,) gap junctions (each unordered pair once);
        stim, resp, q, amplitude: (p,) measured pairs (each ordered pair at most once).
    """
    n = check_int("n", n, 2)
    src, dst, w = _chemical(n, pre, post, count)
    ga, gb, gw = _gap_junctions(n, gj_a, gj_b, gj_count)
    s, r = _measured(n, stim, resp)
    qv = _floats("q", q, s.size)
    amp = _floats("amplitude", amplitude, s.size)
    if s.size == 0:
        raise BadInput("no measured pairs")
    if _distinct(s * n + r).size != s.size:
        raise BadInput("measured pairs must list each ordered pair at most once")
    if not np.all((qv >= 0) & (qv <= 1)):
        raise BadInput("q-values must lie in [0, 1]")
    if np.any(np.isinf(amp)):
        raise BadInput("amplitudes must be finite or NaN (missing)")
    if not (isinstance(q_threshold, int | float) and 0 < q_threshold <= 1):
        raise BadInput(f"q_threshold must lie in (0, 1], got {q_threshold!r}")
    if null not in PAIRWISE_NULLS:
        raise BadInput(f"null must be one of {sorted(PAIRWISE_NULLS)}, got {null!r}")
    if amplitude_mode not in ("abs", "signed"):
        raise BadInput(f"amplitude_mode must be 'abs' or 'signed', got {amplitude_mode!r}")
    null_samples = check_int("null_samples", null_samples, 0)
    folds = check_int("folds", folds, 2)
    seed = check_int("seed", seed, 0)

    rng = np.random.default_rng(seed)
    strength = np.abs(amp) if amplitude_mode == "abs" else amp
    measured = _Pairs(n, s, r, qv < q_threshold, strength, folds, rng)
    wiring = _Wiring(n, src, dst, w, ga, gb, gw)
    order = np.argsort(s * n + r)
    observed = measured.sample(wiring, s, r, order)

    nulls = np.empty((null_samples, 4))
    if null == "label_permutation":
        neurons, inverse = np.unique(np.concatenate([s, r]), return_inverse=True)
        s_at, r_at = inverse[: s.size], inverse[s.size :]
        for i in range(null_samples):
            relabel = neurons[rng.permutation(neurons.size)]
            one = measured.sample(wiring, relabel[s_at], relabel[r_at], None)
            nulls[i] = one.direct_odds_ratio, one.rho_count, one.rho_path, one.r2
    else:
        for i in range(null_samples):
            p2, q2 = degree_preserving(n, src, dst, rng)
            a2, b2 = _swap_undirected(n, ga, gb, rng)
            rewired = _Wiring(n, p2, q2, rng.permutation(w), a2, b2, gw)
            one = measured.sample(rewired, s, r, order)
            nulls[i] = one.direct_odds_ratio, one.rho_count, one.rho_path, one.r2

    values = [
        float(v)
        for v in (observed.direct_odds_ratio, observed.rho_count, observed.rho_path, observed.r2)
    ]
    names = ("direct_odds_ratio", "spearman_count", "spearman_path", "cv_r2")
    tests = []
    for j, (name, value) in enumerate(zip(names, values, strict=True)):
        column = nulls[:, j]
        finite = column[np.isfinite(column)]
        tests.append(
            NullTest(
                name,
                None if math.isnan(value) else value,
                float(finite.mean()) if finite.size else None,
                _p_greater(column, value) if null_samples else None,
            )
        )

    rates = []
    for k, name in enumerate(CATEGORIES):
        m, f = int(observed.pairs[k]), int(observed.functional[k])
        low, high = _wilson(f, m) if m else (None, None)
        rates.append(CategoryRate(name, m, f, f / m if m else None, low, high))
    f_none, m_none = int(observed.functional[_NONE]), int(observed.pairs[_NONE])
    ratios = [
        _odds_ratio(
            CATEGORIES[k],
            int(observed.functional[k]),
            int(observed.pairs[k] - observed.functional[k]),
            f_none,
            m_none - f_none,
        )
        for k in (_CHEMICAL, _GAP_JUNCTION, _TWO_HOP)
    ]
    f_direct = int(observed.functional[_CHEMICAL] + observed.functional[_GAP_JUNCTION])
    m_direct = int(observed.pairs[_CHEMICAL] + observed.pairs[_GAP_JUNCTION])
    direct = _odds_ratio("direct", f_direct, m_direct - f_direct, f_none, m_none - f_none)
    return PairwiseResult(
        neurons=n,
        pairs=s.size,
        pairs_with_amplitude=int(measured.rows.size),
        q_threshold=float(q_threshold),
        amplitude_mode=amplitude_mode,
        categories=rates,
        odds_ratios=ratios,
        direct_odds_ratio=direct,
        spearman_count=_number(observed.rho_count),
        spearman_path=_number(observed.rho_path),
        cv_r2=_number(observed.r2),
        folds=folds,
        tests=tests,
        null=null,
        null_description=PAIRWISE_NULLS[null],
        null_samples=null_samples,
        seed=seed,
    )


# ---------------------------------------------------------------------------------------
# like to like


def _sample_keys(total: int, k: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """k distinct integers of [0, total) drawn uniformly, sorted."""
    if total <= 4 * k:
        return np.sort(rng.choice(total, size=k, replace=False)).astype(np.int64)
    out = np.zeros(0, dtype=np.int64)
    while out.size < k:
        draw = rng.integers(0, total, size=int((k - out.size) * 1.05) + 16)
        out = _distinct(np.concatenate([out, draw]))
    return np.sort(rng.choice(out, size=k, replace=False))


class _Similarity:
    """Similarity of two measured neurons' properties: -|x_i - x_j| (scalar), minus the
    circular distance (scalar with a period), or the Pearson correlation (vectors,
    as the mean product of rows z-scored and divided by sqrt(d))."""

    def __init__(self, values: npt.NDArray[np.float64], period: float | None) -> None:
        self.period = period
        if values.ndim == 1:
            self.x = np.mod(values, period) if period is not None else values
            self.z = np.zeros((0, 0))
            self.name = (
                f"minus the circular distance (period {period:g})"
                if period is not None
                else "minus the absolute difference"
            )
        else:
            d = values.shape[1]
            centred = values - values.mean(axis=1, keepdims=True)
            self.z = centred / (centred.std(axis=1, keepdims=True) * math.sqrt(d))
            self.x = np.zeros(0)
            self.name = "Pearson correlation of the vectors"

    def __call__(
        self, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        if self.z.size:
            fi, fj = i.ravel(), j.ravel()
            out = np.empty(fi.size)
            for a in range(0, fi.size, _BLOCK):
                sl = slice(a, a + _BLOCK)
                out[sl] = np.einsum("ij,ij->i", self.z[fi[sl]], self.z[fj[sl]])
            return out.reshape(i.shape)
        d = np.abs(self.x[i] - self.x[j])
        if self.period is not None:
            d = np.minimum(d, self.period - d)
        return -d

    def connected_means(
        self,
        sigma: npt.NDArray[np.int64],
        i: npt.NDArray[np.int64],
        j: npt.NDArray[np.int64],
        pairs: sp.csr_array,
    ) -> npt.NDArray[np.float64]:
        """Mean similarity over the pairs (i, j) with the values permuted by each row of
        ``sigma`` (neuron k takes the value of ``sigma[., k]``). Vectors use the matrix
        ``pairs`` of those pairs: the sum of z_i . z_j over them is sum(Z * (pairs @ Z))."""
        if self.z.size:
            out = np.empty(sigma.shape[0])
            for r, row in enumerate(sigma):
                z = self.z[row]
                out[r] = float(np.sum(z * (pairs @ z)))
            return out / i.size
        x = self.x[sigma]
        d = np.abs(x[:, i] - x[:, j])
        if self.period is not None:
            d = np.minimum(d, self.period - d)
        return -d.mean(axis=1)

    def mean_over_all_pairs(self) -> float:
        """Mean similarity over all ordered pairs i != j (unchanged by a permutation)."""
        if self.z.size:
            m = self.z.shape[0]
            total = self.z.sum(axis=0)
            return float((total @ total - m) / (m * (m - 1)))
        x = np.sort(self.x)
        m = x.size
        k = np.arange(m)
        summed = float(x @ (2 * k - m + 1))  # sum over i < j of x_j - x_i
        if self.period is not None:
            # pairs further apart than half the period go the other way round
            half = self.period / 2
            start = np.searchsorted(x, x + half, side="right")
            suffix = np.concatenate([np.cumsum(x[::-1])[::-1], [0.0]])
            beyond = m - start
            summed -= float(np.sum(2 * suffix[start] - beyond * (2 * x + self.period)))
        return -2 * summed / (m * (m - 1))


def like_to_like(
    n: int,
    pre: npt.ArrayLike,
    post: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    measured: npt.ArrayLike | None = None,
    bins: int = 10,
    permutations: int = 1000,
    seed: int = 0,
    circular_period: float | None = None,
    max_pairs: int = 2_000_000,
) -> LikeToLikeResult:
    """Connection probability against the similarity of two neurons' properties.

    A neuron is measured when its row of ``values`` is finite (and, for vectors, not
    constant) and, if ``measured`` is given, it is marked there. Over ordered pairs
    (i, j), i != j, of measured neurons: connected = a chemical connection i -> j;
    similarity = -|x_i - x_j| for scalars, minus the circular distance with
    ``circular_period`` (e.g. 180 for orientation), the Pearson correlation for
    vectors. All ordered pairs are used when there are at most ``max_pairs``, else a
    uniform random sample of ``max_pairs`` distinct ones (``sampled``).

    Reports the connection probability in ``bins`` quantile bins of similarity (fewer
    when quantiles coincide), the OLS slope of connected on similarity (linear
    probability model) with a HC1 95% interval, and a two-sided permutation p-value:
    the values are permuted among the measured neurons, and the statistic is the mean
    similarity of the connected pairs used minus the mean over all ordered pairs. With
    all pairs used that statistic ranks permutations exactly as the slope does (the
    similarities' mean and variance over all pairs do not change under a permutation),
    and it needs the connected pairs only, so a permutation costs their number.

    Raises ``BadInput`` for bad shapes, indices or parameters, fewer than 3 measured
    neurons, a similarity that is the same for every pair, or no connected pair.

    Args:
        n: number of neurons, indexed ``0..n-1``.
        measured: neurons to use (with finite values); ``None``: all with finite values.
        bins: quantile bins of similarity.
        permutations: permutations of the values (0: no p-value).
        seed: seeds the pair sample and the permutations.
        circular_period: period of a circular scalar property (180 for orientation).
        max_pairs: most ordered pairs used; above, a uniform sample of this many.

    Shapes:
        pre, post: (m,) chemical connections; values: (n,) or (n, d);
        measured: (n,) bool.
    """
    n = check_int("n", n, 2)
    src, dst = check_indices("pre", pre, n), check_indices("post", post, n)
    _same_length("pre and post", src, dst)
    vals = np.asarray(values)
    if vals.ndim not in (1, 2) or vals.shape[0] != n or vals.dtype.kind not in "iuf":
        raise BadInput(f"values must be numbers of shape ({n},) or ({n}, d)")
    vals = vals.astype(np.float64, copy=False)
    if vals.ndim == 2 and vals.shape[1] < 2:
        raise BadInput("vector values need at least 2 components for a correlation")
    bins = check_int("bins", bins, 1)
    permutations = check_int("permutations", permutations, 0)
    seed = check_int("seed", seed, 0)
    max_pairs = check_int("max_pairs", max_pairs, 2)
    if circular_period is not None:
        if vals.ndim != 1:
            raise BadInput("circular_period applies to scalar values only")
        if not (isinstance(circular_period, int | float) and 0 < circular_period < math.inf):
            raise BadInput(f"circular_period must be positive, got {circular_period!r}")

    ok = np.all(np.isfinite(vals.reshape(n, -1)), axis=1)
    if vals.ndim == 2:
        ok &= np.where(ok[:, None], vals, 0.0).std(axis=1) > 0
    if measured is not None:
        mask = np.asarray(measured)
        if mask.shape != (n,) or mask.dtype != np.bool_:
            raise BadInput(f"measured must be a boolean array of shape ({n},)")
        ok &= mask
    neurons = np.flatnonzero(ok)
    m = neurons.size
    if m < 3:
        raise BadInput(f"like-to-like needs at least 3 measured neurons, got {m}")

    rng = np.random.default_rng(seed)
    similarity = _Similarity(vals[neurons], circular_period)
    possible = m * (m - 1)
    sampled = possible > max_pairs
    k = _sample_keys(possible, max_pairs, rng) if sampled else np.arange(possible)
    i = k // (m - 1)
    j = k % (m - 1)
    j += j >= i  # skip the diagonal
    local = np.full(n, -1, dtype=np.int64)
    local[neurons] = np.arange(m)
    li, lj = local[src], local[dst]
    inside = (li >= 0) & (lj >= 0) & (li != lj)
    wired = _distinct(li[inside] * m + lj[inside])
    pair_keys = i * m + j
    pos = np.searchsorted(wired, pair_keys)
    pos[pos == wired.size] = 0
    connected = wired[pos] == pair_keys if wired.size else np.zeros(k.size, dtype=bool)
    n_connected = int(connected.sum())
    if n_connected == 0:
        raise BadInput("no chemical connection joins a pair of measured neurons")

    s = similarity(i, j)
    c = connected.astype(np.float64)
    s_mean = float(s.mean())
    centred = s - s_mean
    ss = float(centred @ centred)
    if ss <= 0:
        raise BadInput("the similarity is the same for every pair")
    size = s.size
    slope = float(centred @ c) / ss
    intercept = float(c.mean()) - slope * s_mean
    resid = c - c.mean() - slope * centred
    se = math.sqrt(size / (size - 2) * float(np.sum(resid**2 * centred**2))) / ss
    t = float(stats.t.ppf(0.5 + CONFIDENCE / 2, size - 2))

    # quantiles (numpy's default, linear) from one sort; bin b holds the sorted
    # similarities from the first at or above its lower edge
    order = np.argsort(s)
    ordered = s[order]
    at = np.linspace(0, 1, bins + 1) * (size - 1)
    below = np.floor(at).astype(np.int64)
    above = np.minimum(below + 1, size - 1)
    edges = np.unique(ordered[below] + (ordered[above] - ordered[below]) * (at - below))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0]])
    bounds = np.r_[0, np.searchsorted(ordered, edges[1:-1], side="left"), size]
    hits = np.r_[0, np.cumsum(connected[order])][bounds]
    sums = np.r_[0.0, np.cumsum(ordered)][bounds]
    table = []
    for b in range(edges.size - 1):
        pairs_b, hit_b = int(bounds[b + 1] - bounds[b]), int(hits[b + 1] - hits[b])
        if pairs_b == 0:
            continue
        low, high = _wilson(hit_b, pairs_b)
        table.append(
            SimilarityBin(
                float(edges[b]),
                float(edges[b + 1]),
                float((sums[b + 1] - sums[b]) / pairs_b),
                pairs_b,
                hit_b,
                hit_b / pairs_b,
                low,
                high,
            )
        )

    p_value = None
    if permutations:
        ci_, cj = i[connected], j[connected]
        centre = similarity.mean_over_all_pairs()
        conn_mean = float(s[connected].mean())
        observed = abs(conn_mean - centre)
        tol = 1e-10 * (abs(conn_mean) + abs(centre))
        matrix = sp.csr_array(sp.coo_array((np.ones(n_connected), (ci_, cj)), shape=(m, m)))
        reached = 0
        batch = max(1, (1 << 18) // max(n_connected, m))
        for start in range(0, permutations, batch):
            rows = min(batch, permutations - start)
            sigma = rng.permuted(np.tile(np.arange(m), (rows, 1)), axis=1)
            means = similarity.connected_means(sigma, ci_, cj, matrix)
            reached += int(np.sum(np.abs(means - centre) >= observed - tol))
        p_value = (1 + reached) / (1 + permutations)

    return LikeToLikeResult(
        neurons=m,
        similarity=similarity.name,
        pairs_possible=possible,
        pairs_used=size,
        sampled=sampled,
        connected_pairs=n_connected,
        bins=table,
        slope=slope,
        slope_se=se,
        slope_ci_low=slope - t * se,
        slope_ci_high=slope + t * se,
        intercept=intercept,
        p_value=p_value,
        null=LIKE_TO_LIKE_NULL,
        permutations=permutations,
        seed=seed,
    )
