"""The ``fit_propagation`` kind: strengths of a linear propagation model on the stored
connectome fitted to a pairwise measurement set (stimulated neuron -> responder
amplitudes, such as Randi et al. 2023's signal propagation atlas), scored on stimulated
neurons held out of the fit and compared with the unfitted synapse-count model, shuffled
connectomes fitted the same way and a baseline without wiring
(:mod:`connectomedb.simulate.propagation`). No torch: any worker runs it."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from pydantic import Field

from connectomedb.errors import BadInput
from connectomedb.jobs.contract import (
    JobContext,
    Output,
    Params,
    RunResult,
    finite,
    run_folder,
    whole_folder,
)
from connectomedb.simulate.params import SIGN_RULES
from connectomedb.store.graph import Graph, read_gap_junctions, read_graph
from connectomedb.store.measurements import Pairs, read_pairs, ready_set

if TYPE_CHECKING:  # scipy is imported by the run, not by the API that validates params
    from connectomedb.simulate.propagation import CrossValidation, Wiring

#: the transmitter group of neurons whose first transmitter the sign rule does not name
OTHER: Final = "other or unknown"
#: at most this many points per panel of the scatter plot
MAX_POINTS: Final = 20_000

CAVEATS: Final = (
    "The response model is an assumption: the steady state of a linear rate model "
    "x = W S x + e_s, with no saturation, thresholds, dynamics, neuromodulation or "
    "extrasynaptic signalling, and one scale from model units to dF/F for every "
    "stimulated neuron.",
    "Strengths are proxies: synapse counts for chemical connections, counts for gap "
    "junctions, signs from the presynaptic neuron's first listed transmitter. The fitted "
    "gains are effective couplings of this model, not measured synaptic weights.",
    "W is normalised so that the Perron root of |W| is rho; gains are bounded by "
    "(1 - 0.01) / rho so that the steady state always exists. rho sets how far "
    "multi-synaptic paths reach and is fixed, not fitted.",
    "Folds are of stimulated neurons: a held-out neuron's responses to other stimulated "
    "neurons may still be in the training folds as a responder.",
    "Intervals over folds are t intervals of K values whose training sets overlap: they "
    "understate the uncertainty of a cross-validated estimate. The sign test over K "
    "folds cannot reach p < 0.05 with fewer than 6 folds.",
    "Mean squared error weighs the largest amplitudes most (the measurements have heavy "
    "tails); Spearman's correlation does not.",
    "A group gain is only constrained where the group's connections lie on paths from "
    "stimulated neurons to responders; the others stay 1 (see gains.constrained). Many "
    "gains (level type) can fit the training folds better and predict held-out neurons "
    "worse: compare the fitted model with the synapse-count model held out.",
)


class PropagationFitParams(Params):
    """Strengths of signal propagation on the connectome fitted to a pairwise measurement
    set and tested on stimulated neurons left out of the fit: a linear rate model
    (steady state of x = W S x + stimulus; W from synapse counts, signed by the
    presynaptic transmitter, plus gap junctions as symmetric couplings) with one gain per
    presynaptic group (``level``), a gap junction gain and optionally free signs per
    transmitter group, fitted by bounded least squares to the measured amplitudes. K-fold
    cross-validation over stimulated neurons compares the fit on held-out neurons with
    the unfitted synapse-count model, degree-preserving shuffled connectomes fitted the
    same way, and a no-wiring baseline (each responder's mean), with intervals over folds
    and paired tests."""

    measurements: str = Field(
        min_length=1, max_length=200, description="the pairwise measurement set's id"
    )
    level: Literal["type", "class", "superclass"] = "class"
    folds: int = Field(default=5, ge=2, le=50)
    shuffles: int = Field(default=3, ge=1, le=50, description="shuffled connectomes")
    strength: Literal["synapse_count"] = "synapse_count"
    gap_junctions: bool = True
    free_signs: bool = Field(
        default=False,
        description="fit a sign multiplier in [-1, 1] per transmitter group (the most "
        "common group keeps its rule sign)",
    )
    sign_rule: Literal["celegans", "drosophila", "all_excitatory"] = "celegans"
    intercept: bool = Field(
        default=True,
        description="read out a x + b (one global offset b beside the scale a) in place "
        "of a x, for every propagation model; without it the comparison with the "
        "no-wiring baseline (per-responder means) mostly measures the missing offset",
    )
    rho: float = Field(default=0.5, gt=0, lt=1, description="the Perron root of |W| at unit gains")
    only_significant: bool = Field(
        default=False, description="use only pairs whose response q-value is below max_q"
    )
    max_q: float = Field(default=0.05, gt=0, le=1)
    min_weight: int = Field(default=1, ge=1)
    seed: int = Field(default=0, ge=0)
    max_iterations: int = Field(
        default=100, ge=1, le=10_000, description="residual evaluations per fit"
    )


def rule_signs(transmitters: list[str | None], rule: str) -> tuple[np.ndarray, list[str]]:
    """Each neuron's sign by ``rule`` (its first listed transmitter decides; unknown ones
    excite) and its transmitter group: that transmitter where the rule names it, else
    :data:`OTHER`."""
    table = SIGN_RULES[rule]
    sign = np.ones(len(transmitters))
    group = []
    for i, t in enumerate(transmitters):
        first = t.split(",")[0].strip().lower() if t else ""
        sign[i] = table.get(first, 1)
        group.append(first if first in table else OTHER)
    return sign, group


def _pairs(p: Pairs, params: PropagationFitParams) -> tuple[np.ndarray, dict[str, int]]:
    """Which pairs are used (finite amplitude, responder not the stimulated neuron, and
    q below max_q if asked), and how many each reason dropped."""
    finite = np.isfinite(p.amplitude)
    other = p.stim != p.resp
    keep = finite & other
    dropped = {
        "no_amplitude": int((~finite).sum()),
        "self": int((finite & ~other).sum()),
        "outside_graph": int(p.outside),
    }
    if params.only_significant:
        significant = np.isfinite(p.q) & (p.q < params.max_q)
        dropped["not_significant"] = int((keep & ~significant).sum())
        keep &= significant
    return keep, dropped


def _wiring(
    g: Graph, gaps: tuple[np.ndarray, np.ndarray, np.ndarray], rule: str
) -> tuple[Wiring, list[str], list[str], int]:
    """The model's wiring; the transmitter groups, and the index of the pinned one."""
    from connectomedb.simulate.propagation import Wiring

    sign, transmitter = rule_signs(g.props["neurotransmitter"], rule)
    names = sorted(set(transmitter))
    counts = [transmitter.count(t) for t in names]
    pinned = int(np.argmax(counts))
    free = [t for i, t in enumerate(names) if i != pinned]
    index = {t: i for i, t in enumerate(free)}
    sign_groups = np.array([index.get(t, -1) for t in transmitter], dtype=np.int64)
    w = Wiring(
        g.n,
        g.pre,
        g.post,
        g.weight.astype(np.float64),
        sign,
        g.groups,
        len(g.group_names),
        *gaps,
        sign_groups=sign_groups,
        n_sign_groups=len(free),
    )
    return w, names, free, pinned


