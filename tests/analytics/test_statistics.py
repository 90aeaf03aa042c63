"""network_statistics checked against hand counts and against networkx."""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import networkx as nx
import numpy as np
import pytest

from connectomedb.analytics import statistics
from connectomedb.analytics.statistics import NetworkStatistics, network_statistics
from connectomedb.errors import BadInput

REL = 1e-12


def _arrays(g: nx.DiGraph) -> tuple[np.ndarray, np.ndarray]:
    edges = np.array(list(g.edges()), dtype=np.int64).reshape(-1, 2)
    return edges[:, 0], edges[:, 1]


def _histogram(degrees: Any) -> list[tuple[int, int]]:
    return sorted(Counter(d for _, d in degrees).items())


def _expected(g: nx.DiGraph) -> dict[str, Any]:
    """Every statistic computed by networkx (or plain counting over its edges)."""
    n = g.number_of_nodes()
    m = g.number_of_edges()
    p = nx.density(g)
    pairs = sum(1 for u, v in g.edges() if u < v and g.has_edge(v, u))
    expected_pairs = math.comb(n, 2) * p**2
    ins = [d for _, d in g.in_degree()]
    outs = [d for _, d in g.out_degree()]
    undirected = g.to_undirected()
    return {
        "neurons": n,
        "connections": m,
        "self_loops": nx.number_of_selfloops(g),
        "density": p,
        "in_degree_distribution": _histogram(g.in_degree()),
        "out_degree_distribution": _histogram(g.out_degree()),
        "reciprocal_pairs": pairs,
        "reciprocal_pairs_expected": expected_pairs,
        "reciprocity_enrichment": pairs / expected_pairs if expected_pairs > 0 else None,
        "reciprocity": nx.overall_reciprocity(g),
        "mean_convergence": sum(ins) / n,
        "mean_divergence": sum(outs) / n,
        "mean_convergence_connected": sum(ins) / sum(1 for d in ins if d > 0),
        "mean_divergence_connected": sum(outs) / sum(1 for d in outs if d > 0),
        "clustering_coefficient": nx.average_clustering(undirected),
        "transitivity": nx.transitivity(undirected),
    }


def _assert_matches(stats: NetworkStatistics, expected: dict[str, Any]) -> None:
    for name, want in expected.items():
        got = getattr(stats, name)
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=REL, abs=0.0), name
        else:
            assert got == want, name


def _random_graph(seed: int) -> nx.DiGraph:
    g = nx.gnp_random_graph(200, 0.05, seed=seed, directed=True)
    assert isinstance(g, nx.DiGraph)
    return g


def _planted_reciprocity(seed: int) -> nx.DiGraph:
    """G(n, p) with the reverse of 40% of its edges added: far more mutual pairs than chance."""
    g = _random_graph(seed)
    rng = random.Random(seed)
    for u, v in list(g.edges()):
        if rng.random() < 0.4:
            g.add_edge(v, u)
    return g


def _clustered(seed: int) -> nx.DiGraph:
    """Power-law graph with many triangles and hubs, each edge one way or both ways."""
    und = nx.powerlaw_cluster_graph(300, 3, 0.6, seed=seed)
    rng = random.Random(seed)
    g = nx.DiGraph()
    g.add_nodes_from(und)
    for u, v in und.edges():
        r = rng.random()
        if r < 0.45:
            g.add_edge(u, v)
        elif r < 0.9:
            g.add_edge(v, u)
        else:
            g.add_edges_from([(u, v), (v, u)])
    return g


# --- (1) a graph counted by hand ---------------------------------------------


def test_hand_counted_graph() -> None:
    # Nodes 0..5. Edges:
    #   0->1, 1->0      (mutual)
    #   2->3, 3->2      (mutual)
    #   0->2, 0->3, 1->2, 4->0
    # plus a duplicate 0->1 and a self-loop 5->5 that must not count.
    pre = np.array([0, 1, 2, 3, 0, 0, 1, 4, 0, 5])
    post = np.array([1, 0, 3, 2, 2, 3, 2, 0, 1, 5])
    s = network_statistics(6, pre, post)

    assert s.neurons == 6
    assert s.connections == 8
    assert s.self_loops == 1
    # 8 / (6 * 5)
    assert s.density == pytest.approx(8 / 30, rel=REL)
    # in-degree: 0:{1,4}=2  1:{0}=1  2:{0,1,3}=3  3:{0,2}=2  4:0  5:0
    assert s.in_degree_distribution == [(0, 2), (1, 1), (2, 2), (3, 1)]
    # out-degree: 0:{1,2,3}=3  1:{0,2}=2  2:{3}=1  3:{2}=1  4:{0}=1  5:0
    assert s.out_degree_distribution == [(0, 1), (1, 3), (2, 1), (3, 1)]
    # mutual pairs {0,1} and {2,3}
    assert s.reciprocal_pairs == 2
    # C(6,2) * (8/30)^2 = 15 * 64/900 = 16/15
    assert s.reciprocal_pairs_expected == pytest.approx(16 / 15, rel=REL)
    # 2 / (16/15) = 15/8
    assert s.reciprocity_enrichment == pytest.approx(15 / 8, rel=REL)
    # 4 of the 8 edges have their reverse
    assert s.reciprocity == pytest.approx(0.5, rel=REL)
    # 8 edges over 6 nodes; 4 nodes (0,1,2,3) receive, 5 nodes (0..4) send
    assert s.mean_convergence == pytest.approx(8 / 6, rel=REL)
    assert s.mean_divergence == pytest.approx(8 / 6, rel=REL)
    assert s.mean_convergence_connected == pytest.approx(8 / 4, rel=REL)
    assert s.mean_divergence_connected == pytest.approx(8 / 5, rel=REL)
    # Undirected edges: 0-1, 2-3, 0-2, 0-3, 1-2, 0-4.
    # Degrees: 0:4  1:2  2:3  3:2  4:1  5:0.
    # Triangles: {0,1,2} and {0,2,3} (1-3 is missing), so per node 0:2 1:1 2:2 3:1.
    # Local clustering: 0: 2/C(4,2)=1/3, 1: 1/1, 2: 2/C(3,2)=2/3, 3: 1/1, 4: 0, 5: 0
    #   average = (1/3 + 1 + 2/3 + 1) / 6 = 3/6
    assert s.clustering_coefficient == pytest.approx(0.5, rel=REL)
    # 3 * 2 triangles / connected triples (6 + 1 + 3 + 1) = 6/11
    assert s.transitivity == pytest.approx(6 / 11, rel=REL)
    assert s.null_model == "Erdős–Rényi G(n, p) at the observed density"


