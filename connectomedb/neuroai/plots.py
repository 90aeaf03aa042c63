"""Plots of an rnn_experiment run as PNG (matplotlib's object API, Agg canvas): the
learning curves of each task, mean accuracy per variant with a 95% bootstrap band."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectomedb.neuroai.experiment import Experiment, mean_curve
from connectomedb.neuroai.tasks import Task

COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def _figure(width: float = 7.0, height: float = 4.5) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def learning_curves_png(
    path: Path, exp: Experiment, task: Task, variants: list[str], title: str
) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    for colour, v in zip(COLOURS * 2, variants, strict=False):
        runs = [r for r in exp.runs if r.task == task.name and r.variant == v]
        if not runs:
            continue
        x, mean, lo, hi = mean_curve(runs)
        ax.plot(x, mean, color=colour, label=f"{v} (n={len(runs)})")
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
    ax.axhline(task.criterion, color="grey", lw=0.8, ls="--", label="criterion")
    ax.axhline(task.chance, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("training examples")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def write_plots(folder: Path, exp: Experiment, tasks: list[Task], variants: list[str]) -> list[str]:
    files = []
    for t in tasks:
        name = f"learning_curves_{t.name}.png"
        learning_curves_png(
            folder / name, exp, t, variants, f"{t.name}: mean accuracy, 95% bootstrap band"
        )
        files.append(name)
    return files
