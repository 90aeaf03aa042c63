"""The ``simulate`` job kind: the stored connectome as a LIF network (synapse counts or
PSD areas as strengths, signs from the presynaptic neurotransmitter, gap junctions as
electrical couplings), driven by Poisson input or step currents to chosen neurons,
several trials as one batch, and optionally a sweep over a grid of parameters and
stimulated sets. Per-neuron rates go to the ModelRun's outputs, population rates and a
summary per condition to its metrics, spike trains and raster / rate plots to files
the metrics name."""

from __future__ import annotations

import dataclasses
import itertools
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from connectomedb.errors import BadInput
from connectomedb.jobs.contract import JobContext, Output, RunResult
from connectomedb.simulate.engine import (
    Drive,
    GapJunctions,
    LIFParams,
    SimResult,
    Synapses,
    simulate,
    weight_matrix,
)
from connectomedb.simulate.params import (
    F_POI,
    SHIU_2024,
    SIGN_RULES,
    STRENGTH_PROPERTY,
    FitParams,
    SimulateParams,
    Stimulus,
    Target,
)
from connectomedb.store.datasets import DatasetRepository
from connectomedb.store.graph import Graph, read_gap_junctions, read_graph
from connectomedb.store.runs import run_scores


@dataclass(frozen=True)
class Condition:
    """One point of a sweep: the stimuli (rate and amplitude overrides applied) and the
    network parameters it runs with."""

    name: str
    stimuli: list[Stimulus]
    w_syn: float
    drive_weight_mv: float
    gap_coupling: float
    values: dict[str, float]


def conditions(p: SimulateParams) -> list[Condition]:
    """Every stimulus set crossed with every grid point, in order (sets outermost)."""
    sets = p.stimulus_sets or [p.stimuli]
    keys = list(p.grid)
    out = []
    for si, stimuli in enumerate(sets):
        for combo in itertools.product(*(p.grid[k] for k in keys)):
            values: dict[str, float] = dict(zip(keys, combo, strict=True))
            changed = [
                s.model_copy(
                    update={
                        k: values[k]
                        for k in ("rate_hz", "amplitude_mv")
                        if k in values and (s.kind == "poisson") == (k == "rate_hz")
                    }
                )
                for s in stimuli
            ]
            parts = ([f"set {si + 1}"] if len(sets) > 1 else []) + [
                f"{k}={v:g}" for k, v in values.items()
            ]
            out.append(
                Condition(
                    ", ".join(parts) or "baseline",
                    changed,
                    values.get("w_syn", p.w_syn),
                    _drive_weight(values, p),
                    values.get("gap_coupling", p.gap_coupling),
                    values,
                )
            )
    return out


def _drive_weight(values: dict[str, float], p: SimulateParams) -> float:
    """The Poisson weight of a condition: the grid's, the run's, or f_poi x its w_syn."""
    if "drive_weight_mv" in values:
        return values["drive_weight_mv"]
    if p.drive_weight_mv is not None:
        return p.drive_weight_mv
    return F_POI * values.get("w_syn", p.w_syn)


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
    species = DatasetRepository(ctx.driver, ctx.database).get(ctx.dataset).species.lower()
    if "drosophila" in species:
        return "drosophila"
    if "elegans" in species:
        return "celegans"
    return "all_excitatory"


def _with_gains(ctx: JobContext, g: Graph, run_id: str, strength: str) -> Graph:
    """The graph with each connection's strength times its presynaptic neuron's gain
    from a fit_strengths run."""
    run = run_scores(ctx.driver, ctx.database, ctx.dataset, run_id)
    return apply_gains(g, fitted_gains(run, run_id, strength))


def fitted_gains(
    run: tuple[str, dict[str, Any], dict[str, float | None]] | None, run_id: str, strength: str
) -> dict[str, float | None]:
    """The gain per neuron id of a fit_strengths run read with
    :func:`~connectomedb.store.runs.run_scores`, refused unless it fitted ``strength``."""
    if run is None:
        raise BadInput(f"strength_run: no model run {run_id!r} in this dataset")
    kind, params, gain = run
    if kind != "fit_strengths":
        raise BadInput(f"strength_run: {run_id!r} is a {kind} run, not fit_strengths")
    fitted_on = params.get("strength", "synapse_count")
    if fitted_on != strength:
        raise BadInput(
            f"strength_run: {run_id!r} fitted gains on {fitted_on}, this run uses {strength}"
        )
    return gain


