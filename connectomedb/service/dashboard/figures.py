"""The dashboard's figures: pure functions from what the store and the science return
(plain rows, lists and dicts) to Plotly figures, drawn in the browser by plotly.js.

No figure reads the database or a file; the routes pass what they read."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import plotly.graph_objects as go
from plotly.subplots import make_subplots
from plotly.utils import PlotlyJSONEncoder

#: how a group without a value at a level (None) is shown
UNKNOWN: Final = "(unknown)"
#: at most this many group pairs in the reciprocity figure (the most reciprocal pairs)
MAX_RECIPROCITY_BARS: Final = 30
#: the two values a cell-type heatmap can show
HEATMAP_METRICS: Final = ("synapses", "probability")

_BLUE, _ORANGE, _GREY = "#4c72b0", "#dd8452", "#8c8c8c"


def _figure(title: str, height: int = 420, **layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": title, "x": 0.01},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        **layout,
    )
    return fig


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON that may stand inside a <script> element: ``<``, ``>`` and
    ``&`` are escaped as JSON escapes, so no value can close the element."""
    text = json.dumps(fig.to_plotly_json(), cls=PlotlyJSONEncoder, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def group_label(name: Any) -> str:
    return UNKNOWN if name is None else str(name)


# -- dataset ------------------------------------------------------------------------------


def degree_distributions(
    in_degrees: Sequence[tuple[int, int]], out_degrees: Sequence[tuple[int, int]]
) -> go.Figure:
    """Neurons per in-degree and per out-degree ((degree, neurons) pairs, as
    ``network_statistics`` returns them), side by side."""
    fig = _figure(
        "Degree distributions",
        barmode="group",
        xaxis_title="partners (degree)",
        yaxis_title="neurons",
    )
    for name, dist, colour in (
        ("in-degree", in_degrees, _BLUE),
        ("out-degree", out_degrees, _ORANGE),
    ):
        fig.add_bar(
            x=[int(d) for d, _ in dist],
            y=[int(c) for _, c in dist],
            name=name,
            marker_color=colour,
        )
    return fig


def connectivity_matrix(
    sizes: Mapping[str | None, int], pairs: Sequence[Mapping[str, Any]], metric: str
) -> tuple[list[str], list[list[float | None]]]:
    """(group labels, matrix) of a cell-type connectivity: row = presynaptic group,
    column = postsynaptic group, groups by name with the unknown last.

    ``sizes`` is each group's neuron count and ``pairs`` the rows of
    ``NeuronRepository.type_connectivity`` (``pre``, ``post``, ``synapses``, ``pairs``).
    ``metric`` ``synapses``: synapses from row to column (0 when none);
    ``probability``: connected pairs over possible pairs (a group's neurons to
    themselves are not possible pairs), None when no pair is possible.
    """
    if metric not in HEATMAP_METRICS:
        raise ValueError(f"metric must be one of {', '.join(HEATMAP_METRICS)}")
    groups = sorted(sizes, key=lambda g: (g is None, str(g)))
    index = {g: i for i, g in enumerate(groups)}

    def possible(a: str | None, b: str | None) -> int:
        return sizes[a] * sizes[b] - (sizes[a] if a == b else 0)

    z: list[list[float | None]] = [
        [0.0 if metric == "synapses" or possible(a, b) else None for b in groups] for a in groups
    ]
    for r in pairs:
        i, j = index[r["pre"]], index[r["post"]]
        if metric == "synapses":
            z[i][j] = float(r["synapses"])
        else:
            n = possible(r["pre"], r["post"])
            z[i][j] = int(r["pairs"]) / n if n else None
    return [group_label(g) for g in groups], z


def connectivity_heatmap(
    labels: Sequence[str], z: Sequence[Sequence[float | None]], metric: str, level: str
) -> go.Figure:
    """The matrix of :func:`connectivity_matrix`; synapse counts on a log colour scale
    (log10(1 + synapses)), probabilities as they are."""
    log = metric == "synapses"
    shown = [[math.log10(1 + v) if log and v is not None else v for v in row] for row in z]
    size = max(420, min(1400, 120 + 14 * len(labels)))
    fig = _figure(
        f"Cell-type connectivity by {level}: "
        + ("synapses (colour: log10(1 + synapses))" if log else "connection probability"),
        height=size,
        xaxis_title=f"postsynaptic {level}",
        yaxis_title=f"presynaptic {level}",
    )
    fig.add_heatmap(
        x=list(labels),
        y=list(labels),
        z=shown,
        customdata=[list(row) for row in z],
        colorscale="Viridis",
        colorbar={"title": {"text": "log10(1+n)" if log else "P"}},
        hovertemplate="%{y} → %{x}: %{customdata}<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def reciprocity_bars(entries: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Observed against expected reciprocal pairs per group pair (``group_a``,
    ``group_b``, ``reciprocal_pairs``, ``expected``), the
    :data:`MAX_RECIPROCITY_BARS` pairs with most reciprocal pairs observed or expected."""
    rows = sorted(
        (e for e in entries if e["reciprocal_pairs"] or e["expected"]),
        key=lambda e: (
            -max(e["reciprocal_pairs"], e["expected"]),
            group_label(e["group_a"]),
            group_label(e["group_b"]),
        ),
    )[:MAX_RECIPROCITY_BARS]
    names = [f"{group_label(e['group_a'])} ↔ {group_label(e['group_b'])}" for e in rows]
    fig = _figure(
        "Reciprocal pairs by group: observed and expected from independent connections",
        barmode="group",
        yaxis_title="reciprocal pairs",
    )
    fig.add_bar(
        x=names, y=[int(e["reciprocal_pairs"]) for e in rows], name="observed", marker_color=_BLUE
    )
    fig.add_bar(
        x=names, y=[float(e["expected"]) for e in rows], name="expected", marker_color=_GREY
    )
    fig.update_xaxes(tickangle=-45)
    return fig


# -- neuron -------------------------------------------------------------------------------


def partner_bars(
    upstream: Sequence[Mapping[str, Any]], downstream: Sequence[Mapping[str, Any]]
) -> go.Figure:
    """Synapses from each presynaptic partner and to each postsynaptic partner
    (partner rows of ``NeuronRepository.partners``: ``cell``, ``synapse_count``),
    strongest at the top."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("upstream (inputs)", "downstream (outputs)")
    )
    for col, rows, colour in ((1, upstream, _BLUE), (2, downstream, _ORANGE)):
        fig.add_bar(
            x=[int(r["synapse_count"]) for r in rows][::-1],
            y=[str(r["cell"].get("name") or r["cell"]["id"]) for r in rows][::-1],
            orientation="h",
            marker_color=colour,
            showlegend=False,
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="synapses", row=1, col=col)
    height = max(360, 60 + 18 * max(len(upstream), len(downstream), 1))
    fig.update_layout(
        title={"text": "Partners", "x": 0.01},
        template="plotly_white",
        height=height,
        margin={"l": 80, "r": 20, "t": 70, "b": 50},
    )
    return fig


