from connectomedb.schema.graph import ddl_statements, expected_names


def test_ddl_exact_statements() -> None:
    ddl = ddl_statements()
    assert (
        ddl[0]
        == "CREATE CONSTRAINT dataset_id IF NOT EXISTS FOR (n:Dataset) REQUIRE n.id IS UNIQUE"
    )
    assert (
        "CREATE CONSTRAINT cell_key IF NOT EXISTS FOR (n:Cell) REQUIRE (n.dataset, n.id) IS UNIQUE"
        in ddl
    )
    assert "CREATE INDEX neuron_type IF NOT EXISTS FOR (n:Neuron) ON (n.dataset, n.type)" in ddl
    assert (
        "CREATE POINT INDEX synapse_location IF NOT EXISTS FOR (n:Synapse) ON (n.location)" in ddl
    )
    assert all(" IF NOT EXISTS " in s for s in ddl)
    assert len(ddl) == len(expected_names())