def apply_gains(g: Graph, gain: dict[str, float | None]) -> Graph:
    """Each connection's weight times its presynaptic neuron's gain (neurons without a
    gain keep 1; a gain of 0 silences them)."""
    scale = np.array([1.0 if (v := gain.get(nid)) is None else float(v) for nid in g.ids])
    return dataclasses.replace(g, weight=g.weight * scale[g.pre])


def _select(g: Graph, s: Stimulus | Target) -> list[int]:
    index = {v: i for i, v in enumerate(g.ids)}
    missing = [x for x in (s.ids or []) if x not in index]
    wanted = set(s.ids) if s.ids is not None else None
    chosen = [
        i
        for i, nid in enumerate(g.ids)
        if (wanted is None or nid in wanted)
        and (s.type is None or g.props["type"][i] == s.type)
        and (s.cell_class is None or g.props["class"][i] == s.cell_class)
    ]
    if missing or not chosen:
        raise BadInput(
            f"stimulus {s.model_dump(by_alias=True, exclude_none=True)} selects no neuron"
            + (f" (unknown ids: {', '.join(missing)})" if missing else "")
        )
    return chosen


def _drive(
    g: Graph, c: Condition, p: SimulateParams, steps: int
) -> tuple[Drive, np.ndarray, np.ndarray]:
    """The condition's drive, and which neurons get Poisson input and which a current.
    Poisson rates: a later stimulus overrides an earlier one for the same neuron;
    currents add up."""
    rates = np.zeros(g.n)
    cur: list[tuple[np.ndarray, float, int, int]] = []
    for s in c.stimuli:
        chosen = np.asarray(_select(g, s), dtype=np.int64)
        if s.kind == "poisson":
            rates[chosen] = s.rate_hz
        else:
            first = int(round(s.start_ms / p.dt))
            if first >= steps:
                raise BadInput(f"a current stimulus starts at {s.start_ms} ms, after the run ends")
            end = steps if s.end_ms is None else min(int(round(s.end_ms / p.dt)), steps)
            cur.append((chosen, float(s.amplitude_mv or 0.0), first, end))
    currents = None
    on = np.zeros(g.n, dtype=bool)
    if cur:
        nrn = np.concatenate([x[0] for x in cur])
        on[nrn] = True
        currents = (
            nrn,
            np.concatenate([np.full(x[0].size, x[1]) for x in cur]),
            np.concatenate([np.full(x[0].size, x[2]) for x in cur]),
            np.concatenate([np.full(x[0].size, x[3]) for x in cur]),
        )
    drive = Drive(
        rates=rates,
        weight=c.drive_weight_mv,
        currents=currents,
        target=p.input_target,
        refractory_driven=p.refractory_driven,
    )
    return drive, rates > 0, on


def _pull(ctx: JobContext, min_weight: int, strength: str) -> Graph:
    """The dataset with the chosen strength proxy as each connection's weight."""
    g = read_graph(
        ctx.driver,
        ctx.database,
        ctx.dataset,
        min_weight=min_weight,
        strength=STRENGTH_PROPERTY[strength],
    )
    if strength == "psd_area" and (missing := int((g.weight < 0).sum())):
        raise BadInput(
            f"strength psd_area: {missing} of {g.m} connections have no PSD area "
            "(psd_area_total) in this dataset"
        )
    return g


