"""Package data of the local Neo4j: the Maven pom that lays its home out from Maven Central
jars, the ``neo4j.conf`` template and ``apoc.conf`` (read by ``connectomedb.localneo4j``)."""
