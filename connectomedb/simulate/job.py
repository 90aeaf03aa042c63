"""The ``simulate`` job kind: the stored connectome as a LIF network (synapse counts or
PSD areas as strengths, signs from the presynaptic neurotransmitter, gap junctions as
electrical couplings), driven by Poisson input or step currents to chosen neurons,
several trials as one batch, and optionally a sweep over a grid of parameters,
stimulated sets and ablations. Per-neuron rates go to the ModelRun's outputs, population
rates and a summary per condition to its metrics, spike trains and raster / rate plots
to files the metrics name.

An ablation removes neurons from the network (their chemical connections in and out,
their gap junctions) and is compared with the intact network run with the same seed and
stimuli. The engine draws the Poisson input from its own generator, apart from the
network's state, so trial k of the intact and of the ablated network receive the same
input spikes: the change is paired by trial (a t interval and a paired t-test over the
trials). The rate model is deterministic: its change is exact."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from connectomedb.errors import BadInput
from connectomedb.jobs.contract import JobContext, Output, RunResult, run_folder, whole_folder
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
    CONFIDENCE,
    F_POI,
    SHIU_2024,
    SIGN_RULES,
    STRENGTH_PROPERTY,
    FitParams,
    Selector,
    SimulateParams,
    Stimulus,
    Target,
)
from connectomedb.store.datasets import DatasetRepository
from connectomedb.store.graph import Graph, read_gap_junctions, read_graph
from connectomedb.store.runs import run_scores

#: at most this many rows per list in the metrics (ablated ids, readout neurons)
MAX_ROWS = 1000


@dataclass(frozen=True)
class Condition:
    """One point of a sweep: the stimuli (rate and amplitude overrides applied), the
    network parameters it runs with, and the ablation set it removes (an index into
    ``SimulateParams.ablation_sets``; None: the intact network)."""

    name: str
    stimuli: list[Stimulus]
    w_syn: float
    drive_weight_mv: float
    gap_coupling: float
    values: dict[str, float]
    ablation: int | None = None


def conditions(p: SimulateParams) -> list[Condition]:
    """Every stimulus set crossed with every grid point, in order (sets outermost); with
    ablations, each point runs the intact network and then each ablation set."""
    sets = p.stimulus_sets or [p.stimuli]
    keys = list(p.grid)
    many = len(p.ablation_sets) > 1
    ablations: list[int | None] = [None, *range(len(p.ablation_sets))]
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
            for a in ablations:
                state = []
                if p.ablation_sets:
                    state = ["intact" if a is None else f"ablation {a + 1}" if many else "ablated"]
                out.append(
                    Condition(
                        ", ".join(parts + state) or "baseline",
                        changed,
                        values.get("w_syn", p.w_syn),
                        _drive_weight(values, p),
                        values.get("gap_coupling", p.gap_coupling),
                        values,
                        a,
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


def sign_rule(ctx: JobContext, asked: str) -> str:
    """The sign rule asked for, or with ``auto`` the one of the dataset's species."""
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


def _select(g: Graph, s: Stimulus | Target | Selector, what: str = "stimulus") -> list[int]:
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
            f"{what} {s.model_dump(by_alias=True, exclude_none=True)} selects no neuron"
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


ABLATION_ORDER = "; with ablations each point runs the intact network first, then each ablation set"


@dataclass(frozen=True)
class Change:
    """An ablation's effect per column of (trials, k) rates: the mean rate (Hz) intact
    and ablated, the mean change (ablated - intact), its confidence interval and the
    p-value of no change."""

    intact: np.ndarray
    ablated: np.ndarray
    change: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray

    def row(self, k: int) -> dict[str, float | None]:
        return {
            "intact_hz": float(self.intact[k]),
            "ablated_hz": float(self.ablated[k]),
            "change_hz": float(self.change[k]),
            "ci_low_hz": float(self.low[k]),
            "ci_high_hz": float(self.high[k]),
            "p_value": None if math.isnan(self.p[k]) else float(self.p[k]),
        }


