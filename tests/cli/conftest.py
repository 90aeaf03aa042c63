"""The CLI driven in-process by typer's CliRunner, against the real Neo4j."""

from __future__ import annotations

from pathlib import Path

import neo4j
import pytest
from typer.testing import CliRunner, Result

from connectomedb.cli import app
from connectomedb.loaders.csvbundle import NeuprintBundle
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from tests.factories import neuprint_bundle


def cli(*args: str) -> Result:
    """Run ``connectomedb ARGS`` with a wide terminal, so messages are not wrapped."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def small_dataset(driver: neo4j.Driver, settings: Settings, dataset_id: str, tmp_path: Path) -> str:
    """The four-neuron neuPrint bundle of tests/factories.py, loaded as ``dataset_id``."""
    src = NeuprintBundle(neuprint_bundle(tmp_path / "bundle"), dataset_id)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    return dataset_id