def _label(name: str | None) -> str:
    return "(none)" if name is None else str(name)


def run(ctx: JobContext, p: PropagationFitParams) -> RunResult:
    from connectomedb.simulate.propagation import (
        CONFIDENCE,
        MODEL_DESCRIPTIONS,
        MODELS,
        cross_validate,
        score,
    )

    began = time.monotonic()
    ready_set(ctx.driver, ctx.database, ctx.dataset, p.measurements)
    g = read_graph(ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight, level=p.level)
    pairs = read_pairs(ctx.driver, ctx.database, g, p.measurements)
    gaps = (
        read_gap_junctions(ctx.driver, ctx.database, g)
        if p.gap_junctions
        else (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    )
    keep, dropped = _pairs(pairs, p)
    stim, resp, y = pairs.stim[keep], pairs.resp[keep], pairs.amplitude[keep]
    if y.size == 0:
        raise BadInput(
            f"measurement set {p.measurements!r} has no usable pairs among this dataset's "
            "neurons (finite amplitude" + (f", q < {p.max_q:g}" if p.only_significant else "") + ")"
        )
    wiring, transmitters, free, pinned = _wiring(g, gaps, p.sign_rule)
    if p.free_signs and not free:
        raise BadInput(f"free_signs: the {p.sign_rule} rule leaves one transmitter group only")
    ctx.progress(
        0.05,
        f"pulled {g.n} neurons, {g.m} connections, {gaps[0].size} gap pairs, {y.size} pairs",
    )

    def progress(done: int, total: int, message: str) -> None:
        ctx.progress(0.05 + 0.85 * done / total, message)

    cv = cross_validate(
        wiring,
        stim,
        resp,
        y,
        folds=p.folds,
        shuffles=p.shuffles,
        seed=p.seed,
        rho=p.rho,
        gap_junctions=p.gap_junctions,
        free_signs=p.free_signs,
        intercept=p.intercept,
        max_iterations=p.max_iterations,
        progress=progress,
    )
    ctx.progress(0.92, "writing plots")
    folder = run_folder(ctx, "fit_propagation")
    try:
        files = whole_folder(folder, lambda tmp: _plots(tmp, g, cv, y, p))
        plots = "written"
    except ImportError as e:  # matplotlib comes with the analytics extra
        files, plots = [], f"not written: {e} (pip install 'connectomedb[analytics]')"
    groups = [_label(x) for x in g.group_names]
    metrics = {
        "model": "linear rate model at steady state: response of r to stimulating s = "
        "a [(I - W S)^{-1}]_{r,s}"
        + (" + b" if p.intercept else "")
        + "; W[r, s] = sign(s) x synapse count(s -> r) (+ gap "
        "junction counts, symmetric), normalised so that the Perron root of |W| is rho",
        "fitted": _fitted(p, cv, groups, transmitters, free, pinned),
        "proxies": {
            "chemical strength": "synapse count",
            "gap junction strength": "gap junction count" if p.gap_junctions else "not used",
            "sign": f"the {p.sign_rule} rule on the presynaptic neuron's first transmitter"
            + (" (start of the fit of free signs)" if p.free_signs else ""),
        },
        "measurements": p.measurements,
        "level": p.level,
        "neurons": g.n,
        "connections": g.m,
        "gap_junction_pairs": int(gaps[0].size),
        "pairs": int(y.size),
        "pairs_dropped": dropped,
        "stimulated_neurons": int(np.unique(stim).size),
        "responders": int(np.unique(resp).size),
        "rho": p.rho,
        "normaliser": cv.net.normaliser,
        "gain_bound": cv.net.bound,
        "models": dict(MODEL_DESCRIPTIONS),
        "folds": _fold_rows(g, cv),
        "summary": cv.summary(),
        "paired": cv.paired(),
        "paired_note": "fitted minus the other model, fold by fold; mse: negative favours "
        "the fit; correlations: positive favours it. t_test_p: paired t-test; "
        "sign_test_p: two-sided binomial test over folds",
        "pooled": {
            m: score(cv.predictions[m] if m != "shuffled" else cv.predictions[m][0], y)
            for m in MODELS
        },
        "pooled_note": "every pair scored once, by the fold that held its stimulated "
        "neuron out (shuffled: the first shuffle); no interval",
        "confidence": CONFIDENCE,
        **_final(cv, groups, free, g),
        "caveats": list(CAVEATS),
        "seed": p.seed,
        "elapsed_s": round(time.monotonic() - began, 3),
        "plots": plots,
        **({"artifact_dir": str(folder)} if files else {}),
        "files": files,
    }
    gains = cv.final.gains.group
    outputs = [
        Output(nid, label=groups[g.groups[i]], score=float(gains[g.groups[i]]))
        for i, nid in enumerate(g.ids)
    ]
    return RunResult(metrics=finite(metrics), outputs=outputs, seed=p.seed)


def _fitted(
    p: PropagationFitParams,
    cv: CrossValidation,
    groups: list[str],
    transmitters: list[str],
    free: list[str],
    pinned: int,
) -> dict[str, Any]:
    """What the fit fitted, in words and counts."""
    out: dict[str, Any] = {
        "group_gains": f"{len(groups)} gains, one per presynaptic {p.level}, in "
        f"[0, {cv.net.bound:.4g}], multiplying every chemical connection from that group",
        "gap_gain": "one gain for every gap junction"
        if cv.net.has_gaps
        else "none (no gap junctions used)",
        "signs": f"one multiplier in [-1, 1] per transmitter group {free}; "
        f"{transmitters[pinned]!r} keeps its rule sign"
        if p.free_signs
        else "fixed by the sign rule",
        "readout": "one scale a from model units to dF/F"
        + (" and one offset b" if p.intercept else "")
        + ", least squares in closed form given the gains",
        "method": "scipy.optimize.least_squares (trust region reflective, exact Jacobian, "
        "the scale eliminated by variable projection), on the training folds' pairs",
        "unfitted_model": "unit gains (synapse counts and gap junction counts as "
        "strengths, the rule's signs); only the readout fitted",
    }
    out["parameters"] = (
        len(groups)
        + int(cv.net.has_gaps)
        + (len(free) if p.free_signs else 0)
        + (2 if p.intercept else 1)
    )
    return out


def _fold_rows(g: Graph, cv: CrossValidation) -> list[dict[str, Any]]:
    from connectomedb.simulate.propagation import MODELS

    rows = []
    for i, f in enumerate(cv.folds):
        test = cv.fold_of_pair == i
        fit = cv.fold_fits[i]
        rows.append(
            {
                "fold": i,
                "stimulated": [g.ids[j] for j in f],
                "test_pairs": int(test.sum()),
                "train_pairs": int((~test).sum()),
                "models": {m: cv.scores[m][i] for m in MODELS},
                "shuffles": cv.shuffle_scores[i],
                "fitted_gains": [float(x) for x in fit.gains.group],
                "fitted_gap_gain": fit.gains.gap,
                "fitted_signs": [float(x) for x in fit.gains.signs],
                "fitted_scale": fit.scale,
                "fitted_offset": fit.offset,
                "fitted_radius": fit.radius,
                "train_mse": fit.mse,
            }
        )
    return rows


def _final(cv: CrossValidation, groups: list[str], free: list[str], g: Graph) -> dict[str, Any]:
    """The fit on every pair: gains per group with their range over the fold fits."""
    f = cv.final
    per_fold = np.array([x.gains.group for x in cv.fold_fits])
    sizes = np.bincount(g.groups, minlength=len(groups))
    bound = cv.net.bound
    out: dict[str, Any] = {
        "gains": {
            name: {
                "gain": float(f.gains.group[k]),
                "neurons": int(sizes[k]),
                "constrained": bool(f.constrained[k]),
                "at_bound": bool(f.gains.group[k] <= 1e-6 or f.gains.group[k] >= bound - 1e-4),
                "fold_min": float(per_fold[:, k].min()),
                "fold_max": float(per_fold[:, k].max()),
            }
            for k, name in enumerate(groups)
        },
        "gains_note": "fold_min, fold_max: the range over the K fold fits; at_bound: at 0 "
        f"or at the stability bound {bound:.4g} (the data pull it further); constrained: "
        "false where no connection of the group lies on a path from a stimulated neuron "
        "to a responder, so the data say nothing about it and it stays 1",
        "gap_gain": f.gains.gap,
        "gap_gain_at_bound": bool(cv.net.has_gaps and f.gains.gap >= bound - 1e-4),
        "scale": f.scale,
        "offset": f.offset,
        "unfitted_scale": cv.final_unfitted.scale,
        "unfitted_offset": cv.final_unfitted.offset,
        "radius": f.radius,
        "train_mse": f.mse,
        "unfitted_train_mse": cv.final_unfitted.mse,
        "evaluations": f.evaluations,
        "optimizer": f.message,
    }
    if f.gains.signs.size:
        fold_signs = np.array([x.gains.signs for x in cv.fold_fits])
        out["signs"] = {
            t: {
                "sign": float(f.gains.signs[i]),
                "start": float(cv.net.sign_start[i]),
                "fold_min": float(fold_signs[:, i].min()),
                "fold_max": float(fold_signs[:, i].max()),
            }
            for i, t in enumerate(free)
        }
    return out


def _plots(
    folder: Path, g: Graph, cv: CrossValidation, y: np.ndarray, p: PropagationFitParams
) -> list[str]:
    """Predicted against measured held-out amplitudes per model, and the held-out
    correlation and error per model with their intervals over folds (matplotlib's
    object API on the Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from connectomedb.simulate.propagation import CONFIDENCE, MODELS, score

    title = f"{g.dataset}, {p.measurements}: held-out stimulated neurons, {p.folds} folds"
    fig = Figure(figsize=(10, 9), dpi=100)
    FigureCanvasAgg(fig)
    rng = np.random.default_rng(p.seed)
    for i, m in enumerate(MODELS):
        ax = fig.add_subplot(2, 2, i + 1)
        pred = cv.predictions[m] if m != "shuffled" else cv.predictions[m][0]
        shown = np.arange(y.size)
        if y.size > MAX_POINTS:
            shown = np.sort(rng.choice(y.size, MAX_POINTS, replace=False))
        ax.scatter(y[shown], pred[shown], s=3, alpha=0.4, color="black", rasterized=True)
        s = score(pred, y)
        # the amplitudes have heavy tails: the axes span the central 99% of each
        xlim, ylim = _central(y), _central(pred)
        outside = int(((y < xlim[0]) | (y > xlim[1]) | (pred < ylim[0]) | (pred > ylim[1])).sum())
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.axhline(0, color="0.8", linewidth=0.6)
        ax.axvline(0, color="0.8", linewidth=0.6)
        ax.set_xlabel(f"measured amplitude (dF/F); {outside} pairs off the axes")
        ax.set_ylabel("predicted")
        r = "n/a" if math.isnan(s["pearson"]) else f"{s['pearson']:.3f}"
        name = m + (" (shuffle 1)" if m == "shuffled" else "")
        ax.set_title(f"{name}: r = {r}, mse = {s['mse']:.3g} (all pairs)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / "scatter.png", format="png")

    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    summary = cv.summary()
    x = np.arange(len(MODELS))
    for j, (measure, label) in enumerate(
        (("pearson", "held-out Pearson r"), ("mse", "held-out mean squared error"))
    ):
        ax = fig.add_subplot(1, 2, j + 1)
        means = [_or_nan(summary[m][measure]["mean"]) for m in MODELS]
        low = [_or_nan(summary[m][measure]["low"]) for m in MODELS]
        high = [_or_nan(summary[m][measure]["high"]) for m in MODELS]
        err = np.array([np.subtract(means, low), np.subtract(high, means)], dtype=np.float64)
        ax.bar(x, means, color="0.75", yerr=np.nan_to_num(err), capsize=4)
        for k, m in enumerate(MODELS):
            vals = [s[measure] for s in cv.scores[m]]
            ax.scatter(np.full(len(vals), k), vals, s=10, color="black", zorder=3)
        ax.set_xticks(x, list(MODELS), fontsize=8)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_ylabel(label)
        ax.set_title(
            f"mean over folds, {int(CONFIDENCE * 100)}% t interval; dots: folds", fontsize=9
        )
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / "heldout.png", format="png")
    return ["scatter.png", "heldout.png"]


def _central(v: np.ndarray) -> tuple[float, float]:
    """The central 99% of ``v``, widened by a tenth (and never empty)."""
    lo, hi = (float(x) for x in np.percentile(v, [0.5, 99.5]))
    pad = 0.1 * (hi - lo) or 1e-3
    return lo - pad, hi + pad


def _or_nan(v: float | None) -> float:
    return math.nan if v is None else float(v)
