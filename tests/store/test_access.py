"""AccessRepository.ensure_lab on the real Neo4j (the rules themselves: test_access_rules)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from connectomedb.errors import BadInput
from connectomedb.settings import Settings
from tests.world import run_access


@pytest.fixture
def lab(driver: neo4j.Driver) -> Iterator[str]:
    name = f"t_lab_{uuid.uuid4().hex[:8]}"
    yield name
    driver.execute_query("MATCH (l:Lab) WHERE l.id = $id DETACH DELETE l", id=name)


def test_ensure_lab_creates_once(driver: neo4j.Driver, settings: Settings, lab: str) -> None:
    first = run_access(settings, lambda repo: repo.ensure_lab(lab))
    assert (first["id"], first["name"]) == (lab, lab)
    second = run_access(settings, lambda repo: repo.ensure_lab(lab))
    assert second == first  # the same node, created_at included
    recs, _, _ = driver.execute_query("MATCH (l:Lab {id: $id}) RETURN count(l) AS c", id=lab)
    assert recs[0]["c"] == 1


def test_ensure_lab_keeps_an_existing_name(settings: Settings, lab: str) -> None:
    run_access(settings, lambda repo: repo.create_lab(None, lab, "The T lab"))
    assert run_access(settings, lambda repo: repo.ensure_lab(lab))["name"] == "The T lab"


def test_ensure_lab_refuses_a_bad_id(settings: Settings) -> None:
    with pytest.raises(BadInput, match="lab id 'bad lab' is not valid"):
        run_access(settings, lambda repo: repo.ensure_lab("bad lab"))
