"""A dataset copied under another id through the CLI alone: ``connectomedb export DS
--format arrow --synapses`` then ``connectomedb load arrow --path FILE --id NEW``. The
copy has the same fingerprint (over cells, connections, gap junctions and synapses with
every property; the fingerprint leaves the dataset id out), counts and descriptive
properties; the original is untouched."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

import neo4j

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.models import DatasetMeta
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.fingerprint import dataset_fingerprint
from connectomedb.store.graphdb import Store, make_async_driver
from tests.cli.conftest import cli
from tests.conftest import dataset_node
from tests.export.test_arrow_roundtrip import EveryProperty, counts

DESCRIBED = {"species": "C. test", "version": "3", "citation": "Doe 2024", "license": "CC-BY"}


def fingerprint(settings: Settings, ds: str) -> str:
    async def go() -> str:
        d = make_async_driver(settings)
        try:
            return await dataset_fingerprint(Store(d, settings.neo4j_database, 60), ds)
        finally:
            await d.close()

    return asyncio.run(go())


def copy(settings: Settings, driver: neo4j.Driver, ds: str, new: str, tmp: Path) -> Path:
    """Export ``ds`` and load it as ``new`` with the CLI; assert it came back whole and
    left ``ds`` as it was."""
    fp, was = fingerprint(settings, ds), dataset_node(driver, ds)
    archive = tmp / f"{ds}.arrow.zip"
    res = cli("export", ds, "--format", "arrow", "--synapses", "--out", str(archive))
    assert res.exit_code == 0, res.output
    try:
        res = cli("load", "arrow", "--path", str(archive), "--id", new, "--no-warm")
        assert res.exit_code == 0, res.output
        assert f"{new} loaded in" in res.stdout
        assert fingerprint(settings, new) == fp
        assert counts(driver, new) == counts(driver, ds)
        got = dataset_node(driver, new)
        assert {k: got[k] for k in ("name", *DESCRIBED)} == {
            k: was[k] for k in ("name", *DESCRIBED)
        }
    finally:
        delete_dataset(driver, new, settings.neo4j_database)
    # the original, untouched
    assert fingerprint(settings, ds) == fp
    assert dataset_node(driver, ds) == was
    return archive


def test_a_dataset_with_every_property_restores_under_another_id(
    driver: neo4j.Driver, settings: Settings, dataset_id: str, tmp_path: Path
) -> None:
    src = EveryProperty(dataset_id)
    src.meta = DatasetMeta(id=dataset_id, name="every property", source="test", **DESCRIBED)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    archive = copy(settings, driver, dataset_id, f"{dataset_id}_copy", tmp_path)
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    assert manifest["meta"] == {"name": "every property", **DESCRIBED}
    # 4 cells; 3 chemical connections and 2 gap junctions; 2 synapses
    assert manifest["rows"] == {"neurons": 4, "connections": 5, "synapses": 2}


def test_a_synthetic_dataset_with_synapses_restores_under_another_id(
    driver: neo4j.Driver, settings: Settings, dataset_id: str, tmp_path: Path
) -> None:
    src = SyntheticSource(SyntheticParams(80, 400, n_types=4, synapses=True, seed=11), dataset_id)
    src.meta = src.meta.model_copy(update=DESCRIBED)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    copy(settings, driver, dataset_id, f"{dataset_id}_copy", tmp_path)
    assert counts(driver, dataset_id)["synapses"] > 400
