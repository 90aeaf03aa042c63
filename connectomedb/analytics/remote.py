"""PyTorch Geometric's remote-backend interfaces over Neo4j, so that ``NeighborLoader``
samples a dataset straight from the database::

    features, graph = remote_backend(driver, "neo4j", "cook2019_herm", label_level="class")
    loader = neighbor_loader((features, graph), num_neighbors=[10, 5], batch_size=64)

(:func:`~connectomedb.analytics.sampling.neighbor_loader`: PyG's loader with a sampler in
plain torch, so that no compiled extension is needed.)

The graph store serves the edge index (pulled once, as PyG's sampler reads it whole to
build its CSC index); the feature store reads the features and labels of each
mini-batch's neurons from Neo4j in one query per batch, by internal node id, and keeps
what it read (``cache=True``, the default) so that each neuron is read once per store.
Node ``i`` is the dataset's ``i``-th neuron in id order, as in
:func:`connectomedb.analytics.features.to_pyg`, so both paths see the same graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import neo4j
import numpy as np
import torch
from torch_geometric.data import EdgeAttr, FeatureStore, GraphStore, TensorAttr
from torch_geometric.data.graph_store import EdgeLayout

from connectomedb.analytics.features import FEATURE_NAMES, feature_matrix
from connectomedb.errors import BadInput
from connectomedb.schema.graph import LEVELS
from connectomedb.store.graph import TOTALS, FeatureReader, read_graph


class ReadOnly(BadInput):
    """The Neo4j stores are read-only: the connectome changes through loaders."""


@dataclass
class _Vocab:
    nts: list[str]
    labels: list[str]


class Neo4jFeatureStore(FeatureStore):
    """Node features ``x`` and labels ``y`` (when a label level is given) of a dataset's
    neurons, read from Neo4j for the requested node indices."""

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str,
        dataset: str,
        ids: list[str],
        keys: np.ndarray | None = None,
        label_level: str | None = None,
        cache: bool = True,
    ) -> None:
        super().__init__()
        if label_level is not None and label_level not in LEVELS:
            raise BadInput(f"label level must be one of {', '.join(LEVELS)}")
        self.driver, self.database, self.dataset = driver, database, dataset
        self.ids = np.array(ids, dtype=object)
        self.keys = keys
        self.label_level = label_level
        self.reader = FeatureReader(driver, database, dataset, label_level or "class")
        nts, labels = self.reader.vocabulary()
        self.vocab = _Vocab(
            sorted(v for v in nts if v),
            sorted(v for v in labels if v not in (None, "")) if label_level else [],
        )
        self.cache = cache
        n, width = len(ids), len(TOTALS) + len(self.vocab.nts)
        self._x = np.zeros((n, width), dtype=np.float32)
        self._y = np.full(n, -1, dtype=np.int64)
        self._have = np.zeros(n, dtype=bool)
        self.rows_read = 0

    @property
    def queries(self) -> int:
        """Neo4j queries run (for the benchmark)."""
        return self.reader.queries

    @property
    def feature_names(self) -> list[str]:
        return FEATURE_NAMES + [f"nt={v}" for v in self.vocab.nts]

    def _read(self, idx: np.ndarray) -> None:
        """Read rows ``idx`` (unique node indices) into the arrays."""
        wanted = self.ids[idx].tolist()
        rec = None
        if self.keys is not None:
            rec = self.reader.by_key(self.keys[idx].tolist())
            if list(rec["id"]) != wanted:  # keys went stale: look the neurons up by id
                rec = None
        if rec is None:
            found = self.reader.by_id(wanted)
            order = {v: i for i, v in enumerate(found["id"])}
            if set(order) != set(wanted):
                gone = len(set(wanted) - set(order))
                raise BadInput(f"{gone} neurons are gone from dataset {self.dataset!r}")
            rec = {k: [found[k][order[v]] for v in wanted] for k in found}
        self.rows_read += len(wanted)
        cols = {t: rec[t] for t in TOTALS}
        self._x[idx] = feature_matrix(cols, rec["nt"], self.vocab.nts)
        if self.label_level is not None:
            index = {v: i for i, v in enumerate(self.vocab.labels)}
            self._y[idx] = [index.get(v, -1) for v in rec["label"]]
        self._have[idx] = True

    def _rows(self, index: Any) -> np.ndarray:
        idx = np.arange(len(self.ids)) if index is None else np.asarray(index.cpu().numpy())
        missing = idx if not self.cache else idx[~self._have[idx]]
        if missing.size:
            self._read(np.unique(missing))
        return idx

    def _tensor(self, name: str, idx: np.ndarray) -> torch.Tensor:
        if name == "x":
            return torch.from_numpy(self._x[idx])
        if name == "y" and self.label_level is not None:
            return torch.from_numpy(self._y[idx])
        raise KeyError(name)

    def _get_tensor(self, attr: TensorAttr) -> torch.Tensor | None:
        idx = self._rows(attr.index if isinstance(attr.index, torch.Tensor) else None)
        return self._tensor(attr.attr_name, idx)

    def _multi_get_tensor(self, attrs: list[TensorAttr]) -> list[torch.Tensor]:
        """Every attribute of one batch from one query (the loader asks for x and y of
        the same nodes together)."""
        done: dict[int, np.ndarray] = {}
        out = []
        for attr in attrs:
            key = id(attr.index)
            if key not in done:
                index = attr.index if isinstance(attr.index, torch.Tensor) else None
                done[key] = self._rows(index)
            out.append(self._tensor(attr.attr_name, done[key]))
        return out

    def _get_tensor_size(self, attr: TensorAttr) -> tuple[int, ...]:
        if attr.attr_name == "x":
            return tuple(self._x.shape)
        return (len(self.ids),)

    def get_all_tensor_attrs(self) -> list[TensorAttr]:
        names = ["x", "y"] if self.label_level is not None else ["x"]
        return [TensorAttr(group_name=None, attr_name=n) for n in names]

    def _put_tensor(self, tensor: Any, attr: TensorAttr) -> bool:
        raise ReadOnly("the Neo4j feature store is read-only")

    def _remove_tensor(self, attr: TensorAttr) -> bool:
        raise ReadOnly("the Neo4j feature store is read-only")


class Neo4jGraphStore(GraphStore):
    """The chemical connections (at least ``min_weight`` synapses) among a dataset's
    neurons as one COO edge index, read once by :func:`~connectomedb.store.graph.read_graph`
    when the store is made."""

    def __init__(
        self, driver: neo4j.Driver, database: str, dataset: str, min_weight: int = 1
    ) -> None:
        super().__init__()
        self.driver, self.database, self.dataset = driver, database, dataset
        self.min_weight = min_weight
        self._pulled = read_graph(driver, database, dataset, min_weight=min_weight)
        self.ids = self._pulled.ids
        self.keys = self._pulled.keys

    @property
    def num_nodes(self) -> int:
        return len(self.ids)

    def _get_edge_index(self, edge_attr: EdgeAttr) -> tuple[torch.Tensor, torch.Tensor] | None:
        if edge_attr.layout != EdgeLayout.COO:
            return None
        g = self._pulled
        return torch.from_numpy(g.pre), torch.from_numpy(g.post)

    def get_all_edge_attrs(self) -> list[EdgeAttr]:
        n = self.num_nodes
        return [EdgeAttr(edge_type=None, layout=EdgeLayout.COO, is_sorted=False, size=(n, n))]

    def _put_edge_index(self, edge_index: Any, edge_attr: EdgeAttr) -> bool:
        raise ReadOnly("the Neo4j graph store is read-only")

    def _remove_edge_index(self, edge_attr: EdgeAttr) -> bool:
        raise ReadOnly("the Neo4j graph store is read-only")


def remote_backend(
    driver: neo4j.Driver,
    database: str,
    dataset: str,
    min_weight: int = 1,
    label_level: str | None = None,
    cache: bool = True,
) -> tuple[Neo4jFeatureStore, Neo4jGraphStore]:
    """A (feature store, graph store) pair for ``NeighborLoader((features, graph), ...)``."""
    graph = Neo4jGraphStore(driver, database, dataset, min_weight)
    features = Neo4jFeatureStore(
        driver, database, dataset, graph.ids, graph.keys, label_level, cache
    )
    return features, graph