def paired_change(
    intact: np.ndarray, ablated: np.ndarray, confidence: float = CONFIDENCE
) -> Change:
    """The change of each column, trial by trial (trial k of one run against trial k of
    the other): its mean, the two-sided t interval of the mean and the paired t-test's
    p-value, over the trials as independent replicates. With one trial (the
    deterministic rate model) the interval is the change itself and the p-value nan;
    where every trial changes by the same amount the interval is that amount and p is
    1 for no change, 0 for any other.

    Shapes:
        intact, ablated: (trials, k); each field of the result: (k,).
    """
    from scipy import stats

    d = ablated - intact
    n = d.shape[0]
    mean = d.mean(axis=0)
    if n < 2:
        return Change(
            intact.mean(0),
            ablated.mean(0),
            mean,
            mean.copy(),
            mean.copy(),
            np.full_like(mean, np.nan),
        )
    se = d.std(axis=0, ddof=1) / math.sqrt(n)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * se
    flat = se == 0
    p = 2 * stats.t.sf(np.abs(mean / np.where(flat, 1.0, se)), n - 1)
    p = np.where(flat, np.where(mean == 0, 1.0, 0.0), p)
    return Change(intact.mean(0), ablated.mean(0), mean, mean - half, mean + half, p)


@dataclass(frozen=True)
class Ablation:
    """The ablations of a run: the neurons each set removes (a mask over the network),
    the readout neurons and their groups ("all readout" first)."""

    sets: list[list[Selector]]
    removed: list[np.ndarray]
    readout: np.ndarray
    groups: list[tuple[str, np.ndarray]]

    def removed_by(self, c: Condition) -> np.ndarray | None:
        return None if c.ablation is None else self.removed[c.ablation]

    def check_unstimulated(
        self, g: Graph, conds: list[Condition], drives: list[tuple[Drive, np.ndarray, np.ndarray]]
    ) -> None:
        """Refuse a neuron both stimulated and ablated: dropping its input would change
        the stimulus (and the Poisson draws, which pair the trials)."""
        for c, (_, poisson, current) in zip(conds, drives, strict=True):
            removed = self.removed_by(c)
            if removed is None:
                continue
            both = np.flatnonzero(removed & (poisson | current))
            if both.size:
                raise BadInput(
                    f"{c.name}: {', '.join(g.ids[i] for i in both[:10])}"
                    + (f" and {both.size - 10} more" if both.size > 10 else "")
                    + " both stimulated and ablated (an ablated neuron gets no input; "
                    "leave it out of one of them)"
                )

    def summary(self, c: Condition) -> dict[str, Any]:
        removed = self.removed_by(c)
        return {
            "ablation": None if c.ablation is None else c.ablation + 1,
            "ablated_neurons": 0 if removed is None else int(removed.sum()),
        }

    def compare(
        self, g: Graph, p: SimulateParams, conds: list[Condition], rates: list[np.ndarray]
    ) -> tuple[dict[str, Any], list[tuple[str, list[str], Change]]]:
        """Each ablated condition against the intact one of its point: the metrics, and
        per comparison (title, readout ids, change per readout neuron) for the files.
        ``rates``: (trials, n) per condition. Ablated neurons leave the readout."""
        paired = p.model == "lif"
        comparisons: list[dict[str, Any]] = []
        table: list[tuple[str, list[str], Change]] = []
        base = 0
        for i, c in enumerate(conds):
            if c.ablation is None:
                base = i  # the intact network of this point comes before its ablations
                continue
            removed = self.removed[c.ablation]
            keep = self.readout[~removed[self.readout]]
            per = paired_change(rates[base][:, keep], rates[i][:, keep])
            groups: list[dict[str, Any]] = []
            for label, idx in self.groups:
                left = idx[~removed[idx]]
                if not left.size:
                    groups.append({"group": label, "neurons": 0})
                    continue
                mean = paired_change(
                    rates[base][:, left].mean(axis=1, keepdims=True),
                    rates[i][:, left].mean(axis=1, keepdims=True),
                )
                groups.append({"group": label, "neurons": int(left.size), **mean.row(0)})
            ids = [g.ids[k] for k in keep]
            order = sorted(range(keep.size), key=lambda k: (-abs(per.change[k]), ids[k]))
            gone = np.flatnonzero(removed)
            plot = f"ablation-{len(comparisons)}.png"
            comparisons.append(
                {
                    "condition": c.name,
                    "intact": conds[base].name,
                    "condition_index": i,
                    "intact_index": base,
                    "ablate": [
                        s.model_dump(by_alias=True, exclude_none=True)
                        for s in self.sets[c.ablation]
                    ],
                    "ablated_neurons": int(gone.size),
                    "ablated_ids": sorted(g.ids[k] for k in gone)[:MAX_ROWS],
                    "readout_neurons": int(keep.size),
                    "groups": groups,
                    # the most changed first, at most MAX_ROWS; all in ablation.csv
                    "neurons": [{"id": ids[k], **per.row(k)} for k in order[:MAX_ROWS]],
                    "plot": plot,
                }
            )
            what = "; ".join(x.label() for x in self.sets[c.ablation])
            table.append((f"{g.dataset}: {c.name} (ablated {what})", ids, per))
        metrics = {
            "pairing": "paired by trial" if paired else "deterministic",
            "test": (
                f"trial k of the intact and the ablated network get the same Poisson input "
                f"(seed {p.seed}, drawn apart from the network), so the change is taken "
                f"trial by trial: mean change over {p.trials} trials, its "
                f"{CONFIDENCE:.0%} t interval and a paired t-test (two-sided)"
                if paired
                else "none: the rate model is deterministic, so the change is exact (its "
                "interval is the change itself, no p-value)"
            ),
            "confidence": CONFIDENCE,
            "trials": p.trials if paired else 1,
            "readout": (
                "every neuron, grouped by class"
                if p.readout is None
                else [s.model_dump(by_alias=True, exclude_none=True) for s in p.readout]
            ),
            "readout_neurons": int(self.readout.size),
            "ablated_neurons": "rate 0, left out of the readout",
            "comparisons": comparisons,
            "table": "ablation.csv",
        }
        return metrics, table


