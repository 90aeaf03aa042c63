"""Reading a simulation run's files back for the API: the run's folder (which must lie
in the artifact folder the API and the workers share), its spike trains, its plots."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np

from connectomedb.errors import BadInput, NotFound

MEDIA_TYPES: Final = {".png": "image/png", ".npz": "application/octet-stream"}
#: at most this many spike trains per request
MAX_TRAINS: Final = 1000


def _as_dict(metrics: Any) -> dict[str, Any]:
    """A run's metrics, as stored (JSON text) or already read."""
    if isinstance(metrics, str):
        metrics = json.loads(metrics)
    return metrics if isinstance(metrics, dict) else {}


def run_folder(artifacts: Path, metrics: Any) -> Path:
    """The folder a run's metrics name, if it lies within ``artifacts`` and exists."""
    where = _as_dict(metrics).get("artifact_dir")
    if not where:
        raise NotFound("this run has no files")
    root = artifacts.resolve()
    folder = Path(where).resolve()
    if not folder.is_relative_to(root) or not folder.is_dir():
        raise NotFound(
            "this run's files are not on this server (the API reads them from the "
            "artifact folder it shares with the workers: DATA_CACHE/artifacts)"
        )
    return folder


def run_file(artifacts: Path, metrics: Any, name: str) -> tuple[Path, str]:
    """(path, media type) of one of the files a run's metrics list."""
    metrics = _as_dict(metrics)
    if name not in (metrics.get("files") or []):
        raise NotFound(f"this run has no file {name!r}")
    path = run_folder(artifacts, metrics) / name
    if not path.is_file():
        raise NotFound(f"file {name!r} of this run is missing")
    return path, MEDIA_TYPES.get(path.suffix, "application/octet-stream")


@lru_cache(maxsize=8)
def _spikes(path: str, mtime: float) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def spike_trains(
    artifacts: Path,
    metrics: Any,
    condition: int = 0,
    trial: int = 0,
    neuron_ids: list[str] | None = None,
    first: int = 100,
) -> list[tuple[str, np.ndarray]]:
    """Spike times (ms) per neuron in one condition and trial: of ``neuron_ids`` in
    that order (empty trains included), or else of the neurons that fired, most spikes
    first (ties by id); at most ``first``."""
    if not 1 <= first <= MAX_TRAINS:
        raise BadInput(f"first must be between 1 and {MAX_TRAINS}")
    metrics = _as_dict(metrics)
    path = run_folder(artifacts, metrics) / "spikes.npz"
    trials = int(metrics.get("trials") or 1)
    if not 0 <= trial < trials:
        raise BadInput(f"trial must be between 0 and {trials - 1}")
    if not path.is_file():
        raise NotFound("this run kept no spike trains")
    z = _spikes(str(path), path.stat().st_mtime)
    conditions = int(z["condition_names"].size)
    if not 0 <= condition < conditions:
        raise BadInput(f"condition must be between 0 and {conditions - 1}")
    keep = (z["condition"] == condition) & (z["trial"] == trial)
    ids = [str(x) for x in z["neuron_ids"]]
    step, neuron = z["step"][keep], z["neuron"][keep]
    dt = float(z["dt"])
    if neuron_ids is not None:
        index = {v: i for i, v in enumerate(ids)}
        unknown = [v for v in neuron_ids if v not in index]
        if unknown:
            raise NotFound(f"neurons not in this run: {', '.join(unknown[:10])}")
        chosen = [index[v] for v in neuron_ids[:first]]
    else:
        counts = np.bincount(neuron, minlength=len(ids))
        fired = np.flatnonzero(counts)
        chosen = sorted(fired.tolist(), key=lambda i: (-counts[i], ids[i]))[:first]
    order = np.argsort(neuron, kind="stable")  # spikes are sorted by step within a neuron
    bounds = np.searchsorted(neuron[order], np.arange(len(ids) + 1))
    # times to 1e-9 ms: step * dt carries binary noise (24.400000000000002)
    return [(ids[i], np.round(step[order[bounds[i] : bounds[i + 1]]] * dt, 9)) for i in chosen]
