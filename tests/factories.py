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