# -- motifs -------------------------------------------------------------------------------


def census_z_bars(classes: Sequence[Mapping[str, Any]], null_description: str) -> go.Figure:
    """z-score per census class (``census_rows``); a class whose null samples do not vary
    (z None) has no bar and says so on hover."""
    names = [str(c["name"]) for c in classes]
    z = [c["z"] for c in classes]
    fig = _figure(
        "z-score per class against the null model",
        xaxis_title="class",
        yaxis_title="z = (observed − null mean) / null std",
    )
    fig.add_bar(
        x=names,
        y=z,
        marker_color=[_ORANGE if v is not None and v < 0 else _BLUE for v in z],
        customdata=[
            [c["observed"], c["null_mean"], c["null_std"], "n/a" if c["z"] is None else c["z"]]
            for c in classes
        ],
        hovertemplate="%{x}: observed %{customdata[0]}, null %{customdata[1]:.2f} ± "
        "%{customdata[2]:.2f}, z %{customdata[3]}<extra></extra>",
    )
    fig.add_annotation(
        text=null_description,
        xref="paper",
        yref="paper",
        x=0,
        y=1.0,
        showarrow=False,
        font={"size": 11, "color": _GREY},
        xanchor="left",
        yanchor="bottom",
    )
    return fig


# -- model runs ---------------------------------------------------------------------------


