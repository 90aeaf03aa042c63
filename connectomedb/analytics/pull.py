"""Bulk subgraph pulls for analytics: a dataset, a filtered subset or a k-hop
neighbourhood into numpy arrays, and from there into ``torch_geometric.data.Data``.

A pull is two queries, run side by side, each answering one record of flat columns:
the selected neurons (internal id, id, properties, totals) and their outgoing
connections (source, target, synapses). Columns decode far faster than one record per
neuron or per connection, and matching by internal id reads no property per connection.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import neo4j
import numpy as np

from connectomedb.errors import BadInput, NotFound
from connectomedb.schema.graph import CONNECTS_TO, GAP_JUNCTION, NEURON
from connectomedb.store.neurons import LEVELS, NeuronFilter, filter_conditions

if TYPE_CHECKING:
    from torch_geometric.data import Data

#: neuron properties every pull carries (labels and categorical features)
PROPERTIES: Final = ("type", "class", "superclass", "neurotransmitter", "side", "region")
#: whole-dataset chemical totals stored on each neuron at load time (numeric features):
#: presynaptic partners, postsynaptic partners, input synapses, output synapses
TOTALS: Final = ("in_degree", "out_degree", "post_synapses", "pre_synapses")
MAX_PULL_HOPS: Final = 4
#: internal node ids stay below 2**32 (4 billion nodes), so a pair packs into an int64
PACK: Final = 2**32
#: edge queries run side by side (measured best on 2 cores: bench/RESULTS.md)
EDGE_PARTS: Final = 3


@dataclass(frozen=True)
class PulledGraph:
    """Neurons ``0..n-1`` (``ids[i]``), directed connections ``pre[k] -> post[k]`` with
    ``weight[k]`` synapses, and each neuron's categorical properties.

    Shapes:
        pre, post: (m,) int64; weight: (m,) float32; props[name]: n values (None: unknown).
    """

    dataset: str
    ids: list[str]
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    props: dict[str, list[Any]] = field(default_factory=dict)
    level: str | None = None
    keys: np.ndarray | None = None  # Neo4j internal node ids, valid during the pull

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def m(self) -> int:
        return int(self.pre.size)

    @property
    def groups(self) -> np.ndarray:
        """Group index per neuron at ``level`` (None counts as a group of its own)."""
        if self.level is None:
            raise BadInput("this pull was made without a level")
        values = self.props[self.level]
        names = sorted(set(values), key=lambda g: (g is None, str(g)))
        index = {g: i for i, g in enumerate(names)}
        return np.array([index[v] for v in values], dtype=np.int64)


#: what a pull may read as each connection's weight (missing PSD areas read as -1)
STRENGTHS: Final = ("synapse_count", "psd_area_total")


def pull_queries(
    f: NeuronFilter | None, min_weight: int = 1, strength: str = "synapse_count"
) -> tuple[str, str, dict[str, Any]]:
    """(nodes, edges, params): the selected neurons in id order, column by column, and
    the connections leaving them as two columns (source and target packed, synapses),
    each collected into one record; the edge query reads the part ``$part`` of
    ``$parts`` of the neurons (by internal id), so that parts can run side by side. Nodes are matched by internal id between the two (the
    cheapest key Neo4j has: no property read per connection); targets outside the
    selection are dropped by the caller."""
    if strength not in STRENGTHS:
        raise BadInput(f"strength must be one of {', '.join(STRENGTHS)}")
    conds, params = filter_conditions(f)
    where = " AND ".join(["n.dataset = $dataset", "n.id IS NOT NULL", *conds])
    # collect() skips nulls, which would shift the columns: missing text is '' (read
    # back as None), a missing total is 0
    cols = ", ".join(
        [f"collect(coalesce(n.`{p}`, '')) AS `{p}`" for p in PROPERTIES]
        + [f"collect(coalesce(n.`{t}`, 0)) AS `{t}`" for t in TOTALS]
    )
    # id() is deprecated in favour of elementId() in Neo4j 5, which would cost a string
    # per connection; within one pull the integer id is stable and unique.
    nodes = (
        f"MATCH (n:{NEURON}) WHERE {where}\n"
        "WITH n ORDER BY n.id\n"
        f"RETURN collect(id(n)) AS key, collect(n.id) AS id, {cols}"
    )
    # every stored connection has a synapse; the filter costs a property read per
    # connection, so it is left out when it would keep them all
    keep = " WHERE r.synapse_count >= $min_weight" if min_weight > 1 else ""
    edges = (
        f"MATCH (n:{NEURON}) WHERE {where} AND id(n) % $parts = $part\n"
        f"MATCH (n)-[r:{CONNECTS_TO}]->(m){keep}\n"
        # source and target packed into one integer: half the values to decode
        f"RETURN collect(id(n) * {PACK} + id(m)) AS pair, "
        f"collect(coalesce(r.`{strength}`, -1)) AS w"
    )
    return nodes, edges, params


NEIGHBOURHOOD: Final = """
MATCH (s:Neuron) WHERE s.dataset = $dataset AND s.id IN $seeds
MATCH (s)-[:CONNECTS_TO*0..{hops}]-(n:Neuron)
RETURN collect(DISTINCT n.id) AS ids"""


def pull_graph(
    driver: neo4j.Driver,
    database: str,
    dataset: str,
    f: NeuronFilter | None = None,
    min_weight: int = 1,
    seeds: list[str] | None = None,
    hops: int = 0,
    level: str | None = None,
    parts: int = EDGE_PARTS,
    strength: str = "synapse_count",
) -> PulledGraph:
    """The selected neurons (all of the dataset's, those ``f`` selects, or the ``hops``-hop
    neighbourhood of ``seeds`` in either direction) and the connections among them with at
    least ``min_weight`` synapses. The node and edge queries run side by side; if the
    dataset changed between them (a connection leaves a neuron the node query did not
    see), both run again in one transaction. ``strength`` names the connection
    property read as the weight (``psd_area_total``: -1 where a connection has none)."""
    if min_weight < 1:
        raise BadInput("min_weight must be at least 1")
    if level is not None and level not in LEVELS:
        raise BadInput(f"level must be one of {', '.join(LEVELS)}")
    if seeds is not None:
        if not 0 <= hops <= MAX_PULL_HOPS:
            raise BadInput(f"hops must be between 0 and {MAX_PULL_HOPS}")
        recs, _, _ = driver.execute_query(
            NEIGHBOURHOOD.replace("{hops}", str(int(hops))),
            dataset=dataset,
            seeds=list(seeds),
            database_=database,
            routing_=neo4j.RoutingControl.READ,
        )
        ids = recs[0]["ids"] if recs else []
        if f is not None and f.ids is not None:
            ids = sorted(set(ids) & set(f.ids))
        base = f or NeuronFilter()
        f = NeuronFilter(**{**base.__dict__, "ids": tuple(ids)})
    nodes_q, edges_q, params = pull_queries(f, min_weight, strength)
    args = {"dataset": dataset, "min_weight": min_weight, **params}

    def read(text: str, **more: Any) -> dict[str, Any]:
        recs, _, _ = driver.execute_query(
            text, {**args, **more}, database_=database, routing_=neo4j.RoutingControl.READ
        )
        return dict(recs[0])

    with ThreadPoolExecutor(parts + 1) as pool:
        nodes_f = pool.submit(read, nodes_q)
        edges_f = [pool.submit(read, edges_q, parts=parts, part=i) for i in range(parts)]
        nodes, edges = nodes_f.result(), [e.result() for e in edges_f]
    g = _assemble(dataset, nodes, edges, level)
    if g is None:  # changed in between: read everything in one transaction

        def all_of(tx: neo4j.ManagedTransaction) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            a = tx.run(nodes_q, args).single()
            b = tx.run(edges_q, {**args, "parts": 1, "part": 0}).single()
            assert a is not None and b is not None
            return dict(a), [dict(b)]

        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as s:
            nodes, edges = s.execute_read(all_of)
        g = _assemble(dataset, nodes, edges, level)
        assert g is not None
    if not g.ids and f is None:
        exists, _, _ = driver.execute_query(
            "MATCH (d:Dataset {id: $dataset}) RETURN d.id AS id",
            dataset=dataset,
            database_=database,
        )
        if not exists:
            raise NotFound(f"dataset {dataset!r} not found")
    return g


def _key_index(keys: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A lookup from internal node ids to positions in ``keys`` (-1 where absent)."""
    order = np.argsort(keys)
    sorted_keys = keys[order]

    def index_of(k: np.ndarray) -> np.ndarray:
        if sorted_keys.size == 0:
            return np.full(k.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(sorted_keys, k), sorted_keys.size - 1)
        return np.where(sorted_keys[pos] == k, order[pos], -1)

    return index_of


