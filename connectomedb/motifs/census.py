"""The 16-class triad census of a directed graph, by counting instead of enumerating.

Every triad class is a sum over sparse matrix products of three 0/1 matrices: ``S``
(asymmetric edges, ``S[a, b] = 1`` when a -> b and not b -> a), ``M`` (mutual pairs,
symmetric) and ``U = S + S.T + M`` (any link). Closed triads (triangles) come from
masked products such as ``sum((S @ S) * S)`` (030T); open ones from the pairs of edge
kinds at their centre node, less the closed triads that have such a corner; 012 and
102 from the nodes linked to neither end of a dyad; 003 is what remains of C(n, 3).
Class names and order are those of networkx's ``triadic_census`` (Holland and
Leinhardt's MAN labels).

The size-4 census counts the 199 connected classes of induced 4-node subgraphs with
igraph's ESU enumeration (``motifs_randesu``, Wernicke 2006). Its classes are named
``4-<k>`` after igraph's isomorphism class number ``k`` and carry a representative edge
list, so a name never has to be looked up elsewhere.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from connectomedb.errors import BadInput, Timeout
from connectomedb.schema.motif import MotifSpec

TRIAD_CLASSES: Final = (
    "003",
    "012",
    "102",
    "021D",
    "021U",
    "021C",
    "111D",
    "111U",
    "030T",
    "030C",
    "201",
    "120D",
    "120U",
    "120C",
    "210",
    "300",
)

#: The 13 classes in which all three nodes are linked (the connected 3-node motifs).
CONNECTED_CLASSES: Final = TRIAD_CLASSES[3:]

#: Motif sizes the census counts.
CENSUS_SIZES: Final = (3, 4)


@dataclass(frozen=True)
class MotifClass:
    """One isomorphism class of ``size``-node directed subgraphs: its name, whether its
    nodes are all linked, and one representative's edges on nodes ``0..size-1``."""

    name: str
    connected: bool
    edges: tuple[tuple[int, int], ...]


@functools.cache
def census_classes(size: int) -> tuple[MotifClass, ...]:
    """The classes a census of ``size`` reports, in the order of its counts: all 16
    triad classes for size 3, the 199 connected classes for size 4."""
    import igraph

    if size not in CENSUS_SIZES:
        raise BadInput(f"motif size must be one of {', '.join(map(str, CENSUS_SIZES))}")
    reps = [igraph.Graph.Isoclass(size, k, directed=True) for k in range(_ISOCLASSES[size])]
    if size == 3:
        by_name = {}
        for g in reps:
            e = np.array(g.get_edgelist(), dtype=np.int64).reshape(-1, 2)
            counts = triad_census(3, e[:, 0], e[:, 1])
            by_name[next(k for k, v in counts.items() if v)] = tuple(g.get_edgelist())
        return tuple(MotifClass(k, k in CONNECTED_CLASSES, by_name[k]) for k in TRIAD_CLASSES)
    return tuple(
        MotifClass(f"4-{k}", True, tuple(g.get_edgelist()))
        for k, g in enumerate(reps)
        if g.is_connected(mode="weak")
    )


_ISOCLASSES: Final = {3: 16, 4: 218}


def motif_census(size: int, n: int, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Counts of the induced ``size``-node subgraphs of each class in
    :func:`census_classes` ``(size)``, in that order (duplicates collapse; self-loops
    are ignored).

    Shapes:
        pre, post: (m,) integer node indices; returns (len(census_classes(size)),).
    """
    classes = census_classes(size)
    if size == 3:
        c = triad_census(n, pre, post)
        return np.array([c[k.name] for k in classes], dtype=np.int64)
    import igraph

    src, dst = edge_arrays(n, pre, post)
    g = igraph.Graph(n=n, edges=np.column_stack([src, dst]), directed=True)
    counts = g.motifs_randesu(size=size)
    return np.array([int(counts[int(k.name[2:])]) for k in classes], dtype=np.int64)


def _masked_sum(x: sp.csr_array, y: sp.csr_array, mask: sp.csr_array) -> int:
    """sum((x @ y) * mask) for 0/1 matrices, computed only at the mask's entries (row a
    of x against column c of y for each (a, c) in mask): cheap when the mask is sparse."""
    a, c = mask.nonzero()
    if a.size == 0:
        return 0
    return int(x[a].multiply(y.T.tocsr()[c]).sum())


def edge_arrays(n: int, pre: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated, de-duplicated directed edges without self-loops, as int64 arrays."""
    pre = np.asarray(pre)
    post = np.asarray(post)
    if pre.shape != post.shape or pre.ndim != 1:
        raise BadInput("pre and post must be 1-D arrays of the same length")
    if pre.size and (
        not np.issubdtype(pre.dtype, np.integer) or not np.issubdtype(post.dtype, np.integer)
    ):
        raise BadInput("node indices must be integers")
    pre = pre.astype(np.int64, copy=False)
    post = post.astype(np.int64, copy=False)
    if pre.size and (min(pre.min(), post.min()) < 0 or max(pre.max(), post.max()) >= n):
        raise BadInput(f"node indices must lie in [0, {n})")
    keep = pre != post
    keys = np.sort(pre[keep] * n + post[keep])  # sorting beats np.unique's hashing here
    if keys.size:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return keys // n, keys % n


