"""Models on a pulled connectome: embeddings, anomaly scores and cell-type classifiers.

Pure functions of arrays (and torch for the GNNs), so they are tested without a
database; :mod:`connectomedb.analytics.jobs` wires them to jobs.

- :func:`spectral_embedding`: adjacency spectral embedding of the directed graph
  (out- and in-vectors of the truncated SVD, scaled by the singular values'
  square roots, as graspologic's ``AdjacencySpectralEmbed``), on log1p synapse counts.
- :func:`gae_embedding`: a learned embedding from a graph autoencoder (GraphSAGE encoder,
  inner-product decoder, negative sampling), PyTorch Geometric.
- :func:`anomaly_scores`: how unusual each neuron's connection profile is, either against
  the mean profile of its own cell type (``type_profile``) or by an isolation forest on
  spectral embeddings and degrees (``isolation_forest``).
- :func:`classify_cell_types`: GraphSAGE and GAT against majority class, logistic
  regression on node features alone and label spreading, on the same stratified splits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from connectomedb.errors import BadInput

MODELS: Final = ("graphsage", "gat")
BASELINES: Final = ("majority", "logistic_regression", "label_spreading")


def adjacency(n: int, pre: np.ndarray, post: np.ndarray, weight: np.ndarray) -> sp.csr_array:
    """log1p of the synapse counts as a sparse (n, n) matrix, row = presynaptic."""
    return sp.csr_array((np.log1p(weight.astype(np.float64)), (pre, post)), shape=(n, n))


def spectral_embedding(
    n: int, pre: np.ndarray, post: np.ndarray, weight: np.ndarray, dim: int, seed: int
) -> np.ndarray:
    """(n, 2 * dim) float32: [U sqrt(S), V sqrt(S)] of the rank-``dim`` SVD of the
    log1p-weighted adjacency, sign-fixed so the largest entry of each U column is
    positive (the embedding is unique up to that sign)."""
    k = min(dim, n - 1)
    if k < 1:
        raise BadInput("a spectral embedding needs at least two neurons")
    a = adjacency(n, pre, post, weight)
    rng = np.random.default_rng(seed)
    u, s, vt = svds(a, k=k, v0=rng.standard_normal(min(a.shape)))
    order = np.argsort(-s)
    u, s, v = u[:, order], s[order], vt[order].T
    flip = np.sign(u[np.abs(u).argmax(axis=0), np.arange(k)])
    flip[flip == 0] = 1
    u, v = u * flip, v * flip
    root = np.sqrt(s)
    out = np.hstack([u * root, v * root]).astype(np.float32)
    if k < dim:  # tiny graphs: pad to the asked width
        out = np.hstack([out, np.zeros((n, 2 * (dim - k)), dtype=np.float32)])
    return out


def layout_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, 2) principal-component layout of embedding vectors, for plots."""
    x = vectors - vectors.mean(axis=0)
    if x.shape[0] < 2 or not np.any(x):
        return np.zeros((x.shape[0], 2), dtype=np.float32)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    pcs = x @ vt[:2].T
    if pcs.shape[1] < 2:
        pcs = np.hstack([pcs, np.zeros((x.shape[0], 2 - pcs.shape[1]))])
    return pcs.astype(np.float32)


def gae_embedding(
    x: np.ndarray,
    pre: np.ndarray,
    post: np.ndarray,
    dim: int,
    epochs: int,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, float]:
    """(n, dim) embedding from a graph autoencoder trained to tell the graph's edges
    from random non-edges; also the final training loss."""
    import torch
    from torch_geometric.nn import GAE, SAGEConv
    from torch_geometric.utils import negative_sampling, to_undirected

    torch.manual_seed(seed)
    edges = torch.from_numpy(np.vstack([pre, post]))
    undirected = to_undirected(edges, num_nodes=x.shape[0])

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = SAGEConv(x.shape[1], 2 * dim)
            self.c2 = SAGEConv(2 * dim, dim)

        def forward(self, h: torch.Tensor, ei: torch.Tensor) -> torch.Tensor:
            return self.c2(self.c1(h, ei).relu(), ei)

    model = GAE(Encoder())
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    feats = torch.from_numpy(_standardise(x))
    loss = torch.tensor(0.0)
    for epoch in range(epochs):
        model.train()
        opt.zero_grad()
        z = model.encode(feats, undirected)
        neg = negative_sampling(edges, num_nodes=x.shape[0], num_neg_samples=edges.shape[1])
        loss = model.recon_loss(z, edges, neg)
        loss.backward()
        opt.step()
        if progress is not None:
            progress((epoch + 1) / epochs)
    model.eval()
    with torch.no_grad():
        z = model.encode(feats, undirected)
    return z.numpy().astype(np.float32), float(loss.detach())


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    return ((x - x.mean(axis=0)) / sd).astype(np.float32)


