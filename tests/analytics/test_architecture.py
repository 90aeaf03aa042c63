"""compare_architecture on hand-built graphs: density, reciprocity, degree distributions
and triad counts against networkx, scipy and hand counts; z-scores against the exact
moments of the Erdős–Rényi null enumerated with networkx; the permutation p-value
against a count of permutations by hand; invariants and refusals."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from connectomedb.analytics.architecture import (
    CAVEATS,
    compare_architecture,
    compare_degrees,
    profile_correlation,
    significance_profile,
)
from connectomedb.errors import BadInput
from connectomedb.motifs.census import CONNECTED_CLASSES

# G1: 7 nodes, 12 connections, reciprocal pairs {0, 1} and {4, 5}.
G1_EDGES = [
    (0, 1), (1, 0), (1, 2), (2, 3), (3, 1), (0, 2),
    (4, 0), (4, 5), (5, 4), (5, 6), (6, 2), (3, 6),
]  # fmt: skip
# G2: 6 nodes, 10 connections, reciprocal pair {0, 3}.
G2_EDGES = [
    (0, 1), (1, 2), (2, 0), (0, 3), (3, 0),
    (3, 4), (4, 5), (5, 3), (1, 4), (2, 5),
]  # fmt: skip


def _digraph(n: int, edges: list[tuple[int, int]]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    return g


def _arrays(n: int, edges: list[tuple[int, int]]) -> tuple[int, np.ndarray, np.ndarray]:
    e = np.array(edges, dtype=np.int64).reshape(-1, 2)
    return n, e[:, 0], e[:, 1]


def _normalised(degrees: nx.classes.reportviews.DiDegreeView, scale: int) -> list[float]:
    return [d / scale for _, d in degrees]


def test_two_hand_built_graphs_against_networkx_and_scipy() -> None:
    g1, g2 = _digraph(7, G1_EDGES), _digraph(6, G2_EDGES)
    # a duplicate connection and a self-loop in the input count in no figure
    n1, pre1, post1 = _arrays(7, [*G1_EDGES, (0, 1), (3, 3)])
    r = compare_architecture(
        (n1, pre1, post1), _arrays(6, G2_EDGES), null_model="erdos_renyi", samples=5, seed=1
    )

    for s, g, pairs in ((r.a, g1, 2), (r.b, g2, 1)):
        n = g.number_of_nodes()
        assert (s.neurons, s.connections) == (n, g.number_of_edges())
        assert s.density == pytest.approx(nx.density(g), rel=1e-12)
        # networkx: the fraction of connections that are reciprocated, two per pair
        assert s.reciprocal_pairs == pairs == round(nx.reciprocity(g) * g.number_of_edges() / 2)
        assert s.reciprocal_pairs_expected == pytest.approx(math.comb(n, 2) * nx.density(g) ** 2)
        assert "Erdős–Rényi" in s.null_model
    assert r.a.self_loops == 1
    # by hand: 21 * (12/42)^2 = 12/7 and 15 * (10/30)^2 = 5/3 pairs expected
    assert r.a.reciprocal_pairs_expected == pytest.approx(12 / 7)
    assert r.b.reciprocity_enrichment == pytest.approx(1 / (5 / 3))

    # In-degrees by hand: G1 (2, 2, 3, 1, 1, 1, 2) / 6, G2 (2, 1, 1, 2, 2, 2) / 5. The
    # empirical distribution functions differ most at 2/6: 6/7 of G1 and 2/6 of G2 lie at
    # or below it, so D = 6/7 - 1/3 = 11/21.
    ins, outs, total = r.degrees
    assert ins.statistic == pytest.approx(11 / 21, rel=1e-12)
    for c, view, scale in (
        (ins, "in_degree", 1),
        (outs, "out_degree", 1),
        (total, "degree", 2),
    ):
        xa = _normalised(getattr(g1, view)(), scale * 6)
        xb = _normalised(getattr(g2, view)(), scale * 5)
        ks = stats.ks_2samp(xa, xb)
        assert (c.statistic, c.p_value) == pytest.approx((ks.statistic, ks.pvalue), rel=1e-12)
        assert (c.mean_a, c.mean_b) == pytest.approx((np.mean(xa), np.mean(xb)))
        assert (c.neurons_a, c.neurons_b) == (7, 6)
    assert (ins.degree, total.degree, total.normalised_by) == ("in", "total", "2(n - 1)")
    assert "one continuous distribution" in ins.null_hypothesis
    assert "approximate" in ins.null_hypothesis and "Kolmogorov" in ins.test

    t = r.triads
    assert [c.name for c in t.classes] == list(CONNECTED_CLASSES)
    want_a, want_b = nx.triadic_census(g1), nx.triadic_census(g2)
    assert {c.name: c.observed_a for c in t.classes} == {k: want_a[k] for k in CONNECTED_CLASSES}
    assert {c.name: c.observed_b for c in t.classes} == {k: want_b[k] for k in CONNECTED_CLASSES}
    assert (t.null_model, t.samples, t.seed, t.permutations) == ("erdos_renyi", 5, 1, 9999)
    assert "G(n, m)" in t.null_description and "permuted" in t.correlation_null
    assert r.caveats == CAVEATS and any("not synapse counts" in c for c in r.caveats)


def _null_counts(n: int, m: int) -> dict[str, np.ndarray]:
    """Each connected triad class's count in every directed graph on n nodes with m
    connections (each equally likely under Erdős–Rényi G(n, m))."""
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    counts = [nx.triadic_census(_digraph(n, list(e))) for e in itertools.combinations(pairs, m)]
    return {k: np.array([c[k] for c in counts], dtype=float) for k in CONNECTED_CLASSES}


def _exact_z(observed: int, null: np.ndarray, samples: int) -> tuple[float, float] | None:
    """z against the exact null moments and the standard error of its estimate from
    ``samples`` null draws (delta method: sample mean, sample std and their covariance,
    from the null's skewness and kurtosis); None when the null count does not vary."""
    mu, sd = null.mean(), null.std()
    if sd == 0:
        return None
    z = (observed - mu) / sd
    skew = ((null - mu) ** 3).mean() / sd**3
    kurt = ((null - mu) ** 4).mean() / sd**4
    return z, math.sqrt((1 + z * z * (kurt - 1) / 4 + z * skew) / samples)


def test_profiles_and_their_correlation_against_the_enumerated_null() -> None:
    a_edges = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)]
    b_edges = [(0, 1), (1, 0), (1, 2), (2, 3), (3, 1), (0, 3)]
    samples = 600
    r = compare_architecture(
        _arrays(4, a_edges),
        _arrays(4, b_edges),
        null_model="erdos_renyi",
        samples=samples,
        seed=7,
    ).triads
    exact: dict[str, dict[str, float]] = {}
    for side, edges in (("a", a_edges), ("b", b_edges)):
        obs = nx.triadic_census(_digraph(4, edges))
        null = _null_counts(4, len(edges))
        exact[side] = {}
        for c in r.classes:
            z = c.z_a if side == "a" else c.z_b
            want = _exact_z(obs[c.name], null[c.name], samples)
            if want is None:  # a class no graph with m connections can show (300 at m < 6)
                assert z is None, c.name
                exact[side][c.name] = math.nan
            else:  # within five standard errors of the Monte Carlo estimate
                assert z is not None, c.name
                assert z == pytest.approx(want[0], abs=5 * want[1]), c.name
                exact[side][c.name] = want[0]

    za = np.array([np.nan if c.z_a is None else c.z_a for c in r.classes])
    zb = np.array([np.nan if c.z_b is None else c.z_b for c in r.classes])
    # the significance profile is z over its Euclidean length (Milo et al. 2004)
    for got, z in (([c.profile_a for c in r.classes], za), ([c.profile_b for c in r.classes], zb)):
        want = z / np.sqrt(np.nansum(z**2))
        assert np.array(got, dtype=float) == pytest.approx(want, nan_ok=True, rel=1e-12)
    both = np.isfinite(za) & np.isfinite(zb)
    assert r.classes_compared == int(both.sum()) == 12  # 300 is impossible in A
    assert r.correlation == pytest.approx(np.corrcoef(za[both], zb[both])[0, 1], rel=1e-9)
    ea = np.array([exact["a"][k] for k in CONNECTED_CLASSES])
    eb = np.array([exact["b"][k] for k in CONNECTED_CLASSES])
    assert r.correlation == pytest.approx(np.corrcoef(ea[both], eb[both])[0, 1], abs=0.05)
    assert r.p_value is not None and 1 / 10_000 <= r.p_value <= 1


