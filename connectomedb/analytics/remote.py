"""PyTorch Geometric's remote-backend interfaces over Neo4j, so that ``NeighborLoader``
samples a dataset straight from the database::

    features, graph = remote_backend(driver, "neo4j", "cook2019_herm", label_level="class")
    loader = NeighborLoader((features, graph), num_neighbors=[10, 5], batch_size=64,
                            input_nodes=torch.arange(graph.num_nodes))

The graph store serves the edge index (pulled in one query, as PyG's sampler reads it
whole to build its CSC index); the feature store reads the features and labels of each
mini-batch's neurons from Neo4j in one query per batch. Node ``i`` is the dataset's
``i``-th neuron in id order, as in :func:`connectomedb.analytics.pull.to_pyg`, so both
paths see the same graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import neo4j
import numpy as np
import torch
from torch_geometric.data import EdgeAttr, FeatureStore, GraphStore, TensorAttr
from torch_geometric.data.graph_store import EdgeLayout

from connectomedb.analytics.pull import (
    PROPERTIES,
    TOTALS,
    feature_matrix,
    pull_graph,
)
from connectomedb.errors import BadInput

BATCH_FEATURES: Final = f"""
UNWIND $ids AS nid
MATCH (n:Neuron {{dataset: $dataset, id: nid}})
RETURN nid AS id, n.neurotransmitter AS nt, n[$label] AS label,
       {", ".join(f"n.`{t}` AS `{t}`" for t in TOTALS)}"""

VOCABULARY: Final = """
MATCH (n:Neuron {dataset: $dataset})
RETURN collect(DISTINCT n.neurotransmitter) AS nts, collect(DISTINCT n[$label]) AS labels"""


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
        label_level: str | None = None,
    ) -> None:
        super().__init__()
        if label_level is not None and label_level not in PROPERTIES:
            raise BadInput(f"label level must be one of {', '.join(PROPERTIES)}")
        self.driver, self.database, self.dataset = driver, database, dataset
        self.ids = np.array(ids, dtype=object)
        self.label_level = label_level
        rec = driver.execute_query(
            VOCABULARY,
            dataset=dataset,
            label=label_level or "class",
            database_=database,
            routing_=neo4j.RoutingControl.READ,
        ).records[0]
        self.vocab = _Vocab(
            sorted(v for v in rec["nts"] if v),
            sorted(v for v in rec["labels"] if v not in (None, "")) if label_level else [],
        )
        self.queries = 0  # Neo4j queries run (for the benchmark)

    @property
    def feature_names(self) -> list[str]:
        from connectomedb.analytics.pull import FEATURE_NAMES

        return FEATURE_NAMES + [f"nt={v}" for v in self.vocab.nts]

    def _rows(self, index: torch.Tensor | None) -> tuple[np.ndarray, dict[str, Any]]:
        idx = np.arange(len(self.ids)) if index is None else index.cpu().numpy()
        wanted = self.ids[idx].tolist()
        recs, _, _ = self.driver.execute_query(
            BATCH_FEATURES,
            ids=wanted,
            dataset=self.dataset,
            label=self.label_level or "class",
            database_=self.database,
            routing_=neo4j.RoutingControl.READ,
        )
        self.queries += 1
        by_id = {r["id"]: r for r in recs}
        rows = [by_id[i] for i in wanted]
        return idx, {
            "nt": [r["nt"] for r in rows],
            "label": [r["label"] for r in rows],
            **{t: [r[t] for r in rows] for t in TOTALS},
        }

    def _tensor(self, name: str, cols: dict[str, Any]) -> torch.Tensor:
        if name == "x":
            return torch.from_numpy(feature_matrix(cols, cols["nt"], self.vocab.nts))
        if name == "y" and self.label_level is not None:
            index = {v: i for i, v in enumerate(self.vocab.labels)}
            return torch.tensor([index.get(v, -1) for v in cols["label"]], dtype=torch.long)
        raise KeyError(name)

    def _get_tensor(self, attr: TensorAttr) -> torch.Tensor | None:
        _, cols = self._rows(attr.index if isinstance(attr.index, torch.Tensor) else None)
        return self._tensor(attr.attr_name, cols)

    def _multi_get_tensor(self, attrs: list[TensorAttr]) -> list[torch.Tensor]:
        """Every attribute of one batch from one query (the loader asks for x and y of
        the same nodes together)."""
        by_index: dict[Any, dict[str, Any]] = {}
        out = []
        for attr in attrs:
            key = id(attr.index)
            if key not in by_index:
                index = attr.index if isinstance(attr.index, torch.Tensor) else None
                by_index[key] = self._rows(index)[1]
            out.append(self._tensor(attr.attr_name, by_index[key]))
        return out

    def _get_tensor_size(self, attr: TensorAttr) -> tuple[int, ...]:
        if attr.attr_name == "x":
            return (len(self.ids), len(TOTALS) + len(self.vocab.nts))
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
    neurons as one COO edge index, pulled in one query the first time it is asked for."""

    def __init__(
        self, driver: neo4j.Driver, database: str, dataset: str, min_weight: int = 1
    ) -> None:
        super().__init__()
        self.driver, self.database, self.dataset = driver, database, dataset
        self.min_weight = min_weight
        self._pulled = pull_graph(driver, database, dataset, min_weight=min_weight)
        self.ids = self._pulled.ids

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
) -> tuple[Neo4jFeatureStore, Neo4jGraphStore]:
    """A (feature store, graph store) pair for ``NeighborLoader((features, graph), ...)``."""
    graph = Neo4jGraphStore(driver, database, dataset, min_weight)
    return Neo4jFeatureStore(driver, database, dataset, graph.ids, label_level), graph
