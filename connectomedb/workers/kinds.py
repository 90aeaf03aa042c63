"""The kinds of job a worker runs: each a pydantic parameter model and a function
``run(ctx, params) -> RunResult``. Parameters are validated when a job is submitted and
again when a worker starts it, so a job never runs on input it cannot use."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectomedb.errors import BadInput
from connectomedb.store.jobs import RunResult

if TYPE_CHECKING:
    from connectomedb.workers.worker import JobContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProbeParams(Params):
    """Count the dataset's neurons and connections, then wait ``seconds`` in ``steps``
    progress points (a cheap job for checking that workers run)."""

    seconds: float = Field(default=0.0, ge=0, le=3600)
    steps: int = Field(default=10, ge=1, le=10_000)


class CensusParams(Params):
    """A motif census against a null model, with no request time budget."""

    null_model: Literal["erdos_renyi", "degree_preserving", "cell_type_sbm"] = "degree_preserving"
    size: Literal[3, 4] = 3
    samples: int = Field(default=1000, ge=1, le=100_000)
    seed: int = 0
    min_weight: int = Field(default=1, ge=1)
    type_level: Literal["type", "class", "superclass", "neurotransmitter", "side", "region"] = (
        "class"
    )


@dataclass(frozen=True)
class JobKind:
    name: str
    params: type[Params]
    run: Callable[[JobContext, Any], RunResult]
    description: str


def _probe(ctx: JobContext, p: ProbeParams) -> RunResult:
    recs = ctx.read(
        "MATCH (n:Neuron {dataset: $dataset}) "
        "RETURN count(n) AS neurons, sum(n.out_degree) AS connections",
    )
    for i in range(p.steps):
        time.sleep(p.seconds / p.steps)
        ctx.progress((i + 1) / p.steps, f"step {i + 1} of {p.steps}")
    return RunResult(
        metrics={
            "neurons": int(recs[0]["neurons"]),
            "connections": int(recs[0]["connections"] or 0),
            "attempt": ctx.job["attempts"],
        }
    )


def _census(ctx: JobContext, p: CensusParams) -> RunResult:
    from connectomedb.analytics.pull import pull_graph
    from connectomedb.motifs.census import census_against_null, census_classes

    sbm = p.null_model == "cell_type_sbm"
    g = pull_graph(
        ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight, level=p.type_level
    )
    ctx.progress(0.05, f"pulled {g.n} neurons, {g.m} connections")
    groups = g.groups if sbm else None
    r = census_against_null(
        g.n,
        g.pre,
        g.post,
        p.null_model,
        p.samples,
        p.seed,
        groups,
        None,
        p.size,
        progress=lambda i: ctx.progress(0.05 + 0.95 * i / p.samples, f"sample {i}"),
    )
    kinds = {k.name: k for k in census_classes(p.size)}
    return RunResult(
        metrics={
            "neurons": g.n,
            "connections": int((g.pre != g.post).sum()),
            "null_description": r.null_description,
            "classes": [
                {
                    "name": c.name,
                    "edges": [f"{a}->{b}" for a, b in kinds[c.name].edges],
                    "observed": c.observed,
                    "null_mean": c.null_mean,
                    "null_std": c.null_std,
                    "z": c.z,
                    "p_greater": c.p_greater,
                    "p_less": c.p_less,
                }
                for c in r.classes
            ],
        },
        seed=p.seed,
    )


def _analytics_kinds() -> dict[str, JobKind]:
    import connectomedb.analytics.jobs as jobs
    import connectomedb.simulate.job as sim

    return {
        k.name: k
        for k in (
            JobKind("embedding", jobs.EmbeddingParams, jobs.embedding, jobs.EMBEDDING_DOC),
            JobKind("anomaly", jobs.AnomalyParams, jobs.anomaly, jobs.ANOMALY_DOC),
            JobKind("celltype_gnn", jobs.CellTypeParams, jobs.celltype_gnn, jobs.CELLTYPE_DOC),
            JobKind("simulate", sim.SimulateParams, sim.run, sim.__doc__ or ""),
            JobKind("fit_strengths", sim.FitParams, sim.run_fit, sim.FitParams.__doc__ or ""),
        )
    }


_BASE: Final = {
    "probe": JobKind("probe", ProbeParams, _probe, ProbeParams.__doc__ or ""),
    "census": JobKind("census", CensusParams, _census, CensusParams.__doc__ or ""),
}
KIND_NAMES: Final = (
    "probe",
    "census",
    "embedding",
    "anomaly",
    "celltype_gnn",
    "simulate",
    "fit_strengths",
)


def kind(name: str) -> JobKind:
    if name in _BASE:
        return _BASE[name]
    if name in KIND_NAMES:
        return _analytics_kinds()[name]
    raise BadInput(f"unknown job kind {name!r} (known: {', '.join(KIND_NAMES)})")


def check_params(name: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """Validated parameters with defaults filled in, as JSON-able values; BadInput names
    the field and the problem."""
    k = kind(name)
    try:
        return k.params.model_validate(raw or {}).model_dump(mode="json", by_alias=True)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc']) or 'params'}: {err['msg']}"
            for err in e.errors()
        )
        raise BadInput(f"bad parameters for a {name} job: {problems}") from e
