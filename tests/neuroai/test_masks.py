"""Masks: densities exact and reciprocity enrichment within 5% of the request, measured
independently with networkx (reciprocal pairs counted from its edge set)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from connectomedb.errors import BadInput
from connectomedb.neuroai.masks import (
    Mask,
    connectome_mask,
    enrichment_of,
    random_mask,
    reciprocal_mask,
)


def _nx(mask: Mask) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(mask.n))
    g.add_edges_from(zip(mask.pre.tolist(), mask.post.tolist(), strict=True))
    return g


def _nx_enrichment(g: nx.DiGraph) -> float:
    n = g.number_of_nodes()
    p = nx.density(g)  # m / (n (n - 1))
    mutual = sum(1 for a, b in g.edges if a < b and g.has_edge(b, a))
    return mutual / (n * (n - 1) / 2 * p * p)


@pytest.mark.parametrize(
    ("n", "density", "enrichment"),
    [(100, 0.1, 4.0), (300, 0.04, 9.0), (1000, 0.01, 4.0), (200, 0.05, 1.0), (150, 0.2, 0.0)],
)
def test_reciprocal_mask_has_the_requested_enrichment_and_exact_density(
    n: int, density: float, enrichment: float
) -> None:
    mask = reciprocal_mask(n, density, enrichment, np.random.default_rng(n))
    g = _nx(mask)
    assert g.number_of_edges() == mask.m == round(density * n * (n - 1))  # no duplicates
    assert nx.number_of_selfloops(g) == 0
    assert nx.density(g) == pytest.approx(round(density * n * (n - 1)) / (n * (n - 1)))
    measured = _nx_enrichment(g)
    assert measured == pytest.approx(enrichment, rel=0.05, abs=1e-12)
    assert enrichment_of(mask.n, mask.pre, mask.post) == pytest.approx(measured)


def test_random_mask_is_exact_in_density_and_near_one_in_enrichment() -> None:
    mask = random_mask(400, 0.05, np.random.default_rng(3))
    g = _nx(mask)
    assert g.number_of_edges() == round(0.05 * 400 * 399)
    assert nx.number_of_selfloops(g) == 0
    # chance reciprocity: the pair count is binomial around C(n,2) p^2 (~200 here)
    assert 0.75 < _nx_enrichment(g) < 1.25


def test_masks_differ_by_seed_and_repeat_by_seed() -> None:
    a = reciprocal_mask(100, 0.1, 4.0, np.random.default_rng(1))
    b = reciprocal_mask(100, 0.1, 4.0, np.random.default_rng(1))
    c = reciprocal_mask(100, 0.1, 4.0, np.random.default_rng(2))
    assert np.array_equal(a.pre, b.pre) and np.array_equal(a.post, b.post)
    assert not (np.array_equal(a.pre, c.pre) and np.array_equal(a.post, c.post))


def test_an_enrichment_the_density_cannot_hold_is_refused() -> None:
    # at p = 0.1 the most is 1/p = 10 (every connection in a reciprocal pair)
    with pytest.raises(BadInput, match="at most 10"):
        reciprocal_mask(100, 0.1, 11.0, np.random.default_rng(0))
    # 50 units at 2%: 49 connections, 0.49 pairs expected by chance; 3 x 0.49 rounds to
    # 1 pair, an enrichment of 2.04, more than 5% off
    with pytest.raises(BadInput, match="more than 5% off"):
        reciprocal_mask(50, 0.02, 3.0, np.random.default_rng(0))
    with pytest.raises(BadInput, match="density"):
        random_mask(100, 0.0, np.random.default_rng(0))
    with pytest.raises(BadInput, match="no connection"):
        random_mask(10, 0.001, np.random.default_rng(0))


def test_connectome_mask_drops_autapses_and_duplicates() -> None:
    pre = np.array([0, 0, 1, 2, 2, 3])
    post = np.array([1, 1, 0, 2, 3, 0])
    m = connectome_mask(4, pre, post, np.array([1.0, -1.0, 1.0, -1.0]))
    assert sorted(zip(m.pre.tolist(), m.post.tolist(), strict=True)) == [
        (0, 1),
        (1, 0),
        (2, 3),
        (3, 0),
    ]
    assert m.sign is not None and m.sign.tolist() == [1.0, -1.0, 1.0, -1.0]
