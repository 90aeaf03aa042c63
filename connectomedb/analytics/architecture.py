"""Two directed graphs side by side: a connectome and a trained network's weights, or any
two wiring diagrams.

For each graph: density and reciprocity against an Erdős–Rényi G(n, p) null at its own
density (:func:`connectomedb.analytics.statistics.network_statistics`). For the pair:
two-sample Kolmogorov–Smirnov distances between their in-, out- and total degrees, each
degree divided by the most it can be in its own graph so that graphs of different sizes
compare; and the correlation of their triad significance profiles (Milo et al. 2004,
"Superfamilies of evolved and designed networks", Science 303:1538), each profile from a
triad census against samples of a named null model
(:func:`connectomedb.motifs.census.census_against_null`), with a permutation p-value.

Inputs are ``(n, pre, post)`` edge arrays; results are frozen dataclasses of plain
numbers, strings and tuples. Duplicate connections count once and self-loops are left
out of every figure, as in the statistics and the census.

Cost: the two censuses' null samples, everything else is milliseconds. On a shared
2-core machine a degree-preserving sample of Cook 2019's neuron graph (302 neurons,
3671 connections) takes 0.08 s and an Erdős–Rényi one 0.007 s, so Cook beside a
40-unit network with the default 100 samples takes about 8 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import stats

from connectomedb.analytics.checks import check_int
from connectomedb.analytics.statistics import NULL_MODEL as RECIPROCITY_NULL
from connectomedb.analytics.statistics import network_statistics
from connectomedb.errors import BadInput
from connectomedb.motifs.census import (
    CONNECTED_CLASSES,
    CensusResult,
    census_against_null,
    edge_arrays,
)

__all__ = [
    "CAVEATS",
    "DEGREE_NULL",
    "DEGREE_TEST",
    "PROFILE_NULL",
    "RECIPROCITY_NULL",
    "ArchitectureComparison",
    "DegreeComparison",
    "GraphSummary",
    "TriadProfileClass",
    "TriadProfileComparison",
    "compare_architecture",
    "compare_degrees",
    "graph_summary",
    "profile_correlation",
    "significance_profile",
    "triad_profiles",
]

#: ``(n, pre, post)``: nodes ``0..n-1`` and directed edges ``pre[k] -> post[k]``
EdgeArrays: TypeAlias = tuple[int, npt.ArrayLike, npt.ArrayLike]

#: the fewest neurons a comparison takes: the triad census needs three
MIN_NEURONS: Final = 3
#: the fewest classes with a z-score in both profiles for a correlation
MIN_PROFILE_CLASSES: Final = 3
PERMUTATIONS: Final = 9999

DEGREE_TEST: Final = "two-sample Kolmogorov–Smirnov, two-sided (scipy.stats.ks_2samp)"
DEGREE_NULL: Final = (
    "both graphs' normalised degrees are drawn from one continuous distribution; degrees "
    "are integers and tie, so the p-value, computed for continuous distributions, is "
    "approximate"
)
PROFILE_TEST: Final = "Pearson correlation of the two significance profiles"
PROFILE_NULL: Final = (
    "the class labels of graph B's profile permuted at random (seeded), two-sided: "
    "p = (1 + permutations with |r| at least the observed) / (1 + permutations)"
)
#: what every comparison says along with its numbers (DESIGN §7)
CAVEATS: Final = (
    "Similar statistics do not make two networks compute alike: density, degree "
    "distributions, reciprocity and triad profiles are summaries that very different "
    "circuits can share, and no weight, sign or dynamics enters them.",
    "A trained network's connections are its trained parameters (each weight above the "
    "load threshold is one connection), not synapse counts: its density follows from that "
    "threshold, and a minimum weight counts synapses, which a weight matrix does not have "
    "(each of its connections counts 1).",
    "Degrees are compared as fractions of the possible partners (divided by n - 1, total "
    "degree by 2(n - 1)) so that graphs of different sizes compare; two graphs grown by "
    "one rule at different sizes (e.g. a fixed number of partners per neuron) can still "
    "differ in these fractions. Degrees tie, so the Kolmogorov–Smirnov p-values are "
    "approximate.",
    "The profile correlation is over 13 triad classes or fewer, and its permutation test "
    "treats the classes as exchangeable although their counts share dyads: a coarse "
    "similarity, not a test that one network's local structure produces the other's.",
    "Each null model keeps only what it names: z-scores against the degree-preserving null "
    "say nothing of structure that degrees explain, and the reciprocity null (Erdős–Rényi "
    "at the observed density) keeps no degree.",
)
# A permutation that reproduces the observed |r| (the identity, or a relabelling among
# equal values) computes it a few ulps off; this tolerance still counts it as reaching it.
_TIE: Final = 1e-12


@dataclass(frozen=True)
class GraphSummary:
    """One graph's size, density (connections / (n(n-1))) and reciprocal pairs against
    ``null_model``: ``reciprocal_pairs_expected`` is (n(n-1)/2) p^2 at density p and the
    enrichment their ratio (``None`` when nothing is expected)."""

    neurons: int
    connections: int
    self_loops: int
    density: float
    reciprocal_pairs: int
    reciprocal_pairs_expected: float
    reciprocity_enrichment: float | None
    null_model: str = RECIPROCITY_NULL


@dataclass(frozen=True)
class DegreeComparison:
    """The two graphs' distributions of one degree (``"in"``, ``"out"`` or ``"total"``),
    each divided by ``normalised_by`` (the most it can be in its own graph).

    ``statistic`` is the KS distance, the largest gap between the two empirical
    distribution functions (0: the same distribution, 1: disjoint ranges); ``p_value``
    is ``test`` against ``null_hypothesis``.
    """

    degree: str
    normalised_by: str
    neurons_a: int
    neurons_b: int
    mean_a: float
    mean_b: float
    statistic: float
    p_value: float
    test: str = DEGREE_TEST
    null_hypothesis: str = DEGREE_NULL


@dataclass(frozen=True)
class TriadProfileClass:
    """One connected triad class in both graphs: observed count, z-score against the null
    and significance-profile entry (z over the profile's length), ``None`` where the
    null samples do not vary."""

    name: str
    observed_a: int
    observed_b: int
    z_a: float | None
    z_b: float | None
    profile_a: float | None
    profile_b: float | None


@dataclass(frozen=True)
class TriadProfileComparison:
    """The triad significance profiles of two graphs, each against ``samples`` graphs of
    ``null_model`` (seeded by ``seed``), and their Pearson correlation over the
    ``classes_compared`` classes with a z-score in both.

    ``correlation`` is ``None`` below :data:`MIN_PROFILE_CLASSES` such classes or when a
    profile is constant over them; ``p_value`` is then ``None`` too. Pearson's r is
    unchanged by the profiles' scaling, so it is also the correlation of the z-scores.
    """

    classes: tuple[TriadProfileClass, ...]
    classes_compared: int
    correlation: float | None
    p_value: float | None
    permutations: int
    null_model: str
    null_description: str
    samples: int
    seed: int
    test: str = PROFILE_TEST
    correlation_null: str = PROFILE_NULL


@dataclass(frozen=True)
class ArchitectureComparison:
    """Graph A and graph B summarised, their degree distributions compared (in, out,
    total) and their triad profiles correlated, with what the comparison does not claim."""

    a: GraphSummary
    b: GraphSummary
    degrees: tuple[DegreeComparison, ...]
    triads: TriadProfileComparison
    caveats: tuple[str, ...] = CAVEATS


def graph_summary(n: int, pre: npt.ArrayLike, post: npt.ArrayLike) -> GraphSummary:
    """Density and reciprocity of the graph on ``0..n-1`` with edges ``pre[k] -> post[k]``.

    Shapes:
        pre, post: (m,) integer node indices.
    """
    s = network_statistics(n, pre, post)
    return GraphSummary(
        neurons=s.neurons,
        connections=s.connections,
        self_loops=s.self_loops,
        density=s.density,
        reciprocal_pairs=s.reciprocal_pairs,
        reciprocal_pairs_expected=s.reciprocal_pairs_expected,
        reciprocity_enrichment=s.reciprocity_enrichment,
        null_model=s.null_model,
    )


def _degrees(n: int, pre: npt.ArrayLike, post: npt.ArrayLike) -> dict[str, npt.NDArray[np.int64]]:
    src, dst = edge_arrays(n, np.asarray(pre), np.asarray(post))
    d_in = np.bincount(dst, minlength=n).astype(np.int64)
    d_out = np.bincount(src, minlength=n).astype(np.int64)
    return {"in": d_in, "out": d_out, "total": d_in + d_out}


def compare_degrees(a: EdgeArrays, b: EdgeArrays) -> tuple[DegreeComparison, ...]:
    """KS distances between the two graphs' in-, out- and total degrees, in that order,
    each degree divided by the most it can be in its own graph (n - 1; 2(n - 1) for the
    total). Both graphs need at least two nodes.

    Shapes:
        a, b: (n, pre, post) with pre, post (m,) integer node indices.
    """
    n_a, n_b = (check_int(f"n of graph {k}", g[0], low=2) for k, g in (("A", a), ("B", b)))
    da, db = _degrees(n_a, a[1], a[2]), _degrees(n_b, b[1], b[2])
    out = []
    for kind in ("in", "out", "total"):
        scale = 2 if kind == "total" else 1
        xa = da[kind] / (scale * (n_a - 1))
        xb = db[kind] / (scale * (n_b - 1))
        ks = stats.ks_2samp(xa, xb, alternative="two-sided", method="auto")
        out.append(
            DegreeComparison(
                degree=kind,
                normalised_by="2(n - 1)" if scale == 2 else "n - 1",
                neurons_a=n_a,
                neurons_b=n_b,
                mean_a=float(xa.mean()),
                mean_b=float(xb.mean()),
                statistic=float(ks.statistic),
                p_value=float(ks.pvalue),
            )
        )
    return tuple(out)


def significance_profile(z: Sequence[float | None]) -> npt.NDArray[np.float64]:
    """Milo et al.'s significance profile: each z over the Euclidean length of the defined
    ones, NaN where z is ``None`` (or every entry when no z is defined or all are 0).

    Shapes:
        z: (k,); returns (k,).
    """
    v = np.array([np.nan if x is None else x for x in z], dtype=np.float64)
    norm = float(np.sqrt(np.nansum(v * v)))
    return v / norm if norm > 0 else np.full(v.shape, np.nan)


def profile_correlation(
    x: npt.ArrayLike, y: npt.ArrayLike, *, permutations: int = PERMUTATIONS, seed: int = 0
) -> tuple[float | None, float | None, int]:
    """Pearson's r of ``x`` and ``y`` over the entries finite in both, with the two-sided
    permutation p-value of :data:`PROFILE_NULL` (``y`` permuted over those entries), and
    the number of those entries. ``(None, None, k)`` below :data:`MIN_PROFILE_CLASSES`
    entries or when either is constant over them.

    Shapes:
        x, y: (k,) with NaN for undefined entries.
    """
    permutations = check_int("permutations", permutations, low=1)
    xv = np.asarray(x, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64)
    if xv.shape != yv.shape or xv.ndim != 1:
        raise BadInput(f"the profiles must be 1-D of one length, got {xv.shape} and {yv.shape}")
    both = np.isfinite(xv) & np.isfinite(yv)
    k = int(both.sum())
    if k < MIN_PROFILE_CLASSES:
        return None, None, k
    xs, ys = xv[both] - xv[both].mean(), yv[both] - yv[both].mean()
    sx, sy = float(np.sqrt(xs @ xs)), float(np.sqrt(ys @ ys))
    if sx == 0 or sy == 0:
        return None, None, k
    xs, ys = xs / sx, ys / sy
    r = float(np.clip(xs @ ys, -1.0, 1.0))
    rng = np.random.default_rng(seed)
    order = rng.permuted(np.tile(np.arange(k), (permutations, 1)), axis=1)
    null = ys[order] @ xs  # r of each permutation (centring and scale are unchanged)
    extreme = int((np.abs(null) >= abs(r) - _TIE).sum())
    return r, (1 + extreme) / (1 + permutations), k


def triad_profiles(
    census_a: CensusResult,
    census_b: CensusResult,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> TriadProfileComparison:
    """The significance profiles over the 13 connected triad classes (as Milo et al.) of
    two size-3 censuses against the same null, and their correlation
    (:func:`profile_correlation`, seeded by ``seed``)."""
    if census_a.size != 3 or census_b.size != 3:
        raise BadInput("triad profiles need two size-3 censuses")
    if (census_a.null_model, census_a.samples) != (census_b.null_model, census_b.samples):
        raise BadInput("the two censuses must use one null model and one number of samples")
    ca = {c.name: c for c in census_a.classes}
    cb = {c.name: c for c in census_b.classes}
    za = [ca[k].z for k in CONNECTED_CLASSES]
    zb = [cb[k].z for k in CONNECTED_CLASSES]
    pa, pb = significance_profile(za), significance_profile(zb)
    r, p, k = profile_correlation(pa, pb, permutations=permutations, seed=seed)
    return TriadProfileComparison(
        classes=tuple(
            TriadProfileClass(
                name=name,
                observed_a=ca[name].observed,
                observed_b=cb[name].observed,
                z_a=za[i],
                z_b=zb[i],
                profile_a=float(pa[i]) if np.isfinite(pa[i]) else None,
                profile_b=float(pb[i]) if np.isfinite(pb[i]) else None,
            )
            for i, name in enumerate(CONNECTED_CLASSES)
        ),
        classes_compared=k,
        correlation=r,
        p_value=p,
        permutations=permutations,
        null_model=census_a.null_model,
        null_description=census_a.null_description,
        samples=census_a.samples,
        seed=census_a.seed,
    )


def compare_architecture(
    a: EdgeArrays,
    b: EdgeArrays,
    *,
    null_model: str,
    samples: int,
    seed: int,
    permutations: int = PERMUTATIONS,
    types: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    deadline: float | None = None,
    names: tuple[str, str] = ("graph A", "graph B"),
) -> ArchitectureComparison:
    """Graph ``a`` beside graph ``b`` (see the module docstring). Both triad censuses run
    against ``null_model`` with the same ``samples`` and ``seed`` (each is the census
    :func:`census_against_null` gives its graph alone), sharing one ``deadline``; the
    permutation test is seeded by ``seed`` too. ``types`` are the node types of the
    ``cell_type_sbm`` null; ``names`` word the errors.

    Shapes:
        a, b: (n, pre, post) with pre, post (m,) integer node indices; types: (n,) each.

    Raises:
        BadInput: a graph with fewer than 3 nodes, bad edge arrays, samples or
            permutations below 1, or an unknown null model.
        Timeout: when ``deadline`` (a ``time.monotonic()`` value) passes first.
    """
    for (n, _, _), name in zip((a, b), names, strict=True):
        if check_int("n", n) < MIN_NEURONS:
            raise BadInput(
                f"{name} has {n} neurons; comparing architectures needs at least "
                f"{MIN_NEURONS} (the triad census)"
            )
    check_int("permutations", permutations, low=1)
    summary_a, summary_b = graph_summary(*a), graph_summary(*b)
    degrees = compare_degrees(a, b)
    censuses = [
        census_against_null(
            n,
            np.asarray(pre),
            np.asarray(post),
            null_model=null_model,
            samples=samples,
            seed=seed,
            types=t,
            deadline=deadline,
        )
        for (n, pre, post), t in zip((a, b), types, strict=True)
    ]
    return ArchitectureComparison(
        a=summary_a,
        b=summary_b,
        degrees=degrees,
        triads=triad_profiles(*censuses, permutations=permutations, seed=seed),
    )
