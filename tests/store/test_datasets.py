"""DatasetRepository on the real Neo4j: existence, owner lab, visibility, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from connectomedb.errors import BadInput, NotFound
from connectomedb.loaders.csvbundle import NeuprintBundle
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.datasets import DatasetRepository
from tests.conftest import dataset_node, graph_counts
from tests.factories import neuprint_bundle

OWNERS = "MATCH (:Dataset {id: $ds})-[:OWNED_BY]->(l:Lab) RETURN l.id AS lab"


@pytest.fixture
def repo(driver: neo4j.Driver, settings: Settings) -> DatasetRepository:
    return DatasetRepository(driver, settings.neo4j_database)


@pytest.fixture
def loaded(driver: neo4j.Driver, settings: Settings, dataset_id: str, tmp_path: Path) -> str:
    src = NeuprintBundle(neuprint_bundle(tmp_path / "bundle"), dataset_id)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    return dataset_id


@pytest.fixture
def labs(driver: neo4j.Driver) -> Iterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:8]
    pair = (f"t_lab1_{tag}", f"t_lab2_{tag}")
    yield pair
    driver.execute_query("MATCH (l:Lab) WHERE l.id IN $ids DETACH DELETE l", ids=list(pair))


def _owners(driver: neo4j.Driver, ds: str) -> list[str]:
    recs, _, _ = driver.execute_query(OWNERS, ds=ds)
    return [r["lab"] for r in recs]


def test_exists(repo: DatasetRepository, loaded: str) -> None:
    assert repo.exists(loaded) is True
    assert repo.exists(f"{loaded}_not") is False


def test_list_and_get(repo: DatasetRepository, loaded: str) -> None:
    assert loaded in [d.id for d in repo.list()]
    ds = repo.get(loaded)
    assert (ds.status, ds.neuron_count, ds.connection_count) == ("ready", 4, 5)
    with pytest.raises(NotFound, match="not found"):
        repo.get(f"{loaded}_not")


def test_set_owner_if_none_keeps_the_first_owner(
    driver: neo4j.Driver, repo: DatasetRepository, loaded: str, labs: tuple[str, str]
) -> None:
    first, second = labs
    assert repo.set_owner_if_none(loaded, first) is True
    assert _owners(driver, loaded) == [first]
    recs, _, _ = driver.execute_query("MATCH (l:Lab {id: $id}) RETURN l.name AS n", id=first)
    assert recs[0]["n"] == first  # the lab was created, named after its id
    assert repo.set_owner_if_none(loaded, second) is False
    assert _owners(driver, loaded) == [first]


def test_set_owner_of_a_missing_dataset(
    driver: neo4j.Driver, repo: DatasetRepository, labs: tuple[str, str]
) -> None:
    with pytest.raises(NotFound, match="'t_no_such_dataset' not found"):
        repo.set_owner_if_none("t_no_such_dataset", labs[0])
    recs, _, _ = driver.execute_query("MATCH (l:Lab {id: $id}) RETURN l", id=labs[0])
    assert recs == []  # nothing is written for a dataset that is not there


def test_set_visibility(driver: neo4j.Driver, repo: DatasetRepository, loaded: str) -> None:
    repo.set_visibility(loaded, "public")
    assert dataset_node(driver, loaded)["visibility"] == "public"
    repo.set_visibility(loaded, "private")
    assert dataset_node(driver, loaded)["visibility"] == "private"
    with pytest.raises(BadInput, match="visibility must be private or public"):
        repo.set_visibility(loaded, "Public")
    assert dataset_node(driver, loaded)["visibility"] == "private"
    with pytest.raises(NotFound, match="not found"):
        repo.set_visibility(f"{loaded}_not", "public")


def test_delete_removes_everything(
    driver: neo4j.Driver, repo: DatasetRepository, loaded: str
) -> None:
    assert graph_counts(driver, loaded)["neurons"] == 4
    repo.delete(loaded)
    assert dataset_node(driver, loaded) is None
    assert graph_counts(driver, loaded) == {}
    recs, _, _ = driver.execute_query(
        "MATCH (n:Cell) WHERE n.dataset = $ds RETURN count(n) AS c", ds=loaded
    )
    assert recs[0]["c"] == 0
    with pytest.raises(NotFound):
        repo.delete(loaded)


def test_a_derived_dataset_is_read_by_the_labs_that_read_its_source(
    driver: neo4j.Driver, repo: DatasetRepository, loaded: str, tmp_path: Path
) -> None:
    """Source owned by lab A and shared with B; the requester is in B and C. The derived
    dataset: owned by A, shared with B, not with C, private. Of a public source, the
    requester's labs (B, C) are added."""
    tag = uuid.uuid4().hex[:8]
    a, b, c, user = (f"t_inh{x}_{tag}" for x in ("A", "B", "C", "user"))
    derived = f"{loaded}_derived"
    DatasetWriter(driver).load(NeuprintBundle(neuprint_bundle(tmp_path / "d"), derived))
    try:
        driver.execute_query(
            "UNWIND [$a, $b, $c] AS id CREATE (:Lab {id: id}) WITH count(*) AS x "
            "MATCH (s:Dataset {id: $src}), (la:Lab {id: $a}), (lb:Lab {id: $b}), "
            "(lc:Lab {id: $c}) CREATE (s)-[:OWNED_BY]->(la), (s)-[:SHARED_WITH]->(lb), "
            "(u:User {id: $user})-[:MEMBER_OF {role: 'viewer'}]->(lb), "
            "(u)-[:MEMBER_OF {role: 'viewer'}]->(lc)",
            a=a,
            b=b,
            c=c,
            user=user,
            src=loaded,
        )
        shared = "MATCH (:Dataset {id: $ds})-[:SHARED_WITH]->(l:Lab) RETURN l.id AS lab"

        def shares() -> set[str]:
            return {r["lab"] for r in driver.execute_query(shared, ds=derived).records}

        repo.inherit_access(derived, loaded, user)
        assert _owners(driver, derived) == [a]
        assert shares() == {b}
        assert repo.get(derived).visibility == "private"
        repo.set_visibility(loaded, "public")
        repo.inherit_access(derived, loaded, user)
        assert shares() == {b, c} and _owners(driver, derived) == [a]
        assert repo.get(derived).visibility == "private"
        with pytest.raises(NotFound):
            repo.inherit_access(f"{derived}_not", loaded, user)
    finally:
        repo.delete(derived)
        driver.execute_query(
            "MATCH (n) WHERE (n:Lab OR n:User) AND n.id ENDS WITH $tag DETACH DELETE n", tag=tag
        )
