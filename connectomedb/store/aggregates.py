"""Per-dataset aggregates kept beside the graph: the answers of whole-dataset statistics
(network statistics, cell-type connectivity, triad censuses) stored as JSON on
``:Aggregate {dataset, key}`` nodes, each stamped with the version of the dataset it was
computed from (its ``loaded_at``). A stored answer is used only while the dataset's
version is unchanged: a reload (or a replaced dataset) changes ``loaded_at`` and every
older answer is ignored, then overwritten. Deleting a dataset deletes its aggregates.

The key is the kind of statistic and a hash of its arguments (:func:`aggregate_key`);
the arguments themselves are stored too, for an operator reading the store."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from connectomedb.schema.graph import AGGREGATE, DATASET, NEURON
from connectomedb.store.neurons import NeuronFilter, filter_conditions

#: the dataset's version (null unless it is ready) and the stored answer under $key
GET_AGGREGATE: Final = f"""
MATCH (d:{DATASET} {{id: $dataset}})
OPTIONAL MATCH (a:{AGGREGATE} {{dataset: $dataset, key: $key}})
RETURN CASE WHEN d.status = 'ready' THEN toString(d.loaded_at) END AS version,
       a.version AS stored_version, a.value AS value
"""

#: store an answer, only if the dataset is still at the version it was computed from
PUT_AGGREGATE: Final = f"""
MATCH (d:{DATASET} {{id: $dataset}})
WHERE d.status = 'ready' AND toString(d.loaded_at) = $version
MERGE (a:{AGGREGATE} {{dataset: $dataset, key: $key}})
SET a.version = $version, a.kind = $kind, a.arguments = $arguments, a.value = $value,
    a.seconds = $seconds, a.computed_at = datetime()
RETURN count(a) AS stored
"""

DELETE_AGGREGATES: Final = f"""
MATCH (a:{AGGREGATE}) WHERE a.dataset = $dataset AND a.key IS NOT NULL
CALL (a) {{ DELETE a }} IN TRANSACTIONS OF 10000 ROWS
"""


def aggregate_key(kind: str, arguments: dict[str, Any]) -> tuple[str, str]:
    """(key, canonical arguments JSON) of one statistic with these arguments."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"{kind}:{digest}", canonical


def selection_size_query(f: NeuronFilter | None) -> tuple[str, dict[str, Any]]:
    """(text, params): the neurons a filter selects and an upper bound on the connections
    among them (their out-degrees summed), read from stored degrees without touching a
    relationship: the input of a cost estimate."""
    conds, params = filter_conditions(f, "n")
    where = " AND ".join(["n.dataset = $dataset", "n.id IS NOT NULL", *conds])
    return (
        f"MATCH (n:{NEURON}) WHERE {where}\n"
        "RETURN count(n) AS neurons, sum(coalesce(n.out_degree, 0)) AS connections",
        params,
    )
