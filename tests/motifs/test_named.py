"""Reciprocity by group on a hand-counted graph and against networkx on a block model."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from connectomedb.motifs.named import reciprocity_by_group


def test_hand_counted() -> None:
    # groups: {0, 1, 2} -> 0, {3, 4} -> 1
    # within 0: 0<->1 (reciprocal), 1->2            : 3 connections, 1 reciprocal pair
    # between: 0->3, 3->0 (reciprocal), 2->4          : a->b 2, b->a 1, 1 reciprocal pair
    # within 1: 3->4                                  : 1 connection, 0 reciprocal
    pre = np.array([0, 1, 1, 0, 3, 2, 3])
    post = np.array([1, 0, 2, 3, 0, 4, 4])
    groups = np.array([0, 0, 0, 1, 1])
    r = {(x.a, x.b): x for x in reciprocity_by_group(5, pre, post, groups)}
    w0 = r[(0, 0)]  # 3 pairs, p = 3 / 6
    assert (w0.pairs, w0.connections_ab, w0.reciprocal_pairs) == (3, 3, 1)
    assert w0.expected == pytest.approx(3 * 0.25) and w0.enrichment == pytest.approx(1 / 0.75)
    x = r[(0, 1)]  # 6 pairs, p_ab = 2/6, p_ba = 1/6
    assert (x.pairs, x.connections_ab, x.connections_ba, x.reciprocal_pairs) == (6, 2, 1, 1)
    assert x.expected == pytest.approx(6 * (2 / 6) * (1 / 6))
    w1 = r[(1, 1)]  # 1 pair, p = 1/2
    assert (w1.pairs, w1.reciprocal_pairs, w1.expected) == (1, 0, pytest.approx(0.25))


def test_against_networkx_block_model() -> None:
    sizes = [40, 60]
    g = nx.stochastic_block_model(sizes, [[0.2, 0.05], [0.1, 0.15]], seed=3, directed=True)
    e = np.array(list(g.edges))
    groups = np.repeat([0, 1], sizes)
    r = {(x.a, x.b): x for x in reciprocity_by_group(100, e[:, 0], e[:, 1], groups)}
    for a, b in [(0, 0), (0, 1), (1, 1)]:
        want = sum(
            1 for u, v in g.edges if u < v and g.has_edge(v, u) and {groups[u], groups[v]} == {a, b}
        )
        assert r[(a, b)].reciprocal_pairs == want
    within0 = g.subgraph(range(40))
    assert r[(0, 0)].connections_ab == within0.number_of_edges()
