"""The parameters of the ``simulate`` and ``fit_strengths`` kinds and the constants of
Shiu et al.'s model (no torch here: the API validates them)."""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectomedb.jobs.contract import Params

#: Shiu et al. 2024, Methods (mV, ms); w_syn is the weight of one synapse.
SHIU_2024: Final = {
    "v_rest": -52.0,
    "v_reset": -52.0,
    "v_th": -45.0,
    "tau_m": 20.0,
    "tau_syn": 5.0,
    "t_ref": 2.2,
    "delay": 1.8,
    "w_syn": 0.275,
}
#: Shiu et al. 2024: a Poisson input spike jumps v by f_poi * w_syn (68.75 mV)
F_POI: Final = 250

#: transmitter -> sign of its synapses, per rule. The first transmitter listed for a
#: neuron decides; unknown transmitters are excitatory (+1), and say so in the metrics.
SIGN_RULES: Final = {
    # Shiu et al. 2024: acetylcholine excites; GABA and glutamate (GluCl) inhibit
    "drosophila": {"acetylcholine": 1, "gaba": -1, "glutamate": -1},
    # C. elegans: GABA inhibits; glutamate and acetylcholine are taken as excitatory
    "celegans": {"acetylcholine": 1, "gaba": -1, "glutamate": 1},
    "all_excitatory": {},
}
#: the sign rules a run may ask for ("auto": from the dataset's species)
SignRule = Literal["auto", "drosophila", "celegans", "all_excitatory"]
#: the strength proxies a run may use, and the connection property each reads
Strength = Literal["synapse_count", "psd_area"]
STRENGTH_PROPERTY: Final[dict[str, str]] = {
    "synapse_count": "synapse_count",
    "psd_area": "psd_area_total",
}
#: at most this many conditions in one sweep
MAX_CONDITIONS: Final = 64
#: bounds on weights (mV) and on the population-rate bins of one condition
MAX_MV: Final = 1000.0
MAX_BINS: Final = 10_000
#: the confidence level of an ablation's intervals
CONFIDENCE: Final = 0.95
#: parameters a sweep grid may vary
GridKey = Literal["w_syn", "drive_weight_mv", "gap_coupling", "rate_hz", "amplitude_mv"]


class Stimulus(BaseModel):
    """Input to the neurons selected by ids, type and/or class: Poisson spikes at
    ``rate_hz`` for the whole run (``kind: poisson``), or a step current of
    ``amplitude_mv`` from ``start_ms`` to ``end_ms`` (``kind: current``; the end of the
    run when not given)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    ids: list[str] | None = None
    type: str | None = None
    cell_class: str | None = Field(default=None, alias="class")
    kind: Literal["poisson", "current"] = "poisson"
    rate_hz: float = Field(default=150.0, gt=0, le=1000)
    amplitude_mv: float | None = Field(default=None, ge=-200, le=200)
    start_ms: float = Field(default=0.0, ge=0)
    end_ms: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _kind_fields(self) -> Stimulus:
        if self.kind == "current" and self.amplitude_mv is None:
            raise ValueError("a current stimulus needs amplitude_mv")
        if self.kind == "poisson" and (
            self.amplitude_mv is not None or self.start_ms or self.end_ms is not None
        ):
            raise ValueError(
                "a Poisson stimulus runs for the whole simulation at rate_hz; "
                "amplitude_mv, start_ms and end_ms belong to kind: current"
            )
        if self.end_ms is not None and self.end_ms <= self.start_ms:
            raise ValueError("end_ms must come after start_ms")
        return self


class Target(BaseModel):
    """An observed rate (Hz) of the neurons selected by ids, type and/or class."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    ids: list[str] | None = None
    type: str | None = None
    cell_class: str | None = Field(default=None, alias="class")
    rate_hz: float = Field(ge=0, le=1000)


