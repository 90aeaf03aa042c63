"""Exact Cypher of the ingest builders."""

import pytest

from connectomedb.store.ingest import MARK_BATCH, create_cells


def test_create_cells_only_listed_properties() -> None:
    q = create_cells("Neuron", {"name", "id", "type"})
    assert q.strip() == (
        "UNWIND $rows AS row\n"
        "CREATE (n:Cell:Neuron {dataset: $dataset, `id`: row.`id`, `name`: row.`name`, "
        "`type`: row.`type`})"
    )


def test_create_cells_rejects_unlisted() -> None:
    with pytest.raises(ValueError, match="unknown cell properties"):
        create_cells("Neuron", {"id", "name) DETACH DELETE n //"})
    with pytest.raises(ValueError, match="unknown cell label"):
        create_cells("Synapse")


def test_mark_batch() -> None:
    assert MARK_BATCH["connections"] == (
        "MATCH (d:Dataset {id: $dataset, status: 'loading'}) "
        "SET d.done_connections = d.done_connections + $index RETURN count(d) AS marked"
    )
