"""The analytics job kinds: ``embedding``, ``anomaly`` and ``celltype_gnn``. Each reads
its dataset through :mod:`connectomedb.store.graph`, computes with
:mod:`connectomedb.analytics.learn` and returns metrics plus per-neuron outputs, which
the worker writes with the ModelRun."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from connectomedb.analytics import learn
from connectomedb.analytics.features import labels, node_features
from connectomedb.analytics.params import (
    AnomalyParams,
    CellTypeParams,
    EmbeddingParams,
    MiniBatchParams,
)
from connectomedb.errors import BadInput
from connectomedb.jobs.contract import JobContext, Output, RunResult
from connectomedb.store.graph import read_graph

if TYPE_CHECKING:
    from connectomedb.analytics.minibatch import Training

P = TypeVar("P", bound=MiniBatchParams)


def _training(p: MiniBatchParams, weight_decay: float) -> Training:
    from connectomedb.analytics.minibatch import Training

    return Training(
        steps=p.steps,
        batch_size=p.batch_size,
        fanouts=tuple(p.fanouts) if p.fanouts is not None else None,
        epochs=p.epochs,
        weight_decay=weight_decay,
    )


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """torch on ``n`` threads for the job (the worker's setting when None), restored
    after it, so that the worker's later jobs keep their own."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _with_threads(
    job: Callable[[JobContext, P], RunResult],
) -> Callable[[JobContext, P], RunResult]:
    def run(ctx: JobContext, p: P) -> RunResult:
        with _threads(p.threads):
            return job(ctx, p)

    run.__doc__, run.__name__ = job.__doc__, job.__name__
    return run


@_with_threads
def embedding(ctx: JobContext, p: EmbeddingParams) -> RunResult:
    g = read_graph(ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight)
    ctx.progress(0.1, f"pulled {g.n} neurons, {g.m} connections")
    if p.method == "spectral":
        vec = learn.spectral_embedding(g.n, g.pre, g.post, g.weight, p.dim, p.seed)
        metrics: dict[str, Any] = {"method": "adjacency spectral embedding of log1p synapse counts"}
    else:
        training = _training(p, weight_decay=0.0)
        vec, loss = learn.gae_embedding(
            node_features(g).x,
            g.pre,
            g.post,
            p.dim,
            training,
            p.seed,
            progress=lambda f: ctx.progress(0.1 + 0.85 * f, "training"),
        )
        metrics = {
            "method": "graph autoencoder (GraphSAGE encoder)",
            "final_loss": loss,
            "training": training.record(g.m, ("encoder",)),
        }
    lay = learn.layout_2d(vec)
    return RunResult(
        metrics={**metrics, "neurons": g.n, "connections": g.m, "width": int(vec.shape[1])},
        outputs=[Output(nid, vector=vec[i], layout=lay[i]) for i, nid in enumerate(g.ids)],
        seed=p.seed,
    )


def anomaly(ctx: JobContext, p: AnomalyParams) -> RunResult:
    g = read_graph(ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight)
    ctx.progress(0.2, f"pulled {g.n} neurons, {g.m} connections")
    if p.method == "type_profile":
        types, names = labels(g, p.type_level)
        scores = learn.type_profile_scores(g.n, g.pre, g.post, g.weight, types)
        how = f"distance from the mean {p.type_level} profile, over the type's median"
    else:
        emb = learn.spectral_embedding(g.n, g.pre, g.post, g.weight, p.dim, p.seed)
        scores = learn.isolation_forest_scores(np.hstack([emb, node_features(g).x[:, :4]]), p.seed)
        how = "isolation forest on spectral embedding and log degrees"
    order = np.argsort(-scores, kind="stable")[: p.top]
    return RunResult(
        metrics={
            "method": how,
            "neurons": g.n,
            "top": [{"neuron": g.ids[i], "score": float(scores[i])} for i in order],
        },
        outputs=[Output(nid, score=float(scores[i])) for i, nid in enumerate(g.ids)],
        seed=p.seed,
    )


@_with_threads
def celltype_gnn(ctx: JobContext, p: CellTypeParams) -> RunResult:
    g = read_graph(ctx.driver, ctx.database, ctx.dataset, min_weight=p.min_weight)
    ctx.progress(0.05, f"pulled {g.n} neurons, {g.m} connections")
    raw = [None if v in p.unlabelled else v for v in g.props[p.label_level]]
    g.props[p.label_level] = raw
    y, names = labels(g, p.label_level)
    if len(names) < 2:
        raise BadInput(f"{p.label_level!r} has fewer than two known labels in this dataset")
    problem = learn.LabelledGraph(node_features(g).x, g.pre, g.post, g.weight, y, len(names))
    methods = (*learn.BASELINES, *learn.MODELS)
    seeds = list(range(p.seeds))
    training = _training(p, weight_decay=5e-4)
    scores = learn.classify_cell_types(
        problem,
        methods,
        seeds,
        p.test_fraction,
        p.hidden,
        training,
        progress=lambda f: ctx.progress(0.05 + 0.85 * f, "cross-validating"),
    )
    best = max(learn.MODELS, key=lambda m: np.mean(scores[m].macro_f1))
    labelled = np.flatnonzero(y >= 0)
    prob = learn.predict(
        best,
        problem,
        labelled,
        p.hidden,
        training,
        0,
        progress=lambda f: ctx.progress(0.9 + 0.09 * f, f"training {best} on every label"),
    )
    guess = prob.argmax(axis=1)
    return RunResult(
        metrics={
            "labels": names,
            "labelled": int(labelled.size),
            "unlabelled": int(g.n - labelled.size),
            "features": node_features(g).names,
            "seeds": seeds,
            "test_fraction": p.test_fraction,
            "scores": {m: s.summary() for m, s in scores.items()},
            "predictions_from": best,
            "training": training.record(
                len(learn.stratified_split(y, p.test_fraction, 0)[0]), learn.MODELS
            ),
        },
        outputs=[
            Output(nid, label=names[int(guess[i])], score=float(prob[i, guess[i]]))
            for i, nid in enumerate(g.ids)
        ],
        seed=0,
    )
