"""Driver construction and schema set-up (``db init``)."""

from __future__ import annotations

from typing import Any

import neo4j

from connectomedb.errors import ConfigError
from connectomedb.schema.graph import ddl_statements, expected_names
from connectomedb.settings import Settings


def make_driver(settings: Settings) -> neo4j.Driver:
    """A sync driver for the configured server (the local one unless a URI is given)."""
    return neo4j.GraphDatabase.driver(
        settings.uri,
        auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value()),
        max_connection_lifetime=3600,
        notifications_min_severity="OFF",  # as the API's driver: unknown-property hints
    )


def read_quietly(
    driver: neo4j.Driver, database: str, text: str, params: dict[str, Any]
) -> list[neo4j.Record]:
    """The records of one read query, in a read transaction (routed to a secondary on a
    cluster) whose session asks the server for no notifications: a caller's own driver
    would otherwise log the server's hints (unknown property keys of a dataset that lacks
    them, deprecated functions) as warnings on every library call."""
    with driver.session(
        database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF"
    ) as s:
        return s.execute_read(lambda tx: list(tx.run(text, params)))


def check_connectivity(driver: neo4j.Driver) -> None:
    try:
        driver.verify_connectivity()
    except neo4j.exceptions.AuthError as e:
        raise ConfigError(f"Neo4j refused the credentials: {e.message}") from e
    except (neo4j.exceptions.ServiceUnavailable, OSError) as e:
        raise ConfigError(
            "Neo4j is not reachable; start it with `connectomedb neo4j start` "
            "or set CONNECTOMEDB_NEO4J_URI"
        ) from e


def init_schema(driver: neo4j.Driver, database: str) -> dict[str, Any]:
    """Create every constraint and index (idempotent); returns what was created and what exists."""
    before = existing_schema_names(driver, database)
    for stmt in ddl_statements():
        driver.execute_query(stmt, database_=database)
    driver.execute_query("CALL db.awaitIndexes(300)", database_=database)
    after = existing_schema_names(driver, database)
    return {"created": sorted(after - before), "present": sorted(after & expected_names())}


def existing_schema_names(driver: neo4j.Driver, database: str) -> set[str]:
    recs, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name", database_=database)
    names = {r["name"] for r in recs}
    recs, _, _ = driver.execute_query("SHOW INDEXES YIELD name RETURN name", database_=database)
    return names | {r["name"] for r in recs}


def missing_schema(driver: neo4j.Driver, database: str) -> set[str]:
    """Constraints and indexes of the model that the database lacks."""
    return expected_names() - existing_schema_names(driver, database)
