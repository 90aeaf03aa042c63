"""The parameters of the analytics kinds (no torch here: the API validates them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from connectomedb.jobs.contract import Params
from connectomedb.schema.graph import Level


class GraphJobParams(Params):
    """What every analytics kind reads: its connections of at least ``min_weight``
    synapses, and the seed of its randomness."""

    seed: int = Field(default=0, ge=0)
    min_weight: int = Field(default=1, ge=1)


class MiniBatchParams(Params):
    """How a GNN trains: ``steps`` Adam steps, each on a mini-batch of ``batch_size``
    items (training neurons, or connections for the autoencoder) with their sampled
    neighbourhoods, or ``epochs`` passes over the items instead, when given; memory
    follows the batch, not the graph. ``fanouts[h]``: the neighbours each node draws at
    hop ``h`` (-1: all), by default each model's own (GraphSAGE [25, -1], its second
    hop always exact; GAT [10, 5], with control variates). Where the items fit one batch
    a step is a pass, the full-batch epoch of earlier versions."""

    steps: int = Field(default=600, ge=1, le=100_000)
    epochs: int | None = Field(
        default=None, ge=1, le=10_000, description="passes over the items instead of steps"
    )
    batch_size: int = Field(default=512, ge=1, le=1_000_000)
    fanouts: list[int] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="neighbours drawn per node at each hop, -1 for all (default: the model's)",
    )
    threads: int | None = Field(
        default=None, ge=1, le=256, description="torch threads (default: the worker's)"
    )

    @field_validator("fanouts")
    @classmethod
    def _fanouts(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(k == 0 or k < -1 for k in v):
            raise ValueError("each fan-out is a positive number of neighbours, or -1 for all")
        return v


class EmbeddingParams(GraphJobParams, MiniBatchParams):
    """A vector per neuron: adjacency spectral embedding (out- and in-vectors, 2 x dim) or
    a graph autoencoder's (dim), with a 2-D principal-component layout for plots; the
    autoencoder trains on mini-batches of connections (:class:`MiniBatchParams`)."""

    method: Literal["spectral", "gae"] = "spectral"
    dim: int = Field(default=8, ge=1, le=256)


class AnomalyParams(GraphJobParams):
    """A score per neuron for an unusual connection profile: distance from its cell type's
    mean input/output type profile (type_profile; 1 is typical for the type), or an
    isolation forest on spectral embeddings and degrees; the top candidates are listed."""

    method: Literal["type_profile", "isolation_forest"] = "type_profile"
    type_level: Level = "type"
    dim: int = Field(default=8, ge=1, le=256)
    top: int = Field(default=20, ge=1, le=1000)


class CellTypeParams(MiniBatchParams):
    """Cell-type classification of a partially labelled connectome: GraphSAGE and GAT
    against majority class, logistic regression on node features and label spreading, on
    the same stratified held-out neurons for each seed; accuracy, macro-F1 and confusion
    matrices; predictions with confidence for every neuron from the best model trained on
    all labelled neurons. The GNNs train on mini-batches of training neurons
    (:class:`MiniBatchParams`)."""

    label_level: Level = "class"
    unlabelled: list[str] = Field(
        default_factory=lambda: ["unknown", ""],
        description="label values that mean 'not known'",
    )
    seeds: int = Field(default=5, ge=1, le=50)
    test_fraction: float = Field(default=0.3, gt=0, lt=1)
    hidden: int = Field(default=64, ge=4, le=1024)
    min_weight: int = Field(default=1, ge=1)


class StructureFunctionParams(GraphJobParams):
    """How much the wiring predicts function: for a pairwise measurement set, the
    probability of a functional connection (q below q_threshold) given a direct chemical
    connection, a gap junction, a two-hop path or none, odds ratios with CIs, rank
    correlations of synapse count and path-summed weight with response strength, and the
    cross-validated variance explained by wiring features, each against a null
    (label_permutation or degree_preserving); for a per-neuron property, connection
    probability by property similarity ("like-to-like") with the slope's permutation
    p-value. Plots as PNG files."""

    measurements: str | None = Field(
        default=None, description="a pairwise measurement set of the dataset"
    )
    properties: str | None = Field(
        default=None, description="a per-neuron measurement set (like-to-like)"
    )
    property: str | None = Field(
        default=None,
        description="the property of the per-neuron set (default: every property it holds)",
    )
    q_threshold: float = Field(default=0.05, gt=0, lt=1)
    null: Literal["label_permutation", "degree_preserving"] = "label_permutation"
    null_samples: int = Field(default=100, ge=1, le=10_000)
    folds: int = Field(default=5, ge=2, le=20)
    amplitude: Literal["abs", "signed"] = Field(
        default="abs", description="functional strength: |amplitude| or signed amplitude"
    )
    bins: int = Field(default=10, ge=2, le=100)
    permutations: int = Field(default=1000, ge=1, le=100_000)
    circular_period: float | None = Field(
        default=None, gt=0, description="scalar properties on a circle (e.g. 180 for orientation)"
    )

    @model_validator(mode="after")
    def _something(self) -> StructureFunctionParams:
        if self.measurements is None and self.properties is None:
            raise ValueError(
                "give measurements (a pairwise set), properties (a neuron set), or both"
            )
        if self.property is not None and self.properties is None:
            raise ValueError("property names a property of the properties set: give properties")
        return self