def _assemble(
    dataset: str, nodes: dict[str, Any], edges: list[dict[str, Any]], level: str | None
) -> PulledGraph | None:
    keys = np.asarray(nodes["key"], dtype=np.int64)
    index_of = _key_index(keys)
    pair = np.concatenate([np.asarray(e["pair"], dtype=np.int64) for e in edges])
    pre = index_of(pair // PACK)
    if (pre < 0).any():
        return None
    post = index_of(pair % PACK)
    weight = np.concatenate([np.asarray(e["w"], dtype=np.float32) for e in edges])
    inside = post >= 0  # targets outside the selection (or not neurons) are dropped
    props = {p: [v if v != "" else None for v in nodes[p]] for p in PROPERTIES}
    props.update({t: list(nodes[t]) for t in TOTALS})
    return PulledGraph(
        dataset,
        list(nodes["id"]),
        pre[inside],
        post[inside],
        weight[inside],
        props,
        level,
        keys,
    )


GAP_JUNCTIONS: Final = f"""
MATCH (n:{NEURON} {{dataset: $dataset}})-[r:{GAP_JUNCTION}]-(m:{NEURON})
WHERE id(n) < id(m)
RETURN collect(id(n) * {PACK} + id(m)) AS pair, collect(coalesce(r.count, 1)) AS count"""


def pull_gap_junctions(
    driver: neo4j.Driver, database: str, g: PulledGraph
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gap junctions among a pull's neurons, each unordered pair once, as (a, b,
    count) with a < b indices into ``g.ids``. Read right after the pull: the pairs are
    matched by the pull's internal ids; pairs with a neuron outside it are dropped."""
    if g.keys is None:
        raise BadInput("this pull carries no internal ids")
    recs, _, _ = driver.execute_query(
        GAP_JUNCTIONS,
        dataset=g.dataset,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    pair = np.asarray(recs[0]["pair"], dtype=np.int64)
    count = np.asarray(recs[0]["count"], dtype=np.float64)
    index_of = _key_index(g.keys)
    a, b = index_of(pair // PACK), index_of(pair % PACK)
    keep = (a >= 0) & (b >= 0)
    a, b, count = a[keep], b[keep], count[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo, hi, count


@dataclass(frozen=True)
class NodeFeatures:
    """Per-neuron features from the neuron's stored totals and neurotransmitter.

    Shapes:
        x: (n, 4 + len(nt_names)) float32: log1p of the whole-dataset in-degree,
        out-degree, input synapses and output synapses (``TOTALS``, missing: 0), then a
        one-hot of the neurotransmitter over ``nt_names`` (unknown: all zero).
    """

    x: np.ndarray
    names: list[str]


def feature_matrix(
    totals: dict[str, list[Any]], nts: list[str | None], nt_names: list[str]
) -> np.ndarray:
    """The rows of :class:`NodeFeatures` for neurons given column-wise."""
    n = len(nts)
    num = np.array([[v or 0 for v in totals[k]] for k in TOTALS], dtype=np.float64).reshape(
        len(TOTALS), n
    )
    onehot = np.zeros((n, len(nt_names)), dtype=np.float32)
    col = {v: i for i, v in enumerate(nt_names)}
    for i, v in enumerate(nts):
        if v in col:
            onehot[i, col[v]] = 1.0
    return np.column_stack([np.log1p(num.T), onehot]).astype(np.float32)


FEATURE_NAMES: Final = ["log_in_degree", "log_out_degree", "log_in_synapses", "log_out_synapses"]


def node_features(g: PulledGraph) -> NodeFeatures:
    nts = sorted({v for v in g.props["neurotransmitter"] if v})
    x = feature_matrix(g.props, g.props["neurotransmitter"], nts)
    return NodeFeatures(x, FEATURE_NAMES + [f"nt={v}" for v in nts])


def labels(g: PulledGraph, level: str) -> tuple[np.ndarray, list[str]]:
    """Label index per neuron at ``level`` (-1 where unknown) and the label names."""
    if level not in g.props:
        raise BadInput(f"label level must be one of {', '.join(PROPERTIES)}")
    values = g.props[level]
    names = sorted({v for v in values if v not in (None, "")})
    index = {v: i for i, v in enumerate(names)}
    return np.array([index.get(v, -1) for v in values], dtype=np.int64), names


def to_pyg(g: PulledGraph, label_level: str | None = None) -> Data:
    """The pull as ``Data``: ``x`` (:func:`node_features`), ``edge_index`` (2, m),
    ``edge_weight`` (synapse counts) and ``y`` (label index, -1 unknown) when a level is
    given. Node ``i`` is ``g.ids[i]``; label names come from :func:`labels`. (Lists of
    per-node names are kept out of ``Data``: its loaders would try to slice them.)"""
    import torch
    from torch_geometric.data import Data

    feats = node_features(g)
    data = Data(
        x=torch.from_numpy(feats.x),
        edge_index=torch.from_numpy(np.vstack([g.pre, g.post])),
        edge_weight=torch.from_numpy(g.weight),
        num_nodes=g.n,
    )
    if label_level is not None:
        data.y = torch.from_numpy(labels(g, label_level)[0])
    return data
