"""``connectomedb datasets`` and ``connectomedb dataset show/visibility/delete``."""

from __future__ import annotations

import neo4j

from tests.cli.conftest import cli
from tests.conftest import dataset_node


def test_datasets_lists_a_loaded_dataset(small_dataset: str) -> None:
    res = cli("datasets")
    assert res.exit_code == 0, res.output
    row = next(line.split() for line in res.stdout.splitlines() if line.startswith(small_dataset))
    # id, status, neurons, connections, synapses (the bundle: 4 neurons, 5 pairs, 31 synapses)
    assert row[:5] == [small_dataset, "ready", "4", "5", "31"]


def test_show_prints_provenance_and_counts(small_dataset: str) -> None:
    res = cli("dataset", "show", small_dataset)
    assert res.exit_code == 0, res.output
    rows = [line.split(maxsplit=1) for line in res.stdout.splitlines()]
    fields = {r[0]: r[1].strip() for r in rows if len(r) == 2}
    assert fields["id"] == small_dataset
    assert fields["neuron_count"] == "4"


def test_show_of_a_missing_dataset() -> None:
    res = cli("dataset", "show", "no_such_dataset")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: dataset 'no_such_dataset' not found"


def test_visibility_public_then_private(driver: neo4j.Driver, small_dataset: str) -> None:
    res = cli("dataset", "visibility", small_dataset, "public")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"{small_dataset} is public"
    assert dataset_node(driver, small_dataset)["visibility"] == "public"
    res = cli("dataset", "visibility", small_dataset, "private")
    assert res.exit_code == 0, res.output
    assert dataset_node(driver, small_dataset)["visibility"] == "private"


def test_visibility_refuses_other_values(driver: neo4j.Driver, small_dataset: str) -> None:
    res = cli("dataset", "visibility", small_dataset, "everyone")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: visibility must be private or public"
    assert dataset_node(driver, small_dataset)["visibility"] == "private"  # as loaded


def test_visibility_of_a_missing_dataset() -> None:
    res = cli("dataset", "visibility", "no_such_dataset", "public")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: dataset 'no_such_dataset' not found"


def test_delete(driver: neo4j.Driver, small_dataset: str) -> None:
    res = cli("dataset", "delete", small_dataset)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"deleted {small_dataset}"
    assert dataset_node(driver, small_dataset) is None
    again = cli("dataset", "delete", small_dataset)
    assert again.exit_code == 1
    assert again.stderr.strip() == f"error: dataset '{small_dataset}' not found"