def test_hand_counted_graph_agrees_with_networkx() -> None:
    g = nx.DiGraph()
    g.add_nodes_from(range(6))
    g.add_edges_from([(0, 1), (1, 0), (2, 3), (3, 2), (0, 2), (0, 3), (1, 2), (4, 0)])
    pre, post = _arrays(g)
    _assert_matches(network_statistics(6, pre, post), _expected(g))


# --- (2) networkx on seeded random graphs -------------------------------------


@pytest.mark.parametrize(
    "make, seed",
    [
        (_random_graph, 0),
        (_random_graph, 1),
        (_random_graph, 2),
        (_random_graph, 3),
        (_planted_reciprocity, 4),
        (_clustered, 5),
    ],
)
def test_matches_networkx(make: Any, seed: int) -> None:
    g = make(seed)
    pre, post = _arrays(g)
    _assert_matches(network_statistics(g.number_of_nodes(), pre, post), _expected(g))


def test_planted_reciprocity_is_enriched() -> None:
    g = _planted_reciprocity(4)
    pre, post = _arrays(g)
    s = network_statistics(g.number_of_nodes(), pre, post)
    assert s.reciprocity_enrichment is not None
    assert s.reciprocity_enrichment > 5


def test_sparse_graph_with_isolated_nodes() -> None:
    g = nx.gnp_random_graph(200, 0.004, seed=7, directed=True)
    pre, post = _arrays(g)
    s = network_statistics(200, pre, post)
    assert s.in_degree_distribution[0][0] == 0
    _assert_matches(s, _expected(g))


def test_blocked_triangle_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny blocks force many row blocks in the masked products; results must not change.
    monkeypatch.setattr(statistics, "_TRIANGLE_BLOCK_WORK", 50)
    g = _clustered(8)
    pre, post = _arrays(g)
    _assert_matches(network_statistics(g.number_of_nodes(), pre, post), _expected(g))


# --- (3) bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    "n, pre, post, message",
    [
        (3, [0, 1], [1], "same length"),
        (3, [0, -1], [1, 2], "outside"),
        (3, [0, 1], [1, 3], "outside"),
        (3, [0.0, 1.0], [1, 2], "integer"),
        (3, [[0, 1]], [[1, 2]], "one-dimensional"),
        (-1, [], [], "non-negative"),
        (3.0, [0], [1], "non-negative integer"),
        (True, [0], [0], "non-negative integer"),
    ],
)
def test_bad_input(n: Any, pre: Any, post: Any, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        network_statistics(n, np.asarray(pre), np.asarray(post))


# --- (4) duplicates, self-loops, degenerate sizes -------------------------------


def test_duplicates_and_self_loops() -> None:
    rng = np.random.default_rng(3)
    n = 60
    pre = rng.integers(0, n, 600)
    post = rng.integers(0, n, 600)
    # Repeat some edges and add loops, some of them twice.
    pre = np.concatenate([pre, pre[:200], [5, 5, 9, 17]])
    post = np.concatenate([post, post[:200], [5, 5, 9, 17]])

    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(pre.tolist(), post.tolist(), strict=True))
    loops = nx.number_of_selfloops(g)  # the DiGraph already collapsed duplicates
    assert loops >= 3
    s = network_statistics(n, pre, post)
    assert s.self_loops == loops

    g.remove_edges_from(list(nx.selfloop_edges(g)))
    expected = _expected(g)
    expected["self_loops"] = loops
    _assert_matches(s, expected)

    clean = network_statistics(n, *_arrays(g))
    assert clean.self_loops == 0
    assert {**vars(s), "self_loops": 0} == vars(clean)


def test_empty_and_tiny_graphs() -> None:
    empty = network_statistics(0, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert empty.neurons == 0
    assert empty.connections == 0
    assert empty.density == 0.0
    assert empty.in_degree_distribution == []
    assert empty.reciprocity_enrichment is None
    assert empty.clustering_coefficient == 0.0

    single = network_statistics(1, np.array([0]), np.array([0]))
    assert single.connections == 0
    assert single.self_loops == 1
    assert single.density == 0.0
    assert single.in_degree_distribution == [(0, 1)]
    assert single.reciprocal_pairs_expected == 0.0
    assert single.reciprocity_enrichment is None
    assert single.reciprocity == 0.0

    edgeless = network_statistics(4, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert edgeless.out_degree_distribution == [(0, 4)]
    assert edgeless.mean_convergence_connected == 0.0
    assert edgeless.transitivity == 0.0
