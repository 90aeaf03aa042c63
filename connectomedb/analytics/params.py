"""The parameters of the analytics kinds (no torch here: the API validates them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectomedb.jobs.contract import Params
from connectomedb.schema.graph import Level


class GraphJobParams(Params):
    """What every analytics kind reads: its connections of at least ``min_weight``
    synapses, and the seed of its randomness."""

    seed: int = 0
    min_weight: int = Field(default=1, ge=1)


class EmbeddingParams(GraphJobParams):
    """A vector per neuron: adjacency spectral embedding (out- and in-vectors, 2 x dim) or
    a graph autoencoder's (dim), with a 2-D principal-component layout for plots."""

    method: Literal["spectral", "gae"] = "spectral"
    dim: int = Field(default=8, ge=1, le=256)
    epochs: int = Field(default=200, ge=1, le=10_000)


class AnomalyParams(GraphJobParams):
    """A score per neuron for an unusual connection profile: distance from its cell type's
    mean input/output type profile (type_profile; 1 is typical for the type), or an
    isolation forest on spectral embeddings and degrees; the top candidates are listed."""

    method: Literal["type_profile", "isolation_forest"] = "type_profile"
    type_level: Level = "type"
    dim: int = Field(default=8, ge=1, le=256)
    top: int = Field(default=20, ge=1, le=1000)


class CellTypeParams(Params):
    """Cell-type classification of a partially labelled connectome: GraphSAGE and GAT
    against majority class, logistic regression on node features and label spreading, on
    the same stratified held-out neurons for each seed; accuracy, macro-F1 and confusion
    matrices; predictions with confidence for every neuron from the best model trained on
    all labelled neurons."""

    label_level: Level = "class"
    unlabelled: list[str] = Field(
        default_factory=lambda: ["unknown", ""],
        description="label values that mean 'not known'",
    )
    seeds: int = Field(default=5, ge=1, le=50)
    test_fraction: float = Field(default=0.3, gt=0, lt=1)
    hidden: int = Field(default=64, ge=4, le=1024)
    epochs: int = Field(default=200, ge=1, le=10_000)
    min_weight: int = Field(default=1, ge=1)