def confusion_heatmap(labels: Sequence[str], confusion: Sequence[Sequence[int]]) -> go.Figure:
    """Held-out neurons per true label (row) and predicted label (column), summed over
    seeds, as a celltype_gnn run's metrics hold them."""
    fig = _figure(
        "Confusion matrix (held-out neurons, summed over seeds)",
        height=max(420, 140 + 28 * len(labels)),
        xaxis_title="predicted",
        yaxis_title="true",
    )
    fig.add_heatmap(
        x=list(labels),
        y=list(labels),
        z=[[int(v) for v in row] for row in confusion],
        text=[[str(int(v)) for v in row] for row in confusion],
        texttemplate="%{text}",
        colorscale="Blues",
        hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def embedding_scatter(points: Sequence[tuple[str, float, float, str | None]]) -> go.Figure:
    """Each neuron at its 2-D layout (id, x, y, group), one trace (colour) per group in
    name order, the unknown last."""
    groups: dict[str | None, list[tuple[str, float, float]]] = {}
    for nid, x, y, g in points:
        groups.setdefault(g, []).append((nid, x, y))
    fig = _figure(
        "Embedding (2-D layout)", height=560, xaxis_title="layout 1", yaxis_title="layout 2"
    )
    for g in sorted(groups, key=lambda v: (v is None, str(v))):
        members = groups[g]
        fig.add_scatter(
            x=[p[1] for p in members],
            y=[p[2] for p in members],
            text=[p[0] for p in members],
            mode="markers",
            name=group_label(g),
            marker={"size": 7},
            hovertemplate="%{text}<extra>" + group_label(g) + "</extra>",
        )
    return fig


def spike_raster(
    trains: Sequence[tuple[str, Sequence[float]]], title: str, duration_ms: float | None = None
) -> go.Figure:
    """Spike times (ms) of each neuron on its own row, in the order given (top first),
    over the whole simulated time when ``duration_ms`` is given."""
    xs: list[float] = []
    ys: list[str] = []
    for nid, times in trains:
        xs += [float(t) for t in times]
        ys += [nid] * len(times)
    fig = _figure(title, height=max(360, 80 + 9 * len(trains)), xaxis_title="time (ms)")
    fig.add_scatter(
        x=xs,
        y=ys,
        mode="markers",
        marker={"symbol": "line-ns-open", "size": 7, "color": "black"},
        hovertemplate="%{y} at %{x} ms<extra></extra>",
        showlegend=False,
    )
    if duration_ms is not None:
        fig.update_xaxes(range=[0.0, duration_ms])
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=[nid for nid, _ in trains],
        autorange="reversed",
        tickfont={"size": 8},
    )
    return fig


def population_rate(bin_ms: float, conditions: Sequence[tuple[str, Sequence[float]]]) -> go.Figure:
    """Population rate (Hz) per bin of each condition, plotted at the bins' centres."""
    fig = _figure("Population rate", height=360, xaxis_title="time (ms)", yaxis_title="rate (Hz)")
    for name, rates in conditions:
        fig.add_scatter(
            x=[(i + 0.5) * bin_ms for i in range(len(rates))],
            y=[float(r) for r in rates],
            mode="lines",
            name=name,
        )
    fig.update_yaxes(rangemode="tozero")
    return fig


def anomaly_bars(top: Sequence[Mapping[str, Any]]) -> go.Figure:
    """The top anomaly scores of a run (``neuron``, ``score``), highest first."""
    fig = _figure("Most anomalous neurons", xaxis_title="neuron", yaxis_title="score")
    fig.add_bar(
        x=[str(t["neuron"]) for t in top],
        y=[float(t["score"]) for t in top],
        marker_color=_BLUE,
    )
    return fig


