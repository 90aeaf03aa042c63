"""Parameters of the ``rnn_experiment`` kind (no torch: the API validates them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectomedb.jobs.contract import Params
from connectomedb.schema.graph import Level

#: trained networks per job (tasks x variants x seeds)
MAX_RUNS = 1000

TaskName = Literal["pattern", "recall", "digits", "pair_echo"]
VariantKind = Literal["dense", "dense_matched", "random", "reciprocal", "connectome"]


class VariantParams(BaseModel):
    """One network variant. ``density`` (random, reciprocal) defaults to the experiment's;
    ``enrichment`` (reciprocal) to the one measured on the dataset, or on the neurons
    whose ``level`` is one of ``types``; ``dale`` (connectome) signs every unit's
    outgoing weights by its neurotransmitter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    kind: VariantKind
    density: float | None = Field(default=None, gt=0, le=1)
    enrichment: float | None = Field(default=None, ge=0, le=1000)
    types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    level: Level = "class"
    dale: bool = False

    @model_validator(mode="after")
    def _fits_kind(self) -> VariantParams:
        if self.kind != "reciprocal" and (self.enrichment is not None or self.types):
            raise ValueError(f"{self.name}: enrichment and types are for reciprocal variants")
        if self.kind not in ("random", "reciprocal") and self.density is not None:
            raise ValueError(f"{self.name}: density is for random and reciprocal variants")
        if self.dale and self.kind != "connectome":
            raise ValueError(f"{self.name}: dale is for connectome variants")
        return self


DEFAULT_VARIANTS = (
    VariantParams(name="dense", kind="dense"),
    VariantParams(name="random", kind="random"),
    VariantParams(name="reciprocal", kind="reciprocal", enrichment=4.0),
    VariantParams(name="connectome", kind="connectome"),
)


class RNNExperimentParams(Params):
    """Recurrent networks under fixed masks (dense, sparse random, sparse with planted
    reciprocity enrichment, the dataset's connectome) trained on temporal tasks over
    seeds: learning curves, sample efficiency, accuracy, generalisation gap and
    stability, each with a bootstrap interval, and pairwise Mann-Whitney tests between
    variants, Holm-corrected. ``units`` and ``density`` default to the dataset's
    neurons and connection density, so the sparse variants match the connectome's
    trainable weights. With ``store_weights``, seed 0's trained recurrent weights of
    each variant on ``store_task`` become datasets for comparison with connectomes."""

    tasks: list[TaskName] = Field(
        default=["pattern", "recall", "digits"], min_length=1, max_length=4
    )
    variants: list[VariantParams] = Field(
        default=list(DEFAULT_VARIANTS), min_length=1, max_length=8
    )
    units: int | None = Field(default=None, ge=4, le=10_000)
    density: float | None = Field(default=None, gt=0, le=1)
    min_weight: int = Field(default=1, ge=1)
    seeds: int = Field(default=10, ge=2, le=100)
    steps: int = Field(default=300, ge=1, le=100_000)
    batch: int = Field(default=32, ge=1, le=4096)
    lr: float = Field(default=0.01, gt=0, le=1)
    lr_scaling: Literal["fan_in", "none"] = Field(
        default="fan_in",
        description="fan_in: recurrent weights learn at lr * min(1, 10 / mean recurrent "
        "inputs per unit), so dense and sparse variants move their units' inputs alike",
    )
    eval_every: int = Field(default=10, ge=1)
    alpha: float = Field(default=1.0, gt=0, le=1, description="leak: 1 is a plain RNN")
    gain: float = Field(default=0.9, gt=0, le=10)
    significance: float = Field(default=0.05, gt=0, lt=1)
    seed: int = Field(default=0, ge=0)
    store_weights: bool = False
    store_task: TaskName | None = None
    store_density: float | None = Field(default=None, gt=0, le=1)
    threads: int | None = Field(default=None, ge=1, le=256)

    @model_validator(mode="after")
    def _consistent(self) -> RNNExperimentParams:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be distinct")
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError("tasks must be distinct")
        if self.store_task is not None and self.store_task not in self.tasks:
            raise ValueError("store_task must be one of the tasks")
        if "pair_echo" in self.tasks:
            # the control's premise: a sign returns to its unit only through a reciprocal
            # pair; a leak (alpha < 1) keeps it in the unit, dense_matched has other units
            if self.alpha != 1.0:
                raise ValueError("pair_echo needs alpha 1 (a leak lets a unit keep its sign)")
            if any(v.kind == "dense_matched" for v in self.variants):
                raise ValueError("pair_echo gives every unit its own input: no dense_matched")
        runs = len(self.tasks) * len(self.variants) * self.seeds
        if runs > MAX_RUNS:
            raise ValueError(f"{runs} trained networks; at most {MAX_RUNS} per job")
        return self
