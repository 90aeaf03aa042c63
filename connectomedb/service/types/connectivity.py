"""Connections between cells, paths, and connectivity between groups of cells."""

from __future__ import annotations

from enum import Enum

import strawberry

from connectomedb.schema.graph import LEVELS


@strawberry.type(name="Connection")
class SynapticConnection:
    """Chemical synapses from one cell to another (``Connection`` in the schema)."""

    pre: strawberry.ID
    post: strawberry.ID
    synapse_count: int
    weight: float | None
    psd_area_total: float | None
    nt_type: str | None
    neuropils: list[str] | None


@strawberry.type(
    description="Chemical connections as columns: connection i goes from pre[i] to post[i] "
    "with synapseCount[i] synapses, ordered by pre then post; endCursor continues."
)
class Adjacency:
    pre: list[strawberry.ID]
    post: list[strawberry.ID]
    synapse_count: list[int]
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Path:
    neurons: list[strawberry.ID]
    synapse_counts: list[int] = strawberry.field(description="synapses of each hop, in order")
    hops: int


#: the levels that group cells (:data:`connectomedb.schema.graph.LEVELS`; for
#: connectivity, reciprocity and the SBM), e.g. ``Level("class")``
Level = Enum("Level", {v.upper(): v for v in LEVELS})  # type: ignore[misc]
strawberry.enum(Level)
CLASS = Level("class")


@strawberry.type
class CellGroup:
    name: str | None
    size: int


@strawberry.type
class GroupConnectivity:
    pre: str | None
    post: str | None
    synapses: int
    connected_pairs: int
    possible_pairs: int
    connection_probability: float | None = strawberry.field(
        description="connected pairs / possible ordered pairs (no self-pairs)"
    )


@strawberry.type
class CellTypeConnectivity:
    level: Level
    min_weight: int
    groups: list[CellGroup]
    entries: list[GroupConnectivity]