class Selector(BaseModel):
    """The neurons selected by ids, type and/or class (all that are given must hold);
    at least one of them."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    ids: list[str] | None = Field(default=None, min_length=1)
    type: str | None = None
    cell_class: str | None = Field(default=None, alias="class")

    @model_validator(mode="after")
    def _something(self) -> Selector:
        if self.ids is None and self.type is None and self.cell_class is None:
            raise ValueError("a selector needs ids, type or class")
        if self.ids is not None and not all(self.ids):
            raise ValueError("a selector's ids must not be empty strings")
        return self

    def label(self) -> str:
        """``type=VA, class=motor, ids=VA1,VA2`` (at most five ids shown)."""
        parts = [f"{k}={v}" for k, v in (("type", self.type), ("class", self.cell_class)) if v]
        if self.ids:
            more = f",... ({len(self.ids)})" if len(self.ids) > 5 else ""
            parts.append("ids=" + ",".join(self.ids[:5]) + more)
        return ", ".join(parts)


class SimulateParams(Params):
    """The stored connectome as a LIF network (synapse counts or PSD areas as strengths,
    signs from the presynaptic neurotransmitter, gap junctions as electrical couplings),
    driven by Poisson input or step currents to chosen neurons, several trials as one
    batch, and optionally a sweep over a grid of parameters, stimulated sets and
    ablations (each compared with the intact network)."""

    model: Literal["lif", "rate"] = "lif"
    seconds: float = Field(default=1.0, gt=0, le=10)
    dt: float = Field(default=0.1, ge=0.01, le=1)
    trials: int = Field(default=1, ge=1, le=64)
    seed: int = Field(default=0, ge=0)
    stimuli: list[Stimulus] = Field(default_factory=list)
    drive_weight_mv: float | None = Field(
        default=None,
        gt=0,
        le=MAX_MV,
        description="the jump (mV) of one Poisson input spike; by default f_poi x w_syn "
        "= 250 x w_syn, as in Shiu et al. (68.75 mV at their w_syn)",
    )
    w_syn: float = Field(default=SHIU_2024["w_syn"], gt=0, le=MAX_MV)
    input_target: Literal["v", "g"] = Field(
        default="v",
        description="the variable Poisson input jumps: v, as in Shiu et al., or g "
        "(a departure from their model)",
    )
    refractory_driven: bool = Field(
        default=False,
        description="give the neurons that receive Poisson input the refractory period "
        "too (a departure: Shiu et al. give them none)",
    )
    strength: Strength = "synapse_count"
    strength_run: str | None = Field(
        default=None,
        description="a fit_strengths run of this dataset: each connection's strength "
        "times the gain fitted for its presynaptic neuron's group",
    )
    sign_rule: SignRule = "auto"
    gap_coupling: float = Field(
        default=0.005, ge=0, description="coupling per gap junction, relative to the leak"
    )
    min_weight: int = Field(default=1, ge=1)
    bin_ms: float = Field(default=10.0, ge=0.1)
    rate_tau_ms: float = Field(default=10.0, gt=0)
    rate_gain: float = Field(default=1.0, gt=0, description="Hz per mV of input")
    rate_max_hz: float = Field(default=200.0, gt=0)
    grid: dict[GridKey, list[float]] = Field(default_factory=dict)
    stimulus_sets: list[list[Stimulus]] | None = None
    ablate: list[Selector] | None = Field(
        default=None,
        min_length=1,
        description="neurons removed from the network (each selector: ids, type and/or "
        "class): all their chemical connections in and out and their gap junctions are "
        "gone and they get no input, so they stay at rest (rate 0; they keep their place "
        "in the outputs). The run also runs the intact network with the same seed and "
        "stimuli and reports, per readout neuron and readout group, the mean rate intact "
        "and ablated, the change and its 95% CI across trials (paired by trial: trial k "
        "of both runs gets the same Poisson input). A neuron may not be both stimulated "
        "and ablated. A LIF run needs at least 2 trials; the rate model is deterministic "
        "(its change is exact)",
    )
    ablate_sets: list[list[Selector]] | None = Field(
        default=None,
        min_length=1,
        description="several ablations, as a sweep axis: each set is one ablated "
        "condition, crossed with the stimulus sets and the grid, and each compared with "
        "the intact network of its grid point (run once per point); in place of ablate",
    )
    readout: list[Selector] | None = Field(
        default=None,
        min_length=1,
        description="the neurons an ablation's effect is reported for, each selector a "
        "group summarised by the mean change over its neurons; by default every neuron, "
        "grouped by class. Ablated neurons are left out of the readout",
    )

    @property
    def ablation_sets(self) -> list[list[Selector]]:
        """The ablations asked for, one list of selectors per ablated condition."""
        return self.ablate_sets or ([self.ablate] if self.ablate else [])

    @model_validator(mode="after")
    def _conditions(self) -> SimulateParams:
        if bool(self.stimuli) == bool(self.stimulus_sets):
            raise ValueError("give stimuli, or stimulus_sets for a sweep, not both")
        if self.stimulus_sets is not None and not all(self.stimulus_sets):
            raise ValueError("every stimulus set needs at least one stimulus")
        if any(not v for v in self.grid.values()):
            raise ValueError("every grid parameter needs at least one value")
        self._ablation()
        sizes = [len(self.stimulus_sets or [self.stimuli])] + [len(v) for v in self.grid.values()]
        if self.ablation_sets:  # each grid point runs intact and once per ablation
            sizes.append(len(self.ablation_sets) + 1)
        if math.prod(sizes) > MAX_CONDITIONS:
            raise ValueError(
                f"a sweep may have at most {MAX_CONDITIONS} conditions"
                + (
                    " (the intact network counts as one per grid point)"
                    if self.ablation_sets
                    else ""
                )
            )
        bounds = {
            "w_syn": (1e-12, MAX_MV),
            "drive_weight_mv": (1e-12, MAX_MV),
            "gap_coupling": (0.0, 100.0),
            "rate_hz": (1e-12, 1000.0),
            "amplitude_mv": (-200.0, 200.0),
        }
        for key, values in self.grid.items():
            low, high = bounds[key]
            for v in values:
                if not (math.isfinite(v) and low <= v <= high):
                    raise ValueError(f"grid {key}: {v} lies outside [{low:g}, {high:g}]")
        if (self.seconds * 1000 / self.bin_ms) > MAX_BINS:
            raise ValueError(f"at most {MAX_BINS} bins: make bin_ms larger")
        if self.model == "rate" and any(
            s.kind == "current" for group in self.stimulus_sets or [self.stimuli] for s in group
        ):
            raise ValueError("the rate model takes Poisson-rate stimuli only")
        return self

    def _ablation(self) -> None:
        """What can be refused before the network is read: the neurons themselves (by
        type or class, or ids that do not exist) are checked by the job."""
        if self.ablate is not None and self.ablate_sets is not None:
            raise ValueError("give ablate, or ablate_sets for a sweep, not both")
        if self.ablate_sets is not None and not all(self.ablate_sets):
            raise ValueError("every ablation set needs at least one selector")
        if not self.ablation_sets:
            if self.readout is not None:
                raise ValueError("readout is read only with ablate or ablate_sets")
            return
        if self.model == "lif" and self.trials < 2:
            raise ValueError("an ablation's confidence interval needs at least 2 trials")
        # ids alone select exactly those neurons; overlaps through type or class are
        # found by the job
        stimulated = {
            i
            for group in self.stimulus_sets or [self.stimuli]
            for s in group
            if s.type is None and s.cell_class is None
            for i in s.ids or []
        }
        for group in self.ablation_sets:
            ablated = {
                i for s in group if s.type is None and s.cell_class is None for i in s.ids or []
            }
            if both := sorted(stimulated & ablated):
                raise ValueError(
                    f"{', '.join(both)}: both stimulated and ablated (an ablated neuron "
                    "gets no input; leave it out of one of them)"
                )


class FitParams(Params):
    """Fit one gain per presynaptic group (``level``) so that the graded rate model's
    steady state, driven by ``stimuli``, matches the ``targets`` rates; the gains
    multiply the strength proxy of every connection from that group."""

    level: Literal["type", "class", "superclass"] = "class"
    targets: list[Target] = Field(min_length=1)
    stimuli: list[Stimulus] = Field(min_length=1)
    w_syn: float = Field(default=SHIU_2024["w_syn"], gt=0, le=MAX_MV)
    strength: Strength = "synapse_count"
    sign_rule: SignRule = "auto"
    min_weight: int = Field(default=1, ge=1)
    dt: float = Field(default=0.1, ge=0.01, le=1)
    rate_tau_ms: float = Field(default=10.0, gt=0)
    rate_gain: float = Field(default=1.0, gt=0, description="Hz per mV of input")
    rate_max_hz: float = Field(default=200.0, gt=0)
    iterations: int = Field(default=50, ge=1, le=1000)

    @model_validator(mode="after")
    def _poisson_only(self) -> FitParams:
        if any(s.kind != "poisson" for s in self.stimuli):
            raise ValueError("the rate model takes Poisson-rate stimuli only")
        return self