def run(ctx: JobContext, p: SimulateParams) -> RunResult:
    g = _pull(ctx, p.min_weight, p.strength)
    if p.strength_run is not None:
        g = _with_gains(ctx, g, p.strength_run, p.strength)
    gap_pairs = (
        read_gap_junctions(ctx.driver, ctx.database, g)
        if p.model == "lif"
        else (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    )
    ctx.progress(0.05, f"pulled {g.n} neurons, {g.m} connections, {gap_pairs[0].size} gap pairs")
    rule = _rule(ctx, p.sign_rule)
    sign = sign_of(g.props["neurotransmitter"], rule)
    steps = int(round(p.seconds * 1000 / p.dt))
    conds = conditions(p)
    # every condition's drive, built (and so every selection checked) before anything runs
    drives = [_drive(g, c, p, steps) for c in conds]
    common = {
        "neurons": g.n,
        "connections": g.m,
        "strength": p.strength,
        "strength_run": p.strength_run,
        "sign_rule": rule,
        "inhibitory_neurons": int((sign < 0).sum()),
        "seconds": p.seconds,
        "dt": p.dt,
    }
    if p.model == "rate":
        return _rate_run(ctx, p, g, sign, steps, conds, drives, common)
    folder = (ctx.artifacts / "simulate" / f"{ctx.job['id']}-{ctx.job['attempts']}").resolve()
    per_bin = max(1, int(round(p.bin_ms / p.dt)))
    nbins = (steps + per_bin - 1) // per_bin
    synapses: dict[float, Synapses] = {}
    results: list[SimResult] = []
    summaries: list[dict[str, Any]] = []
    last = [0.0]
    for ci, c in enumerate(conds):
        if c.w_syn not in synapses:
            synapses.clear()  # one weight matrix at a time
            synapses[c.w_syn] = Synapses(weight_matrix(g.n, g.pre, g.post, g.weight, sign, c.w_syn))
        drive, poisson, current = drives[ci]
        gaps = None
        if c.gap_coupling > 0 and gap_pairs[0].size:
            gaps = GapJunctions(gap_pairs[0], gap_pairs[1], gap_pairs[2] * c.gap_coupling)

        def progress(done: int, ci: int = ci, c: Condition = c) -> None:
            frac = 0.05 + 0.85 * (ci + done / steps) / len(conds)
            if frac - last[0] >= 0.01 or done == steps:
                last[0] = frac
                ctx.progress(frac, f"{c.name}: {done} of {steps} steps")

        r = simulate(
            synapses[c.w_syn],
            LIFParams(w_syn=c.w_syn, dt=p.dt),
            steps,
            drive,
            p.trials,
            p.seed,
            progress=progress,
            gaps=gaps,
        )
        results.append(r)
        bins = np.zeros((p.trials, nbins))
        np.add.at(bins, (r.trial, r.step // per_bin), 1)
        width = np.minimum(per_bin, steps - np.arange(nbins) * per_bin)  # the last may be short
        per_trial = bins / (g.n * width * p.dt / 1000.0)
        summaries.append(
            {
                "name": c.name,
                **c.values,
                "w_syn": c.w_syn,
                "drive_weight_mv": c.drive_weight_mv,
                "gap_coupling": c.gap_coupling if gaps is not None else 0.0,
                "stimuli": [s.model_dump(by_alias=True, exclude_none=True) for s in c.stimuli],
                "driven_neurons": int(poisson.sum()),
                "current_neurons": int(current.sum()),
                "mean_rate_hz": float(r.rates.mean()),
                "trial_mean_rate_hz": [float(x) for x in r.rates.mean(axis=1)],
                "population_rate_hz": [float(x) for x in per_trial.mean(axis=0)],
                "spikes": int(r.step.size),
                "_per_trial": per_trial,
            }
        )
    ctx.progress(0.92, "writing spike trains and plots")
    files = _whole_folder(folder, lambda tmp: _write(tmp, g, results, summaries, per_bin * p.dt))
    for s in summaries:
        s.pop("_per_trial")
    first = summaries[0]
    sweep = len(conds) > 1
    gaps_used = bool(gap_pairs[0].size and any(c.gap_coupling > 0 for c in conds))
    departed = departures(p, conds, rule, gaps_used, drives)
    metrics = {
        "model": "leaky integrate-and-fire, Shiu et al. 2024's model (exact integration), "
        f"{p.strength.replace('_', ' ')} as strengths"
        + (f"; departures: {'; '.join(departed)}" if departed else ""),
        "input_target": p.input_target,
        "refractory_driven": p.refractory_driven,
        "departures_from_shiu2024": departed,
        **common,
        "gap_junction_pairs": int(gap_pairs[0].size),
        "trials": p.trials,
        "bin_ms": per_bin * p.dt,
        "outputs": (
            "score: mean rate (Hz) over trials in the first condition; vector: mean rate "
            "per condition, in the order of conditions"
            if sweep
            else "score: mean rate (Hz) over trials; vector: rate per trial"
        ),
        # the first (or only) condition's figures at the top level
        **{
            k: first[k]
            for k in (
                "driven_neurons",
                "current_neurons",
                "mean_rate_hz",
                "trial_mean_rate_hz",
                "population_rate_hz",
                "spikes",
            )
        },
        "conditions": summaries,
        "artifact": str(folder / "spikes.npz"),
        "artifact_dir": str(folder),
        "files": files,
    }
    means = np.stack([r.rates.mean(axis=0) for r in results])  # (conditions, n)
    outputs = [
        Output(
            nid,
            score=float(means[0, i]),
            vector=[float(x) for x in (means[:, i] if sweep else results[0].rates[:, i])],
        )
        for i, nid in enumerate(g.ids)
    ]
    return RunResult(metrics=metrics, outputs=outputs, seed=p.seed)


def departures(
    p: SimulateParams,
    conds: list[Condition],
    rule: str,
    gaps_used: bool,
    drives: list[tuple[Drive, np.ndarray, np.ndarray]],
) -> list[str]:
    """What a LIF run changes from Shiu et al.'s model (``model.py`` of
    philshiu/Drosophila_brain_model), in words; empty when it is their model."""
    out = []
    if p.input_target == "g":
        out.append("Poisson input jumps g, not v")
    if p.refractory_driven:
        out.append("neurons with Poisson input keep the refractory period (theirs have none)")
    if p.strength != "synapse_count":
        out.append(f"strengths are {p.strength.replace('_', ' ')}, not synapse counts")
    if p.strength_run:
        out.append(f"strengths times the gains fitted by run {p.strength_run}")
    if p.min_weight > 1:
        out.append(f"connections of fewer than {p.min_weight} synapses left out")
    if rule != "drosophila":
        out.append(f"signs by the {rule} rule, not acetylcholine + / GABA, glutamate -")
    if p.dt != 0.1:
        out.append(f"dt {p.dt:g} ms, not 0.1 ms")
    if any(c.w_syn != SHIU_2024["w_syn"] for c in conds):
        out.append(f"w_syn other than {SHIU_2024['w_syn']} mV")
    if any(not math.isclose(c.drive_weight_mv, F_POI * c.w_syn) for c in conds):
        out.append(f"a Poisson input weight other than {F_POI} x w_syn")
    if gaps_used:
        out.append("gap junctions as electrical couplings (not in their model)")
    if any(cur.any() for _, _, cur in drives):
        out.append("step currents (not in their model)")
    return out


def _whole_folder(folder: Path, write: Callable[[Path], list[str]]) -> list[str]:
    """``write`` into a partial folder, renamed to ``folder`` when complete, so that a
    failure leaves nothing half-written; returns what ``write`` returns."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        files = write(partial)
        shutil.rmtree(folder, ignore_errors=True)  # an earlier try of this attempt
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return files


def _write(
    folder: Path,
    g: Graph,
    results: list[SimResult],
    summaries: list[dict[str, Any]],
    bin_ms: float,
) -> list[str]:
    """Spike trains as one npz (condition, trial, step, neuron: an index into
    neuron_ids; dt in ms), and per condition a raster of trial 0 and the population
    rate. Returns the file names."""
    from connectomedb.simulate.plots import raster_png, rate_png

    np.savez_compressed(
        folder / "spikes.npz",
        condition=np.concatenate(
            [np.full(r.step.size, i, dtype=np.int32) for i, r in enumerate(results)]
        ),
        trial=np.concatenate([r.trial for r in results]).astype(np.int32),
        step=np.concatenate([r.step for r in results]).astype(np.int32),
        neuron=np.concatenate([r.neuron for r in results]).astype(np.int32),
        neuron_ids=np.array(g.ids),
        condition_names=np.array([s["name"] for s in summaries]),
        dt=np.array(results[0].dt),
    )
    files = ["spikes.npz"]
    for i, (r, s) in enumerate(zip(results, summaries, strict=True)):
        first = r.trial == 0
        raster_png(
            folder / f"raster-{i}.png",
            r.step[first],
            r.neuron[first],
            g.ids,
            r.dt,
            r.steps,
            f"{g.dataset}: {s['name']}, trial 0",
        )
        rate_png(folder / f"rate-{i}.png", s["_per_trial"], bin_ms, f"{g.dataset}: {s['name']}")
        files += [f"raster-{i}.png", f"rate-{i}.png"]
    return files


def _rate_run(
    ctx: JobContext,
    p: SimulateParams,
    g: Graph,
    sign: np.ndarray,
    steps: int,
    conds: list[Condition],
    drives: list[tuple[Drive, np.ndarray, np.ndarray]],
    common: dict[str, Any],
) -> RunResult:
    """The graded rate model: stimulus rates (Hz) as the input, the same signed weights
    (mV per spike) times ``rate_gain`` (Hz per mV); deterministic, so one trial."""
    from connectomedb.simulate.rate import RateParams, simulate_rates

    rp = RateParams(tau=p.rate_tau_ms, dt=p.dt, gain=p.rate_gain, r_max=p.rate_max_hz)
    per_bin = max(1, int(round(p.bin_ms / p.dt)))
    finals, summaries = [], []
    for ci, c in enumerate(conds):
        w = weight_matrix(g.n, g.pre, g.post, g.weight, sign, c.w_syn)
        drive, poisson, _ = drives[ci]
        assert drive.rates is not None
        out = simulate_rates(w, rp, steps, drive.rates)
        ctx.progress(0.05 + 0.9 * (ci + 1) / len(conds), c.name)
        finals.append(out.rates[0])
        summaries.append(
            {
                "name": c.name,
                **c.values,
                "w_syn": c.w_syn,
                "driven_neurons": int(poisson.sum()),
                "mean_rate_hz": float(out.rates[0].mean()),
                "population_rate_hz": [float(x) for x in out.population[0][per_bin - 1 :: per_bin]],
            }
        )
    sweep = len(conds) > 1
    return RunResult(
        metrics={
            "model": "graded rate model, tau dr/dt = -r + clip(gain (W r + input), 0, r_max)"
            + (f", strengths times the gains of fit run {p.strength_run}" if p.strength_run else "")
            + "; gap junctions are not part of this model",
            **common,
            "bin_ms": per_bin * p.dt,
            "outputs": "score: rate (Hz) at the end"
            + (" in the first condition; vector: per condition" if sweep else ""),
            **{
                k: summaries[0][k] for k in ("driven_neurons", "mean_rate_hz", "population_rate_hz")
            },
            "conditions": summaries,
        },
        outputs=[
            Output(
                nid,
                score=float(finals[0][i]),
                vector=[float(f[i]) for f in finals] if sweep else None,
            )
            for i, nid in enumerate(g.ids)
        ],
        seed=p.seed,
    )


def run_fit(ctx: JobContext, p: FitParams) -> RunResult:
    import scipy.sparse as sp

    from connectomedb.simulate.fit import fit_gains
    from connectomedb.simulate.rate import RateParams

    g = _pull(ctx, p.min_weight, p.strength)
    rule = _rule(ctx, p.sign_rule)
    sign = sign_of(g.props["neurotransmitter"], rule)
    x = np.zeros(g.n)
    for s in p.stimuli:
        x[_select(g, s)] = s.rate_hz
    observed = np.full(g.n, np.nan)
    for t in p.targets:
        observed[_select(g, t)] = t.rate_hz  # a later target overrides an earlier one
    target_idx = np.flatnonzero(~np.isnan(observed))
    labels = [v if v is not None else "(none)" for v in g.props[p.level]]
    group_names = sorted(set(labels))
    index = {v: i for i, v in enumerate(group_names)}
    groups = np.array([index[v] for v in labels], dtype=np.int64)
    w = sp.csr_matrix(
        (sign[g.pre] * p.w_syn * g.weight.astype(np.float64), (g.post, g.pre)), shape=(g.n, g.n)
    )
    rp = RateParams(tau=p.rate_tau_ms, dt=p.dt, gain=p.rate_gain, r_max=p.rate_max_hz)
    ctx.progress(0.1, f"fitting {len(group_names)} gains to {target_idx.size} rates")

    def progress(it: int, rms: float) -> None:
        ctx.progress(0.1 + 0.85 * it / p.iterations, f"iteration {it}: rms {rms:.4g} Hz")

    fit = fit_gains(
        w, groups, x, target_idx, observed[target_idx], rp, p.iterations, progress=progress
    )
    rows = [
        {"id": g.ids[i], "target_hz": float(observed[i]), "fitted_hz": float(fit.rates[i])}
        for i in target_idx[:1000]
    ]
    return RunResult(
        metrics={
            "model": "graded rate model at steady state, tau dr/dt = -r + clip(gain (W (s r) "
            "+ input), 0, r_max); s: one gain per presynaptic group, fitted by "
            "Levenberg-Marquardt; a gain scales the strength proxy, it is not a measured "
            "synaptic weight",
            "neurons": g.n,
            "connections": g.m,
            "strength": p.strength,
            "sign_rule": rule,
            "level": p.level,
            "targets": int(target_idx.size),
            "gains": {name: float(fit.gains[i]) for i, name in enumerate(group_names)},
            # pinned down by the targets / moved them but not pinned down (only some
            # combination of them is) / never moved an observed rate (gain 1)
            "identified": [n for i, n in enumerate(group_names) if fit.identified[i]],
            "not_identified": [
                n for i, n in enumerate(group_names) if fit.constrained[i] and not fit.identified[i]
            ],
            "unconstrained": [n for i, n in enumerate(group_names) if not fit.constrained[i]],
            "rms_hz": fit.rms,
            "fitted": rows,  # the first 1000 targets
        },
        outputs=[
            Output(nid, label=group_names[groups[i]], score=float(fit.gains[groups[i]]))
            for i, nid in enumerate(g.ids)
        ],
    )