# -- anomalies ------------------------------------------------------------------------
def type_profile_scores(
    n: int, pre: np.ndarray, post: np.ndarray, weight: np.ndarray, types: np.ndarray
) -> np.ndarray:
    """For each neuron, how far its connection profile lies from its own type's.

    The profile holds log1p of the synapses a neuron sends to and receives from each type
    (2 x types values), so both a partner mix and a synapse total unusual for the type
    show (a merge of two neurons brings both). The distance is to the mean profile of the
    other neurons of its type; a neuron alone in its type, or of unknown type (-1), is
    measured against the mean of all neurons. Scores are distances over the median
    distance, so 1 is ordinary.
    """
    k = int(types.max()) + 1 if types.size else 0
    col = np.where(types >= 0, types, k)  # unknown types form one extra column
    out_p = np.zeros((n, k + 1))
    in_p = np.zeros((n, k + 1))
    np.add.at(out_p, (pre, col[post]), weight)
    np.add.at(in_p, (post, col[pre]), weight)
    prof = np.log1p(np.hstack([out_p, in_p]))
    dist = np.linalg.norm(prof - prof.mean(axis=0), axis=1)
    for t in range(k):
        members = np.flatnonzero(types == t)
        if members.size < 2:
            continue
        # leave-one-out mean: the neuron itself does not pull its type's mean
        loo = (prof[members].sum(axis=0) - prof[members]) / (members.size - 1)
        dist[members] = np.linalg.norm(prof[members] - loo, axis=1)
    scale = np.median(dist)
    return dist / scale if scale > 0 else dist


def isolation_forest_scores(features: np.ndarray, seed: int) -> np.ndarray:
    """Isolation-forest anomaly scores (higher: more unusual) of the rows of
    ``features``."""
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(n_estimators=300, random_state=seed).fit(features)
    return -forest.score_samples(features)


# -- cell types -------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    accuracy: list[float]
    macro_f1: list[float]
    confusion: np.ndarray  # summed over seeds, rows = true label

    def summary(self) -> dict[str, Any]:
        return {
            "accuracy_mean": float(np.mean(self.accuracy)),
            "accuracy_std": float(np.std(self.accuracy)),
            "macro_f1_mean": float(np.mean(self.macro_f1)),
            "macro_f1_std": float(np.std(self.macro_f1)),
            "accuracy": [float(a) for a in self.accuracy],
            "macro_f1": [float(f) for f in self.macro_f1],
            "confusion": self.confusion.astype(int).tolist(),
        }


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices over the labelled neurons (y >= 0), stratified by label;
    every label keeps at least one training neuron."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y[y >= 0]):
        members = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * members.size))
        k = min(k, members.size - 1)
        test += members[:k].tolist()
        train += members[k:].tolist()
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(test), dtype=np.int64)


def label_spreading(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    weight: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    classes: int,
    alpha: float = 0.9,
    iterations: int = 200,
) -> np.ndarray:
    """Zhou et al. 2004 label spreading on the symmetrised, normalised log1p-weighted
    graph: F <- alpha S F + (1 - alpha) Y. Returns (n, classes) scores."""
    a = adjacency(n, pre, post, weight)
    a = (a + a.T).tocsr()
    d = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros_like(d)
    inv[d > 0] = 1 / np.sqrt(d[d > 0])
    s = sp.diags_array(inv) @ a @ sp.diags_array(inv)
    y0 = np.zeros((n, classes))
    y0[train, y[train]] = 1.0
    f = y0.copy()
    for _ in range(iterations):
        f = alpha * (s @ f) + (1 - alpha) * y0
    return f


