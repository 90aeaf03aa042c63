"""Plots of a structure_function run as PNG (matplotlib's object API with the Agg canvas:
no display, no global pyplot state), drawn from the run's metrics."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _figure(width: float = 7.0, height: float = 4.5) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _finite(v: Any) -> bool:
    return v is not None and math.isfinite(v)


def functional_by_wiring_png(path: Path, pw: dict[str, Any], title: str) -> None:
    """P(functional connection | wiring category) with its confidence interval per bar."""
    fig = _figure()
    ax = fig.add_subplot()
    cats = pw["categories"]
    x = list(range(len(cats)))
    p = [c["probability"] if c["probability"] is not None else 0.0 for c in cats]
    low = [max(0.0, pi - (c["ci_low"] or pi)) for pi, c in zip(p, cats, strict=True)]
    high = [max(0.0, (c["ci_high"] or pi) - pi) for pi, c in zip(p, cats, strict=True)]
    ax.bar(x, p, yerr=[low, high], capsize=4, color="#4c72b0")
    ax.set_xticks(x, [f"{c['category']}\n{c['functional']}/{c['pairs']}" for c in cats])
    ax.set_ylabel(f"P(q < {pw['q_threshold']:g})")
    ax.set_title(title, fontsize=10)
    ax.text(
        0.99,
        0.98,
        f"{pw['confidence']:.0%} {pw['rate_ci']} intervals",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path)


def odds_ratios_png(path: Path, pw: dict[str, Any], title: str) -> None:
    """Odds ratios against unwired pairs on a log axis, with their intervals."""
    fig = _figure(7.0, 3.5)
    ax = fig.add_subplot()
    rows = [*pw["odds_ratios"], pw["direct_odds_ratio"]]
    shown = [r for r in rows if _finite(r["odds_ratio"]) and r["odds_ratio"] > 0]
    for y, r in enumerate(shown):
        lo = r["ci_low"] if _finite(r["ci_low"]) and r["ci_low"] > 0 else r["odds_ratio"]
        hi = r["ci_high"] if _finite(r["ci_high"]) else r["odds_ratio"]
        ax.plot([lo, hi], [y, y], color="#4c72b0")
        ax.plot([r["odds_ratio"]], [y], "o", color="#4c72b0")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(shown)), [f"{r['category']} vs {r['reference']}" for r in shown])
    ax.set_xscale("log")
    ax.set_xlabel("odds ratio of a functional connection")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


def like_to_like_png(path: Path, ll: dict[str, Any], title: str) -> None:
    """Connection probability per similarity bin with intervals, and the fitted line."""
    fig = _figure()
    ax = fig.add_subplot()
    bins = ll["bins"]
    x = [b["centre"] for b in bins]
    p = [b["probability"] for b in bins]
    ax.errorbar(
        x,
        p,
        yerr=[
            [max(0.0, pi - b["ci_low"]) for pi, b in zip(p, bins, strict=True)],
            [max(0.0, b["ci_high"] - pi) for pi, b in zip(p, bins, strict=True)],
        ],
        fmt="o",
        capsize=3,
        color="#4c72b0",
    )
    if x:
        xs = [min(b["lower"] for b in bins), max(b["upper"] for b in bins)]
        ax.plot(xs, [ll["intercept"] + ll["slope"] * v for v in xs], color="#dd8452")
    p_text = "n/a" if ll["p_value"] is None else f"{ll['p_value']:.3g}"
    ax.set_xlabel(f"similarity ({ll['similarity']})")
    ax.set_ylabel("P(connection)")
    ax.set_title(
        f"{title}\nslope {ll['slope']:.3g} [{ll['slope_ci_low']:.3g}, {ll['slope_ci_high']:.3g}], "
        f"permutation p = {p_text}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)


def write_plots(folder: Path, dataset: str, metrics: dict[str, Any]) -> list[str]:
    """Every plot the metrics call for, into ``folder``; returns the file names."""
    files: list[str] = []
    pw = metrics.get("pairwise")
    if pw is not None:
        name = metrics.get("measurements", {}).get("set", "")
        functional_by_wiring_png(
            folder / "functional_by_wiring.png", pw, f"{dataset} + {name}: functional by wiring"
        )
        odds_ratios_png(folder / "odds_ratios.png", pw, f"{dataset} + {name}: odds ratios")
        files += ["functional_by_wiring.png", "odds_ratios.png"]
    for prop, ll in (metrics.get("like_to_like") or {}).items():
        fname = f"like_to_like-{prop}.png"
        like_to_like_png(folder / fname, ll, f"{dataset}: connection by {prop} similarity")
        files.append(fname)
    return files
