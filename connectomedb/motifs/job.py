"""The ``census`` kind: a motif census against a null model, with no request time budget."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectomedb.jobs.contract import JobContext, Params, RunResult
from connectomedb.motifs.census import census_against_null, census_rows, motif_connections
from connectomedb.motifs.nulls import NullModelName
from connectomedb.schema.graph import Level
from connectomedb.store.graph import read_graph


class CensusParams(Params):
    """A motif census against a null model, with no request time budget."""

    null_model: NullModelName = "degree_preserving"
    size: Literal[3, 4] = 3
    samples: int = Field(default=1000, ge=1, le=100_000)
    seed: int = Field(default=0, ge=0)
    min_weight: int = Field(default=1, ge=1)
    type_level: Level = "class"


def run(ctx: JobContext, p: CensusParams) -> RunResult:
    sbm = p.null_model == "cell_type_sbm"
    g = read_graph(
        ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight, level=p.type_level
    )
    ctx.progress(0.05, f"pulled {g.n} neurons, {g.m} connections")
    r = census_against_null(
        g.n,
        g.pre,
        g.post,
        null_model=p.null_model,
        samples=p.samples,
        seed=p.seed,
        types=g.groups if sbm else None,
        size=p.size,
        progress=lambda i: ctx.progress(0.05 + 0.95 * i / p.samples, f"sample {i}"),
    )
    return RunResult(
        metrics={
            "neurons": g.n,
            "connections": motif_connections(g.pre, g.post),
            "null_description": r.null_description,
            "classes": census_rows(r),
        },
        seed=p.seed,
    )
