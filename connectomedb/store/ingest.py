"""Cypher for writing connectomes: batched ``UNWIND`` statements, values only in parameters.

Cells are looked up by element id (the writer keeps the id -> element id map of the
dataset it writes), which is a direct seek instead of an index lookup per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from connectomedb.schema.graph import (
    CELL,
    CELL_PROPERTIES,
    CELL_TYPE,
    CONNECTS_TO,
    DATASET,
    GAP_JUNCTION,
    HAS_TYPE,
    NEURON,
    NON_NEURONAL,
    POSTSYNAPTIC,
    PRESYNAPTIC,
    SYNAPSE,
)

#: The phases of a load, in order; each keeps its committed batch numbers in ``done_<phase>``.
PHASES: Final = ("neurons", "connections", "gap_junctions", "synapses")
#: SET items that clear every phase's committed batches (a new, failed or deleting dataset).
#: a batch with nothing to write still records its number (in the same transaction)
NOTHING: Final = "RETURN 1"

RESET_DONE: Final = ", ".join(f"d.done_{phase} = []" for phase in PHASES)

#: The writer reads a dataset's state with it to resume a load; store/datasets.py uses it too.
GET_DATASET: Final = f"MATCH (d:{DATASET} {{id: $id}}) RETURN d"

NEW_DATASET: Final = f"""
CREATE (d:{DATASET} {{id: $id}})
SET d += $props, d.status = 'loading', d.created_at = datetime(), {RESET_DONE}
"""

#: Each batch records its index in the same transaction as its rows, so a resumed
#: load knows exactly which batches are already in the graph.
MARK_BATCH: Final = {
    phase: f"MATCH (d:{DATASET} {{id: $dataset, status: 'loading'}}) "
    f"SET d.done_{phase} = d.done_{phase} + $index RETURN count(d) AS marked"
    for phase in PHASES
}


def create_cells(kind_label: str, keys: Iterable[str] = CELL_PROPERTIES) -> str:
    """CREATE a batch of cells with their extra label (``Neuron`` or ``NonNeuronal``),
    setting the properties ``keys`` (whitelisted: they become Cypher text)."""
    if kind_label not in (NEURON, NON_NEURONAL):
        raise ValueError(f"unknown cell label {kind_label!r}")
    unknown = set(keys) - set(CELL_PROPERTIES)
    if unknown:
        raise ValueError(f"unknown cell properties {sorted(unknown)}")
    props = ", ".join(f"`{p}`: row.`{p}`" for p in CELL_PROPERTIES if p in set(keys))
    return f"""
UNWIND $rows AS row
CREATE (n:{CELL}:{kind_label} {{dataset: $dataset, {props}}})
"""


#: ``id IS NOT NULL`` lets the planner seek the (dataset, id) constraint index instead of
#: scanning every cell of every dataset; one record of two lists decodes far faster
#: than one record per cell.
CELL_ELEMENT_IDS: Final = f"""
MATCH (n:{CELL}) WHERE n.dataset = $dataset AND n.id IS NOT NULL
RETURN collect(n.id) AS ids, collect(elementId(n)) AS eids
"""

NEW_CONNECTIONS: Final = f"""
UNWIND $rows AS row
MATCH (a) WHERE elementId(a) = row.a
MATCH (b) WHERE elementId(b) = row.b
CREATE (a)-[:{CONNECTS_TO} {{synapse_count: row.n, weight: coalesce(row.w, row.n),
    psd_area_total: row.psd_area_total, neuropils: CASE WHEN row.neuropil IS NULL THEN null
    ELSE [row.neuropil] END, nt_type: row.nt_type}}]->(b)
"""

#: For sources with several rows per ordered pair (one per neuropil): sum into one relationship.
ADD_CONNECTIONS: Final = f"""
UNWIND $rows AS row
MATCH (a) WHERE elementId(a) = row.a
MATCH (b) WHERE elementId(b) = row.b
MERGE (a)-[r:{CONNECTS_TO}]->(b)
ON CREATE SET r.synapse_count = row.n, r.rows = 1
ON MATCH SET r.synapse_count = r.synapse_count + row.n, r.rows = r.rows + 1
SET r.psd_area_total = CASE WHEN row.psd_area_total IS NULL THEN r.psd_area_total
                            ELSE coalesce(r.psd_area_total, 0.0) + row.psd_area_total END,
    r.weight = r.synapse_count,
    r.neuropils = CASE WHEN row.neuropil IS NULL THEN r.neuropils
                       WHEN row.neuropil IN coalesce(r.neuropils, []) THEN r.neuropils
                       ELSE coalesce(r.neuropils, []) + row.neuropil END,
    r.nt_type = coalesce(row.nt_type, r.nt_type)
"""

NEW_GAP_JUNCTIONS: Final = f"""
UNWIND $rows AS row
MATCH (a) WHERE elementId(a) = row.a
MATCH (b) WHERE elementId(b) = row.b
CREATE (a)-[r:{GAP_JUNCTION}]->(b)
SET r.count = row.count
"""

NEW_SYNAPSES: Final = f"""
UNWIND $rows AS row
MATCH (a) WHERE elementId(a) = row.a
MATCH (b) WHERE elementId(b) = row.b
CREATE (a)-[:{PRESYNAPTIC}]->(:{SYNAPSE} {{dataset: $dataset, id: row.id,
    kind: coalesce(row.kind, 'chemical'), confidence: row.confidence, psd_area: row.psd_area,
    neurotransmitter: row.neurotransmitter, region: row.region,
    location: CASE WHEN row.x IS NULL THEN null ELSE point({{x: row.x, y: row.y, z: row.z}}) END
  }})-[:{POSTSYNAPTIC}]->(b)
"""

SET_CELL_STATS: Final = """
UNWIND $rows AS row
MATCH (n) WHERE elementId(n) = row.eid
SET n.in_degree = row.in_degree, n.out_degree = row.out_degree,
    n.pre_synapses = row.pre_synapses, n.post_synapses = row.post_synapses,
    n.gap_junction_degree = row.gj_degree
"""

LINK_CELL_TYPES: Final = f"""
UNWIND $rows AS row
MERGE (t:{CELL_TYPE} {{dataset: $dataset, name: row.name}})
SET t.level = 'type'
WITH t, row
UNWIND row.eids AS eid
MATCH (n) WHERE elementId(n) = eid
MERGE (n)-[:{HAS_TYPE}]->(t)
"""

FINISH_DATASET: Final = f"""
MATCH (d:{DATASET} {{id: $dataset}})
SET d += $counts, d.status = 'ready', d.loaded_at = datetime(), d.error = null
"""

FAIL_DATASET: Final = f"""
MATCH (d:{DATASET} {{id: $dataset}})
SET d.status = 'failed', d.error = $error, d.failed_at = datetime(), {RESET_DONE}
"""
