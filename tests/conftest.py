"""Shared fixtures. Integration tests need a running Neo4j: the local one
(`connectomedb neo4j start`), any Neo4j 5 named by CONNECTOMEDB_NEO4J_URI, or, with
CONNECTOMEDB_TEST_NEO4J=testcontainers, the official neo4j:5.26 image started for the
session by testcontainers (Docker required)."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import neo4j
import pytest

from connectomedb.settings import Settings
from connectomedb.store.driver import check_connectivity, init_schema, make_driver
from tests import runlog
from tests.world import atlas, world  # noqa: F401  (the live API, its users, the atlas)

if TYPE_CHECKING:
    from testcontainers.community.neo4j import Neo4jContainer

TEST_NEO4J_ENV = "CONNECTOMEDB_TEST_NEO4J"
TEST_NEO4J_IMAGE = "neo4j:5.26"
#: The settings of the local Neo4j (connectomedb/neo4jhome) that queries depend on, as the
#: official image reads them from the environment (``.`` -> ``_``, ``_`` -> ``__``).
TEST_NEO4J_CONF = {
    "NEO4J_PLUGINS": '["apoc"]',
    "NEO4J_dbms_security_procedures_unrestricted": "apoc.*",
    "NEO4J_db_relationship__grouping__threshold": "1000",
    "NEO4J_db_transaction_monitor_check_interval": "200ms",
    "NEO4J_dbms_usage__report_enabled": "false",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "last: runs after every other test")
    runlog.start()
    runlog.note_tokens()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # a stable sort: the tests marked last go last, the others keep their order
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


class Neo4jContainerError(Exception):
    """The Neo4j container that CONNECTOMEDB_TEST_NEO4J asks for could not be had."""


def wants_container(environ: Mapping[str, str]) -> bool:
    """Whether the tests' Neo4j is a container: CONNECTOMEDB_TEST_NEO4J=testcontainers.
    Unset or empty keeps CONNECTOMEDB_NEO4J_URI or the local server; any other value is a
    mistake, refused rather than ignored."""
    value = environ.get(TEST_NEO4J_ENV, "").strip()
    if not value:
        return False
    if value == "testcontainers":
        return True
    raise Neo4jContainerError(
        f"{TEST_NEO4J_ENV}={value!r} is not understood: set it to 'testcontainers' for a "
        "Neo4j container, or leave it unset for CONNECTOMEDB_NEO4J_URI or the local Neo4j"
    )


def start_neo4j_container(image: str = TEST_NEO4J_IMAGE) -> Neo4jContainer:
    """Start ``image`` with APOC and a fresh password; raise Neo4jContainerError, naming the
    cause, when Docker does not answer or the container does not come up."""
    from docker.errors import DockerException
    from testcontainers.community.neo4j import Neo4jContainer

    try:
        # The constructor already asks the Docker engine for its version.
        container = Neo4jContainer(image, password=secrets.token_urlsafe(16))
    except DockerException as e:
        raise Neo4jContainerError(
            f"{TEST_NEO4J_ENV}=testcontainers, but Docker does not answer ({e}). Start the "
            f"Docker engine (or point DOCKER_HOST at one), or unset {TEST_NEO4J_ENV} to test "
            "against CONNECTOMEDB_NEO4J_URI or the local Neo4j."
        ) from e
    for key, value in TEST_NEO4J_CONF.items():
        container.with_env(key, value)
    try:
        container.start()
    except Exception as e:
        # Nothing may have started; the first error is the one to show.
        with contextlib.suppress(Exception):
            container.stop()
        raise Neo4jContainerError(f"the {image} container did not start: {e}") from e
    return container


@pytest.fixture(scope="session", autouse=True)
def neo4j_container() -> Iterator[Neo4jContainer | None]:
    """With CONNECTOMEDB_TEST_NEO4J=testcontainers, a Neo4j container for the session,
    named in the environment so that ``Settings()`` anywhere (the CLI run in-process, a
    server started by a test) reaches it; stopped at the session's end. Without the
    variable, nothing."""
    try:
        container = start_neo4j_container() if wants_container(os.environ) else None
    except Neo4jContainerError as e:
        # One clear message and the run stops: no silent fallback to another Neo4j.
        pytest.exit(str(e), returncode=pytest.ExitCode.USAGE_ERROR)
    if container is None:
        yield None
        return
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CONNECTOMEDB_NEO4J_URI", container.get_connection_url())
            mp.setenv("CONNECTOMEDB_NEO4J_USER", container.username)
            mp.setenv("CONNECTOMEDB_NEO4J_PASSWORD", container.password)
            yield container
    finally:
        container.stop()


@pytest.fixture(scope="session")
def settings(neo4j_container: Neo4jContainer | None) -> Settings:
    # every test client signs in from 127.0.0.1: the tests that send bad tokens on purpose
    # must not lock the others out (tests/service/test_accounts.py tests the limit)
    return Settings().model_copy(update={"max_failed_sign_ins": 100_000})


@pytest.fixture(scope="session")
def driver(settings: Settings) -> Iterator[neo4j.Driver]:
    d = make_driver(settings)
    check_connectivity(d)  # fails (not skips) when no Neo4j answers
    init_schema(d, settings.neo4j_database)
    yield d
    d.close()


@pytest.fixture
def dataset_id(driver: neo4j.Driver, settings: Settings) -> Iterator[str]:
    """A fresh dataset id, removed after the test whatever happened."""
    from connectomedb.store.datasets import delete_dataset

    ds = f"t_{uuid.uuid4().hex[:10]}"
    yield ds
    delete_dataset(driver, ds, settings.neo4j_database)


def graph_counts(driver: neo4j.Driver, ds: str) -> dict[str, int]:
    """Counts read back from the graph with plain Cypher (not from the Dataset node)."""
    q = """
    MATCH (d:Dataset {id: $ds})
    RETURN
      COUNT { MATCH (n:Neuron {dataset: $ds}) } AS neurons,
      COUNT { MATCH (n:NonNeuronal {dataset: $ds}) } AS non_neuronal,
      COUNT { MATCH (:Cell {dataset: $ds})-[:CONNECTS_TO]->() } AS connections,
      COALESCE(COLLECT { MATCH (:Cell {dataset: $ds})-[r:CONNECTS_TO]->()
                         RETURN sum(r.synapse_count) }[0], 0) AS chemical_synapse_total,
      COUNT { MATCH (:Cell {dataset: $ds})-[:GAP_JUNCTION]->() } AS gap_junctions,
      COALESCE(COLLECT { MATCH (:Cell {dataset: $ds})-[r:GAP_JUNCTION]->()
                         RETURN sum(r.count) }[0], 0) AS gap_junction_total,
      COUNT { MATCH (s:Synapse {dataset: $ds}) } AS synapses
    """
    recs, _, _ = driver.execute_query(q, ds=ds)
    if not recs:
        return {}
    return {k: int(v) for k, v in dict(recs[0]).items()}


def dataset_node(driver: neo4j.Driver, ds: str) -> dict | None:
    recs, _, _ = driver.execute_query("MATCH (d:Dataset {id: $ds}) RETURN d", ds=ds)
    return dict(recs[0]["d"]) if recs else None


def cell_count(driver: neo4j.Driver, ds: str) -> int:
    recs, _, _ = driver.execute_query("MATCH (n:Cell {dataset: $ds}) RETURN count(n) AS c", ds=ds)
    return int(recs[0]["c"])
