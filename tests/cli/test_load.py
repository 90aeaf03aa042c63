"""``connectomedb load``: a tiny synthetic connectome, its owner lab and visibility."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from tests.cli.conftest import cli
from tests.conftest import dataset_node, graph_counts

OWNER = "MATCH (:Dataset {id: $ds})-[:OWNED_BY]->(l:Lab) RETURN l.id AS lab"
AGGREGATES = """MATCH (a:Aggregate {dataset: $ds}) WITH a.kind AS kind ORDER BY kind
RETURN collect(DISTINCT kind) AS kinds, count(*) AS n"""


@pytest.fixture
def lab(driver: neo4j.Driver) -> Iterator[str]:
    name = f"t_lab_{uuid.uuid4().hex[:8]}"
    yield name
    driver.execute_query("MATCH (l:Lab) WHERE l.id = $id DETACH DELETE l", id=name)


def _owners(driver: neo4j.Driver, ds: str) -> list[str]:
    recs, _, _ = driver.execute_query(OWNER, ds=ds)
    return [r["lab"] for r in recs]


def test_load_synthetic_with_lab_and_public(
    driver: neo4j.Driver, dataset_id: str, lab: str
) -> None:
    args = ("load", "synthetic", "--id", dataset_id, "--neurons", "20", "--connections", "40")
    res = cli(*args, "--lab", lab, "--public")
    assert res.exit_code == 0, res.output
    assert f"{dataset_id} loaded in" in res.stdout
    assert graph_counts(driver, dataset_id)["neurons"] == 20
    assert _owners(driver, dataset_id) == [lab]
    assert dataset_node(driver, dataset_id)["visibility"] == "public"
    # the whole-dataset statistics were computed and stored after the load
    assert "networkStatistics" in res.stdout
    recs, _, _ = driver.execute_query(AGGREGATES, ds=dataset_id)
    assert recs[0]["kinds"] == [
        "cell_type_connectivity",
        "hubs",
        "network_statistics",
        "reciprocity_by_group",
        "triad_census",
    ]
    assert recs[0]["n"] == 7  # two levels of cell-type connectivity, two of statistics

    again = cli(*args, "--lab", "t_some_other_lab")
    assert again.exit_code == 0, again.output
    assert f"{dataset_id} already loaded (unchanged input)" in again.stdout
    assert (
        f"{dataset_id} already has an owner lab; --lab t_some_other_lab was not applied"
        in again.stderr
    )
    assert _owners(driver, dataset_id) == [lab]


def test_unknown_source_lists_every_source() -> None:
    res = cli("load", "nosuch")
    assert res.exit_code == 1
    msg = res.stderr.strip()
    assert msg.startswith("error: unknown source 'nosuch'; choose one of cook2019, ")
    assert msg.endswith(
        ", larva-mb-right, neuprint, flywire, synthetic, weights, arrow; "
        "onto a dataset (--onto): randi2023, bentley2016, table"
    )


def test_bundle_sources_need_a_path_and_an_id(tmp_path: object) -> None:
    res = cli("load", "neuprint")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: `load neuprint` needs --path to the CSV bundle directory"
    res = cli("load", "flywire", "--path", str(tmp_path))
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: `load flywire` needs --id for the new dataset"


def test_an_invalid_lab_is_refused_before_anything_is_written(
    driver: neo4j.Driver, dataset_id: str
) -> None:
    res = cli("load", "synthetic", "--id", dataset_id, "--lab", "bad lab")
    assert res.exit_code == 1
    assert "lab id 'bad lab' is not valid" in res.stderr
    assert dataset_node(driver, dataset_id) is None


def test_load_tables_onto_a_dataset(small_dataset: str, tmp_path: Path) -> None:
    """A pairwise table onto a dataset: the rows loaded, the unmatched names printed;
    a bad table names its file, row and column and loads nothing."""
    good = tmp_path / "pairs.csv"
    good.write_text("stimulated,responder,q\n101,201,0.01\n102,NOPE,0.2\n")
    res = cli("load", "table", "--path", str(good), "--id", "t_set", "--onto", small_dataset)
    assert res.exit_code == 0, res.output
    assert f"t_set onto {small_dataset} loaded in" in res.stdout
    assert "1 pairwise rows" in res.stdout
    assert "1 names match no neuron" in res.stderr and "NOPE (1 rows)" in res.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("stimulated,responder,trials\n101,201,2\n102,201,1.5\n")
    res = cli("load", "table", "--path", str(bad), "--id", "t_bad", "--onto", small_dataset)
    assert res.exit_code == 1
    assert f"{bad}, row 3, column 'trials'" in res.stderr
    res = cli("load", "randi2023")
    assert res.exit_code == 1 and "needs --onto" in res.stderr


def test_no_warm_leaves_the_statistics_to_the_first_request(
    driver: neo4j.Driver, dataset_id: str
) -> None:
    args = ("load", "synthetic", "--id", dataset_id, "--neurons", "20", "--connections", "40")
    res = cli(*args, "--no-warm")
    assert res.exit_code == 0, res.output
    recs, _, _ = driver.execute_query(AGGREGATES, ds=dataset_id)
    assert recs[0]["n"] == 0
