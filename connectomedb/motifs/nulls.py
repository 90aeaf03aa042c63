"""Null models for directed graphs (no self-loops, no multi-edges), each seeded.

- ``erdos_renyi``: the same number of nodes and edges, edges uniform at random.
- ``degree_preserving``: edge swaps (a -> b, c -> d become a -> d, c -> b) that keep
  every node's in- and out-degree and its mutual pairs (Maslov and Sneppen 2002; the
  null of Milo et al. 2002). Swaps are proposed in vectorised rounds and only a
  conflict-free subset of each round is applied, so every applied swap is valid alone.
- ``cell_type_sbm``: a stochastic block model that keeps the observed connection
  probability between every pair of cell types.

Every function takes and returns ``(pre, post)`` int64 arrays of node indices.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np

from connectomedb.errors import BadInput

NullModelName = Literal["erdos_renyi", "degree_preserving", "cell_type_sbm"]

#: Each null model's name and what it keeps (quoted with every enrichment).
NULL_MODELS: Final[dict[str, str]] = {
    "erdos_renyi": "Erdős–Rényi G(n, m): same nodes and number of connections",
    "degree_preserving": "edge swaps keeping every in- and out-degree and every node's "
    "mutual pairs (10 successful swaps per connection)",
    "cell_type_sbm": "stochastic block model with the observed type-to-type connection "
    "probabilities",
}


def _distinct_pairs(
    n_from: int, n_to: int, k: int, rng: np.random.Generator, same: bool
) -> np.ndarray:
    """k distinct (i, j) keys i * n_to + j drawn uniformly, i != j when ``same``."""
    total = n_from * n_to - (min(n_from, n_to) if same else 0)
    if k > total:
        raise BadInput("more edges than possible pairs")
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if k > total // 3:  # dense: choose among all pairs directly
        keys = np.arange(n_from * n_to, dtype=np.int64)
        if same:
            keys = keys[keys // n_to != keys % n_to]
        return np.sort(rng.choice(keys, size=k, replace=False))
    out = np.zeros(0, dtype=np.int64)
    while out.size < k:
        need = k - out.size
        i = rng.integers(0, n_from, size=int(need * 1.2) + 8)
        j = rng.integers(0, n_to, size=i.size)
        if same:
            keep = i != j
            i, j = i[keep], j[keep]
        out = np.union1d(out, i * n_to + j)
    return np.sort(rng.choice(out, size=k, replace=False))


def erdos_renyi(n: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    keys = _distinct_pairs(n, n, m, rng, same=True)
    return keys // n, keys % n


def _links(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted undirected keys min * n + max of the pairs (a[i], b[i]) (repeats kept:
    they are only searched)."""
    return np.sort(np.minimum(a, b) * n + np.maximum(a, b))


