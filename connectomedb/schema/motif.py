"""The shapes of a checked motif (what :func:`connectomedb.motifs.language.parse_motif`
returns and :mod:`connectomedb.store.motifs` turns into Cypher) and the whitelists of the
properties and operators a motif may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from connectomedb.schema.graph import CELL_PROPERTIES

#: edge attribute in motif text -> CONNECTS_TO property
EDGE_PROPERTIES: Final = {
    "synapse_count": "synapse_count",
    "synapses": "synapse_count",
    "weight": "weight",
    "psd_area_total": "psd_area_total",
    "nt_type": "nt_type",
}

#: node attribute in motif text -> cell property
NODE_PROPERTIES: Final = {
    **{p: p for p in CELL_PROPERTIES if p not in ("x", "y", "z")},
    **{
        p: p
        for p in (
            "in_degree",
            "out_degree",
            "pre_synapses",
            "post_synapses",
            "gap_junction_degree",
        )
    },
}

#: DotMotif operator -> how it reads in Cypher (``{a}`` property, ``{b}`` value)
OPERATORS: Final = {
    "=": "{a} = {b}",
    "==": "{a} = {b}",
    "!=": "{a} <> {b}",
    ">": "{a} > {b}",
    ">=": "{a} >= {b}",
    "<": "{a} < {b}",
    "<=": "{a} <= {b}",
    "in": "{a} IN {b}",  # with a list; with a string: the property is part of it
    "!in": "NOT {a} IN {b}",
    "contains": "{a} CONTAINS {b}",
    "!contains": "NOT {a} CONTAINS {b}",
}


@dataclass(frozen=True)
class Constraint:
    prop: str  # a whitelisted property name
    op: str  # a key of OPERATORS
    value: Any


@dataclass(frozen=True)
class Comparison:
    """``node.prop op other.other_prop`` between two motif nodes."""

    prop: str
    op: str
    other: str
    other_prop: str


@dataclass(frozen=True)
class MotifEdge:
    pre: str
    post: str
    exists: bool
    constraints: tuple[Constraint, ...] = ()


@dataclass(frozen=True)
class MotifSpec:
    nodes: tuple[str, ...]
    edges: tuple[MotifEdge, ...]
    node_constraints: dict[str, tuple[Constraint, ...]] = field(default_factory=dict)
    comparisons: dict[str, tuple[Comparison, ...]] = field(default_factory=dict)
