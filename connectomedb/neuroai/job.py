"""The ``rnn_experiment`` kind: mask variants built from the dataset (its size, density,
reciprocity and, for the connectome variant, its wiring and signs) trained on temporal
tasks over seeds; metrics, comparisons and learning curves in the run, and optionally the
trained recurrent weights stored as datasets beside the connectome."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

import numpy as np

from connectomedb.errors import BadInput
from connectomedb.jobs.contract import JobContext, RunResult, finite, run_folder, whole_folder
from connectomedb.neuroai import stats
from connectomedb.neuroai.experiment import (
    METRICS,
    Experiment,
    Training,
    Variant,
    run_experiment,
)
from connectomedb.neuroai.masks import connectome_mask, edge_count, enrichment_of
from connectomedb.neuroai.params import RNNExperimentParams, VariantParams
from connectomedb.neuroai.tasks import Task, make_task
from connectomedb.store.graph import Graph, read_graph

#: units and density when the experiment has no connectome variant and none is asked
DEFAULT_UNITS: Final = 128
CAVEATS: Final = (
    "A mask that helps a network learn a task is compatible with the task, not evidence "
    "that the motif evolved for it; the same wiring may serve other computations, and a "
    "negative result holds for these tasks, sizes and training settings only.",
    "Connection strengths are trained parameters, not measured synapse strengths; the "
    "connectome variant borrows the wiring (and with dale, the signs) and nothing else: "
    "no dynamics, delays, gap junctions or neuromodulation of the animal.",
    "Comparisons: two-sided Mann-Whitney U over seeds, Holm-corrected across every pair of "
    "variants and metric within a task; a variant's masks are redrawn per seed.",
)


def _connectome_density(g: Graph) -> float:
    keep = g.pre != g.post
    pairs = np.unique(g.pre[keep] * g.n + g.post[keep]).size
    return pairs / (g.n * (g.n - 1)) if g.n > 1 else 0.0


def _needs_graph(p: RNNExperimentParams) -> bool:
    return (
        p.units is None
        or p.density is None
        or any(
            v.kind == "connectome" or (v.kind == "reciprocal" and v.enrichment is None)
            for v in p.variants
        )
    )


def _measured_enrichment(g: Graph, v: VariantParams) -> float:
    if not v.types:
        return enrichment_of(g.n, g.pre, g.post)
    wanted = set(v.types)
    groups = np.array([x in wanted for x in g.props[v.level]])
    if groups.sum() < 2:
        raise BadInput(f"{v.name}: fewer than 2 neurons have {v.level} in {v.types}")
    index = np.cumsum(groups) - 1
    keep = groups[g.pre] & groups[g.post]
    return enrichment_of(int(groups.sum()), index[g.pre[keep]], index[g.post[keep]])


def variants_of(
    ctx: JobContext, p: RNNExperimentParams, g: Graph | None
) -> tuple[list[Variant], int, float, dict[str, str]]:
    """The variants to train, the units and density, and which comparisons are matched."""
    n = p.units or (g.n if g is not None else DEFAULT_UNITS)
    density = p.density or (_connectome_density(g) if g is not None else 0.05)
    m = edge_count(n, density)
    out: list[Variant] = []
    notes: dict[str, str] = {}
    for v in p.variants:
        if v.kind == "dense":
            out.append(Variant(v.name, "dense", n))
            notes[v.name] = f"{n * n} trainable recurrent weights (all-to-all; not matched)"
        elif v.kind == "dense_matched":
            k = max(2, round(math.sqrt(m)))
            out.append(Variant(v.name, "dense_matched", k))
            notes[v.name] = f"{k} units, {k * k} recurrent weights (matched to {m})"
        elif v.kind == "random":
            d = v.density or density
            out.append(Variant(v.name, "random", n, d))
            notes[v.name] = f"{edge_count(n, d)} recurrent weights"
        elif v.kind == "reciprocal":
            d = v.density or density
            if v.enrichment is not None:
                e = v.enrichment
            else:
                assert g is not None
                e = _measured_enrichment(g, v)
            out.append(Variant(v.name, "reciprocal", n, d, e))
            notes[v.name] = f"{edge_count(n, d)} recurrent weights, enrichment {e:.3g}"
        else:
            assert g is not None
            if n != g.n:
                raise BadInput(
                    f"{v.name}: a connectome variant has the dataset's {g.n} neurons; units is {n}"
                )
            sign = None
            if v.dale:
                from connectomedb.simulate.job import sign_of, sign_rule

                rule = sign_rule(ctx, "auto")
                sign = sign_of(g.props["neurotransmitter"], rule)
                if (sign > 0).all() or (sign < 0).all():
                    raise BadInput(
                        f"{v.name}: dale: every neuron gets one sign by the {rule} rule "
                        "(no transmitter known, or one kind only); run without dale"
                    )
            mask = connectome_mask(g.n, g.pre, g.post, sign, ctx.dataset)
            out.append(Variant(v.name, "connectome", n, connectome=mask))
            notes[v.name] = f"{mask.m} recurrent weights (the connectome's connections)"
            if sign is not None:
                unknown = sum(1 for t in g.props["neurotransmitter"] if not t)
                notes[v.name] += (
                    f"; Dale's signs by the {rule} rule: {int((sign < 0).sum())} of {g.n} "
                    f"units inhibitory, {unknown} without a known transmitter (taken as +)"
                )
    return out, n, density, notes


def _mask_summary(exp: Experiment, variant: str) -> dict[str, Any]:
    runs = [r for r in exp.runs if r.variant == variant]
    first = runs[0].mask
    out: dict[str, Any] = {
        "units": first["units"],
        "trainable": first["trainable"],
        "density": first["density"],
        "recurrent_lr": first["recurrent_lr"],
    }
    for key in ("reciprocal_pairs", "reciprocity_enrichment"):
        vals = [r.mask[key] for r in runs if r.mask.get(key) is not None]
        if vals:
            out[key] = {"mean": float(np.mean(vals)), "min": min(vals), "max": max(vals)}
    if "dale" in first:
        out["dale"] = first["dale"]
    return out


def experiment_metrics(
    exp: Experiment, tasks: list[Task], variants: list[Variant], cfg: Training
) -> dict[str, Any]:
    """The run's metrics: summaries, comparisons, mask statistics, definitions."""
    names = [v.name for v in variants]

    def summary(s: stats.Summary) -> dict[str, Any]:
        return asdict(s)

    return {
        "tasks": [
            {
                "name": t.name,
                "description": t.describe(),
                "criterion": t.criterion,
                "chance": t.chance,
            }
            for t in tasks
        ],
        "training": asdict(cfg),
        "summary": {
            t: {v: {m: summary(s) for m, s in by_m.items()} for v, by_m in by_v.items()}
            for t, by_v in exp.summaries.items()
        },
        "reached_criterion": {
            t.name: {
                v: sum(
                    1
                    for r in exp.runs
                    if r.task == t.name and r.variant == v and r.mask["reached_criterion"]
                )
                for v in names
            }
            for t in tasks
        },
        "comparisons": {t: [asdict(c) for c in cs] for t, cs in exp.comparisons.items()},
        "masks": {v: _mask_summary(exp, v) for v in names},
        "metric_definitions": dict(METRICS),
        "test": stats.TEST,
        "interval": "95% percentile bootstrap interval of the mean over seeds",
    }


