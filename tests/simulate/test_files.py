"""Run files: written whole or not at all, read back only from the shared folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from connectomedb.errors import BadInput, NotFound
from connectomedb.jobs.contract import whole_folder
from connectomedb.simulate import job, plots
from connectomedb.simulate.engine import SimResult
from connectomedb.simulate.files import run_file, run_folder, spike_trains
from connectomedb.store.graph import Graph


def _fixture() -> tuple[Graph, list[SimResult], list[dict]]:
    """Three neurons, two trials: in trial 0 neuron b fires at steps 5, 9, 30 and a at
    step 7; in trial 1 only c fires, at step 3."""
    g = Graph("ds", ["a", "b", "c"], np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    r = SimResult(
        trial=np.array([0, 0, 0, 0, 1]),
        step=np.array([5, 7, 9, 30, 3]),
        neuron=np.array([1, 0, 1, 1, 2]),
        rates=np.zeros((2, 3)),
        steps=100,
        dt=0.1,
    )
    summary = {"name": "baseline", "_per_trial": np.ones((2, 1))}
    return g, [r], [summary]


def _save(folder: Path, g: Graph, results: list[SimResult], summaries: list[dict]) -> list[str]:
    """As the simulate job saves: its files, written into a folder only when complete."""
    return whole_folder(folder, lambda tmp: job._write(tmp, g, results, summaries, 10.0))


def test_a_failed_write_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    g, results, summaries = _fixture()
    folder = tmp_path / "simulate" / "job_1-1"

    def broken(*args: object, **kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(plots, "rate_png", broken)
    with pytest.raises(OSError, match="disk full"):
        _save(folder, g, results, summaries)
    assert not folder.exists() and list(folder.parent.iterdir()) == []
    monkeypatch.undo()
    files = _save(folder, g, results, summaries)
    assert sorted(files) == ["raster-0.png", "rate-0.png", "spikes.npz"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)


def test_spike_trains_are_read_back_by_activity_or_by_name(tmp_path: Path) -> None:
    g, results, summaries = _fixture()
    root = tmp_path / "artifacts"
    folder = root / "simulate" / "job_2-1"
    files = _save(folder, g, results, summaries)
    metrics = {"artifact_dir": str(folder), "files": files, "trials": 2}
    got = spike_trains(root, metrics)
    assert [n for n, _ in got] == ["b", "a"]  # most spikes first
    assert [t.tolist() for _, t in got] == [pytest.approx([0.5, 0.9, 3.0]), pytest.approx([0.7])]
    got = spike_trains(root, json.dumps(metrics), trial=1, neuron_ids=["a", "c"])
    assert [n for n, _ in got] == ["a", "c"]  # in the order asked, empty trains too
    assert [t.tolist() for _, t in got] == [[], pytest.approx([0.3])]
    with pytest.raises(BadInput):
        spike_trains(root, metrics, trial=2)
    with pytest.raises(BadInput):
        spike_trains(root, metrics, condition=1)
    with pytest.raises(NotFound):
        spike_trains(root, metrics, neuron_ids=["zz"])
    # files outside the shared folder, or not listed, are not served
    with pytest.raises(NotFound):
        run_folder(tmp_path / "elsewhere", metrics)
    with pytest.raises(NotFound):
        run_file(root, metrics, "../../etc/passwd")
    path, media = run_file(root, metrics, "raster-0.png")
    assert media == "image/png" and path.read_bytes()[:4] == b"\x89PNG"