def _gnn(
    kind: str,
    x: np.ndarray,
    edges: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    classes: int,
    hidden: int,
    epochs: int,
    seed: int,
) -> np.ndarray:
    """Train a two-layer GraphSAGE or GAT on the training neurons (full batch, both
    edge directions) and return class probabilities for every neuron."""
    import torch
    from torch_geometric.nn import GATConv, SAGEConv
    from torch_geometric.utils import to_undirected

    torch.manual_seed(seed)
    ei = to_undirected(torch.from_numpy(edges), num_nodes=x.shape[0])
    feats = torch.from_numpy(_standardise(x))
    target = torch.from_numpy(y)
    idx = torch.from_numpy(train)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if kind == "graphsage":
                self.c1: Any = SAGEConv(x.shape[1], hidden)
                self.c2: Any = SAGEConv(hidden, classes)
            else:
                self.c1 = GATConv(x.shape[1], hidden // 4, heads=4)
                self.c2 = GATConv(hidden, classes, heads=1)
            self.drop = torch.nn.Dropout(0.3)

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            h = self.drop(torch.nn.functional.elu(self.c1(h, ei)))
            return self.c2(h, ei)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(epochs):
        net.train()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(feats)[idx], target[idx])
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        return torch.softmax(net(feats), dim=1).numpy()


@dataclass(frozen=True)
class LabelledGraph:
    """A connectome to classify: features, connections, labels (-1 unknown).

    Shapes:
        x: (n, f) float32; pre, post: (m,) int64; weight: (m,) synapses; y: (n,) int64.
    """

    x: np.ndarray
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    y: np.ndarray
    classes: int

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


def predict(
    method: str, g: LabelledGraph, train: np.ndarray, hidden: int, epochs: int, seed: int
) -> np.ndarray:
    """(n, classes) class scores from ``method`` trained on the neurons ``train``."""
    x, n, pre, post, weight, y, classes = g.x, g.n, g.pre, g.post, g.weight, g.y, g.classes
    if method == "majority":
        counts = np.bincount(y[train], minlength=classes)
        p = np.zeros((n, classes))
        p[:, int(counts.argmax())] = 1.0
        return p
    if method == "logistic_regression":
        from sklearn.linear_model import LogisticRegression

        xs = _standardise(x)
        clf = LogisticRegression(max_iter=2000, random_state=seed).fit(xs[train], y[train])
        p = np.zeros((n, classes))
        p[:, clf.classes_] = clf.predict_proba(xs)
        return p
    if method == "label_spreading":
        return label_spreading(n, pre, post, weight, y, train, classes)
    if method in MODELS:
        return _gnn(method, x, np.vstack([pre, post]), y, train, classes, hidden, epochs, seed)
    raise BadInput(f"unknown method {method!r}")


def classify_cell_types(
    g: LabelledGraph,
    methods: tuple[str, ...],
    seeds: list[int],
    test_fraction: float,
    hidden: int,
    epochs: int,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Scores]:
    """Each method's held-out accuracy, macro-F1 and confusion matrix over the same
    stratified split per seed."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    y, classes = g.y, g.classes
    if (np.bincount(y[y >= 0], minlength=classes) < 2).any():
        raise BadInput("every label needs at least two labelled neurons to be held out")
    acc: dict[str, list[float]] = {m: [] for m in methods}
    f1: dict[str, list[float]] = {m: [] for m in methods}
    conf = {m: np.zeros((classes, classes), dtype=np.int64) for m in methods}
    steps = len(seeds) * len(methods)
    done = 0
    for seed in seeds:
        train, test = stratified_split(y, test_fraction, seed)
        for m in methods:
            p = predict(m, g, train, hidden, epochs, seed)
            guess = p[test].argmax(axis=1)
            acc[m].append(float(accuracy_score(y[test], guess)))
            f1[m].append(
                float(f1_score(y[test], guess, average="macro", labels=np.arange(classes)))
            )
            conf[m] += confusion_matrix(y[test], guess, labels=np.arange(classes))
            done += 1
            if progress is not None:
                progress(done / steps)
    return {m: Scores(acc[m], f1[m], conf[m]) for m in methods}