def _store_matrix(w: np.ndarray, density: float | None) -> np.ndarray:
    """``w`` with only its ``density`` largest off-diagonal |w| kept (all when None)."""
    if density is None:
        return w
    n = w.shape[0]
    off = ~np.eye(n, dtype=bool)
    k = max(1, round(density * n * (n - 1)))
    mags = np.abs(w[off])
    if k >= np.count_nonzero(mags):
        return w
    cut = np.partition(mags, mags.size - k)[mags.size - k]
    return np.where(off & (np.abs(w) >= cut), w, 0.0)  # ties at the cut all kept


def run(ctx: JobContext, p: RNNExperimentParams) -> RunResult:
    import torch

    before = torch.get_num_threads()
    if p.threads:
        torch.set_num_threads(p.threads)
    try:
        return _run(ctx, p)
    finally:  # the worker's later jobs keep its own setting
        torch.set_num_threads(before)


def _run(ctx: JobContext, p: RNNExperimentParams) -> RunResult:
    g = (
        read_graph(ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight)
        if _needs_graph(p)
        else None
    )
    variants, n, density, matched = variants_of(ctx, p, g)
    if p.store_weights and g is not None and any(v.kind == "connectome" for v in variants):
        from connectomedb.loaders.weights import check_names

        check_names(list(g.ids), ctx.dataset, "neuron ids")  # before any training
    tasks = [make_task(t, n) for t in p.tasks]
    cfg = Training(
        lr_scaling=p.lr_scaling,
        steps=p.steps,
        batch=p.batch,
        lr=p.lr,
        eval_every=p.eval_every,
        alpha=p.alpha,
        gain=p.gain,
    )
    store_task = p.store_task or p.tasks[0]
    ctx.progress(0.02, f"{len(variants)} variants x {len(tasks)} tasks x {p.seeds} seeds")

    def progress(done: int, total: int, what: str) -> None:
        ctx.progress(0.02 + 0.9 * done / total, what)

    exp = run_experiment(
        tasks,
        variants,
        p.seeds,
        cfg,
        base_seed=p.seed,
        alpha=p.significance,
        keep_weights=(lambda t, v, i: p.store_weights and t == store_task and i == 0),
        progress=progress,
    )
    metrics: dict[str, Any] = {
        "units": n,
        "density": density,
        "connectome": None
        if g is None
        else {"neurons": g.n, "connections": g.m, "min_weight": p.min_weight},
        "variants": [
            {
                "name": v.name,
                "kind": v.kind,
                "units": v.units,
                "density": v.density,
                "enrichment": v.enrichment,
                "matched": matched[v.name],
            }
            for v in variants
        ],
        **experiment_metrics(exp, tasks, variants, cfg),
        "caveats": list(CAVEATS),
    }
    stored = [r for r in exp.runs if r.weights is not None]
    folder = run_folder(ctx, "rnn_experiment")

    def write(tmp: Path) -> list[str]:
        files = []
        runs = [
            {
                "task": r.task,
                "variant": r.variant,
                "seed": r.seed,
                "metrics": r.metrics,
                "mask": r.mask,
                "curve": r.curve,
                "seconds": r.seconds,
            }
            for r in exp.runs
        ]
        (tmp / "runs.json").write_text(json.dumps(finite(runs)))
        files.append("runs.json")
        for r in stored:
            assert r.weights is not None
            v = next(x for x in variants if x.name == r.variant)
            ids = g.ids if v.kind == "connectome" and g is not None else None
            arrays: dict[str, Any] = {"weights": _store_matrix(r.weights, p.store_density)}
            if ids is not None and g is not None:
                arrays["ids"] = np.array(ids)
                arrays["labels"] = np.array(
                    [
                        c or t or "unlabelled"
                        for c, t in zip(g.props["class"], g.props["type"], strict=True)
                    ]
                )
            name = f"weights_{r.task}_{r.variant}.npz"
            np.savez_compressed(tmp / name, **arrays)
            files.append(name)
        try:
            from connectomedb.neuroai.plots import write_plots
        except ImportError:
            metrics["plots_skipped"] = "matplotlib is not installed on this worker"
            return files
        return files + write_plots(tmp, exp, tasks, [v.name for v in variants])

    metrics["files"] = whole_folder(folder, write)
    metrics["artifact_dir"] = str(folder)
    metrics["stored_datasets"] = _store_all(ctx, folder, [(r.task, r.variant) for r in stored])
    return RunResult(metrics=finite(metrics), seed=p.seed)


