"""The generator's planted structure, checked with networkx."""

import networkx as nx
import numpy as np
import pytest

from connectomedb.loaders.synthetic import SyntheticGraph, SyntheticParams, SyntheticSource


def _graph(src: SyntheticSource) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(p["id"] for _, p in src.neurons())
    for _, p in src.connections():
        g.add_edge(p["pre"], p["post"], weight=p["synapse_count"])
    return g


def test_seeded_runs_repeat_exactly() -> None:
    a = SyntheticSource(SyntheticParams(n_neurons=500, n_connections=5000, seed=11))
    b = SyntheticSource(SyntheticParams(n_neurons=500, n_connections=5000, seed=11))
    assert list(a.connections()) == list(b.connections())
    assert list(a.neurons()) == list(b.neurons())
    c = SyntheticSource(SyntheticParams(n_neurons=500, n_connections=5000, seed=12))
    assert list(a.connections()) != list(c.connections())


def test_size_no_self_loops_no_duplicates() -> None:
    src = SyntheticSource(SyntheticParams(n_neurons=2000, n_connections=40_000, seed=2))
    g = _graph(src)
    rows = list(src.connections())
    assert g.number_of_nodes() == 2000
    assert g.number_of_edges() == len(rows)  # no duplicate pairs
    assert nx.number_of_selfloops(g) == 0
    assert 36_000 <= g.number_of_edges() <= 44_000
    assert min(p["synapse_count"] for _, p in rows) >= 1


def test_reciprocity_is_enriched_as_asked() -> None:
    base = SyntheticSource(
        SyntheticParams(n_neurons=3000, n_connections=60_000, n_types=1, reciprocity=1.0, seed=4)
    )
    rich = SyntheticSource(
        SyntheticParams(n_neurons=3000, n_connections=60_000, n_types=1, reciprocity=5.0, seed=4)
    )
    for src, factor in ((base, 1.0), (rich, 5.0)):
        g = _graph(src)
        m, n = g.number_of_edges(), g.number_of_nodes()
        density = m / (n * (n - 1))
        reciprocal_pairs = nx.reciprocity(g) * m / 2
        expected_er = m * density / 2  # Erdős–Rényi at the same density
        assert reciprocal_pairs / expected_er == pytest.approx(factor, rel=0.25)


def test_synapses_sum_to_connection_counts() -> None:
    src = SyntheticSource(SyntheticParams(n_neurons=200, n_connections=1500, synapses=True, seed=8))
    per_pair: dict[tuple[str, str], int] = {}
    for _, s in src.synapses():
        per_pair[(s["pre"], s["post"])] = per_pair.get((s["pre"], s["post"]), 0) + 1
    assert per_pair == {(p["pre"], p["post"]): p["synapse_count"] for _, p in src.connections()}
    ids = [s["id"] for _, s in src.synapses()]
    assert len(ids) == len(set(ids))
    assert np.isfinite([s["x"] for _, s in src.synapses()]).all()


def test_degree_sigma_gives_heavy_tails_and_keeps_type_densities() -> None:
    plain = SyntheticGraph(SyntheticParams(n_neurons=5000, n_connections=100_000, seed=3))
    heavy = SyntheticGraph(
        SyntheticParams(n_neurons=5000, n_connections=100_000, seed=3, degree_sigma=1.0)
    )
    for g in (plain, heavy):
        assert np.all(g.pre != g.post)
        assert np.unique(g.pre * 5000 + g.post).size == g.pre.size
        assert 90_000 <= g.pre.size <= 110_000
    # Poisson-like degrees within a type against log-normal propensities: the largest
    # out-degree and the spread of degrees (networkx counts them) grow several-fold.
    deg = {}
    for name, g in (("plain", plain), ("heavy", heavy)):
        dg = nx.DiGraph(list(zip(g.pre.tolist(), g.post.tolist(), strict=True)))
        deg[name] = np.array([d for _, d in dg.in_degree()])
    assert deg["heavy"].max() > 3 * deg["plain"].max()
    assert deg["heavy"].std() > 3 * deg["plain"].std()
    # the type-to-type connection counts follow the same block probabilities
    same_types = plain.type_of
    np.testing.assert_array_equal(same_types, heavy.type_of)
    k = int(same_types.max()) + 1
    blocks = {}
    for name, g in (("plain", plain), ("heavy", heavy)):
        blocks[name] = np.bincount(
            same_types[g.pre] * k + same_types[g.post], minlength=k * k
        ).astype(float)
    big = blocks["plain"] > 500
    np.testing.assert_allclose(blocks["heavy"][big], blocks["plain"][big], rtol=0.15)
