"""The plain-torch neighbour sampler: with fan-outs at least the degree it returns exactly
the upstream neighbourhood networkx finds; with smaller fan-outs each node draws
min(k, degree) distinct in-neighbours, uniformly."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from torch_geometric.data import Data

from connectomedb.analytics.sampling import neighbor_loader, sample_hops
from connectomedb.errors import BadInput


def random_digraph(n: int, m: int, seed: int) -> nx.DiGraph:
    rng = np.random.default_rng(seed)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    while g.number_of_edges() < m:
        a, b = rng.integers(n, size=2)
        if a != b:
            g.add_edge(int(a), int(b))
    return g


def as_data(g: nx.DiGraph) -> Data:
    ei = torch.tensor(list(g.edges), dtype=torch.long).t().contiguous()
    return Data(edge_index=ei, num_nodes=g.number_of_nodes(), x=torch.arange(len(g)).view(-1, 1))


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_full_fanout_is_the_upstream_neighbourhood(hops: int) -> None:
    g = random_digraph(60, 180, seed=hops)
    data = as_data(g)
    seeds = [0, 5, 17]
    (batch,) = list(neighbor_loader(data, [-1] * hops, batch_size=3, input_nodes=seeds))
    n_id = batch.n_id.tolist()
    # networkx: distance of every node from the seeds against the edges
    dist = nx.multi_source_dijkstra_path_length(g.reverse(copy=True), seeds)
    assert n_id[:3] == seeds
    assert set(n_id) == {v for v, d in dist.items() if d <= hops}
    assert len(n_id) == len(set(n_id))
    got = {(n_id[a], n_id[b]) for a, b in batch.edge_index.t().tolist()}
    want = {(u, v) for u, v in g.edges if dist.get(v, hops + 1) < hops}
    assert got == want
    assert batch.edge_index.size(1) == len(want)  # no edge twice
    # edge ids map back to the input's edges
    assert {tuple(data.edge_index[:, e].tolist()) for e in batch.e_id.tolist()} == want


def test_small_fanout_draws_distinct_in_neighbours() -> None:
    g = random_digraph(80, 600, seed=3)
    data = as_data(g)
    torch.manual_seed(1)
    for batch in neighbor_loader(data, [4, 2], batch_size=10, shuffle=True):
        n_id = batch.n_id.tolist()
        edges = [(n_id[a], n_id[b]) for a, b in batch.edge_index.t().tolist()]
        assert all(g.has_edge(u, v) for u, v in edges)
        seeds = n_id[: batch.batch_size]
        hop1 = [e for e in edges[: batch.num_sampled_edges[0]]]
        for s in seeds:
            drawn = [u for u, v in hop1 if v == s]
            assert len(drawn) == len(set(drawn)) == min(4, g.in_degree(s))


def test_draws_are_uniform() -> None:
    # node 0 has 6 in-neighbours; 3 drawn per batch: each of the C(6,3) = 20 subsets
    # equally likely (a scheme biased towards neighbouring positions fails this)
    colptr = torch.tensor([0, 6] + [6] * 6)
    row = torch.arange(1, 7)
    torch.manual_seed(0)
    subsets = {s: 0 for s in itertools.combinations(range(6), 3)}
    local = torch.full((7,), -1, dtype=torch.long)
    for _ in range(4000):
        node, _, _, edge, _, _ = sample_hops(colptr, row, torch.tensor([0]), [3], local)
        subsets[tuple(sorted(edge.tolist()))] += 1
    counts = np.array(list(subsets.values()))
    assert counts.sum() == 4000 and counts.min() > 0
    assert chisquare(counts).pvalue > 1e-3
    assert bool((local == -1).all())  # the scratch vector is left as it was


def test_bad_seeds_are_refused_and_the_scratch_kept() -> None:
    colptr, row = torch.tensor([0, 1, 2]), torch.tensor([1, 0])
    local = torch.full((2,), -1, dtype=torch.long)
    with pytest.raises(BadInput):
        sample_hops(colptr, row, torch.tensor([0, 5]), [1], local)  # 5 is no node
    assert bool((local == -1).all())
    with pytest.raises(BadInput):
        sample_hops(colptr, row, torch.tensor([0, 0]), [1], local)  # seeds repeat
    node, r, c, _, _, _ = sample_hops(colptr, row, torch.tensor([0]), [1], local)
    assert node.tolist() == [0, 1] and r.tolist() == [1] and c.tolist() == [0]


def test_refuses_what_it_does_not_do() -> None:
    data = as_data(random_digraph(10, 20, seed=0))
    with pytest.raises(BadInput):
        neighbor_loader(data, [2], disjoint=True)
    with pytest.raises(BadInput):
        neighbor_loader(data, [2], subgraph_type="induced")
