"""``db init`` against the real Neo4j."""

import neo4j

from connectomedb.schema.graph import expected_names
from connectomedb.settings import Settings
from connectomedb.store.driver import existing_schema_names, init_schema, missing_schema


def test_db_init_twice_is_a_no_op(driver: neo4j.Driver, settings: Settings) -> None:
    init_schema(driver, settings.neo4j_database)
    before = existing_schema_names(driver, settings.neo4j_database)
    again = init_schema(driver, settings.neo4j_database)
    assert again["created"] == []
    assert existing_schema_names(driver, settings.neo4j_database) == before
    assert missing_schema(driver, settings.neo4j_database) == set()
    assert expected_names() <= before
    recs, _, _ = driver.execute_query(
        "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
        "WHERE name = 'cell_key' RETURN type, labelsOrTypes, properties"
    )
    assert [tuple(r) for r in recs] == [("UNIQUENESS", ["Cell"], ["dataset", "id"])]