def test_permutation_p_value_by_hand() -> None:
    # Three classes: of the 6 orderings of y = (1, 2, 3), the identity gives r = 1 and the
    # reversal r = -1; the other four give |r| = 1/2. Two-sided, p -> 2/6.
    r, p, k = profile_correlation([1, 2, 3], [1, 2, 3], permutations=30_000, seed=3)
    assert (r, k) == (pytest.approx(1.0), 3)
    assert p == pytest.approx(1 / 3, abs=0.015)
    # 13 distinct values: no random permutation of 9999 reaches |r| = 1 (13! orderings)
    x = np.arange(13.0) ** 1.5
    r, p, k = profile_correlation(x, -x, permutations=9999, seed=0)
    assert (r, p, k) == (pytest.approx(-1.0), 1 / 10_000, 13)
    # entries undefined in either profile are left out; np.corrcoef on the rest
    x = np.array([1.0, np.nan, 2.0, 3.0, 5.0])
    y = np.array([2.0, 1.0, np.nan, 4.0, 4.0])
    r, _, k = profile_correlation(x, y, permutations=10)
    assert (r, k) == (pytest.approx(np.corrcoef([1, 3, 5], [2, 4, 4])[0, 1]), 3)
    # fewer than three shared entries, or a constant profile: no correlation
    assert profile_correlation([1.0, np.nan, 2.0], [1.0, 2.0, np.nan]) == (None, None, 1)
    assert profile_correlation([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]) == (None, None, 3)
    # a profile is z over its length; no defined z, or all zero, leaves none
    assert significance_profile([3.0, None, -4.0]) == pytest.approx(
        [0.6, np.nan, -0.8], nan_ok=True
    )
    assert np.isnan(significance_profile([None, 0.0])).all()