def _interval(
    values: Sequence[float | None], lows: Sequence[float | None], highs: Sequence[float | None]
) -> tuple[list[float], list[float], list[float]]:
    """Values (None as 0) and the distances down to ``lows`` and up to ``highs`` (0 where
    a bound is missing), as Plotly's asymmetric error bars take them."""
    v = [x if x is not None else 0.0 for x in values]
    down = [max(0.0, x - lo) if lo is not None else 0.0 for x, lo in zip(v, lows, strict=True)]
    up = [max(0.0, hi - x) if hi is not None else 0.0 for x, hi in zip(v, highs, strict=True)]
    return v, down, up


def functional_by_wiring(pw: Mapping[str, Any]) -> go.Figure:
    """P(functional connection | wiring category) with its interval (a structure_function
    run's ``pairwise`` metrics)."""
    cats = pw["categories"]
    p, down, up = _interval(
        [c["probability"] for c in cats], [c["ci_low"] for c in cats], [c["ci_high"] for c in cats]
    )
    fig = _figure(
        f"Functional connections by wiring ({pw['confidence']:.0%} {pw['rate_ci']} intervals)",
        yaxis_title=f"P(q < {pw['q_threshold']:g})",
    )
    fig.add_bar(
        x=[f"{c['category']} ({c['functional']}/{c['pairs']})" for c in cats],
        y=p,
        error_y={"type": "data", "symmetric": False, "array": up, "arrayminus": down},
        marker_color=_BLUE,
    )
    return fig


def odds_ratios(pw: Mapping[str, Any]) -> go.Figure:
    """Odds ratios of a functional connection against the reference category with their
    intervals, on a log axis; ratios that are not finite and positive are left out."""
    rows = [
        r
        for r in [*pw["odds_ratios"], pw["direct_odds_ratio"]]
        if r["odds_ratio"] is not None and math.isfinite(r["odds_ratio"]) and r["odds_ratio"] > 0
    ]
    ratio = [float(r["odds_ratio"]) for r in rows]
    lows = [r["ci_low"] if r["ci_low"] is not None and r["ci_low"] > 0 else None for r in rows]
    highs = [
        r["ci_high"] if r["ci_high"] is not None and math.isfinite(r["ci_high"]) else None
        for r in rows
    ]
    _, down, up = _interval(ratio, lows, highs)
    fig = _figure("Odds ratios of a functional connection", height=320, xaxis_title="odds ratio")
    fig.add_scatter(
        x=ratio,
        y=[f"{r['category']} vs {r['reference']}" for r in rows],
        mode="markers",
        error_x={"type": "data", "symmetric": False, "array": up, "arrayminus": down},
        marker={"color": _BLUE, "size": 9},
        showlegend=False,
    )
    fig.add_vline(x=1.0, line_dash="dash", line_color=_GREY)
    fig.update_xaxes(type="log")
    return fig


def like_to_like(ll: Mapping[str, Any], prop: str) -> go.Figure:
    """Connection probability per similarity bin with its interval, and the fitted line
    (a structure_function run's ``like_to_like`` entry for one property)."""
    bins = ll["bins"]
    p, down, up = _interval(
        [b["probability"] for b in bins], [b["ci_low"] for b in bins], [b["ci_high"] for b in bins]
    )
    fig = _figure(
        f"Connection by {prop} similarity: slope {ll['slope']:.3g} "
        f"[{ll['slope_ci_low']:.3g}, {ll['slope_ci_high']:.3g}]",
        xaxis_title=f"similarity ({ll['similarity']})",
        yaxis_title="P(connection)",
    )
    fig.add_scatter(
        x=[b["centre"] for b in bins],
        y=p,
        mode="markers",
        name="bins",
        error_y={"type": "data", "symmetric": False, "array": up, "arrayminus": down},
        marker={"color": _BLUE},
    )
    if bins:
        xs = [min(b["lower"] for b in bins), max(b["upper"] for b in bins)]
        fig.add_scatter(
            x=xs,
            y=[ll["intercept"] + ll["slope"] * v for v in xs],
            mode="lines",
            name="fit",
            line={"color": _ORANGE},
        )
    return fig
