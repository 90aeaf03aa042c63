"""Small input files and hand-made datasets for tests."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectomedb.loaders.base import Row, Source, Where
from connectomedb.schema.models import DatasetMeta


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


class TiedSource(Source):
    """A hand-made dataset whose lists tie on their sort keys: a hub ``h`` with upstream,
    downstream and gap-junction partners that share counts (and an autapse), synapses
    whose ids do not follow the order they are written in, and a few other connections.
    ``UP``, ``DOWN``, ``GAPS``, ``SYNAPSES`` and ``OTHER`` are its rows, for the tests'
    expected values."""

    #: upstream partners of h: (partner, synapses); h -> h is an autapse
    UP = [("p07", 4), ("p01", 4), ("p12", 2), ("p03", 7), ("p05", 2), ("p02", 2), ("h", 2),
          ("p09", 1), ("p04", 4), ("p11", 1), ("p06", 2), ("p10", 7), ("p08", 1)]  # fmt: skip
    #: downstream partners of h (h -> h again, with the same count)
    DOWN = [("p02", 3), ("p09", 3), ("p01", 5), ("p11", 3), ("h", 2), ("p05", 1),
            ("p03", 1), ("p12", 5), ("p06", 3)]  # fmt: skip
    #: gap junctions: (a, b, count), h on either side
    GAPS = [("h", "p04", 2), ("p01", "h", 6), ("h", "p09", 2), ("p11", "h", 2),
            ("h", "p02", 6), ("p07", "h", 1), ("p03", "p05", 9)]  # fmt: skip
    #: synapses: (id, pre, post)
    SYNAPSES = [("s10", "h", "p01"), ("s02", "h", "p01"), ("s31", "p03", "h"),
                ("s07", "h", "p12"), ("s1", "h", "p02"), ("s99", "h", "p01"),
                ("s20", "p10", "h"), ("s03", "h", "p09"), ("s5", "h", "h")]  # fmt: skip
    #: connections among the partners
    OTHER = [("p03", "p01", 2), ("p01", "p03", 2), ("p12", "p01", 9), ("p01", "p12", 1),
             ("p05", "p06", 3), ("p10", "p11", 3)]  # fmt: skip
    CELLS = ["h", *(f"p{i:02d}" for i in range(1, 13))]

    def __init__(self, dataset: str) -> None:
        self.meta = DatasetMeta(id=dataset, name="ties", species="synthetic", source="test")

    @classmethod
    def connection_rows(cls) -> list[tuple[str, str, int]]:
        """Every connection: (pre, post, synapses)."""
        rows = [(p, "h", c) for p, c in cls.UP if p != "h"]
        return rows + [("h", p, c) for p, c in cls.DOWN] + cls.OTHER

    def fingerprint(self) -> str:
        return "tied-1"

    def neurons(self) -> Iterator[Row]:
        for k, cid in enumerate(self.CELLS):
            yield Where("cells", k + 1), {"id": cid, "kind": "neuron", "name": cid}

    def connections(self) -> Iterator[Row]:
        for k, (a, b, c) in enumerate(self.connection_rows()):
            yield Where("connections", k + 1), {"pre": a, "post": b, "synapse_count": c}

    def gap_junctions(self) -> Iterator[Row]:
        for k, (a, b, c) in enumerate(self.GAPS):
            yield Where("gaps", k + 1), {"a": a, "b": b, "count": c}

    def synapses(self) -> Iterator[Row]:
        for k, (sid, a, b) in enumerate(self.SYNAPSES):
            yield (
                Where("synapses", k + 1),
                {"id": sid, "pre": a, "post": b, "x": 1.0, "y": 2.0, "z": float(k)},
            )