def triad_census(n: int, pre: np.ndarray, post: np.ndarray) -> dict[str, int]:
    """Counts of the 16 triad classes of the directed graph on nodes ``0..n-1`` with
    edges ``pre[i] -> post[i]`` (duplicates collapse; self-loops are ignored).

    Shapes:
        pre, post: (m,) integer node indices.
    """
    if n < 0:
        raise BadInput("n must be >= 0")
    a_pre, a_post = edge_arrays(n, pre, post)
    ones = np.ones(a_pre.size, dtype=np.int64)
    a = sp.csr_array((ones, (a_pre, a_post)), shape=(n, n))
    m_ = a.multiply(a.T).tocsr()  # mutual, symmetric
    s = (a - m_).tocsr()  # asymmetric
    s.eliminate_zeros()
    m_.eliminate_zeros()
    st = s.T.tocsr()

    out_asym = np.asarray(s.sum(axis=1)).ravel()
    in_asym = np.asarray(s.sum(axis=0)).ravel()
    mutual = np.asarray(m_.sum(axis=1)).ravel()
    degree = out_asym + in_asym + mutual  # distinct linked nodes

    c = dict.fromkeys(TRIAD_CLASSES, 0)
    # closed triads
    two_step = s @ s  # a -> b -> c, one-way both; closed one-way (030T) or back (030C)
    c["030T"] = int(two_step.multiply(s).sum())
    c["030C"] = int(two_step.multiply(st).sum()) // 3
    del two_step
    c["120C"] = _masked_sum(s, s, m_)
    c["120D"] = _masked_sum(st, s, m_) // 2
    c["120U"] = _masked_sum(s, st, m_) // 2
    c["210"] = _masked_sum(s, m_, m_)
    c["300"] = _masked_sum(m_, m_, m_) // 6
    # open triads: pairs of edge kinds at the centre, less the closed triads with that corner
    pairs = lambda k: int((k * (k - 1) // 2).sum())  # noqa: E731
    c["021D"] = pairs(out_asym) - c["030T"] - c["120D"]
    c["021U"] = pairs(in_asym) - c["030T"] - c["120U"]
    c["021C"] = int((out_asym * in_asym).sum()) - c["030T"] - 3 * c["030C"] - c["120C"]
    c["111U"] = int((mutual * out_asym).sum()) - 2 * c["120U"] - c["120C"] - c["210"]
    c["111D"] = int((mutual * in_asym).sum()) - 2 * c["120D"] - c["120C"] - c["210"]
    c["201"] = pairs(mutual) - c["210"] - 3 * c["300"]
    # one linked dyad: third nodes linked to neither end, n - d_u - d_v + t_uv, where the
    # common neighbours t_uv summed over dyads of a kind are the triangle corners of that
    # kind, read off the closed classes (e.g. a 120D holds two one-way and one mutual dyad)
    one_way_in_triangles = (
        3 * (c["030T"] + c["030C"]) + 2 * (c["120D"] + c["120U"] + c["120C"]) + c["210"]
    )
    mutual_in_triangles = c["120D"] + c["120U"] + c["120C"] + 2 * c["210"] + 3 * c["300"]
    su, sv = s.nonzero()
    c["012"] = int((n - degree[su] - degree[sv]).sum()) + one_way_in_triangles
    mu, mv = sp.triu(m_, k=1).nonzero()
    c["102"] = int((n - degree[mu] - degree[mv]).sum()) + mutual_in_triangles
    total = n * (n - 1) * (n - 2) // 6
    c["003"] = total - sum(v for k, v in c.items() if k != "003")
    return c


@dataclass(frozen=True)
class ClassStatistics:
    """One triad class against a null model. ``z`` is None when the null has no spread;
    p-values are empirical, (1 + #samples at least as extreme) / (1 + samples)."""

    name: str
    observed: int
    null_mean: float
    null_std: float
    z: float | None
    p_greater: float
    p_less: float


@dataclass(frozen=True)
class CensusResult:
    null_model: str
    null_description: str
    samples: int
    seed: int
    classes: tuple[ClassStatistics, ...]
    size: int = 3


def census_against_null(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    *,
    null_model: str,
    samples: int,
    seed: int,
    types: np.ndarray | None = None,
    deadline: float | None = None,
    size: int = 3,
    progress: Callable[[int], None] | None = None,
) -> CensusResult:
    """The ``size``-node census (:func:`motif_census`) of the graph and of ``samples``
    graphs drawn from ``null_model`` (see :mod:`connectomedb.motifs.nulls`), seeded by
    ``seed``; ``progress(i)`` is called after each sample.

    Raises:
        Timeout: when ``deadline`` (a ``time.monotonic()`` value) passes first.
    """
    from connectomedb.motifs import nulls

    if null_model not in nulls.NULL_MODELS:
        raise BadInput(f"null model must be one of {', '.join(nulls.NULL_MODELS)}")
    if samples < 1:
        raise BadInput("samples must be at least 1")
    if seed < 0:
        raise BadInput("seed must be 0 or more")
    if null_model == "cell_type_sbm" and types is None:
        raise BadInput("the cell_type_sbm null model needs a type for every node")
    classes = census_classes(size)
    src, dst = edge_arrays(n, pre, post)
    started = time.monotonic()
    obs = motif_census(size, n, src, dst)
    # a sample costs about what the observed census did: one that would end past the
    # deadline is not started, so the budget holds to within the estimate's error
    per_sample = time.monotonic() - started
    rng = np.random.default_rng(seed)
    table = np.zeros((samples, len(classes)), dtype=np.int64)
    for i in range(samples):
        if deadline is not None and time.monotonic() + per_sample > deadline:
            raise Timeout(
                f"the census ran out of time after {i} of {samples} null samples; "
                "ask for fewer samples or a smaller neuron selection"
            )
        t = time.monotonic()
        if null_model == "erdos_renyi":
            a, b = nulls.erdos_renyi(n, src.size, rng)
        elif null_model == "degree_preserving":
            a, b = nulls.degree_preserving(n, src, dst, rng)
        else:
            assert types is not None
            a, b = nulls.cell_type_sbm(types, src, dst, rng)
        table[i] = motif_census(size, n, a, b)
        per_sample = time.monotonic() - t
        if progress is not None:
            progress(i + 1)
    mean = table.mean(axis=0)
    std = table.std(axis=0, ddof=1) if samples > 1 else np.zeros(len(classes))
    greater = ((table >= obs).sum(axis=0) + 1) / (samples + 1)
    less = ((table <= obs).sum(axis=0) + 1) / (samples + 1)
    stats = tuple(
        ClassStatistics(
            name=k.name,
            observed=int(obs[j]),
            null_mean=float(mean[j]),
            null_std=float(std[j]),
            z=float((obs[j] - mean[j]) / std[j]) if std[j] > 0 else None,
            p_greater=float(greater[j]),
            p_less=float(less[j]),
        )
        for j, k in enumerate(classes)
    )
    return CensusResult(
        null_model=null_model,
        null_description=nulls.NULL_MODELS[null_model],
        samples=samples,
        seed=seed,
        classes=stats,
        size=size,
    )


def census_rows(r: CensusResult) -> list[dict[str, Any]]:
    """Each class's statistics with its shape (``connected``, a representative's
    ``edges`` as ``"a->b"``), in census order: the census as the API and the census job
    report it."""
    kinds = census_classes(r.size)
    return [
        {
            "name": c.name,
            "connected": k.connected,
            "edges": [f"{a}->{b}" for a, b in k.edges],
            "observed": c.observed,
            "null_mean": c.null_mean,
            "null_std": c.null_std,
            "z": c.z,
            "p_greater": c.p_greater,
            "p_less": c.p_less,
        }
        for c, k in zip(r.classes, kinds, strict=True)
    ]


def motif_connections(pre: np.ndarray, post: np.ndarray) -> int:
    """The connections a census sees: between distinct neurons (autapses are in no motif)."""
    return int((pre != post).sum())


def is_structural(spec: MotifSpec) -> bool:
    """True for a motif the triad census answers: three variables, connections required
    or forbidden between distinct variables with no condition on their properties, and
    no condition on the neurons."""
    return (
        len(spec.nodes) == 3
        and not any(e.constraints or e.pre == e.post for e in spec.edges)
        and not any(spec.node_constraints.values())
        and not any(spec.comparisons.values())
    )


def structural_count(spec: MotifSpec, census: dict[str, int]) -> int:
    """The number of matches of a structural 3-variable motif (:func:`is_structural`),
    read off the triad census: a match maps the variables onto three distinct neurons and
    is decided by the subgraph those three induce, so the count is, over the 16 triad
    classes, the class's count times the matches of the motif in one triad of that class.
    Matches are injective and not collapsed by symmetry (divide by the number of
    automorphisms for that)."""
    if not is_structural(spec):
        raise BadInput("only motifs of three neurons without property conditions")
    index = {v: i for i, v in enumerate(spec.nodes)}
    need = [(index[e.pre], index[e.post]) for e in spec.edges if e.exists]
    forbid = [(index[e.pre], index[e.post]) for e in spec.edges if not e.exists]
    total = 0
    for cls in census_classes(3):
        edges = set(cls.edges)
        maps = sum(
            all((p[a], p[b]) in edges for a, b in need)
            and not any((p[a], p[b]) in edges for a, b in forbid)
            for p in itertools.permutations(range(3))
        )
        total += maps * int(census[cls.name])
    return total
