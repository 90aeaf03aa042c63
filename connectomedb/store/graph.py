"""The one graph reader: a dataset, a filtered subset or a k-hop neighbourhood of it into
numpy arrays, for the API's statistics and census and for every job.

A read is a node query and a few edge queries, run side by side, each answering one
record of flat columns: the selected neurons (internal id, id, group properties,
totals) and their outgoing connections (source and target packed into one integer,
weight). Columns decode far faster than one record per neuron or per connection, and
matching by internal id reads no property per connection. :func:`read_graph` runs them
on the sync driver (jobs), :class:`GraphReader` on the async :class:`Store` (the API).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Final

import neo4j
import numpy as np

from connectomedb.errors import BadInput, NotFound
from connectomedb.schema.graph import CONNECTS_TO, GAP_JUNCTION, LEVELS, NEURON
from connectomedb.store.datasets import DatasetRepository
from connectomedb.store.driver import chained_session, read_quietly
from connectomedb.store.graphdb import Store
from connectomedb.store.neurons import NeuronFilter, filter_conditions

#: whole-dataset chemical totals stored on each neuron at load time (numeric features):
#: presynaptic partners, postsynaptic partners, input synapses, output synapses
TOTALS: Final = ("in_degree", "out_degree", "post_synapses", "pre_synapses")
MAX_READ_HOPS: Final = 4
#: internal node ids stay below 2**32 (4 billion nodes), so a pair packs into an int64
PACK: Final = 2**32
#: edge queries run side by side (measured best on 2 cores: bench/RESULTS.md)
EDGE_PARTS: Final = 3
#: what a read may take as each connection's weight (missing PSD areas read as -1)
STRENGTHS: Final = ("synapse_count", "psd_area_total")


@dataclass(frozen=True)
class Graph:
    """Neurons ``0..n-1`` (``ids[i]``), directed connections ``pre[k] -> post[k]`` with
    weight ``weight[k]`` (synapses, or the strength read), and each neuron's group
    properties and totals.

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
    keys: np.ndarray | None = None  # Neo4j internal node ids, valid during the read

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def m(self) -> int:
        return int(self.pre.size)

    @cached_property
    def group_names(self) -> tuple[str | None, ...]:
        """The groups at ``level`` in order (None, unknown, last)."""
        if self.level is None:
            raise BadInput("this graph was read without a level")
        return tuple(sorted(set(self.props[self.level]), key=lambda g: (g is None, str(g))))

    @cached_property
    def groups(self) -> np.ndarray:
        """Group index per neuron at ``level`` into :attr:`group_names`."""
        index = {g: i for i, g in enumerate(self.group_names)}
        assert self.level is not None
        return np.array([index[v] for v in self.props[self.level]], dtype=np.int64)


def graph_queries(
    f: NeuronFilter | None, min_weight: int = 1, strength: str = "synapse_count"
) -> tuple[str, str, dict[str, Any]]:
    """(nodes, edges, params): the selected neurons in id order, column by column, and
    the connections leaving them as two columns (source and target packed, weight), each
    collected into one record. The edge query reads part ``$part`` of ``$parts`` of the
    neurons (by internal id), so that parts can run side by side. Nodes are matched by
    internal id between the two (no property read per connection); targets outside the
    selection are dropped by :func:`assemble`."""
    if strength not in STRENGTHS:
        raise BadInput(f"strength must be one of {', '.join(STRENGTHS)}")
    conds, params = filter_conditions(f)
    where = " AND ".join(["n.dataset = $dataset", "n.id IS NOT NULL", *conds])
    # collect() skips nulls, which would shift the columns: missing text is '' (read
    # back as None), a missing total is 0
    cols = ", ".join(
        [f"collect(coalesce(n.`{p}`, '')) AS `{p}`" for p in LEVELS]
        + [f"collect(coalesce(n.`{t}`, 0)) AS `{t}`" for t in TOTALS]
    )
    # id() is deprecated in favour of elementId() in Neo4j 5, which would cost a string
    # per connection; within one read the integer id is stable and unique.
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


def neighbourhood_query(hops: int) -> str:
    """The ids of the neurons within ``hops`` connections (either direction) of
    ``$seeds``, the seeds included."""
    if not 0 <= hops <= MAX_READ_HOPS:
        raise BadInput(f"hops must be between 0 and {MAX_READ_HOPS}")
    return (
        f"MATCH (s:{NEURON}) WHERE s.dataset = $dataset AND s.id IN $seeds\n"
        f"MATCH (s)-[:{CONNECTS_TO}*0..{int(hops)}]-(n:{NEURON})\n"
        "RETURN collect(DISTINCT n.id) AS ids"
    )


#: neurons and the connections leaving them (the out-degrees stored at load time)
DATASET_SIZE: Final = f"""
MATCH (n:{NEURON} {{dataset: $dataset}})
RETURN count(n) AS neurons, sum(n.out_degree) AS connections"""

