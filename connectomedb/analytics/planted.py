"""Planted merge errors, for measuring anomaly scores: neuron ``a`` takes over all of
neuron ``b``'s connections and ``b`` disappears, as when a segmentation merges two cells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectomedb.errors import BadInput


@dataclass(frozen=True)
class Merged:
    """The graph after the merges, on the kept neurons ``keep`` (old indices, in order)."""

    keep: np.ndarray
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    merged: np.ndarray  # new indices of the neurons that absorbed another
    pairs: list[tuple[int, int]]  # (absorbing, absorbed), old indices


def merge_neurons(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    weight: np.ndarray,
    groups: np.ndarray,
    k: int,
    seed: int,
    min_degree: int = 5,
) -> Merged:
    """Merge ``k`` disjoint pairs of neurons from different ``groups``, both with at least
    ``min_degree`` connections, chosen at random with ``seed``. Connections that become
    one (a -> c and b -> c) add their synapses; those between a and b vanish."""
    degree = np.bincount(pre, minlength=n) + np.bincount(post, minlength=n)
    order = np.random.default_rng(seed).permutation(np.flatnonzero(degree >= min_degree))
    used: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for a in order.tolist():
        if len(pairs) == k:
            break
        if a in used:
            continue
        b = next(
            (x for x in order.tolist() if x not in used and x != a and groups[x] != groups[a]),
            None,
        )
        if b is None:
            break
        pairs.append((a, b))
        used |= {a, b}
    if len(pairs) < k:
        raise BadInput(f"only {len(pairs)} pairs of neurons from different groups can merge")
    into = np.arange(n)
    for a, b in pairs:
        into[b] = a
    p, q = into[pre], into[post]
    inside = p != q
    keys = p[inside] * n + q[inside]
    uniq, inverse = np.unique(keys, return_inverse=True)
    w = np.bincount(inverse, weights=weight[inside]).astype(np.float32)
    absorbed = np.array(sorted(b for _, b in pairs), dtype=np.int64)
    keep = np.setdiff1d(np.arange(n), absorbed)
    new = np.full(n, -1)
    new[keep] = np.arange(keep.size)
    return Merged(
        keep=keep,
        pre=new[uniq // n],
        post=new[uniq % n],
        weight=w,
        merged=np.array(sorted(new[a] for a, _ in pairs), dtype=np.int64),
        pairs=pairs,
    )
