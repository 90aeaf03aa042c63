"""connectomedb: a data service for synapse-resolved connectomes on Neo4j."""

__version__ = "0.1.0"
