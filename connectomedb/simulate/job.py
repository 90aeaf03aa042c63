"""The ``simulate`` job kind: the stored connectome as a LIF network (synapse counts as
strengths, signs from the presynaptic neurotransmitter), driven by Poisson input to
chosen neurons, several trials as one batch. Per-neuron rates go to the ModelRun's
outputs, the population rate to its metrics, the spike trains to an npz artifact."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from connectomedb.analytics.pull import pull_graph
from connectomedb.errors import BadInput
from connectomedb.simulate.engine import SHIU_2024, Drive, LIFParams, simulate, weight_matrix
from connectomedb.store.jobs import Output, RunResult
from connectomedb.workers.kinds import Params

if TYPE_CHECKING:
    from connectomedb.workers.worker import JobContext

#: transmitter -> sign of its synapses, per rule. The first transmitter listed for a
#: neuron decides; unknown transmitters are excitatory (+1), and say so in the metrics.
SIGN_RULES: Final = {
    # Shiu et al. 2024: acetylcholine excites; GABA and glutamate (GluCl) inhibit
    "drosophila": {"acetylcholine": 1, "gaba": -1, "glutamate": -1},
    # C. elegans: GABA inhibits; glutamate and acetylcholine are taken as excitatory
    "celegans": {"acetylcholine": 1, "gaba": -1, "glutamate": 1},
    "all_excitatory": {},
}


class Stimulus(BaseModel):
    """Poisson input at ``rate_hz`` to the neurons selected by ids, type and/or class."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    ids: list[str] | None = None
    type: str | None = None
    cell_class: str | None = Field(default=None, alias="class")
    rate_hz: float = Field(default=150.0, gt=0, le=1000)


class SimulateParams(Params):
    model: Literal["lif", "rate"] = "lif"
    seconds: float = Field(default=1.0, gt=0, le=10)
    dt: float = Field(default=0.1, gt=0, le=1)
    trials: int = Field(default=1, ge=1, le=64)
    seed: int = 0
    stimuli: list[Stimulus] = Field(min_length=1)
    drive_weight_mv: float = Field(default=250 * SHIU_2024["w_syn"], gt=0)
    w_syn: float = Field(default=SHIU_2024["w_syn"], gt=0)
    sign_rule: Literal["auto", "drosophila", "celegans", "all_excitatory"] = "auto"
    min_weight: int = Field(default=1, ge=1)
    bin_ms: float = Field(default=10.0, gt=0)
    rate_tau_ms: float = Field(default=10.0, gt=0)
    rate_gain: float = Field(default=1.0, gt=0, description="Hz per mV of input")
    rate_max_hz: float = Field(default=200.0, gt=0)


def sign_of(transmitters: list[str | None], rule: str) -> np.ndarray:
    table = SIGN_RULES[rule]
    out = np.ones(len(transmitters))
    for i, t in enumerate(transmitters):
        if t:
            out[i] = table.get(t.split(",")[0].strip().lower(), 1)
    return out


def _rule(ctx: JobContext, asked: str) -> str:
    if asked != "auto":
        return asked
    recs = ctx.read("MATCH (d:Dataset {id: $dataset}) RETURN d.species AS species")
    species = (recs[0]["species"] or "").lower() if recs else ""
    if "drosophila" in species:
        return "drosophila"
    if "elegans" in species:
        return "celegans"
    return "all_excitatory"


