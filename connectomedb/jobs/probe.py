"""The ``probe`` kind: count a dataset's neurons and connections, then wait in steps (a
cheap job for checking that workers run, lease, report progress and cancel)."""

from __future__ import annotations

import time

from pydantic import Field

from connectomedb.jobs.contract import JobContext, Params, RunResult
from connectomedb.store.graph import dataset_size


class ProbeParams(Params):
    """Count the dataset's neurons and connections, then wait ``seconds`` in ``steps``
    progress points (a cheap job for checking that workers run)."""

    seconds: float = Field(default=0.0, ge=0, le=3600)
    steps: int = Field(default=10, ge=1, le=10_000)


def run(ctx: JobContext, p: ProbeParams) -> RunResult:
    neurons, connections = dataset_size(ctx.driver, ctx.database, ctx.dataset)
    for i in range(p.steps):
        time.sleep(p.seconds / p.steps)
        ctx.progress((i + 1) / p.steps, f"step {i + 1} of {p.steps}")
    return RunResult(
        metrics={"neurons": neurons, "connections": connections, "attempt": ctx.job["attempts"]}
    )
