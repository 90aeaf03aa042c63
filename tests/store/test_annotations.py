"""Annotations in the store: deleting a dataset removes its annotations too."""

from __future__ import annotations

import asyncio

import neo4j

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.annotations import AnnotationRepository
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.graphdb import Store, make_async_driver


def test_deleting_a_dataset_removes_its_annotations(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    src = SyntheticSource(SyntheticParams(n_neurons=20, n_connections=40, n_types=2), dataset_id)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    recs, _, _ = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id ORDER BY id LIMIT 2", ds=dataset_id
    )
    ids = [r["id"] for r in recs]

    async def annotate() -> None:
        d = make_async_driver(settings)
        try:
            repo = AnnotationRepository(Store(d, settings.neo4j_database, 30), dataset_id)
            for i in ids:
                await repo.annotate(i, "note", "a", "someone")
                await repo.annotate(i, "note", "b", "someone")
        finally:
            await d.close()

    asyncio.run(annotate())
    count = "MATCH (a:Annotation {dataset: $ds}) RETURN count(a) AS c"
    assert driver.execute_query(count, ds=dataset_id).records[0]["c"] == 4
    assert delete_dataset(driver, dataset_id, settings.neo4j_database)
    assert driver.execute_query(count, ds=dataset_id).records[0]["c"] == 0
