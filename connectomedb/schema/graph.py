"""The graph model's labels, relationship types and Cypher DDL (constraints and indexes).

Cells of a connectome are ``:Cell`` nodes keyed by ``(dataset, id)``; neurons carry the
extra label ``:Neuron``, non-neuronal partners (muscles, glia, end organs) ``:NonNeuronal``,
so that neuron-only statistics simply match ``:Neuron``.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

CELL: Final = "Cell"
NEURON: Final = "Neuron"
NON_NEURONAL: Final = "NonNeuronal"
SYNAPSE: Final = "Synapse"
CELL_TYPE: Final = "CellType"
DATASET: Final = "Dataset"
AGGREGATE: Final = "Aggregate"

CONNECTS_TO: Final = "CONNECTS_TO"
GAP_JUNCTION: Final = "GAP_JUNCTION"
PRESYNAPTIC: Final = "PRESYNAPTIC"
POSTSYNAPTIC: Final = "POSTSYNAPTIC"
HAS_TYPE: Final = "HAS_TYPE"

#: The cell properties that group neurons (cell-type connectivity, reciprocity by group,
#: the cell-type null model, labels for learning), finest first.
Level = Literal["type", "class", "superclass", "neurotransmitter", "side", "region"]
LEVELS: Final[tuple[str, ...]] = get_args(Level)

#: Every property a cell may carry (the whitelist for loaders and filters).
CELL_PROPERTIES: Final = (
    "id",
    "name",
    "kind",
    "type",
    "class",
    "superclass",
    "side",
    "region",
    "neurotransmitter",
    "sign",
    "x",
    "y",
    "z",
    "soma_x",
    "soma_y",
    "soma_z",
    "flow",
    "status",
    "hemilineage",
    "nerve",
    "group",
    "lineage",
)

#: name -> (label, properties) for every uniqueness constraint.
CONSTRAINTS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "dataset_id": (DATASET, ("id",)),
    "cell_key": (CELL, ("dataset", "id")),
    "neuron_key": (NEURON, ("dataset", "id")),
    "non_neuronal_key": (NON_NEURONAL, ("dataset", "id")),
    "synapse_key": (SYNAPSE, ("dataset", "id")),
    "cell_type_key": (CELL_TYPE, ("dataset", "name")),
    "annotation_id": ("Annotation", ("id",)),
    "lab_id": ("Lab", ("id",)),
    "user_id": ("User", ("id",)),
    "api_token_id": ("ApiToken", ("id",)),
    "job_id": ("Job", ("id",)),
    "job_schedule_due": ("Job", ("schedule_due",)),
    "schedule_id": ("Schedule", ("id",)),
    "model_run_id": ("ModelRun", ("id",)),
    "measurement_set_key": ("MeasurementSet", ("dataset", "id")),
    "aggregate_key": (AGGREGATE, ("dataset", "key")),
    "audit_event_id": ("AuditEvent", ("id",)),
}

#: name -> (label, properties) for every range index on nodes.
NODE_INDEXES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "dataset_status": (DATASET, ("status",)),
    "neuron_name": (NEURON, ("dataset", "name")),
    "neuron_type": (NEURON, ("dataset", "type")),
    "neuron_class": (NEURON, ("dataset", "class")),
    "neuron_side": (NEURON, ("dataset", "side")),
    "neuron_neurotransmitter": (NEURON, ("dataset", "neurotransmitter")),
    "job_status": ("Job", ("status",)),
    "job_dataset": ("Job", ("dataset",)),
    "schedule_next_due": ("Schedule", ("next_due",)),
    "model_run_dataset": ("ModelRun", ("dataset",)),
    "annotation_dataset": ("Annotation", ("dataset",)),
}

#: name -> (relationship type, properties) for relationship range indexes.
REL_INDEXES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {}

POINT_INDEXES: Final[dict[str, tuple[str, str]]] = {
    "synapse_location": (SYNAPSE, "location"),
}


def _props(var: str, props: tuple[str, ...]) -> str:
    inner = ", ".join(f"{var}.{p}" for p in props)
    return f"({inner})" if len(props) > 1 else inner


def ddl_statements() -> list[str]:
    """Every constraint and index as idempotent ``IF NOT EXISTS`` DDL."""
    out = [
        f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE {_props('n', props)} IS UNIQUE"
        for name, (label, props) in CONSTRAINTS.items()
    ]
    out += [
        f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON {_props('n', props)}"
        for name, (label, props) in NODE_INDEXES.items()
    ]
    out += [
        f"CREATE INDEX {name} IF NOT EXISTS FOR ()-[r:{rel}]-() ON {_props('r', props)}"
        for name, (rel, props) in REL_INDEXES.items()
    ]
    out += [
        f"CREATE POINT INDEX {name} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
        for name, (label, prop) in POINT_INDEXES.items()
    ]
    return out


def expected_names() -> set[str]:
    """Names of every constraint and index ``db init`` creates."""
    return set(CONSTRAINTS) | set(NODE_INDEXES) | set(REL_INDEXES) | set(POINT_INDEXES)