def run(ctx: JobContext, p: SimulateParams) -> RunResult:
    g = pull_graph(ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight)
    ctx.progress(0.05, f"pulled {g.n} neurons, {g.m} connections")
    rule = _rule(ctx, p.sign_rule)
    sign = sign_of(g.props["neurotransmitter"], rule)
    index = {v: i for i, v in enumerate(g.ids)}
    rates = np.zeros(g.n)
    for s in p.stimuli:
        chosen = [
            i
            for i, nid in enumerate(g.ids)
            if (s.ids is None or nid in s.ids)
            and (s.type is None or g.props["type"][i] == s.type)
            and (s.cell_class is None or g.props["class"][i] == s.cell_class)
        ]
        missing = [x for x in (s.ids or []) if x not in index]
        if missing or not chosen:
            raise BadInput(f"stimulus {s.model_dump(by_alias=True)} selects no neuron {missing}")
        rates[chosen] = s.rate_hz
    lif = LIFParams(w_syn=p.w_syn, dt=p.dt)
    w = weight_matrix(g.n, g.pre, g.post, g.weight, sign, lif.w_syn)
    steps = int(round(p.seconds * 1000 / p.dt))
    if p.model == "rate":
        return _rate_run(p, g.ids, w, rates, steps, rule, sign)
    r = simulate(w, lif, steps, Drive(rates=rates, weight=p.drive_weight_mv), p.trials, p.seed)
    ctx.progress(0.9, "simulated")
    path = _save(ctx, r, g.ids)
    per_bin = max(1, int(round(p.bin_ms / p.dt)))
    bins = np.bincount(r.step // per_bin, minlength=(steps + per_bin - 1) // per_bin)
    population = bins / (g.n * p.trials * per_bin * p.dt / 1000.0)
    mean = r.rates.mean(axis=0)
    return RunResult(
        metrics={
            "model": "leaky integrate-and-fire (Shiu et al. 2024 parameters), exact "
            "integration, synapse counts as strengths",
            "neurons": g.n,
            "connections": g.m,
            "sign_rule": rule,
            "inhibitory_neurons": int((sign < 0).sum()),
            "driven_neurons": int((rates > 0).sum()),
            "seconds": p.seconds,
            "trials": p.trials,
            "mean_rate_hz": float(mean.mean()),
            "trial_mean_rate_hz": [float(x) for x in r.rates.mean(axis=1)],
            "population_rate_hz": [float(x) for x in population],
            "bin_ms": per_bin * p.dt,
            "spikes": int(r.step.size),
            "artifact": str(path),
        },
        outputs=[Output(nid, score=float(mean[i])) for i, nid in enumerate(g.ids)],
        seed=p.seed,
    )


def _rate_run(
    p: SimulateParams,
    ids: list[str],
    w: Any,
    rates: np.ndarray,
    steps: int,
    rule: str,
    sign: np.ndarray,
) -> RunResult:
    """The graded rate model: stimulus rates (Hz) as the input, the same signed weights
    (mV per spike) times ``rate_gain`` (Hz per mV); deterministic, so one trial."""
    from connectomedb.simulate.rate import RateParams, simulate_rates

    rp = RateParams(tau=p.rate_tau_ms, dt=p.dt, gain=p.rate_gain, r_max=p.rate_max_hz)
    out = simulate_rates(w, rp, steps, rates)
    per_bin = max(1, int(round(p.bin_ms / p.dt)))
    population = out.population[0][per_bin - 1 :: per_bin]
    final = out.rates[0]
    return RunResult(
        metrics={
            "model": "graded rate model, tau dr/dt = -r + clip(gain (W r + input), 0, r_max)",
            "neurons": len(ids),
            "sign_rule": rule,
            "inhibitory_neurons": int((sign < 0).sum()),
            "driven_neurons": int((rates > 0).sum()),
            "seconds": p.seconds,
            "mean_rate_hz": float(final.mean()),
            "population_rate_hz": [float(x) for x in population],
            "bin_ms": per_bin * p.dt,
        },
        outputs=[Output(nid, score=float(final[i])) for i, nid in enumerate(ids)],
        seed=p.seed,
    )


def _save(ctx: JobContext, r: Any, ids: list[str]) -> Path:
    """Spike trains as npz: trial, step, neuron (index into neuron_ids), dt in ms."""
    folder = ctx.artifacts / "simulate"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ctx.job['id']}-{ctx.job['attempts']}.npz"
    np.savez_compressed(
        path,
        trial=r.trial.astype(np.int32),
        step=r.step.astype(np.int32),
        neuron=r.neuron.astype(np.int32),
        neuron_ids=np.array(ids),
        dt=np.array(r.dt),
    )
    return path