def test_a_graph_beside_itself() -> None:
    g = _arrays(7, G1_EDGES)
    r = compare_architecture(g, g, null_model="erdos_renyi", samples=20, seed=4)
    assert [(d.statistic, d.p_value) for d in r.degrees] == [(0.0, 1.0)] * 3
    assert r.a == r.b
    t = r.triads
    assert all(c.z_a == c.z_b for c in t.classes)  # one seed, one graph: one census
    assert t.classes_compared >= 3 and t.correlation == pytest.approx(1.0)


def test_a_null_that_cannot_vary_leaves_no_profile() -> None:
    # the complete digraph on 4 nodes: G(4, 12) holds only itself, so every null sample is
    # the graph itself and no z is defined
    complete = [(a, b) for a in range(4) for b in range(4) if a != b]
    t = compare_architecture(
        _arrays(4, complete), _arrays(7, G1_EDGES), null_model="erdos_renyi", samples=5, seed=0
    ).triads
    assert {c.name: c.observed_a for c in t.classes if c.observed_a} == {"300": 4}
    assert all(c.z_a is None and c.profile_a is None for c in t.classes)
    assert (t.classes_compared, t.correlation, t.p_value) == (0, None, None)


def test_refusals() -> None:
    g = _arrays(7, G1_EDGES)
    with pytest.raises(BadInput, match="graph B has 2 neurons; .* at least 3"):
        compare_architecture(g, _arrays(2, [(0, 1)]), null_model="erdos_renyi", samples=5, seed=0)
    with pytest.raises(BadInput, match="samples must be at least 1"):
        compare_architecture(g, g, null_model="erdos_renyi", samples=0, seed=0)
    with pytest.raises(BadInput, match="null model must be one of"):
        compare_architecture(g, g, null_model="watts_strogatz", samples=5, seed=0)
    with pytest.raises(BadInput, match="permutations must be an integer of at least 1"):
        compare_architecture(g, g, null_model="erdos_renyi", samples=5, seed=0, permutations=0)
    with pytest.raises(BadInput, match=r"outside \[0, 7\)"):
        compare_architecture(g, (7, [0, 9], [1, 2]), null_model="erdos_renyi", samples=5, seed=0)
    with pytest.raises(BadInput, match="n of graph B must be an integer of at least 2"):
        compare_degrees(g, (1, [], []))