def _ablation(g: Graph, p: SimulateParams) -> Ablation | None:
    """The masks of the ablation sets and the readout groups; every selector must
    select a neuron."""
    if not p.ablation_sets:
        return None
    removed = []
    for group in p.ablation_sets:
        mask = np.zeros(g.n, dtype=bool)
        for s in group:
            mask[_select(g, s, "ablate")] = True
        removed.append(mask)
    if p.readout is None:
        readout = np.arange(g.n)
        labels = np.array(
            [v if v is not None else "(none)" for v in g.props["class"]], dtype=object
        )
        groups = [(f"class={v}", np.flatnonzero(labels == v)) for v in sorted(set(labels))]
    else:
        chosen = [np.asarray(_select(g, s, "readout"), dtype=np.int64) for s in p.readout]
        readout = np.unique(np.concatenate(chosen))
        groups = [(s.label(), idx) for s, idx in zip(p.readout, chosen, strict=True)]
    return Ablation(p.ablation_sets, removed, readout, [("all readout", readout), *groups])


def _kept(
    a: np.ndarray, b: np.ndarray, values: np.ndarray, removed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The connections (or gap-junction pairs) a -> b that touch no removed neuron."""
    if removed is None:
        return a, b, values
    keep = ~(removed[a] | removed[b])
    return a[keep], b[keep], values[keep]


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
    rule = sign_rule(ctx, p.sign_rule)
    sign = sign_of(g.props["neurotransmitter"], rule)
    steps = int(round(p.seconds * 1000 / p.dt))
    conds = conditions(p)
    # every condition's drive, built (and so every selection checked) before anything runs
    drives = [_drive(g, c, p, steps) for c in conds]
    ablation = _ablation(g, p)
    if ablation is not None:
        ablation.check_unstimulated(g, conds, drives)
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
        return _rate_run(ctx, p, g, sign, steps, conds, drives, common, ablation)
    folder = run_folder(ctx, "simulate")
    per_bin = max(1, int(round(p.bin_ms / p.dt)))
    nbins = (steps + per_bin - 1) // per_bin
    synapses: dict[tuple[float, int | None], Synapses] = {}
    results: list[SimResult] = []
    summaries: list[dict[str, Any]] = []
    last = [0.0]
    for ci, c in enumerate(conds):
        removed = None if ablation is None else ablation.removed_by(c)
        if (c.w_syn, c.ablation) not in synapses:
            synapses.clear()  # one weight matrix at a time
            pre, post, strength = _kept(g.pre, g.post, g.weight, removed)
            synapses[c.w_syn, c.ablation] = Synapses(
                weight_matrix(g.n, pre, post, strength, sign, c.w_syn)
            )
        drive, poisson, current = drives[ci]
        gaps = None
        if c.gap_coupling > 0 and gap_pairs[0].size:
            a, b, count = _kept(gap_pairs[0], gap_pairs[1], gap_pairs[2], removed)
            if a.size:
                gaps = GapJunctions(a, b, count * c.gap_coupling)

        def progress(done: int, ci: int = ci, c: Condition = c) -> None:
            frac = 0.05 + 0.85 * (ci + done / steps) / len(conds)
            if frac - last[0] >= 0.01 or done == steps:
                last[0] = frac
                ctx.progress(frac, f"{c.name}: {done} of {steps} steps")

        r = simulate(
            synapses[c.w_syn, c.ablation],
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
                **({} if ablation is None else ablation.summary(c)),
            }
        )
    ctx.progress(0.92, "writing spike trains and plots")
    compared = (
        None if ablation is None else ablation.compare(g, p, conds, [r.rates for r in results])
    )

    def write(tmp: Path) -> list[str]:
        files = _write(tmp, g, results, summaries, per_bin * p.dt)
        return files + (_write_ablation(tmp, *compared) if compared else [])

    files = whole_folder(folder, write)
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
        )
        + ("" if ablation is None else ABLATION_ORDER),
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
        **({} if compared is None else {"ablation": compared[0]}),
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


def _write_ablation(
    folder: Path, metrics: dict[str, Any], table: list[tuple[str, list[str], Change]]
) -> list[str]:
    """Per comparison a plot of the change per readout neuron with its interval, and
    every comparison's readout neurons in one CSV. Returns the file names."""
    from connectomedb.simulate.plots import ablation_png

    files = []
    with (folder / "ablation.csv").open("w", newline="") as f:
        out = csv.writer(f)
        fields = ["intact_hz", "ablated_hz", "change_hz", "ci_low_hz", "ci_high_hz", "p_value"]
        out.writerow(["condition", "intact", "neuron", *fields])
        for c, (_, ids, per) in zip(metrics["comparisons"], table, strict=True):
            for k, nid in enumerate(ids):
                row = per.row(k)
                out.writerow(
                    [
                        c["condition"],
                        c["intact"],
                        nid,
                        *("" if row[x] is None else row[x] for x in fields),
                    ]
                )
    files.append("ablation.csv")
    label = f"{metrics['confidence']:.0%} CI, {metrics['pairing']}"
    for c, (title, ids, per) in zip(metrics["comparisons"], table, strict=True):
        ablation_png(folder / c["plot"], ids, per.change, per.low, per.high, title, label)
        files.append(c["plot"])
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
    ablation: Ablation | None,
) -> RunResult:
    """The graded rate model: stimulus rates (Hz) as the input, the same signed weights
    (mV per spike) times ``rate_gain`` (Hz per mV); deterministic, so one trial. Only an
    ablation writes files (its plots and table)."""
    from connectomedb.simulate.rate import RateParams, simulate_rates

    rp = RateParams(tau=p.rate_tau_ms, dt=p.dt, gain=p.rate_gain, r_max=p.rate_max_hz)
    per_bin = max(1, int(round(p.bin_ms / p.dt)))
    finals, summaries = [], []
    for ci, c in enumerate(conds):
        pre, post, strength = _kept(
            g.pre, g.post, g.weight, None if ablation is None else ablation.removed_by(c)
        )
        w = weight_matrix(g.n, pre, post, strength, sign, c.w_syn)
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
                **({} if ablation is None else ablation.summary(c)),
            }
        )
    sweep = len(conds) > 1
    extra: dict[str, Any] = {}
    if ablation is not None:
        compared = ablation.compare(g, p, conds, [f[None, :] for f in finals])
        folder = run_folder(ctx, "simulate")
        files = whole_folder(folder, lambda tmp: _write_ablation(tmp, *compared))
        extra = {"ablation": compared[0], "artifact_dir": str(folder), "files": files}
    return RunResult(
        metrics={
            "model": "graded rate model, tau dr/dt = -r + clip(gain (W r + input), 0, r_max)"
            + (f", strengths times the gains of fit run {p.strength_run}" if p.strength_run else "")
            + "; gap junctions are not part of this model",
            **common,
            "bin_ms": per_bin * p.dt,
            "outputs": "score: rate (Hz) at the end"
            + (" in the first condition; vector: per condition" if sweep else "")
            + ("" if ablation is None else ABLATION_ORDER),
            **{
                k: summaries[0][k] for k in ("driven_neurons", "mean_rate_hz", "population_rate_hz")
            },
            "conditions": summaries,
            **extra,
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
    rule = sign_rule(ctx, p.sign_rule)
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
