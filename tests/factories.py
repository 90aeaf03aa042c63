"""Small input files for loader tests."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def neuprint_bundle(
    root: Path,
    neurons: list[list[Any]] | None = None,
    connections: list[list[Any]] | None = None,
    synapses: list[list[Any]] | None = None,
    neuron_header: list[str] | None = None,
    connection_header: list[str] | None = None,
) -> Path:
    """A tiny hand-made neuPrint bundle: 4 neurons, 5 connections, 6 synapses."""
    root.mkdir(parents=True, exist_ok=True)
    write_csv(
        root / "neurons.csv",
        neuron_header or ["bodyId", "instance", "type", "predictedNt"],
        neurons
        if neurons is not None
        else [
            [101, "KC_a", "KC", "acetylcholine"],
            [102, "KC_b", "KC", "acetylcholine"],
            [201, "MBON_1", "MBON", "glutamate"],
            [301, "APL", "APL", "gaba"],
        ],
    )
    write_csv(
        root / "connections.csv",
        connection_header or ["bodyId_pre", "bodyId_post", "weight"],
        connections
        if connections is not None
        else [
            [101, 201, 12],
            [102, 201, 7],
            [201, 301, 3],
            [301, 101, 5],
            [301, 102, 4],
        ],
    )
    if synapses is not None or synapses == []:
        write_csv(
            root / "synapses.csv",
            ["bodyId_pre", "bodyId_post", "x", "y", "z", "confidence"],
            synapses,
        )
    return root


DEFAULT_SYNAPSES = [
    [101, 201, 1.0, 2.0, 3.0, 0.9],
    [101, 201, 1.5, 2.5, 3.5, 0.8],
    [102, 201, 4.0, 5.0, 6.0, 0.95],
    [201, 301, 7.0, 8.0, 9.0, 0.7],
    [301, 101, 0.0, 0.0, 0.0, 0.99],
    [301, 102, 2.0, 2.0, 2.0, 0.6],
]


def run_job(
    driver: Any, settings: Any, ds: str, kind: str, params: dict[str, Any], artifacts: Path
) -> dict[str, Any]:
    """Submit one job on a queue of its own, run it with a worker in this process (files
    under ``artifacts``) and return the job as stored afterwards."""
    import uuid

    from connectomedb.schema.jobs import JobRequest
    from connectomedb.store.jobs import JobQueue
    from connectomedb.workers.worker import Worker

    queue = f"q_{uuid.uuid4().hex[:8]}"
    q = JobQueue(driver, settings.neo4j_database)
    job = q.submit(JobRequest(ds, kind, params, None, 1, queue))
    Worker(driver, settings.neo4j_database, "test", 120, 0.1, queue, artifacts).run_once()
    return q.job(job["id"])
