"""The model functions on small graphs with answers computed independently (dense
numpy SVD, the closed form of label spreading, hand-counted profiles)."""

from __future__ import annotations

import numpy as np
import pytest

from connectomedb.analytics import learn
from connectomedb.analytics.features import labels, node_features
from connectomedb.analytics.minibatch import Training
from connectomedb.analytics.planted import merge_neurons
from connectomedb.errors import BadInput
from connectomedb.store.graph import Graph


def _random_graph(n: int, p: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random((n, n)) < p
    np.fill_diagonal(a, False)
    pre, post = np.nonzero(a)
    return pre, post, rng.integers(1, 30, pre.size).astype(np.float32)


def test_spectral_embedding_equals_a_dense_svd() -> None:
    n, dim = 40, 3
    pre, post, w = _random_graph(n, 0.2, 1)
    got = learn.spectral_embedding(n, pre, post, w, dim, seed=0)
    a = np.zeros((n, n))
    a[pre, post] = np.log1p(w)
    u, s, vt = np.linalg.svd(a)
    for j in range(dim):  # column by column, up to the sign of each singular pair
        want_u, want_v = u[:, j] * np.sqrt(s[j]), vt[j] * np.sqrt(s[j])
        sign = np.sign(got[:, j] @ want_u)
        np.testing.assert_allclose(got[:, j], sign * want_u, atol=1e-4)
        np.testing.assert_allclose(got[:, dim + j], sign * want_v, atol=1e-4)
    # the product of out- and in-vectors is the best rank-3 approximation
    approx = (u[:, :dim] * s[:dim]) @ vt[:dim]
    np.testing.assert_allclose(got[:, :dim] @ got[:, dim:].T, approx, atol=1e-4)


def test_label_spreading_converges_to_its_closed_form() -> None:
    n = 30
    pre, post, w = _random_graph(n, 0.15, 2)
    y = np.arange(n) % 3
    train = np.arange(0, n, 2)
    got = learn.label_spreading(n, pre, post, w, y, train, 3, alpha=0.8, iterations=400)
    a = np.zeros((n, n))
    np.add.at(a, (pre, post), np.log1p(w))
    a = a + a.T
    d = a.sum(axis=1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    s = inv[:, None] * a * inv[None, :]
    y0 = np.zeros((n, 3))
    y0[train, y[train]] = 1
    want = 0.2 * np.linalg.solve(np.eye(n) - 0.8 * s, y0)
    np.testing.assert_allclose(got, want, atol=1e-9)
    # the defaults (alpha 0.9), with two neurons left without any connection
    keep = (pre > 1) & (post > 1)
    got = learn.label_spreading(n, pre[keep], post[keep], w[keep], y, train, 3)
    a[:2], a[:, :2] = 0, 0
    d = a.sum(axis=1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    s = inv[:, None] * a * inv[None, :]
    want = 0.1 * np.linalg.solve(np.eye(n) - 0.9 * s, y0)
    np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(got[0], [0.1, 0, 0], atol=1e-12)  # alone: its own label


def test_type_profile_scores_by_hand() -> None:
    """Types 0 and 1, three neurons each. Type-0 neurons 0 and 1 send 4 synapses to type
    1; neuron 2 (type 0) sends 2 to type 1 and 2 to type 0. Every type-1 neuron sends 3
    synapses back to one type-0 neuron. Neuron 6 has a type of its own."""
    pre = np.array([0, 1, 2, 2, 3, 4, 5, 6])
    post = np.array([3, 4, 5, 0, 0, 1, 2, 0])
    w = np.array([4, 4, 2, 2, 3, 3, 3, 1], dtype=np.float32)
    types = np.array([0, 0, 0, 1, 1, 1, 2])
    got = learn.type_profile_scores(7, pre, post, w, types)
    # synapses [out to 0, 1, 2, unknown, in from 0, 1, 2, unknown], counted by hand
    counts = np.array(
        [
            [0, 4, 0, 0, 2, 3, 1, 0],  # 0 receives from 2 (type 0), 3 (type 1), 6 (type 2)
            [0, 4, 0, 0, 0, 3, 0, 0],
            [2, 2, 0, 0, 0, 3, 0, 0],
            [3, 0, 0, 0, 4, 0, 0, 0],
            [3, 0, 0, 0, 4, 0, 0, 0],
            [3, 0, 0, 0, 2, 0, 0, 0],
            [1, 0, 0, 0, 0, 0, 0, 0],
        ]
    )
    prof = np.log1p(counts)
    dist = np.zeros(7)
    for members in ([0, 1, 2], [3, 4, 5]):
        for i in members:
            others = [j for j in members if j != i]
            dist[i] = np.linalg.norm(prof[i] - prof[others].mean(axis=0))
    dist[6] = np.linalg.norm(prof[6] - prof.mean(axis=0))
    np.testing.assert_allclose(got, dist / np.median(dist), atol=1e-12)
    assert got[5] == got[3:6].max()  # the type-1 neuron that gets fewer synapses


def test_stratified_split_keeps_proportions_and_a_training_neuron_per_label() -> None:
    y = np.array([0] * 50 + [1] * 20 + [2] * 2 + [-1] * 5)
    train, test = learn.stratified_split(y, 0.3, seed=4)
    assert not set(train) & set(test) and set(train) | set(test) == set(np.flatnonzero(y >= 0))
    assert np.bincount(y[test], minlength=3).tolist() == [15, 6, 1]
    again = learn.stratified_split(y, 0.3, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip((train, test), again, strict=True))


def test_majority_and_logistic_baselines_on_separable_features() -> None:
    """Two labels told apart by one feature: logistic regression is exact, majority is
    the larger label's share of the test neurons."""
    rng = np.random.default_rng(0)
    y = np.array([0] * 30 + [1] * 20)
    x = np.column_stack([y * 5.0 + rng.normal(0, 0.1, 50), rng.normal(0, 1, 50)]).astype(np.float32)
    pre, post, w = _random_graph(50, 0.1, 3)
    g = learn.LabelledGraph(x, pre, post, w, y, 2)
    scores = learn.classify_cell_types(
        g, ("majority", "logistic_regression"), [0, 1], 0.4, 8, Training(steps=1)
    )
    assert scores["logistic_regression"].accuracy == [1.0, 1.0]
    assert scores["majority"].accuracy == [12 / 20, 12 / 20]
    assert scores["majority"].confusion.tolist() == [[24, 0], [16, 0]]


def test_node_features_and_labels_of_a_hand_made_pull() -> None:
    g = Graph(
        "d",
        ["a", "b", "c"],
        np.array([0, 0, 1]),
        np.array([1, 2, 2]),
        np.array([3, 1, 4], dtype=np.float32),
        {
            "neurotransmitter": ["gaba", None, "acetylcholine"],
            "class": ["x", "y", None],
            "in_degree": [0, 1, None],
            "out_degree": [2, 1, 0],
            "post_synapses": [0, 3, 5],
            "pre_synapses": [4, 4, 0],
        },
    )
    f = node_features(g)
    assert f.names[4:] == ["nt=acetylcholine", "nt=gaba"]
    # in-degree, out-degree, input synapses, output synapses (missing: 0); the one-hot
    totals = [[0, 2, 0, 4], [1, 1, 3, 4], [0, 0, 5, 0]]
    want = np.column_stack([np.log1p(totals), [[0, 1], [0, 0], [1, 0]]])
    np.testing.assert_allclose(f.x, want, rtol=1e-6)
    y, names = labels(g, "class")
    assert names == ["x", "y"] and y.tolist() == [0, 1, -1]


@pytest.mark.parametrize("method", ["graphsage", "gat"])
def test_gnns_learn_labels_carried_by_the_wiring(method: str) -> None:
    """A planted two-block graph with uninformative features: the GNNs must read the
    labels off the wiring, which logistic regression on the features cannot."""
    rng = np.random.default_rng(5)
    n = 120
    y = np.repeat([0, 1], n // 2)
    p = np.where(y[:, None] == y[None, :], 0.15, 0.01)
    a = rng.random((n, n)) < p
    np.fill_diagonal(a, False)
    pre, post = np.nonzero(a)
    w = np.ones(pre.size, dtype=np.float32)
    x = rng.normal(0, 1, (n, 4)).astype(np.float32)
    g = learn.LabelledGraph(x, pre, post, w, y, 2)
    t = Training(steps=100, weight_decay=5e-4)
    s = learn.classify_cell_types(g, (method, "logistic_regression"), [0, 1], 0.3, 16, t)
    assert min(s[method].accuracy) >= 0.9
    assert max(s["logistic_regression"].accuracy) < 0.75


def test_merge_neurons_by_hand() -> None:
    """0 -> 2 (3), 1 -> 2 (4), 1 -> 3 (1), 3 -> 0 (2), 0 -> 1 (5); groups 0, 1, 0, 1.
    Merging 1 into 0 (or 0 into 1): 0 -> 2 gets 7 synapses, 0 -> 3 one, 3 -> 0 two; the
    0 -> 1 connection disappears inside the merged cell."""
    pre, post = np.array([0, 1, 1, 3, 0]), np.array([2, 2, 3, 0, 1])
    w = np.array([3, 4, 1, 2, 5], dtype=np.float32)
    m = merge_neurons(4, pre, post, w, np.array([0, 1, 0, 1]), k=1, seed=0, min_degree=3)
    ((a, b),) = m.pairs
    assert {a, b} == {0, 1}
    keep = m.keep.tolist()
    assert keep == sorted({0, 1, 2, 3} - {b})
    got = {(keep[x], keep[y]): int(v) for x, y, v in zip(m.pre, m.post, m.weight, strict=True)}
    assert got == {(a, 2): 7, (a, 3): 1, (3, a): 2}
    assert m.merged.tolist() == [keep.index(a)]
    with pytest.raises(BadInput):
        merge_neurons(4, pre, post, w, np.zeros(4, dtype=int), k=1, seed=0, min_degree=1)
