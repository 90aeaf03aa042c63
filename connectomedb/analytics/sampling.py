"""Uniform neighbour sampling in plain torch, for PyG's ``NeighborLoader`` without a
compiled extension (pyg-lib or torch-sparse)::

    loader = neighbor_loader((features, graph), num_neighbors=[10, 5], batch_size=64)

Each hop draws, for every node of the frontier, ``k`` of its in-neighbours uniformly
without replacement (all of them when it has ``k`` or fewer, or when ``k`` is -1), as
torch-sparse's ``neighbor_sample`` does. Nodes are numbered in order of first
appearance, seeds first; edges point from the sampled neighbour to the node that drew
it and carry their positions in the sampler's CSC order, which the loader maps back
to the input's edge order. The draw is vectorised per hop: one random key per
candidate edge, a sort within each node's segment, the first ``k`` kept. Random numbers
come from torch's global generator, so ``torch.manual_seed`` makes batches repeatable.
Only homogeneous, directional, non-temporal sampling is offered (what the analytics
use); anything else is refused.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor
from torch_geometric.loader import NeighborLoader
from torch_geometric.sampler import NeighborSampler, SamplerOutput
from torch_geometric.sampler.base import SubgraphType

from connectomedb.errors import BadInput


class UniformNeighborSampler(NeighborSampler):
    """PyG's ``NeighborSampler`` with its sampling step in plain torch."""

    def __init__(self, data: Any, num_neighbors: list[int], **kwargs: Any) -> None:
        for key in ("time_attr", "weight_attr"):
            if kwargs.get(key) is not None:
                raise BadInput(f"{key} is not supported by the uniform neighbour sampler")
        if kwargs.get("disjoint") or kwargs.get("replace"):
            raise BadInput("disjoint and replace are not supported by the uniform sampler")
        with warnings.catch_warnings():  # the "install pyg-lib" notice: not needed here
            warnings.simplefilter("ignore")
            super().__init__(data, num_neighbors, **kwargs)
        if self.is_hetero:
            raise BadInput("the uniform neighbour sampler takes homogeneous graphs only")
        if self.subgraph_type == SubgraphType.induced:
            raise BadInput("induced subgraphs are not supported by the uniform sampler")
        # global -> local node index of the batch being sampled (-1: not in it)
        self._local = torch.full((int(self.num_nodes),), -1, dtype=torch.long)

    def _sample(self, seed: Any, seed_time: Any = None, **kwargs: Any) -> SamplerOutput:
        if isinstance(seed, dict) or seed_time is not None:
            raise BadInput("the uniform neighbour sampler takes homogeneous graphs only")
        node, row, col, edge, n_nodes, n_edges = sample_hops(
            self.colptr, self.row, seed, self.num_neighbors.get_mapped_values(), self._local
        )
        if self.sample_direction == "backward":
            row, col = col, row
        return SamplerOutput(
            node=node,
            row=row,
            col=col,
            edge=edge,
            batch=None,
            num_sampled_nodes=n_nodes,
            num_sampled_edges=n_edges,
        )


def sample_hops(
    colptr: Tensor, row: Tensor, seed: Tensor, fanouts: list[int], local: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor, list[int], list[int]]:
    """Multi-hop uniform sampling over a CSC graph (``row[colptr[v]:colptr[v+1]]`` are
    the in-neighbours of ``v``). Returns (nodes, row, col, edge, nodes per hop, edges per
    hop) with ``row``/``col`` local indices into ``nodes``; ``local`` is an optional
    scratch vector of -1s (length = number of nodes), left as it was found (one sampler
    holds one, so a sampler serves one thread at a time, as the loader's workers do)."""
    seed = seed.to(torch.long)
    if torch.unique(seed).numel() != seed.numel():
        raise BadInput("the seed nodes of a batch must be distinct")
    n = colptr.numel() - 1
    if seed.numel() and (int(seed.min()) < 0 or int(seed.max()) >= n):
        raise BadInput(f"seed nodes must be between 0 and {n - 1}")
    if local is None:
        local = torch.full((n,), -1, dtype=torch.long)
    nodes = [seed]
    local[seed] = torch.arange(seed.numel())
    count = seed.numel()
    rows: list[Tensor] = []
    cols: list[Tensor] = []
    edges: list[Tensor] = []
    n_nodes, n_edges = [seed.numel()], []
    frontier = seed
    try:
        for k in fanouts:
            e, dst = _draw(colptr, frontier, int(k))
            src = row[e]
            fresh = src[local[src] < 0]
            new = _first_seen(fresh)
            local[new] = torch.arange(count, count + new.numel())
            count += new.numel()
            nodes.append(new)
            rows.append(local[src])
            cols.append(local[frontier][dst])
            edges.append(e)
            n_nodes.append(new.numel())
            n_edges.append(e.numel())
            frontier = new
    finally:
        all_nodes = torch.cat(nodes)
        local[all_nodes] = -1
    empty = torch.empty(0, dtype=torch.long)
    return (
        all_nodes,
        torch.cat(rows) if rows else empty,
        torch.cat(cols) if cols else empty,
        torch.cat(edges) if edges else empty,
        n_nodes,
        n_edges,
    )


