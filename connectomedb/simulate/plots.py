"""Raster and population-rate plots of a simulation as PNG (matplotlib's object API
with the Agg canvas: no display, no global pyplot state, safe in worker threads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: at most this many neurons in a raster (the most active ones), so it stays legible
MAX_RASTER_NEURONS = 400


def raster_png(
    path: Path,
    step: np.ndarray,
    neuron: np.ndarray,
    names: list[str],
    dt: float,
    steps: int,
    title: str,
) -> None:
    """Spike raster of one trial: time (ms) across, the neurons that fired down (the
    ``MAX_RASTER_NEURONS`` most active, ordered by their first spike)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    shown = 0
    if step.size:
        counts = np.bincount(neuron)
        active = np.flatnonzero(counts)
        if active.size > MAX_RASTER_NEURONS:
            active = active[np.argsort(-counts[active], kind="stable")[:MAX_RASTER_NEURONS]]
        first = np.full(counts.size, np.iinfo(np.int64).max)
        np.minimum.at(first, neuron, step)
        order = active[np.lexsort((active, first[active]))]
        row = np.full(counts.size, -1)
        row[order] = np.arange(order.size)
        keep = row[neuron] >= 0
        ax.scatter(step[keep] * dt, row[neuron[keep]], s=2, marker="|", color="black")
        shown = order.size
        if shown <= 40:
            ax.set_yticks(np.arange(shown), [names[i] for i in order], fontsize=6)
    ax.set_xlim(0, steps * dt)
    ax.set_ylim(-1, max(shown, 1))
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"neuron ({shown} that fired)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png")


def rate_png(path: Path, per_trial: np.ndarray, bin_ms: float, title: str) -> None:
    """Population rate (Hz) per bin: each trial thin, their mean thick."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    t = (np.arange(per_trial.shape[1]) + 0.5) * bin_ms
    if per_trial.shape[0] > 1:
        for row in per_trial:
            ax.plot(t, row, color="0.7", linewidth=0.6)
    ax.plot(t, per_trial.mean(axis=0), color="black", linewidth=1.4, label="mean over trials")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("population rate (Hz)")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png")


#: at most this many neurons in an ablation plot (the most changed ones)
MAX_ABLATION_NEURONS = 60


def ablation_png(
    path: Path,
    names: list[str],
    change: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    title: str,
    interval: str,
) -> None:
    """The change of rate (Hz) per readout neuron with its interval as a bar: one row
    per neuron (the ``MAX_ABLATION_NEURONS`` most changed), most decreased at the top;
    ``interval`` says what the bars are."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = np.argsort(-np.abs(change), kind="stable")[:MAX_ABLATION_NEURONS]
    shown = shown[np.argsort(change[shown], kind="stable")]
    fig = Figure(figsize=(7, 1.5 + 0.16 * max(shown.size, 1)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = np.arange(shown.size)
    if shown.size:
        ax.errorbar(
            change[shown],
            y,
            xerr=np.vstack([change[shown] - low[shown], high[shown] - change[shown]]),
            fmt="o",
            markersize=3,
            color="black",
            ecolor="0.5",
            capsize=2,
        )
        ax.set_yticks(y, [names[i] for i in shown], fontsize=6)
    ax.axvline(0, color="0.3", linewidth=0.8, linestyle="--")
    ax.set_ylim(-1, max(shown.size, 1))
    ax.invert_yaxis()
    ax.set_xlabel(f"change of rate, ablated - intact (Hz; bars: {interval})")
    more = f", the {shown.size} most changed of {len(names)}" if shown.size < len(names) else ""
    ax.set_title(f"{title}{more}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png")