def _saturated(
    n: int, src: np.ndarray, dst: np.ndarray, fixed_src: np.ndarray, fixed_dst: np.ndarray
) -> bool:
    """Every two nodes of the edges being rewired are already linked: no swap can make a
    new link (a dense weight matrix is a complete graph), so :func:`_rewire` would spend
    all its rounds finding that out."""
    nodes = np.unique(np.concatenate([src, dst]))
    links = np.unique(_links(n, np.concatenate([src, fixed_src]), np.concatenate([dst, fixed_dst])))
    inside = np.isin(links // n, nodes) & np.isin(links % n, nodes)
    return int(inside.sum()) == nodes.size * (nodes.size - 1) // 2


def _rewire(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    fixed_src: np.ndarray,
    fixed_dst: np.ndarray,
    target: int,
    rng: np.random.Generator,
    max_rounds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Swap targets of pairs of edges (a -> b, c -> d become a -> d, c -> b) until
    ``target`` swaps are done. A new edge may not link two nodes that are already linked
    in either direction (by the edges being rewired or by the fixed ones), so the dyad
    kinds (asymmetric, mutual) of the whole graph never change."""
    src, dst = src.copy(), dst.copy()
    m = src.size
    if _saturated(n, src, dst, fixed_src, fixed_dst):
        return src, dst
    done = 0
    for _ in range(max_rounds):
        if done >= target or m < 2:
            break
        links = _links(n, np.concatenate([src, fixed_src]), np.concatenate([dst, fixed_dst]))
        # a random perfect pairing of the edges: each edge takes part in one swap a round
        perm = rng.permutation(m)
        e1, e2 = perm[: m // 2], perm[m // 2 : 2 * (m // 2)]
        a, b, c, d = src[e1], dst[e1], src[e2], dst[e2]
        ok = (e1 != e2) & (a != d) & (c != b) & (a != c) & (b != d)
        new1 = np.minimum(a, d) * n + np.maximum(a, d)
        new2 = np.minimum(c, b) * n + np.maximum(c, b)
        for new in (new1, new2):
            pos = np.searchsorted(links, new)
            pos[pos == links.size] = 0
            ok &= links[pos] != new
        idx = np.flatnonzero(ok & (new1 != new2))
        # every new link at most once in a round
        made = np.concatenate([new1[idx], new2[idx]])
        ordered = np.sort(made)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if repeated.size:
            bad = np.isin(made, repeated)
            half = idx.size
            idx = idx[~(bad[:half] | bad[half:])]
        idx = idx[: target - done]
        if idx.size == 0:
            continue
        dst[e1[idx]], dst[e2[idx]] = d[idx], b[idx]
        done += idx.size
    return src, dst


def degree_preserving(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    rng: np.random.Generator,
    swaps_per_edge: float = 10.0,
    max_rounds: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """A random graph with the in- and out-degree of every node of (pre, post) and the
    same mutual pairs per node: asymmetric edges are swapped among themselves and mutual
    pairs among themselves (as Milo et al. 2002 did), so reciprocity is kept and triad
    counts are not inflated by turning mutual pairs into one-way ones."""
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    keys = pre * n + post
    back = np.isin(post * n + pre, keys)
    a_src, a_dst = pre[~back], post[~back]
    mutual = back & (pre < post)
    m_src, m_dst = pre[mutual], post[mutual]
    flip = rng.random(m_src.size) < 0.5  # both orientations of a mutual pair are swappable
    m_src, m_dst = np.where(flip, m_dst, m_src), np.where(flip, m_src, m_dst)
    both = lambda x, y: (np.concatenate([x, y]), np.concatenate([y, x]))  # noqa: E731
    a_src, a_dst = _rewire(
        n, a_src, a_dst, *both(m_src, m_dst), int(swaps_per_edge * a_src.size), rng, max_rounds
    )
    m_src, m_dst = _rewire(
        n, m_src, m_dst, a_src, a_dst, int(swaps_per_edge * m_src.size), rng, max_rounds
    )
    ms, md = both(m_src, m_dst)
    return np.concatenate([a_src, ms]), np.concatenate([a_dst, md])


def cell_type_sbm(
    types: np.ndarray, pre: np.ndarray, post: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A graph in which each ordered pair of nodes of types (s, t) is linked with the
    observed probability of an s -> t connection; no self-loops.

    Shapes:
        types: (n,) integer type of each node.
    """
    types = np.asarray(types, dtype=np.int64)
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    groups = [np.flatnonzero(types == t) for t in np.unique(types)]
    index = np.full(types.size, -1, dtype=np.int64)
    for g, members in enumerate(groups):
        index[members] = g
    k = len(groups)
    observed = np.zeros((k, k), dtype=np.int64)
    np.add.at(observed, (index[pre], index[post]), 1)
    out_pre, out_post = [], []
    for s, a in enumerate(groups):
        for t, b in enumerate(groups):
            same = s == t
            possible = a.size * b.size - (a.size if same else 0)
            if possible == 0 or observed[s, t] == 0:
                continue
            p = observed[s, t] / possible
            count = int(rng.binomial(possible, p))
            keys = _distinct_pairs(a.size, b.size, count, rng, same=same)
            out_pre.append(a[keys // b.size])
            out_post.append(b[keys % b.size])
    if not out_pre:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_pre), np.concatenate(out_post)
