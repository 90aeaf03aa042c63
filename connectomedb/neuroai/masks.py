"""Fixed recurrent masks: which unit may connect to which, drawn at an exact density and,
for the reciprocity variant, an exact number of reciprocal pairs.

A mask is directed edges ``pre[k] -> post[k]`` between distinct units (no autapses; the
dense network alone has self-connections, as ``torch.nn.RNN`` does). Reciprocity
enrichment is measured as :func:`connectomedb.analytics.statistics.network_statistics`
measures it: reciprocal pairs over their expectation ``C(n, 2) p^2`` in an Erdős–Rényi
graph at the mask's density ``p = m / (n (n - 1))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectomedb.errors import BadInput

#: the largest relative difference between a requested and a realised enrichment
TOLERANCE = 0.05


@dataclass(frozen=True)
class Mask:
    """A fixed sparse connectivity: ``n`` units, edges ``pre -> post`` (sorted by post,
    then pre), and optionally a sign per unit (Dale's law: every outgoing weight of
    unit i has sign ``sign[i]``).

    Shapes:
        pre, post: (m,) int64; sign: (n,) float32 of +1/-1, or None.
    """

    n: int
    pre: np.ndarray
    post: np.ndarray
    sign: np.ndarray | None = None
    description: str = ""

    @property
    def m(self) -> int:
        return int(self.pre.size)

    @property
    def density(self) -> float:
        return self.m / (self.n * (self.n - 1)) if self.n > 1 else 0.0


def edge_count(n: int, density: float) -> int:
    """The number of directed edges between distinct units at ``density`` (rounded)."""
    if n < 2:
        raise BadInput("a mask needs at least 2 units")
    if not 0 < density <= 1:
        raise BadInput(f"density must be in (0, 1], got {density}")
    m = round(density * n * (n - 1))
    if m < 1:
        raise BadInput(f"density {density} leaves no connection among {n} units")
    return m


def _sorted(n: int, pre: np.ndarray, post: np.ndarray, **kw: object) -> Mask:
    order = np.lexsort((pre, post))
    return Mask(n, pre[order].astype(np.int64), post[order].astype(np.int64), **kw)  # type: ignore[arg-type]


def _pairs(n: int, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unordered pair number ``k`` (row-major over i < j) as ``(i, j)``."""
    k = k.astype(np.int64)
    b = 2 * n - 1
    i = np.floor((b - np.sqrt(np.maximum(b * b - 8.0 * k, 0.0))) / 2).astype(np.int64)
    start = i * n - i * (i + 1) // 2
    # float rounding can land one row off either way
    over = start > k
    i[over] -= 1
    start = i * n - i * (i + 1) // 2
    under = k - start >= n - 1 - i
    i[under] += 1
    start = i * n - i * (i + 1) // 2
    return i, k - start + i + 1


def random_mask(n: int, density: float, rng: np.random.Generator) -> Mask:
    """``round(density n (n-1))`` distinct directed edges drawn uniformly (reciprocity
    enrichment about 1, by chance)."""
    m = edge_count(n, density)
    k = rng.choice(n * (n - 1), size=m, replace=False)
    pre = k // (n - 1)
    post = k % (n - 1)
    post = post + (post >= pre)  # skip the diagonal
    return _sorted(n, pre, post, description=f"random, density {m / (n * (n - 1)):.4g}")


def reciprocal_pairs_for(n: int, m: int, enrichment: float) -> int:
    """The reciprocal pairs that give ``enrichment`` over ``C(n, 2) p^2`` at ``m`` edges."""
    p = m / (n * (n - 1))
    return round(enrichment * (n * (n - 1) / 2) * p * p)


def reciprocal_mask(n: int, density: float, enrichment: float, rng: np.random.Generator) -> Mask:
    """``m`` edges of which exactly ``r`` pairs are reciprocal, ``r`` chosen so that the
    reciprocity enrichment is ``enrichment`` (up to rounding ``r`` to an integer): ``r``
    unordered pairs get both directions, ``m - 2r`` others one direction at random.

    Raises:
        BadInput: an enrichment below 0, one the density cannot hold (``2r > m``), or one
            that rounding ``r`` would miss by more than :data:`TOLERANCE`.
    """
    m = edge_count(n, density)
    if enrichment < 0:
        raise BadInput(f"reciprocity enrichment must be at least 0, got {enrichment}")
    r = reciprocal_pairs_for(n, m, enrichment)
    if 2 * r > m:
        most = m / 2 / ((n * (n - 1) / 2) * (m / (n * (n - 1))) ** 2)
        raise BadInput(
            f"enrichment {enrichment:g} needs {r} reciprocal pairs, more than {m} connections "
            f"hold; at density {density:g} among {n} units it can be at most {most:.3g}"
        )
    realised = r / ((n * (n - 1) / 2) * (m / (n * (n - 1))) ** 2)
    if enrichment > 0 and abs(realised / enrichment - 1) > TOLERANCE:
        raise BadInput(
            f"{n} units at density {density:g} hold {r} reciprocal pairs for enrichment "
            f"{enrichment:g}, which realises {realised:.3g}: more than {TOLERANCE:.0%} off; "
            "use more units or a higher density"
        )
    single = m - 2 * r
    total = n * (n - 1) // 2
    if r + single > total:
        raise BadInput(f"{m} connections with {r} reciprocal pairs do not fit among {n} units")
    k = rng.choice(total, size=r + single, replace=False)
    i, j = _pairs(n, k)
    flip = rng.random(single) < 0.5
    a, b = i[r:], j[r:]
    pre = np.concatenate([i[:r], j[:r], np.where(flip, b, a)])
    post = np.concatenate([j[:r], i[:r], np.where(flip, a, b)])
    return _sorted(
        n,
        pre,
        post,
        description=f"reciprocity enrichment {enrichment:g} ({r} reciprocal pairs), "
        f"density {m / (n * (n - 1)):.4g}",
    )


def connectome_mask(
    n: int, pre: np.ndarray, post: np.ndarray, sign: np.ndarray | None = None, name: str = ""
) -> Mask:
    """The connections of a stored connectome as the mask (duplicates and autapses left
    out), with its neurons' signs when Dale's law is imposed."""
    keep = pre != post
    pairs = np.unique(np.stack([pre[keep], post[keep]]), axis=1)
    if pairs.shape[1] == 0:
        raise BadInput("the connectome has no connection between distinct neurons")
    s = None if sign is None else np.where(np.asarray(sign) < 0, -1.0, 1.0).astype(np.float32)
    return _sorted(n, pairs[0], pairs[1], sign=s, description=f"connectome {name}".strip())


def enrichment_of(n: int, pre: np.ndarray, post: np.ndarray) -> float:
    """Reciprocity enrichment of a graph (as ``network_statistics`` measures it)."""
    from connectomedb.analytics.statistics import network_statistics

    e = network_statistics(n, pre, post).reciprocity_enrichment
    if e is None:
        raise BadInput("the graph has no connection: its reciprocity enrichment is undefined")
    return e