def _store_all(ctx: JobContext, folder: Path, which: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every kept network as a dataset, or none: a failure (or a cancel) removes those
    already stored. Ids are the job's, so a later attempt replaces what an earlier left."""
    from connectomedb.store.datasets import delete_dataset

    done: list[dict[str, Any]] = []
    try:
        for i, (task, variant) in enumerate(which):
            ctx.progress(0.93 + 0.07 * i / len(which), f"storing {variant} as a dataset")
            done.append(_store(ctx, folder / f"weights_{task}_{variant}.npz", task, variant))
    except BaseException:
        for d in done:
            delete_dataset(ctx.driver, d["dataset"], ctx.database)
        raise
    return done


def _store(ctx: JobContext, path: Path, task: str, variant: str) -> dict[str, Any]:
    """The trained weights at ``path`` as a dataset readable by the source's labs and the
    job's requester."""
    from connectomedb.loaders.weights import WeightMatrixSource
    from connectomedb.loaders.writer import DatasetWriter
    from connectomedb.store.datasets import DatasetRepository

    ds = f"rnn.{ctx.job['id']}.{task}.{variant}"
    src = WeightMatrixSource(
        path, ds, name=f"{variant} RNN trained on {task} (job {ctx.job['id']}, seed 0)"
    )
    res = DatasetWriter(ctx.driver, ctx.database).load(src, replace=True)
    DatasetRepository(ctx.driver, ctx.database).inherit_access(
        ds, ctx.dataset, ctx.job.get("requested_by")
    )
    return {"dataset": ds, "task": task, "variant": variant, "seed": 0, **res.counts}
