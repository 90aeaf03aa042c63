"""Datasets: reading, removing, and the operator's owner and visibility settings."""

from __future__ import annotations

from typing import Any, Final

import neo4j

from connectomedb.errors import BadInput, NotFound
from connectomedb.schema.functional import MEASUREMENT_SET
from connectomedb.schema.graph import CELL, CELL_TYPE, DATASET, SYNAPSE
from connectomedb.schema.models import Dataset
from connectomedb.store.access import (
    INHERIT_ACCESS,
    SET_OWNER_IF_NONE,
    SET_VISIBILITY,
    VISIBILITIES,
)
from connectomedb.store.aggregates import DELETE_AGGREGATES
from connectomedb.store.driver import READ, chained_session
from connectomedb.store.ingest import GET_DATASET, RESET_DONE
from connectomedb.store.jobs import DELETE_DATASET_JOBS

LIST_DATASETS: Final = f"MATCH (d:{DATASET}) RETURN d ORDER BY d.id"

DATASET_EXISTS: Final = f"RETURN EXISTS {{ MATCH (:{DATASET} {{id: $id}}) }} AS found"

MARK_DELETING: Final = f"""
MATCH (d:{DATASET} {{id: $dataset}})
SET d.status = 'deleting', {RESET_DONE}
"""

#: Deleting runs as auto-commit ``CALL {} IN TRANSACTIONS`` so that a dataset of
#: any size is removed in bounded transactions.
DELETE_SYNAPSES: Final = f"""
MATCH (s:{SYNAPSE}) WHERE s.dataset = $dataset AND s.id IS NOT NULL
CALL (s) {{ DETACH DELETE s }} IN TRANSACTIONS OF 10000 ROWS
"""

DELETE_RELATIONSHIPS: Final = f"""
MATCH (n:{CELL})-[r]->() WHERE n.dataset = $dataset AND n.id IS NOT NULL
CALL (r) {{ DELETE r }} IN TRANSACTIONS OF 20000 ROWS
"""

DELETE_CELLS: Final = f"""
MATCH (n:{CELL}) WHERE n.dataset = $dataset AND n.id IS NOT NULL
CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 5000 ROWS
"""

DELETE_CELL_TYPES: Final = f"""
MATCH (t:{CELL_TYPE}) WHERE t.dataset = $dataset AND t.name IS NOT NULL
CALL (t) {{ DETACH DELETE t }} IN TRANSACTIONS OF 5000 ROWS
"""

DELETE_ANNOTATIONS: Final = """
MATCH (a:Annotation) WHERE a.dataset = $dataset
CALL (a) { DETACH DELETE a } IN TRANSACTIONS OF 10000 ROWS
"""

#: measurement sets (their relationships with the cells go with the cells)
DELETE_MEASUREMENT_SETS: Final = f"""
MATCH (m:{MEASUREMENT_SET}) WHERE m.dataset = $dataset AND m.id IS NOT NULL
CALL (m) {{ DETACH DELETE m }} IN TRANSACTIONS OF 100 ROWS
"""

DELETE_DATASET_NODE: Final = f"MATCH (d:{DATASET} {{id: $dataset}}) DETACH DELETE d"

#: Dataset node property for each load count (the names LoadResult.counts uses).
COUNT_FIELDS = {
    "neurons": "neuron_count",
    "non_neuronal": "non_neuronal_count",
    "connections": "connection_count",
    "chemical_synapse_total": "chemical_synapse_total",
    "gap_junctions": "gap_junction_count",
    "gap_junction_total": "gap_junction_total",
    "synapses": "synapse_count",
}


def counts_of(props: dict[str, Any]) -> dict[str, int]:
    """The load counts stored on a Dataset node."""
    return {k: int(props.get(field) or 0) for k, field in COUNT_FIELDS.items()}


def delete_dataset_content(driver: neo4j.Driver, ds: str, database: str = "neo4j") -> None:
    """Remove every node and relationship of dataset ``ds`` (annotations included) except
    its Dataset node."""
    with chained_session(driver, database) as s:
        for q in (
            DELETE_AGGREGATES,
            DELETE_ANNOTATIONS,
            DELETE_SYNAPSES,
            DELETE_RELATIONSHIPS,
            DELETE_CELLS,
            DELETE_CELL_TYPES,
            DELETE_MEASUREMENT_SETS,
        ):
            s.run(q, dataset=ds).consume()


def delete_dataset(driver: neo4j.Driver, ds: str, database: str = "neo4j") -> bool:
    """Remove dataset ``ds`` entirely, with its jobs, schedules and model runs; False when
    it did not exist. It is marked 'deleting' (progress cleared) first, so an interrupted
    delete is never resumed as a load."""
    recs, _, _ = driver.execute_query(GET_DATASET, id=ds, database_=database, routing_=READ)
    if not recs:
        return False
    driver.execute_query(MARK_DELETING, dataset=ds, database_=database)
    with chained_session(driver, database) as s:
        s.run(DELETE_DATASET_JOBS, dataset=ds).consume()
    delete_dataset_content(driver, ds, database)
    driver.execute_query(DELETE_DATASET_NODE, dataset=ds, database_=database)
    return True


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
        recs, _, _ = self.driver.execute_query(
            LIST_DATASETS, database_=self.database, routing_=READ
        )
        return [_to_model(dict(r["d"])) for r in recs]

    def get(self, dataset_id: str) -> Dataset:
        recs, _, _ = self.driver.execute_query(
            GET_DATASET, id=dataset_id, database_=self.database, routing_=READ
        )
        if not recs:
            raise NotFound(f"dataset {dataset_id!r} not found")
        return _to_model(dict(recs[0]["d"]))

    def exists(self, dataset_id: str) -> bool:
        recs, _, _ = self.driver.execute_query(
            DATASET_EXISTS, id=dataset_id, database_=self.database, routing_=READ
        )
        return bool(recs[0]["found"])

    def delete(self, dataset_id: str) -> None:
        if not delete_dataset(self.driver, dataset_id, self.database):
            raise NotFound(f"dataset {dataset_id!r} not found")

    def set_owner_if_none(self, dataset_id: str, lab: str) -> bool:
        """Make ``lab`` (created if missing) the owner unless the dataset has one; False
        when it already had an owner."""
        if not self.exists(dataset_id):
            raise NotFound(f"dataset {dataset_id!r} not found")
        recs, _, _ = self.driver.execute_query(
            SET_OWNER_IF_NONE, lab=lab, dataset=dataset_id, database_=self.database
        )
        return bool(recs)

    def inherit_access(self, dataset_id: str, source: str, user: str | None) -> None:
        """A dataset derived from ``source`` by a job of ``user``: private, owned by the
        source's owner lab, shared with the labs the source is shared with (and with the
        user's labs when the source is public)."""
        recs, _, _ = self.driver.execute_query(
            INHERIT_ACCESS, dataset=dataset_id, source=source, user=user, database_=self.database
        )
        if not recs or not recs[0]["found"]:
            raise NotFound(f"dataset {dataset_id!r} not found")

    def set_visibility(self, dataset_id: str, visibility: str) -> None:
        """Public (anyone, anonymous included) or private (its labs only); no permission
        check: the caller is the local operator."""
        if visibility not in VISIBILITIES:
            raise BadInput("visibility must be private or public")
        recs, _, _ = self.driver.execute_query(
            SET_VISIBILITY, dataset=dataset_id, visibility=visibility, database_=self.database
        )
        if not recs:
            raise NotFound(f"dataset {dataset_id!r} not found")
