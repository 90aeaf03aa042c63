"""Per-neuron features and labels of a read graph, and the graph as PyG ``Data``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from connectomedb.errors import BadInput
from connectomedb.schema.graph import LEVELS
from connectomedb.store.graph import TOTALS, Graph

if TYPE_CHECKING:
    from torch_geometric.data import Data


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


def node_features(g: Graph) -> NodeFeatures:
    nts = sorted({v for v in g.props["neurotransmitter"] if v})
    x = feature_matrix(g.props, g.props["neurotransmitter"], nts)
    return NodeFeatures(x, FEATURE_NAMES + [f"nt={v}" for v in nts])


def labels(g: Graph, level: str) -> tuple[np.ndarray, list[str]]:
    """Label index per neuron at ``level`` (-1 where unknown) and the label names."""
    if level not in g.props:
        raise BadInput(f"label level must be one of {', '.join(LEVELS)}")
    values = g.props[level]
    names = sorted({v for v in values if v not in (None, "")})
    index = {v: i for i, v in enumerate(names)}
    return np.array([index.get(v, -1) for v in values], dtype=np.int64), names


def to_pyg(g: Graph, label_level: str | None = None) -> Data:
    """The graph as ``Data``: ``x`` (:func:`node_features`), ``edge_index`` (2, m),
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
