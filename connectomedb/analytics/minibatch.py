"""GNN training on sampled mini-batches of an in-memory graph, so that memory follows the
batch and not the connectome (a whole brain's full-batch GAT held 8 GB of per-connection
activations for backward).

- :class:`NeighbourIndex`: the connections in both directions, each neighbour pair once,
  in CSC form, with :func:`~connectomedb.analytics.sampling.sample_hops` over it.
- :class:`Training`: how long and on what (Adam steps or passes, batch size, fan-outs).
- :func:`train_classifier`: a two-layer GraphSAGE or GAT fitted on mini-batches of
  training neurons, each with its sampled two-hop neighbourhood. GraphSAGE's first
  layer is exact (its neighbour means are computed once), GAT's drawn layers are
  corrected by control variates from exact outputs refreshed every 100 steps
  (:class:`History`): drawn neighbourhoods alone lose about half of GAT's gain over the
  baselines on a heavy-tailed connectome.
- :func:`train_autoencoder`: a graph autoencoder fitted on mini-batches of connections
  against as many random non-connections.
- :func:`infer`: every neuron's output, layer by layer over chunks of neurons with all
  their neighbours (exact, as a full-batch forward pass would give, but bounded by the
  chunk).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
import torch

from connectomedb.analytics.sampling import sample_hops
from connectomedb.errors import BadInput

#: neighbour pairs per chunk of layer-wise inference (a GAT layer holds a few floats per
#: head and channel for each: about 64 MB at hidden 64)
INFER_EDGES = 2**18


class NeighbourIndex:
    """The neighbours of each neuron (pre- and postsynaptic partners, each once).

    Args:
        n: neurons.
        pre, post: the directed connections.

    Shapes:
        colptr: (n + 1,) int64; row: (number of neighbour pairs x 2,) int64, the
        neighbours of ``v`` at ``row[colptr[v]:colptr[v + 1]]``, ascending.
    """

    def __init__(self, n: int, pre: np.ndarray, post: np.ndarray) -> None:
        # scipy's COO -> CSR conversion is a counting sort by row, far cheaper than a
        # global sort of the packed pairs; duplicates (reciprocal pairs) summed away
        a = sp.coo_array(
            (
                np.ones(2 * pre.size, dtype=np.float32),
                (np.concatenate([post, pre]), np.concatenate([pre, post])),
            ),
            shape=(n, n),
        ).tocsr()
        a.sum_duplicates()
        self.n = n
        self.colptr = torch.from_numpy(a.indptr.astype(np.int64))
        self.row = torch.from_numpy(a.indices.astype(np.int64))
        self._local = torch.full((n,), -1, dtype=torch.long)

    @property
    def degree(self) -> np.ndarray:
        return (self.colptr[1:] - self.colptr[:-1]).numpy()

    def sample(self, seeds: torch.Tensor, fanouts: list[int]) -> Sample:
        """The sampled neighbourhood of ``seeds``: ``fanouts[h]`` neighbours drawn by each
        node reached at hop ``h`` (-1: all of them)."""
        nodes, row, col, _, per_hop, edges = sample_hops(
            self.colptr, self.row, seeds, fanouts, self._local
        )
        return Sample(nodes, torch.stack([row, col]), per_hop, edges)

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """Each neuron's mean of ``x`` over its neighbours (zeros for a neuron without),
        as PyG's mean aggregation over the index's edges gives.

        Shapes:
            x: (n, f) -> (n, f).
        """
        ptr, idx = self.colptr.numpy(), self.row.numpy()
        a = sp.csr_array((np.ones(idx.size, dtype=np.float32), idx, ptr), shape=(self.n, self.n))
        deg = np.maximum(np.diff(ptr), 1).astype(np.float32)
        return torch.from_numpy((a @ x.numpy()) / deg[:, None]).to(x.dtype)

    def chunks(self, edges: int = INFER_EDGES) -> Iterator[tuple[int, int]]:
        """Consecutive neuron ranges ``[a, b)`` with at most ``edges`` neighbour pairs
        each (a neuron with more is a range of its own)."""
        ptr = self.colptr.numpy()
        a = 0
        while a < self.n:
            b = int(np.searchsorted(ptr, ptr[a] + edges, side="right")) - 1
            b = min(max(b, a + 1), self.n)
            yield a, b
            a = b


@dataclass(frozen=True)
class Sample:
    """A sampled neighbourhood: ``nodes`` (global indices, the seeds first, then each
    hop's new nodes), ``edge_index`` (local, from the drawn neighbour to the node that
    drew it, hop by hop) and the counts of nodes and edges per hop."""

    nodes: torch.Tensor
    edge_index: torch.Tensor
    nodes_per_hop: list[int]
    edges_per_hop: list[int]

    def within(self, hops: int) -> tuple[int, int]:
        """(nodes, edges) up to ``hops`` hops from the seeds: the prefixes to keep."""
        return sum(self.nodes_per_hop[: hops + 1]), sum(self.edges_per_hop[:hops])


#: how each model samples unless a run says otherwise: fan-outs per hop (-1: every
#: neighbour) and steps between refreshes of the control variates (0: none). GraphSAGE's
#: second hop is exact (its first layer's means are precomputed), so its batches are
#: close to full-batch ones without corrections; GAT's attention cannot be precomputed,
#: and its draws, corrected by control variates, match the full-batch accuracy.
SAMPLING: Final = {
    "graphsage": ((25, -1), 0),
    "gat": ((10, 5), 100),
    "encoder": ((10, -1), 0),
}


@dataclass(frozen=True)
class Training:
    """How a GNN trains: ``steps`` Adam steps, or ``epochs`` passes over the training
    items when given (a pass is ``ceil(items / batch_size)`` steps), each step on
    ``batch_size`` items drawn without replacement within a pass. Every node of a batch
    draws ``fanouts[h]`` neighbours at hop ``h`` (-1: all), and every ``refresh`` steps
    the exact outputs of every layer are recomputed for the control variates; None
    takes the model's own (:data:`SAMPLING`). When the items fit one batch a step is a
    full pass, the full-batch epoch of earlier versions."""

    steps: int = 600
    batch_size: int = 512
    fanouts: tuple[int, ...] | None = None
    epochs: int | None = None
    lr: float = 0.01
    weight_decay: float = 0.0
    refresh: int | None = None

    def total_steps(self, items: int) -> int:
        if self.epochs is not None:
            return self.epochs * max(1, math.ceil(items / self.batch_size))
        return self.steps

    def sampling(self, model: str) -> tuple[tuple[int, ...], int]:
        """(fan-outs, refresh) for ``model`` (a key of :data:`SAMPLING`)."""
        fanouts, refresh = SAMPLING[model]
        return (
            self.fanouts if self.fanouts is not None else fanouts,
            self.refresh if self.refresh is not None else refresh,
        )

    def record(self, items: int, models: tuple[str, ...]) -> dict[str, Any]:
        """What a run records of its training on ``items`` items."""
        steps = self.total_steps(items)
        out: dict[str, Any] = {
            "mini_batch": True,
            "batch_size": self.batch_size,
            "steps": steps,
            "passes": round(steps * self.batch_size / max(items, 1), 2),
        }
        for m in models:
            fanouts, refresh = self.sampling(m)
            out[m] = {"fanouts": list(fanouts), "control_variate_refresh": refresh}
        return out


def batches(items: torch.Tensor, t: Training) -> Iterator[torch.Tensor]:
    """The mini-batches of ``items`` for ``t``: shuffled passes, each item once per pass,
    until the steps are done (the last pass may stop early)."""
    steps = t.total_steps(items.numel())
    done = 0
    while done < steps and items.numel():
        for b in items[torch.randperm(items.numel())].split(t.batch_size):
            if done == steps:
                return
            yield b
            done += 1


class GNN(torch.nn.Module):
    """Message-passing layers (PyG convolutions taking ``(x, edge_index)``) with an
    activation and dropout between them; ``model`` names its sampling defaults
    (:data:`SAMPLING`).

    When the first layer is a plain GraphSAGE layer (mean aggregation, no projection or
    normalisation) its neighbour mean is linear in the input, so it is computed once for
    every neuron (:meth:`NeighbourIndex.mean`) and a batch samples one hop fewer: the
    hop it saves is exact, not drawn.
    """

    def __init__(
        self, model: str, layers: list[Any], act: str = "elu", dropout: float = 0.3
    ) -> None:
        from torch_geometric.nn import SAGEConv

        super().__init__()
        if model not in SAMPLING:
            raise BadInput(f"unknown model {model!r}")
        self.model = model
        self.layers = torch.nn.ModuleList(layers)
        self.act = getattr(torch.nn.functional, act)
        self.dropout = dropout
        first = layers[0]
        self.exact_first = (
            isinstance(first, SAGEConv)
            and str(first.aggr) == "mean"
            and not first.project
            and not first.normalize
            and first.root_weight
        )

    @property
    def sampled_hops(self) -> int:
        """The hops a batch draws: one per layer, but for an exact first layer."""
        return len(self.layers) - int(self.exact_first)

    def reset_parameters(self) -> None:
        for conv in self.layers:
            conv.reset_parameters()  # type: ignore[operator]

    def _after(self, i: int, out: torch.Tensor) -> torch.Tensor:
        if i < len(self.layers) - 1:
            out = torch.nn.functional.dropout(self.act(out), self.dropout, self.training)
        return out

    def layer(self, i: int, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Layer ``i`` with what follows it (the activation and dropout, but for the last)."""
        return self._after(i, self.layers[i](h, edge_index))

    def first_raw(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """The exact first layer's output (before its activation) from the neurons'
        features and their neighbours' mean features: SAGEConv's
        ``lin_l(mean) + lin_r(x)``."""
        conv: Any = self.layers[0]
        return conv.lin_l(mean) + conv.lin_r(x)  # type: ignore[no-any-return]

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for i in range(len(self.layers)):
            h = self.layer(i, h, edge_index)
        return h

    def on_sample(
        self,
        x: torch.Tensor,
        mean: torch.Tensor | None,
        s: Sample,
        history: History | None = None,
    ) -> torch.Tensor:
        """The output at the seeds of a sampled neighbourhood (``x``, ``mean``: every
        neuron's features and, for an exact first layer, their neighbour means). Layer
        ``i`` runs only on the edges it needs: those within ``layers - i`` hops of the
        seeds, whose ends it feeds. With ``history`` each drawn layer's output is
        corrected by its control variate (:class:`History`).

        Shapes:
            x, mean: (n, f) -> (seeds, width of the last layer).
        """
        if self.exact_first:
            assert mean is not None
            h = self._after(0, self.first_raw(x[s.nodes], mean[s.nodes]))
            start = 1
        else:
            h, start = x[s.nodes], 0
        for i in range(start, len(self.layers)):
            hops = len(self.layers) - i  # the hops whose edges layer i reads
            n_in, e_in = s.within(hops)
            n_out, _ = s.within(hops - 1)
            ei = s.edge_index[:, :e_in]
            z = self.layers[i](h[:n_in], ei)[:n_out]
            if history is not None:
                z = z + history.correction(i, x, s.nodes, n_in, n_out, ei)
            h = self._after(i, z)
        return h


def exact_layers(
    net: GNN,
    index: NeighbourIndex,
    x: torch.Tensor,
    mean: torch.Tensor | None = None,
    edges: int = INFER_EDGES,
    keep: bool = False,
) -> list[torch.Tensor]:
    """Every neuron's output of each layer (before its activation; all layers when
    ``keep``, else the last), in eval mode, layer by layer: each chunk of neurons
    (:meth:`NeighbourIndex.chunks`) with all its neighbours, so that each layer sees
    every neighbour as a full-batch pass would, while memory holds one chunk's neighbour
    pairs and a layer's (n, width) outputs.

    Shapes:
        x: (n, f) -> [(n, width of each layer)].
    """
    was_training = net.training
    net.eval()
    out: list[torch.Tensor] = []
    with torch.no_grad():
        if net.exact_first:
            z = net.first_raw(x, mean if mean is not None else index.mean(x))
            start = 1
        else:
            z, start = x, 0
        for i in range(start, len(net.layers)):
            h = net.act(z) if i > 0 else z
            if keep and i > 0:
                out.append(z)
            parts = []
            for a, b in index.chunks(edges):
                s = index.sample(torch.arange(a, b), [-1])
                parts.append(net.layers[i](h[s.nodes], s.edge_index)[: b - a])
            z = torch.cat(parts)
    out.append(z)
    net.train(was_training)
    return out


class History:
    """Control variates for drawn neighbourhoods (Chen, Zhu and Song 2018, "Stochastic
    training of graph convolutional networks with variance reduction"): a snapshot of
    the network and every neuron's exact layer outputs under it. A drawn layer's output
    becomes ``f_now(draw) + (exact_then - f_then(draw))``: exact while the parameters
    stay near the snapshot's, whichever neighbours were drawn, with the gradient of the
    draw. Memory: each layer's (n, width) outputs, held without gradients.
    """

    def __init__(
        self,
        net: GNN,
        index: NeighbourIndex,
        x: torch.Tensor,
        mean: torch.Tensor | None,
    ) -> None:
        self.net = copy.deepcopy(net).eval()
        self.raw = exact_layers(self.net, index, x, mean, keep=True)

    def correction(
        self,
        i: int,
        x: torch.Tensor,
        nodes: torch.Tensor,
        n_in: int,
        n_out: int,
        edge_index: torch.Tensor,
    ) -> torch.Tensor:
        """exact_then - f_then(draw) for layer ``i`` at the first ``n_out`` of ``nodes``."""
        with torch.no_grad():
            inp = x[nodes[:n_in]] if i == 0 else self.net.act(self.raw[i - 1][nodes[:n_in]])
            then = self.net.layers[i](inp, edge_index)[:n_out]
            return self.raw[i][nodes[:n_out]] - then


class _Forward:
    """A network's outputs at a batch's seeds, as training draws them: its fan-outs, its
    neighbour means when its first layer is exact, and its control variates, refreshed
    every ``refresh`` calls."""

    def __init__(self, net: GNN, index: NeighbourIndex, x: torch.Tensor, t: Training) -> None:
        fanouts, self.refresh = t.sampling(net.model)
        if len(fanouts) != len(net.layers):
            raise BadInput(f"give one fan-out per layer ({len(net.layers)}), got {list(fanouts)}")
        self.fanouts = list(fanouts[: net.sampled_hops])
        self.net, self.index, self.x = net, index, x
        self.mean = index.mean(x) if net.exact_first else None
        self.history: History | None = None
        self.calls = 0

    def __call__(self, seeds: torch.Tensor) -> torch.Tensor:
        if self.refresh and self.calls % self.refresh == 0:
            self.history = History(self.net, self.index, self.x, self.mean)
        self.calls += 1
        s = self.index.sample(seeds, self.fanouts)
        return self.net.on_sample(self.x, self.mean, s, self.history)


def classifier(kind: str, features: int, hidden: int, classes: int) -> GNN:
    """A two-layer GraphSAGE (mean aggregation) or GAT (4 heads of hidden / 4, then 1),
    ELU and dropout 0.3 between the layers."""
    from torch_geometric.nn import GATConv, SAGEConv

    if kind == "graphsage":
        return GNN(kind, [SAGEConv(features, hidden), SAGEConv(hidden, classes)])
    if kind == "gat":
        return GNN(
            kind, [GATConv(features, hidden // 4, heads=4), GATConv(hidden, classes, heads=1)]
        )
    raise BadInput(f"unknown GNN {kind!r}")


def encoder(features: int, dim: int) -> GNN:
    """The graph autoencoder's encoder: two GraphSAGE layers (2 dim, then dim), ReLU."""
    from torch_geometric.nn import SAGEConv

    layers = [SAGEConv(features, 2 * dim), SAGEConv(2 * dim, dim)]
    return GNN("encoder", layers, act="relu", dropout=0.0)


def train_classifier(
    net: GNN,
    index: NeighbourIndex,
    x: torch.Tensor,
    y: torch.Tensor,
    train: torch.Tensor,
    t: Training,
    progress: Callable[[float], None] | None = None,
) -> float:
    """Fit ``net`` by cross-entropy on the neurons ``train``, one mini-batch of them (with
    their sampled neighbourhoods) a step; returns the last step's loss. Batches, draws
    and dropout take their randomness from torch's generator.

    Shapes:
        x: (n, f); y: (n,) int64; train: (t,) int64 neuron indices.
    """
    forward = _Forward(net, index, x, t)
    opt = torch.optim.Adam(net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    steps = t.total_steps(train.numel())
    loss = torch.tensor(0.0)
    net.train()
    for i, seeds in enumerate(batches(train, t)):
        out = forward(seeds)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(out, y[seeds])
        loss.backward()
        opt.step()
        if progress is not None:
            progress((i + 1) / steps)
    net.eval()
    return float(loss.detach())


class NonEdges:
    """Uniform random ordered pairs of distinct neurons that are not connections (as
    PyG's ``negative_sampling``): pairs drawn with replacement, hits dropped."""

    def __init__(self, n: int, pre: torch.Tensor, post: torch.Tensor) -> None:
        self.n = n
        self.keys = torch.sort(pre * n + post).values

    def draw(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        u = torch.randint(self.n, (count,))
        v = torch.randint(self.n, (count,))
        key = u * self.n + v
        pos = torch.searchsorted(self.keys, key).clamp(max=max(self.keys.numel() - 1, 0))
        hit = self.keys[pos] == key if self.keys.numel() else torch.zeros_like(u, dtype=torch.bool)
        keep = ~hit & (u != v)
        return u[keep], v[keep]


def recon_loss(
    z_u: torch.Tensor, z_v: torch.Tensor, zn_u: torch.Tensor, zn_v: torch.Tensor
) -> torch.Tensor:
    """PyG ``GAE.recon_loss``: -log sigmoid of the connections' inner products plus
    -log(1 - sigmoid) of the non-connections', each averaged."""
    eps = 1e-15
    pos = torch.sigmoid((z_u * z_v).sum(dim=1))
    neg = torch.sigmoid((zn_u * zn_v).sum(dim=1))
    return -torch.log(pos + eps).mean() - torch.log(1 - neg + eps).mean()


def train_autoencoder(
    net: GNN,
    index: NeighbourIndex,
    x: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    t: Training,
    progress: Callable[[float], None] | None = None,
) -> float:
    """Fit ``net`` as a graph autoencoder's encoder: each step a mini-batch of connections
    and as many random non-connections, scored by the inner products of their ends'
    encodings (computed on the ends' sampled neighbourhoods); returns the last step's
    loss.

    Shapes:
        x: (n, f); pre, post: (m,) int64, the connections.
    """
    forward = _Forward(net, index, x, t)
    opt = torch.optim.Adam(net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    non = NonEdges(index.n, pre, post)
    steps = t.total_steps(pre.numel())
    loss = torch.tensor(0.0)
    net.train()
    for i, batch in enumerate(batches(torch.arange(pre.numel()), t)):
        nu, nv = non.draw(batch.numel())
        seeds, where = torch.unique(
            torch.cat([pre[batch], post[batch], nu, nv]), return_inverse=True
        )
        z = forward(seeds)
        k, j = batch.numel(), nu.numel()
        a, b, c, d = where.split([k, k, j, j])
        opt.zero_grad()
        loss = recon_loss(z[a], z[b], z[c], z[d])
        loss.backward()
        opt.step()
        if progress is not None:
            progress((i + 1) / steps)
    net.eval()
    return float(loss.detach())


def embedding_loss(
    z: torch.Tensor, pre: torch.Tensor, post: torch.Tensor, chunk: int = 2**20
) -> float:
    """:func:`recon_loss` of a whole embedding: every connection against as many random
    non-connections, summed over chunks (memory: one chunk's pairs)."""
    non = NonEdges(z.shape[0], pre, post)
    pos_sum, neg_sum, neg_n = 0.0, 0.0, 0
    eps = 1e-15
    with torch.no_grad():
        for s in range(0, pre.numel(), chunk):
            u, v = pre[s : s + chunk], post[s : s + chunk]
            pos_sum += float(-torch.log(torch.sigmoid((z[u] * z[v]).sum(1)) + eps).sum())
            nu, nv = non.draw(u.numel())
            neg_sum += float(-torch.log(1 - torch.sigmoid((z[nu] * z[nv]).sum(1)) + eps).sum())
            neg_n += nu.numel()
    return pos_sum / max(pre.numel(), 1) + neg_sum / max(neg_n, 1)


def infer(
    net: GNN, index: NeighbourIndex, x: torch.Tensor, edges: int = INFER_EDGES
) -> torch.Tensor:
    """``net``'s output for every neuron in eval mode (:func:`exact_layers`): what a
    full-batch forward pass gives, a chunk of neurons at a time.

    Shapes:
        x: (n, f) -> (n, width of the last layer).
    """
    return exact_layers(net, index, x, edges=edges)[-1]
