"""Cypher of the bulk load (``loaders.bulk``): what the store holds before an offline
import replaces it, and a dataset's batch marks set in one go afterwards."""

from __future__ import annotations

from typing import Final

from connectomedb.schema.graph import DATASET
from connectomedb.store.ingest import PHASES

#: Nodes in the database, the labels of a sample of them and a few dataset ids (to name
#: in a refusal). ``db.labels()`` would also list labels whose nodes were all deleted.
STORE_CONTENTS: Final = f"""
RETURN COUNT {{ MATCH (n) }} AS nodes,
       COLLECT {{
         MATCH (n) WITH n LIMIT 1000 UNWIND labels(n) AS label
         RETURN DISTINCT label ORDER BY label
       }} AS labels,
       COLLECT {{ MATCH (d:{DATASET}) RETURN d.id AS id ORDER BY id LIMIT 5 }} AS datasets
"""

#: The token lookup indexes every database has (an import makes them again).
LOOKUP_INDEXES: Final = "SHOW INDEXES YIELD name, type WHERE type = 'LOOKUP' RETURN name"

#: Every phase's batches as committed, as the transactional writer leaves a finished
#: dataset: ``$batches`` maps each phase to its number of batches.
MARK_ALL_DONE: Final = f"MATCH (d:{DATASET} {{id: $dataset, status: 'loading'}}) SET " + ", ".join(
    f"d.done_{p} = range(0, $batches.{p} - 1)" for p in PHASES
)
