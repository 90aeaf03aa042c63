"""Reading and removing datasets."""

from __future__ import annotations

from typing import Any

import neo4j

from connectomedb.errors import NotFound
from connectomedb.loaders.writer import delete_dataset
from connectomedb.schema.graph import DATASET
from connectomedb.schema.models import Dataset

LIST_DATASETS = f"MATCH (d:{DATASET}) RETURN d ORDER BY d.id"
GET_DATASET = f"MATCH (d:{DATASET} {{id: $id}}) RETURN d"


def _to_model(props: dict[str, Any]) -> Dataset:
    p = dict(props)
    for k in ("created_at", "loaded_at"):
        if p.get(k) is not None and hasattr(p[k], "to_native"):
            p[k] = p[k].to_native()
    p["source_files"] = tuple(p.get("source_files") or ())
    return Dataset.model_validate(p)


class DatasetRepository:
    """Dataset metadata access (sync driver; used by the CLI and loaders)."""

    def __init__(self, driver: neo4j.Driver, database: str = "neo4j") -> None:
        self.driver = driver
        self.database = database

    def list(self) -> list[Dataset]:
        recs, _, _ = self.driver.execute_query(LIST_DATASETS, database_=self.database)
        return [_to_model(dict(r["d"])) for r in recs]

    def get(self, dataset_id: str) -> Dataset:
        recs, _, _ = self.driver.execute_query(GET_DATASET, id=dataset_id, database_=self.database)
        if not recs:
            raise NotFound(f"dataset {dataset_id!r} not found")
        return _to_model(dict(recs[0]["d"]))

    def delete(self, dataset_id: str) -> None:
        if not delete_dataset(self.driver, dataset_id, self.database):
            raise NotFound(f"dataset {dataset_id!r} not found")
