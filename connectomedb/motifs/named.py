"""Named statistics: reciprocity within and between groups of neurons (cell types,
classes) against independent edges at each block's observed density."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from connectomedb.motifs.census import edge_arrays

RECIPROCITY_NULL: Final = (
    "independent connections at each group pair's observed densities (Erdős–Rényi per block)"
)


@dataclass(frozen=True)
class GroupReciprocity:
    """Reciprocal pairs between groups ``a`` and ``b`` (``a <= b``; a == b: within a)."""

    a: int
    b: int
    pairs: int  # unordered neuron pairs {i in a, j in b}, i != j
    connections_ab: int  # a -> b connections (within a group: all of them)
    connections_ba: int  # b -> a connections (within a group: 0)
    reciprocal_pairs: int
    expected: float
    enrichment: float | None


def reciprocity_by_group(
    n: int, pre: np.ndarray, post: np.ndarray, groups: np.ndarray
) -> list[GroupReciprocity]:
    """Observed reciprocal pairs per group pair and their expectation if connections were
    independent at the observed densities: within a group of size k with c connections,
    C(k, 2) * p**2 with p = c / (k (k - 1)); between groups of sizes k, l with c_ab and
    c_ba connections, k * l * (c_ab / (k l)) * (c_ba / (k l)).

    Shapes:
        pre, post: (m,) node indices; groups: (n,) group index of each node.
    """
    src, dst = edge_arrays(n, pre, post)
    groups = np.asarray(groups, dtype=np.int64)
    k = int(groups.max()) + 1 if groups.size else 0
    size = np.bincount(groups, minlength=k)
    count = np.zeros((k, k), dtype=np.int64)
    np.add.at(count, (groups[src], groups[dst]), 1)
    keys = src * n + dst
    back = np.isin(dst * n + src, keys) & (src < dst)
    recip = np.zeros((k, k), dtype=np.int64)
    ga, gb = groups[src[back]], groups[dst[back]]
    np.add.at(recip, (np.minimum(ga, gb), np.maximum(ga, gb)), 1)
    out = []
    for a in range(k):
        for b in range(a, k):
            if a == b:
                pairs = int(size[a] * (size[a] - 1) // 2)
                p = count[a, a] / (2 * pairs) if pairs else 0.0
                expected = pairs * p * p
                ab, ba = int(count[a, a]), 0
            else:
                pairs = int(size[a] * size[b])
                expected = (count[a, b] * count[b, a] / pairs) if pairs else 0.0
                ab, ba = int(count[a, b]), int(count[b, a])
            r = int(recip[a, b])
            out.append(
                GroupReciprocity(
                    a, b, pairs, ab, ba, r, float(expected), r / expected if expected else None
                )
            )
    return out