GAP_JUNCTIONS: Final = f"""
MATCH (n:{NEURON} {{dataset: $dataset}})-[r:{GAP_JUNCTION}]-(m:{NEURON})
WHERE id(n) < id(m)
RETURN collect(id(n) * {PACK} + id(m)) AS pair, collect(coalesce(r.count, 1)) AS count"""


def _check(min_weight: int, level: str | None) -> None:
    if min_weight < 1:
        raise BadInput("min_weight must be at least 1")
    if level is not None and level not in LEVELS:
        raise BadInput(f"level must be one of {', '.join(LEVELS)}")


def _within(f: NeuronFilter | None, ids: list[str]) -> NeuronFilter:
    """``f`` narrowed to ``ids`` (a neighbourhood)."""
    if f is not None and f.ids is not None:
        ids = sorted(set(ids) & set(f.ids))
    return replace(f or NeuronFilter(), ids=tuple(ids))


def key_index(keys: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A lookup from internal node ids to positions in ``keys`` (-1 where absent)."""
    order = np.argsort(keys)
    sorted_keys = keys[order]

    def index_of(k: np.ndarray) -> np.ndarray:
        if sorted_keys.size == 0:
            return np.full(k.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(sorted_keys, k), sorted_keys.size - 1)
        return np.where(sorted_keys[pos] == k, order[pos], -1)

    return index_of


def assemble(
    dataset: str, nodes: dict[str, Any], edges: list[dict[str, Any]], level: str | None
) -> Graph | None:
    """The graph from the node record and the edge records; None when a connection
    leaves a neuron the node query did not see (the dataset changed in between)."""
    keys = np.asarray(nodes["key"], dtype=np.int64)
    index_of = key_index(keys)
    pair = np.concatenate(
        [np.asarray(e["pair"], dtype=np.int64) for e in edges] or [np.zeros(0, np.int64)]
    )
    pre = index_of(pair // PACK)
    if (pre < 0).any():
        return None
    post = index_of(pair % PACK)
    weight = np.concatenate(
        [np.asarray(e["w"], dtype=np.float32) for e in edges] or [np.zeros(0, np.float32)]
    )
    inside = post >= 0  # targets outside the selection (or not neurons) are dropped
    props: dict[str, list[Any]] = {p: [v if v != "" else None for v in nodes[p]] for p in LEVELS}
    props.update({t: list(nodes[t]) for t in TOTALS})
    return Graph(
        dataset, list(nodes["id"]), pre[inside], post[inside], weight[inside], props, level, keys
    )


def read_graph(
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
) -> Graph:
    """The selected neurons (all of the dataset's, those ``f`` selects, or the ``hops``-hop
    neighbourhood of ``seeds`` in either direction) and the connections among them with at
    least ``min_weight`` synapses, on the sync driver. The node and edge queries run side
    by side; if the dataset changed between them, all run again in one transaction.
    ``strength`` names the connection property read as the weight (``psd_area_total``:
    -1 where a connection has none).

    Raises:
        NotFound: no such dataset.
        BadInput: a bad level, weight, strength or number of hops.
    """
    _check(min_weight, level)

    def read(text: str, **params: Any) -> dict[str, Any]:
        recs = read_quietly(driver, database, text, params)
        return dict(recs[0]) if recs else {}

    if seeds is not None:
        near = read(neighbourhood_query(hops), dataset=dataset, seeds=list(seeds))
        f = _within(f, near.get("ids", []))
    nodes_q, edges_q, params = graph_queries(f, min_weight, strength)
    args = {"dataset": dataset, "min_weight": min_weight, **params}
    with ThreadPoolExecutor(parts + 1) as pool:
        nodes_f = pool.submit(read, nodes_q, **args)
        edges_f = [pool.submit(read, edges_q, **args, parts=parts, part=i) for i in range(parts)]
        nodes, edges = nodes_f.result(), [e.result() for e in edges_f]
    g = assemble(dataset, nodes, edges, level)
    if g is None:  # changed in between: read everything in one transaction

        def all_of(tx: neo4j.ManagedTransaction) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            a = tx.run(nodes_q, args).single()
            b = tx.run(edges_q, {**args, "parts": 1, "part": 0}).single()
            assert a is not None and b is not None
            return dict(a), [dict(b)]

        with chained_session(driver, database, read=True, notifications_min_severity="OFF") as s:
            nodes, edges = s.execute_read(all_of)
        g = assemble(dataset, nodes, edges, level)
        assert g is not None
    if not g.ids and f is None and not DatasetRepository(driver, database).exists(dataset):
        raise NotFound(f"dataset {dataset!r} not found")
    return g


class GraphReader:
    """:func:`read_graph` on the async :class:`Store` (the API's time limit and query
    count apply to each query). The caller has checked access."""

    def __init__(self, store: Store, parts: int = EDGE_PARTS) -> None:
        self.store = store
        self.parts = parts

    async def read(
        self,
        dataset: str,
        f: NeuronFilter | None = None,
        min_weight: int = 1,
        level: str | None = None,
    ) -> Graph:
        _check(min_weight, level)
        nodes_q, edges_q, params = graph_queries(f, min_weight)
        args = {"dataset": dataset, "min_weight": min_weight, **params}
        nodes_r, *edges_r = await asyncio.gather(
            self.store.read("graph_nodes", nodes_q, **args),
            *(
                self.store.read("graph_edges", edges_q, **args, parts=self.parts, part=i)
                for i in range(self.parts)
            ),
        )
        g = assemble(dataset, nodes_r[0], [e[0] for e in edges_r], level)
        if g is None:  # changed in between: read everything in one transaction
            a, b = await self.store.read_tx(
                "graph", [(nodes_q, args), (edges_q, {**args, "parts": 1, "part": 0})]
            )
            g = assemble(dataset, a[0], [b[0]], level)
            assert g is not None
        return g

    async def gap_junctions(self, g: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`read_gap_junctions` on the async store (read right after ``g``)."""
        recs = await self.store.read("gap_junctions", GAP_JUNCTIONS, dataset=g.dataset)
        return gap_junctions_of(g, recs[0])


def dataset_size(driver: neo4j.Driver, database: str, dataset: str) -> tuple[int, int]:
    """(neurons, connections leaving them) of a dataset, from the stored degrees."""
    recs = read_quietly(driver, database, DATASET_SIZE, {"dataset": dataset})
    return int(recs[0]["neurons"]), int(recs[0]["connections"] or 0)


def gap_junctions_of(g: Graph, rec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gap junctions of a :data:`GAP_JUNCTIONS` record among ``g``'s neurons, each
    unordered pair once, as (a, b, count) with a < b indices into ``g.ids``; pairs with a
    neuron outside ``g`` are dropped."""
    if g.keys is None:
        raise BadInput("this graph carries no internal ids")
    pair = np.asarray(rec["pair"], dtype=np.int64)
    count = np.asarray(rec["count"], dtype=np.float64)
    index_of = key_index(g.keys)
    a, b = index_of(pair // PACK), index_of(pair % PACK)
    keep = (a >= 0) & (b >= 0)
    a, b, count = a[keep], b[keep], count[keep]
    return np.minimum(a, b), np.maximum(a, b), count


def read_gap_junctions(
    driver: neo4j.Driver, database: str, g: Graph
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gap junctions among a graph's neurons (:func:`gap_junctions_of`), read right
    after the graph: the pairs are matched by its internal ids."""
    recs = read_quietly(driver, database, GAP_JUNCTIONS, {"dataset": g.dataset})
    return gap_junctions_of(g, dict(recs[0]))


# -- per-neuron features for PyG's remote backend --------------------------------------
_FEATURE_COLUMNS: Final = (
    "collect(n.id) AS id, collect(coalesce(n.neurotransmitter, '')) AS nt,\n"
    "       collect(coalesce(n[$label], '')) AS label,\n       "
    + ", ".join(f"collect(coalesce(n.`{t}`, 0)) AS `{t}`" for t in TOTALS)
)

FEATURES_BY_KEY: Final = f"""
UNWIND $keys AS k
MATCH (n:{NEURON}) WHERE id(n) = k AND n.dataset = $dataset
RETURN {_FEATURE_COLUMNS}"""

FEATURES_BY_ID: Final = f"""
UNWIND $ids AS nid
MATCH (n:{NEURON} {{dataset: $dataset, id: nid}})
RETURN {_FEATURE_COLUMNS}"""

VOCABULARY: Final = f"""
MATCH (n:{NEURON} {{dataset: $dataset}})
RETURN collect(DISTINCT n.neurotransmitter) AS nts, collect(DISTINCT n[$label]) AS labels"""


class FeatureReader:
    """Columns of per-neuron features (id, neurotransmitter, a label property, the
    totals) for chosen neurons of one dataset, by internal id or by id (sync driver);
    ``queries`` counts the feature reads run."""

    def __init__(self, driver: neo4j.Driver, database: str, dataset: str, label: str) -> None:
        if label not in LEVELS:
            raise BadInput(f"label level must be one of {', '.join(LEVELS)}")
        self.driver, self.database, self.dataset, self.label = driver, database, dataset, label
        self.queries = 0

    def _read(self, text: str, **params: Any) -> dict[str, Any]:
        recs = read_quietly(
            self.driver,
            self.database,
            text,
            {"dataset": self.dataset, "label": self.label, **params},
        )
        return dict(recs[0])

    def vocabulary(self) -> tuple[list[Any], list[Any]]:
        """The distinct neurotransmitters and label values of the dataset's neurons."""
        rec = self._read(VOCABULARY)
        return list(rec["nts"]), list(rec["labels"])

    def by_key(self, keys: list[int]) -> dict[str, list[Any]]:
        self.queries += 1
        return self._read(FEATURES_BY_KEY, keys=keys)

    def by_id(self, ids: list[str]) -> dict[str, list[Any]]:
        self.queries += 1
        return self._read(FEATURES_BY_ID, ids=ids)
