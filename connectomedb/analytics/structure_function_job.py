"""The ``structure_function`` kind: how much a dataset's wiring predicts a measurement
set, against a null, with plots. No torch; the plots need matplotlib (the analytics extra)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from connectomedb.analytics.params import StructureFunctionParams
from connectomedb.analytics.structure_function import like_to_like, pairwise
from connectomedb.errors import BadInput
from connectomedb.jobs.contract import JobContext, RunResult, finite, run_folder, whole_folder
from connectomedb.store.graph import Graph, read_gap_junctions, read_graph
from connectomedb.store.measurements import read_pairs, read_property, ready_set

#: what every result says along with its numbers (DESIGN §7)
CAVEATS = (
    "Wiring categories are taken from the stored connectome; a functional connection is "
    "a q-value below the threshold in the measurement set, as published. Associations, "
    "not causation: a wiring feature that predicts responses does not show that the "
    "responses travel along it, and a null that keeps degrees still keeps any effect of "
    "degree itself.",
)


def analyse(
    g: Graph,
    gaps: tuple[np.ndarray, np.ndarray, np.ndarray],
    p: StructureFunctionParams,
    pairs: Any | None,
    properties: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The statistics of one run as JSON-able dicts (``pairwise`` and ``like_to_like``)."""
    out: dict[str, Any] = {}
    wired = g.weight > 0  # a connection stored without synapses is no wiring
    if pairs is not None:
        tested = np.isfinite(pairs.q)  # a pair without a q-value was not tested
        res = pairwise(
            g.n,
            g.pre[wired],
            g.post[wired],
            g.weight[wired].astype(np.float64),
            *gaps,
            pairs.stim[tested],
            pairs.resp[tested],
            pairs.q[tested],
            pairs.amplitude[tested],
            q_threshold=p.q_threshold,
            null=p.null,
            null_samples=p.null_samples,
            folds=p.folds,
            seed=p.seed,
            amplitude_mode=p.amplitude,
        )
        out["pairwise"] = finite(asdict(res))
    if properties:
        out["like_to_like"] = {
            name: finite(
                asdict(
                    like_to_like(
                        g.n,
                        g.pre[wired],
                        g.post[wired],
                        values,
                        bins=p.bins,
                        permutations=p.permutations,
                        seed=p.seed,
                        circular_period=p.circular_period,
                    )
                )
            )
            for name, values in properties.items()
        }
    return out


def run(ctx: JobContext, p: StructureFunctionParams) -> RunResult:
    g = read_graph(ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight)
    gaps = read_gap_junctions(ctx.driver, ctx.database, g)
    metrics: dict[str, Any] = {"neurons": g.n, "connections": g.m, "gap_junctions": len(gaps[0])}
    pairs = None
    if p.measurements is not None:
        m = ready_set(ctx.driver, ctx.database, ctx.dataset, p.measurements)
        if m.kind != "pairwise":
            raise BadInput(f"measurement set {p.measurements!r} holds {m.kind} data, not pairwise")
        pairs = read_pairs(ctx.driver, ctx.database, g, p.measurements)
        metrics["measurements"] = {
            "set": m.id,
            "name": m.name,
            "condition": m.condition,
            "citation": m.citation,
            "pairs_read": int(pairs.stim.size),
            "pairs_without_q": int((~np.isfinite(pairs.q)).sum()),
            "pairs_outside_graph": pairs.outside,
        }
    properties: dict[str, np.ndarray] = {}
    if p.properties is not None:
        m = ready_set(ctx.driver, ctx.database, ctx.dataset, p.properties)
        if m.kind != "neuron":
            raise BadInput(f"measurement set {p.properties!r} holds {m.kind} data, not neuron")
        names = [p.property] if p.property else list(m.properties)
        unknown = set(names) - set(m.properties)
        if unknown:
            raise BadInput(
                f"{p.properties!r} has no property {sorted(unknown)[0]!r} "
                f"(it has {', '.join(m.properties)})"
            )
        properties = {
            name: read_property(ctx.driver, ctx.database, g, m.id, name) for name in names
        }
        metrics["properties"] = {"set": m.id, "name": m.name, "properties": names}
    ctx.progress(0.1, f"read {g.n} neurons, {g.m} connections")
    metrics.update(analyse(g, gaps, p, pairs, properties))
    metrics["caveats"] = list(CAVEATS)
    folder = run_folder(ctx, "structure_function")

    def write(tmp: Path) -> list[str]:
        from connectomedb.analytics.structure_function_plots import write_plots

        return write_plots(tmp, ctx.dataset, metrics)

    metrics["files"] = whole_folder(folder, write)
    metrics["artifact_dir"] = str(folder)
    return RunResult(metrics=metrics, seed=p.seed)
