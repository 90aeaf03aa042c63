"""Model runs on the world's Cook 2019 for the dashboard's tests: one of each kind the
run page draws, written by a worker in this process to the artifact folder the world's
server reads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

from connectomedb.settings import Settings
from tests.factories import run_job
from tests.world import World

#: small versions of each kind, quick on Cook 2019
RUNS: dict[str, dict[str, Any]] = {
    "embedding": {"method": "spectral", "dim": 4},
    "simulate": {
        "seconds": 0.2,
        "stimuli": [
            {
                "ids": ["ASHL", "ASHR", "AVAL", "AVAR", "PVCL"],
                "kind": "current",
                "amplitude_mv": 15.0,
            }
        ],
    },
    "celltype_gnn": {"seeds": 1, "epochs": 5, "hidden": 16},
    "probe": {},
}


@pytest.fixture(scope="session")
def runs(world: World, driver: neo4j.Driver, settings: Settings) -> Iterator[dict[str, str]]:
    """Run id per kind (removed with the world's dataset; their files here)."""
    done: dict[str, str] = {}
    folders: list[Path] = []
    try:
        for kind, params in RUNS.items():
            j = run_job(driver, settings, world.cook, kind, params, settings.artifacts)
            assert j["status"] == "succeeded", (kind, j.get("error"))
            done[kind] = j["run_id"]
            recs, _, _ = driver.execute_query(
                "MATCH (r:ModelRun {id: $id}) RETURN r.metrics AS m", id=j["run_id"]
            )
            metrics = json.loads(recs[0]["m"] or "{}")
            if "artifact_dir" in metrics:
                folders.append(Path(metrics["artifact_dir"]))
        yield done
    finally:
        for f in folders:
            shutil.rmtree(f, ignore_errors=True)