#: a node draws offsets at random (with a rank-all fallback) when its in-degree exceeds
#: ``_HUB * k``; below, ranking all its in-edges costs at most that many random keys
_HUB = 4


def _draw(colptr: Tensor, frontier: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """CSC positions of the drawn in-edges of each frontier node and, for each, the
    frontier position of the node that drew it (grouped by that node, in frontier
    order). Ranking every candidate edge would cost the sum of the frontier's degrees,
    which hubs dominate on heavy-tailed graphs; hubs draw offsets instead."""
    start = colptr[frontier]
    deg = colptr[frontier + 1] - start
    owner = torch.arange(frontier.numel())
    if k < 0:
        return _segments(start, deg, owner)
    hubs = owner[deg > _HUB * k]
    offsets, found = _draw_hubs(deg[hubs], k)
    ranked = torch.cat([owner[deg <= _HUB * k], hubs[~found]])
    pos, seg = _segments(start[ranked], deg[ranked], torch.arange(ranked.numel()))
    if pos.numel():
        # a random order within each segment, the first k kept
        order = torch.argsort(seg.to(torch.float64) + torch.rand(pos.numel(), dtype=torch.float64))
        offset = pos - start[ranked][seg]
        rank = torch.empty_like(offset)
        rank[order] = offset
        keep = rank < k
        pos, seg = pos[keep], seg[keep]
    lucky = hubs[found]
    edge = torch.cat([pos, (start[lucky].unsqueeze(1) + offsets).reshape(-1)])
    dst = torch.cat([ranked[seg], lucky.repeat_interleave(k)])
    order = torch.argsort(dst, stable=True)
    return edge[order], dst[order]


def _segments(start: Tensor, deg: Tensor, owner: Tensor) -> tuple[Tensor, Tensor]:
    """Every position ``start[i] .. start[i] + deg[i] - 1``, with ``owner[i]`` for each."""
    total = int(deg.sum())
    if total == 0:
        empty = torch.empty(0, dtype=torch.long)
        return empty, empty
    seg = torch.repeat_interleave(torch.arange(deg.numel()), deg)
    offset = torch.arange(total) - torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
    return start[seg] + offset, owner[seg]


def _draw_hubs(deg: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """``k`` distinct offsets below ``deg[i]`` for each hub ``i``: the first ``k`` distinct
    values among ``2k`` uniform draws with replacement. They form a uniformly random
    ``k``-subset: the rule treats every value alike, and so does the event that ``k``
    distinct values turn up. Returns the offsets (one row per hub that found ``k``) and
    which hubs found them (the others are ranked instead)."""
    m = deg.numel()
    if m == 0 or k == 0:
        return torch.empty((m, 0), dtype=torch.long), torch.ones(m, dtype=torch.bool)
    draws = (torch.rand(m, 2 * k, dtype=torch.float64) * deg.unsqueeze(1)).long()
    draws = torch.minimum(draws, (deg - 1).unsqueeze(1))  # rounding at the top
    flat = (torch.arange(m).unsqueeze(1) * int(deg.max()) + draws).reshape(-1)
    _, inverse = torch.unique(flat, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), flat.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(flat.numel()), reduce="amin")
    fresh = (first[inverse] == torch.arange(flat.numel())).reshape(m, 2 * k)
    rank = torch.cumsum(fresh, dim=1)
    found = rank[:, -1] >= k
    pick = (fresh & (rank <= k))[found]
    return draws[found][pick].reshape(-1, k), found


def _first_seen(ids: Tensor) -> Tensor:
    """Distinct values of ``ids`` in order of first appearance."""
    if ids.numel() == 0:
        return ids
    uniq, inverse = torch.unique(ids, return_inverse=True)
    first = torch.full((uniq.numel(),), ids.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(ids.numel()), reduce="amin")
    return uniq[torch.argsort(first)]


def neighbor_loader(data: Any, num_neighbors: list[int], **kwargs: Any) -> NeighborLoader:
    """``NeighborLoader`` with :class:`UniformNeighborSampler`; ``data`` is a PyG ``Data``
    or a (feature store, graph store) pair such as :func:`~.remote.remote_backend`'s.
    ``input_nodes`` defaults to every node; other keywords go to the loader."""
    sampler_keys = (
        "subgraph_type",
        "is_sorted",
        "share_memory",
        "sample_direction",
        "replace",
        "disjoint",
        "time_attr",
        "weight_attr",
    )
    sampler_args = {key: kwargs.pop(key) for key in sampler_keys if key in kwargs}
    sampler = UniformNeighborSampler(data, num_neighbors, **sampler_args)
    if kwargs.get("input_nodes") is None:
        kwargs["input_nodes"] = torch.arange(int(sampler.num_nodes))
    return NeighborLoader(data, num_neighbors, neighbor_sampler=sampler, **kwargs)
