"""Recurrent-network variants trained on temporal tasks over seeds: learning curves,
sample efficiency, accuracy, generalisation and stability per run, summarised with
bootstrap intervals and compared pairwise with a multiple-comparison correction.

Matched comparisons: ``random``, ``reciprocal`` and ``connectome`` variants have the same
units and the same number of trainable recurrent weights (the mask's edges) when built at
the connectome's size and density; ``dense`` has ``n^2`` (unmatched: it is the
all-to-all reference); ``dense_matched`` has ``round(sqrt(m))`` units, so its ``n^2``
recurrent weights match ``m`` to within ``2 sqrt(m)``.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import torch
from torch.nn import functional as F

from connectomedb.neuroai import stats
from connectomedb.neuroai.masks import Mask, random_mask, reciprocal_mask
from connectomedb.neuroai.model import MaskedRNN
from connectomedb.neuroai.tasks import IGNORE, Batch, DigitsTask, Task

#: metric: what it is (sample efficiency, accuracy, generalisation, stability)
METRICS: Final = {
    "examples_to_criterion": "training examples seen before the validation accuracy first "
    "reached the task's criterion; a run that never reaches it counts as the whole budget, "
    "so where any run was censored (see reached_criterion) the mean is a lower bound",
    "final_accuracy": "accuracy after training, training condition, unseen examples",
    "held_out_accuracy": "accuracy after training in the held-out condition",
    "generalisation_gap": "final accuracy minus held-out accuracy",
    "grad_spikes": "fraction of steps whose gradient norm exceeded 10x the median of the "
    "steps before it",
    "grad_norm_max": "largest gradient norm in training",
    "spectral_radius": "largest |eigenvalue| of the trained recurrent matrix",
    "initial_spectral_radius": "largest |eigenvalue| of the recurrent matrix before training "
    "(the gain for every variant; Dale's signs are rescaled to it)",
    "perturbation_drop": "accuracy lost when every trainable recurrent weight gets Gaussian "
    "noise of 10% of their standard deviation (mean of 3 draws)",
}
KINDS: Final = ("dense", "dense_matched", "random", "reciprocal", "connectome")


@dataclass(frozen=True)
class Variant:
    """A network variant: ``kind`` with its units, density and reciprocity enrichment
    (``reciprocal``), or a fixed connectome mask (``connectome``)."""

    name: str
    kind: str
    units: int
    density: float | None = None
    enrichment: float | None = None
    connectome: Mask | None = None

    def build_mask(self, rng: np.random.Generator) -> Mask | None:
        if self.kind in ("dense", "dense_matched"):
            return None
        if self.kind == "connectome":
            assert self.connectome is not None
            return self.connectome
        assert self.density is not None
        if self.kind == "random":
            return random_mask(self.units, self.density, rng)
        assert self.enrichment is not None
        return reciprocal_mask(self.units, self.density, self.enrichment, rng)


@dataclass(frozen=True)
class Training:
    """How each run trains: Adam at ``lr`` on ``steps`` batches of ``batch`` fresh
    examples, gradients clipped at ``clip``; validation every ``eval_every`` steps on
    ``eval_size`` fixed examples.

    The recurrent weights learn at ``lr * min(1, fan_in / k)``, ``k`` the mean number of
    recurrent inputs per unit (``n`` when dense): Adam moves every weight by about its
    learning rate per step, so a unit's recurrent input moves in proportion to ``k``, and
    one rate for all variants would compare densities at different effective rates (at
    ``lr`` 0.01 a dense 302-unit network's radius grows past 10 and it fails tasks the
    sparse ones learn). The 1/k rule is muP's for Adam on hidden weights (Yang & Hu 2021).
    ``lr_scaling="none"`` gives every weight ``lr``."""

    steps: int = 300
    batch: int = 32
    lr: float = 0.01
    lr_scaling: str = "fan_in"
    fan_in: float = 10.0
    eval_every: int = 10
    eval_size: int = 256
    alpha: float = 1.0
    gain: float = 0.9
    clip: float = 10.0
    perturbation: float = 0.1


@dataclass
class RunRecord:
    """One trained network: its learning curve, metrics and mask statistics."""

    task: str
    variant: str
    seed: int
    curve: list[tuple[int, float]]
    metrics: dict[str, float | None]
    mask: dict[str, Any]
    seconds: float
    weights: np.ndarray | None = field(default=None, repr=False)


def _rounded(radius: float | None) -> float | None:
    """A radius to 6 decimals: the initial one is ``gain`` by construction, and eigensolver
    noise below that would hand the rank tests differences that do not exist."""
    return None if radius is None else round(radius, 6)


def _median(ordered: list[float]) -> float:
    k = len(ordered)
    return ordered[k // 2] if k % 2 else (ordered[k // 2 - 1] + ordered[k // 2]) / 2


def _accuracy(task: Task, out: torch.Tensor, b: Batch) -> float:
    y = torch.from_numpy(b.y)
    if task.binary:
        scored = ~torch.isnan(y)
        return float(((out > 0).float() == y)[scored].float().mean())
    scored = y != IGNORE
    return float((out.argmax(-1) == y)[scored].float().mean())


def _loss(task: Task, out: torch.Tensor, b: Batch) -> torch.Tensor:
    y = torch.from_numpy(b.y)
    if task.binary:
        scored = ~torch.isnan(y)
        return F.binary_cross_entropy_with_logits(out[scored], y[scored])
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


def _evaluate(net: MaskedRNN, task: Task, b: Batch) -> float:
    with torch.no_grad():
        return _accuracy(task, net(torch.from_numpy(b.x)), b)


def evaluation_sets(task: Task, size: int) -> tuple[Batch, Batch]:
    """The fixed validation and held-out sets of a task (the same for every run)."""
    if isinstance(task, DigitsTask):
        return task.evaluation(False), task.evaluation(True)
    rng = np.random.default_rng(7919)
    return task.sample(size, rng), task.sample(size, rng, held_out=True)


def mask_statistics(mask: Mask | None, units: int) -> dict[str, Any]:
    """Units, edges, density and reciprocity of a mask as the service measures them."""
    if mask is None:
        return {"units": units, "trainable": units * units, "density": 1.0, "dense": True}
    from connectomedb.analytics.statistics import network_statistics

    s = network_statistics(mask.n, mask.pre, mask.post)
    return {
        "units": mask.n,
        "trainable": mask.m,
        "density": s.density,
        "reciprocal_pairs": s.reciprocal_pairs,
        "reciprocity_enrichment": s.reciprocity_enrichment,
        "dale": mask.sign is not None,
    }


def train_one(
    task: Task,
    variant: Variant,
    seed: np.random.SeedSequence,
    cfg: Training,
    sets: tuple[Batch, Batch],
    keep_weights: bool = False,
) -> RunRecord:
    """Train one network of ``variant`` on ``task`` from ``seed`` (mask, initial weights,
    training examples and perturbations all drawn from it)."""
    t0 = time.perf_counter()
    mask_rng, data_rng, noise_rng = (np.random.default_rng(s) for s in seed.spawn(3))
    mask = variant.build_mask(mask_rng)
    n = variant.units
    torch_seed = int(seed.generate_state(1)[0])
    net = MaskedRNN(
        task.n_in,
        task.n_out,
        n,
        mask,
        alpha=cfg.alpha,
        gain=cfg.gain,
        identity_io=task.identity_io,
        seed=torch_seed,
    )
    initial_radius = net.radius()
    rec_lr = cfg.lr
    if cfg.lr_scaling == "fan_in":
        k = n if mask is None else mask.m / n
        rec_lr = cfg.lr * min(1.0, cfg.fan_in / k)
    others = [x for name, x in net.named_parameters() if name != "w_rec"]
    groups: list[dict[str, Any]] = [{"params": [net.w_rec], "lr": rec_lr}, {"params": others}]
    opt = torch.optim.Adam(groups, lr=cfg.lr)
    val, held = sets
    curve: list[tuple[int, float]] = [(0, _evaluate(net, task, val))]
    reached: int | None = 0 if curve[0][1] >= task.criterion else None
    norms: list[float] = []
    ordered: list[float] = []  # the norms so far, sorted: their median in O(log n)
    spikes = 0
    for step in range(1, cfg.steps + 1):
        b = task.sample(cfg.batch, data_rng)
        loss = _loss(task, net(torch.from_numpy(b.x)), b)
        opt.zero_grad()
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip))
        if len(norms) >= 10 and norm > 10 * _median(ordered):
            spikes += 1
        norms.append(norm)
        bisect.insort(ordered, norm)
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            acc = _evaluate(net, task, val)
            curve.append((step * cfg.batch, acc))
            if reached is None and acc >= task.criterion:
                reached = step * cfg.batch
    final = curve[-1][1]
    held_acc = _evaluate(net, task, held)
    trained_radius = net.radius()
    drops = []
    values = net.w_rec.detach().clone()
    scale = cfg.perturbation * float(net.recurrent_values().detach().std())
    for _ in range(3):
        noise = torch.from_numpy(noise_rng.normal(0.0, scale, size=values.shape).astype(np.float32))
        with torch.no_grad():
            net.w_rec.copy_(values + noise)
        drops.append(final - _evaluate(net, task, val))
    with torch.no_grad():
        net.w_rec.copy_(values)
    budget = cfg.steps * cfg.batch
    metrics: dict[str, float | None] = {
        "examples_to_criterion": float(reached if reached is not None else budget),
        "final_accuracy": final,
        "held_out_accuracy": held_acc,
        "generalisation_gap": final - held_acc,
        "grad_spikes": spikes / cfg.steps,
        "grad_norm_max": float(max(norms)) if norms else None,
        "spectral_radius": _rounded(trained_radius),
        "initial_spectral_radius": _rounded(initial_radius),
        "perturbation_drop": float(np.mean(drops)),
    }
    stats_ = mask_statistics(mask, n)
    stats_["recurrent_lr"] = rec_lr
    stats_["reached_criterion"] = reached is not None
    return RunRecord(
        task.name,
        variant.name,
        int(seed.entropy) if isinstance(seed.entropy, int) else 0,
        curve,
        metrics,
        stats_,
        time.perf_counter() - t0,
        net.recurrent_matrix() if keep_weights else None,
    )


def seed_of(base: int, variant_index: int, run: int) -> np.random.SeedSequence:
    """The seed of run ``run`` of the ``variant_index``-th variant: every variant and run
    draws its own stream (two identical variants do not share seeds)."""
    return np.random.SeedSequence([base, variant_index, run])


@dataclass
class Experiment:
    """Every run of every variant on every task, their summaries and comparisons."""

    runs: list[RunRecord]
    summaries: dict[str, dict[str, dict[str, stats.Summary]]]  # task -> variant -> metric
    comparisons: dict[str, list[stats.Comparison]]  # task -> Holm-corrected tests


def run_experiment(
    tasks: Sequence[Task],
    variants: Sequence[Variant],
    seeds: int,
    cfg: Training,
    *,
    base_seed: int = 0,
    alpha: float = 0.05,
    keep_weights: Callable[[str, str, int], bool] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Experiment:
    """Train ``seeds`` networks of each variant on each task and compare the variants."""
    runs: list[RunRecord] = []
    total = len(tasks) * len(variants) * seeds
    for task in tasks:
        sets = evaluation_sets(task, cfg.eval_size)
        for vi, v in enumerate(variants):
            for i in range(seeds):
                keep = keep_weights is not None and keep_weights(task.name, v.name, i)
                r = train_one(task, v, seed_of(base_seed, vi, i), cfg, sets, keep)
                r.seed = i
                runs.append(r)
                if progress is not None:
                    progress(len(runs), total, f"{task.name}: {v.name}, seed {i}")
    return summarise(runs, [t.name for t in tasks], [v.name for v in variants], alpha)


def summarise(
    runs: list[RunRecord], tasks: Sequence[str], variants: Sequence[str], alpha: float = 0.05
) -> Experiment:
    summaries: dict[str, dict[str, dict[str, stats.Summary]]] = {}
    comparisons: dict[str, list[stats.Comparison]] = {}
    for t in tasks:
        values = {
            v: {
                m: np.array(
                    [
                        np.nan if r.metrics[m] is None else r.metrics[m]
                        for r in runs
                        if r.task == t and r.variant == v
                    ],
                    dtype=np.float64,
                )
                for m in METRICS
            }
            for v in variants
        }
        summaries[t] = {
            v: {m: stats.bootstrap_ci(x) for m, x in by_metric.items()}
            for v, by_metric in values.items()
        }
        tests = [
            stats.compare(a, b, m, values[a][m], values[b][m])
            for i, a in enumerate(variants)
            for b in variants[i + 1 :]
            for m in METRICS
        ]
        comparisons[t] = stats.correct(tests, alpha)
    return Experiment(runs, summaries, comparisons)


def mean_curve(runs: list[RunRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Examples seen, the mean accuracy over runs and its 95% bootstrap band per point."""
    x = np.array([e for e, _ in runs[0].curve], dtype=np.float64)
    acc = np.array([[a for _, a in r.curve] for r in runs], dtype=np.float64)
    rng = np.random.default_rng(0)
    boots = acc[rng.integers(len(runs), size=(2000, len(runs)))].mean(axis=1)
    lo, hi = np.quantile(boots, [0.025, 0.975], axis=0)
    return x, acc.mean(axis=0), lo, hi
