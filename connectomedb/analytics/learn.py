"""Models on a pulled connectome: embeddings, anomaly scores and cell-type classifiers.

Pure functions of arrays (and torch for the GNNs), so they are tested without a
database; :mod:`connectomedb.analytics.jobs` wires them to jobs.

- :func:`spectral_embedding`: adjacency spectral embedding of the directed graph
  (out- and in-vectors of the truncated SVD, scaled by the singular values'
  square roots, as graspologic's ``AdjacencySpectralEmbed``), on log1p synapse counts.
- :func:`gae_embedding`: a learned embedding from a graph autoencoder (GraphSAGE encoder,
  inner-product decoder, negative sampling), PyTorch Geometric, trained on mini-batches
  of connections (:mod:`connectomedb.analytics.minibatch`).
- :func:`anomaly_scores`: how unusual each neuron's connection profile is, either against
  the mean profile of its own cell type (``type_profile``) or by an isolation forest on
  spectral embeddings and degrees (``isolation_forest``).
- :func:`classify_cell_types`: GraphSAGE and GAT against majority class, logistic
  regression on node features alone and label spreading, on the same stratified splits.
  The GNNs train on mini-batches of neurons with sampled neighbourhoods and predict
  layer by layer with every neighbour (:mod:`connectomedb.analytics.minibatch`), so
  memory follows the batch, not the connectome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from connectomedb.errors import BadInput

if TYPE_CHECKING:
    from connectomedb.analytics.minibatch import NeighbourIndex, Training

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
    training: Training,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, float]:
    """(n, dim) embedding from a graph autoencoder trained to tell the graph's edges
    from random non-edges, on mini-batches of connections; also its loss over every
    connection and as many random non-connections (the full-batch loss of the
    embedding returned)."""
    import torch

    from connectomedb.analytics import minibatch as mb

    torch.manual_seed(seed)
    index = mb.NeighbourIndex(x.shape[0], pre, post)
    feats = torch.from_numpy(_standardise(x))
    src, dst = torch.from_numpy(pre.astype(np.int64)), torch.from_numpy(post.astype(np.int64))
    net = mb.encoder(x.shape[1], dim)
    mb.train_autoencoder(net, index, feats, src, dst, training, progress)
    z = mb.infer(net, index, feats)
    return z.numpy().astype(np.float32), mb.embedding_loss(z, src, dst)


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


def spreading_matrix(n: int, pre: np.ndarray, post: np.ndarray, weight: np.ndarray) -> sp.csr_array:
    """S = D^-1/2 (A + A^T) D^-1/2 of the log1p-weighted adjacency A (label spreading's
    propagation matrix)."""
    a = adjacency(n, pre, post, weight)
    a = (a + a.T).tocsr()
    d = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros_like(d)
    inv[d > 0] = 1 / np.sqrt(d[d > 0])
    return (sp.diags_array(inv) @ a @ sp.diags_array(inv)).tocsr()


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
    s: sp.csr_array | None = None,
) -> np.ndarray:
    """Zhou et al. 2004 label spreading on the symmetrised, normalised log1p-weighted
    graph: the fixed point of F <- alpha S F + (1 - alpha) Y, i.e. the solution of
    (I - alpha S) F = (1 - alpha) Y. Returns (n, classes) scores. ``s``: the graph's
    :func:`spreading_matrix`, when already at hand.

    I - alpha S is symmetric with eigenvalues in [1 - alpha, 1 + alpha], so conjugate
    gradients reach a relative residual of 1e-12 in a few dozen products with S (at most
    ``iterations``), where the fixed-point iteration needs hundreds for the same error
    (alpha^k): at whole-brain size the products are the cost.
    """
    if s is None:
        s = spreading_matrix(n, pre, post, weight)
    b = np.zeros((n, classes))
    b[train, y[train]] = 1.0 - alpha
    return _conjugate_gradients(lambda v: v - alpha * (s @ v), b, 1e-12, iterations)


def _conjugate_gradients(
    apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, rtol: float, iterations: int
) -> np.ndarray:
    """X with ``apply(X) = b`` for a symmetric positive definite operator, every column
    of ``b`` solved at once (each with its own step sizes), until each column's residual
    is below ``rtol`` times its right-hand side or ``iterations`` steps."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rs = (r * r).sum(axis=0)
    goal = (rtol**2) * (b * b).sum(axis=0)
    for _ in range(iterations):
        if (rs <= goal).all():
            break
        ap = apply(p)
        curv = (p * ap).sum(axis=0)
        step = np.divide(rs, curv, out=np.zeros_like(rs), where=curv > 0)
        x += step * p
        r -= step * ap
        rs_next = (r * r).sum(axis=0)
        p = r + np.divide(rs_next, rs, out=np.zeros_like(rs), where=rs > 0) * p
        rs = rs_next
    return x


def _gnn(
    kind: str,
    g: LabelledGraph,
    train: np.ndarray,
    hidden: int,
    training: Training,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Train a two-layer GraphSAGE or GAT on the training neurons (mini-batches with
    sampled neighbourhoods, both edge directions) and return class probabilities for
    every neuron (layer by layer, every neighbour)."""
    import torch

    from connectomedb.analytics import minibatch as mb

    torch.manual_seed(seed)
    feats = torch.from_numpy(_standardise(g.x))
    net = mb.classifier(kind, g.x.shape[1], hidden, g.classes)
    mb.train_classifier(
        net,
        g.index,
        feats,
        torch.from_numpy(g.y),
        torch.from_numpy(train),
        training,
        progress,
    )
    return torch.softmax(mb.infer(net, g.index, feats), dim=1).numpy()


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

    @cached_property
    def index(self) -> NeighbourIndex:
        """The neighbours of each neuron, for the GNNs' sampling (built once)."""
        from connectomedb.analytics.minibatch import NeighbourIndex

        return NeighbourIndex(self.n, self.pre, self.post)

    @cached_property
    def spreading(self) -> sp.csr_array:
        """:func:`spreading_matrix` (built once)."""
        return spreading_matrix(self.n, self.pre, self.post, self.weight)


def predict(
    method: str,
    g: LabelledGraph,
    train: np.ndarray,
    hidden: int,
    training: Training,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """(n, classes) class scores from ``method`` trained on the neurons ``train``
    (``training``: how the GNNs train; ``progress``: their fraction done)."""
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
        return label_spreading(n, pre, post, weight, y, train, classes, s=g.spreading)
    if method in MODELS:
        return _gnn(method, g, train, hidden, training, seed, progress)
    raise BadInput(f"unknown method {method!r}")


def classify_cell_types(
    g: LabelledGraph,
    methods: tuple[str, ...],
    seeds: list[int],
    test_fraction: float,
    hidden: int,
    training: Training,
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

            def within(f: float, done: int = done) -> None:
                if progress is not None:
                    progress((done + f) / steps)

            p = predict(m, g, train, hidden, training, seed, within)
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
