"""Driver construction and schema set-up (``db init``)."""

from __future__ import annotations

from typing import Any, Final

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


#: How every read goes out: to a secondary, on a cluster or Aura (``neo4j://`` URIs).
READ: Final = neo4j.RoutingControl.READ


def chained_session(
    driver: neo4j.Driver, database: str, *, read: bool = False, **config: Any
) -> neo4j.Session:
    """A session that shares its bookmarks with ``driver.execute_query``.

    On a cluster a read routed to a secondary then waits until that server holds every
    transaction committed before through the same driver, by such a session or by
    ``execute_query``: the loader reading back the cells it has just written, or a job
    reading the graph after its worker claimed it, see their own writes."""
    return driver.session(
        database=database,
        bookmark_manager=driver.execute_query_bookmark_manager,
        default_access_mode=neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS,
        **config,
    )


def read_quietly(
    driver: neo4j.Driver, database: str, text: str, params: dict[str, Any]
) -> list[neo4j.Record]:
    """The records of one read query, in a read transaction (routed to a secondary on a
    cluster) whose session asks the server for no notifications: a caller's own driver
    would otherwise log the server's hints (unknown property keys of a dataset that lacks
    them, deprecated functions) as warnings on every library call."""
    with chained_session(driver, database, read=True, notifications_min_severity="OFF") as s:
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
    # on the server that ran the DDL (the leader of a cluster), like the DDL itself
    driver.execute_query("CALL db.awaitIndexes(300)", database_=database)
    after = existing_schema_names(driver, database)
    return {"created": sorted(after - before), "present": sorted(after & expected_names())}


def existing_schema_names(driver: neo4j.Driver, database: str) -> set[str]:
    recs, _, _ = driver.execute_query(
        "SHOW CONSTRAINTS YIELD name RETURN name", database_=database, routing_=READ
    )
    names = {r["name"] for r in recs}
    recs, _, _ = driver.execute_query(
        "SHOW INDEXES YIELD name RETURN name", database_=database, routing_=READ
    )
    return names | {r["name"] for r in recs}


def missing_schema(driver: neo4j.Driver, database: str) -> set[str]:
    """Constraints and indexes of the model that the database lacks."""
    return expected_names() - existing_schema_names(driver, database)
