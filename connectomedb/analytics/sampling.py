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


def _draw(colptr: Tensor, frontier: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """CSC positions of the drawn in-edges of each frontier node and, for each, the
    frontier position of the node that drew it."""
    start = colptr[frontier]
    deg = colptr[frontier + 1] - start
    total = int(deg.sum())
    if total == 0:
        empty = torch.empty(0, dtype=torch.long)
        return empty, empty
    owner = torch.repeat_interleave(torch.arange(frontier.numel()), deg)
    offset = torch.arange(total) - torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
    if k >= 0:
        # a random order within each node's segment, the first k kept
        order = torch.argsort(owner.to(torch.float64) + torch.rand(total, dtype=torch.float64))
        rank = torch.empty(total, dtype=torch.long)
        rank[order] = offset
        keep = rank < k
        owner, offset = owner[keep], offset[keep]
    return start[owner] + offset, owner


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
