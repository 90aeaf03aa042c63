"""Statistics of the wiring against named null models: network statistics, reciprocity
by group, triad and motif censuses, feed-forward loops, and motif search results."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum

import strawberry

from connectomedb.analytics.statistics import NetworkStatistics as StatisticsResult
from connectomedb.motifs.nulls import NULL_MODELS
from connectomedb.service.pagination import PageInfo
from connectomedb.service.types.connectivity import Level

#: the null models (:data:`connectomedb.motifs.nulls.NULL_MODELS`), e.g. ``NullModel("erdos_renyi")``
NullModel = Enum("NullModel", {m.upper(): m for m in NULL_MODELS})  # type: ignore[misc]
strawberry.enum(NullModel)
DEGREE_PRESERVING = NullModel("degree_preserving")


@strawberry.type
class DegreeCount:
    degree: int
    count: int


@strawberry.type(
    description="What the wiring shows among the selected neurons (chemical connections "
    "with at least minWeight synapses), against a named null model."
)
class NetworkStatistics:
    neurons: int
    connections: int = strawberry.field(description="connections between distinct neurons")
    autapses: int = strawberry.field(
        description="neurons connected to themselves (left out of the other figures)"
    )
    density: float
    in_degree_distribution: list[DegreeCount]
    out_degree_distribution: list[DegreeCount]
    reciprocal_pairs: int
    reciprocal_pairs_expected: float
    reciprocity_enrichment: float | None
    reciprocity: float
    mean_convergence: float
    mean_divergence: float
    clustering_coefficient: float
    transitivity: float
    null_model: str
    min_weight: int
    reciprocity_by_group: ReciprocityByGroup | None = strawberry.field(
        description="reciprocal pairs within and between the groups of groupLevel (null without it)"
    )

    @classmethod
    def from_result(
        cls, s: StatisticsResult, min_weight: int, by_group: ReciprocityByGroup | None = None
    ) -> NetworkStatistics:
        values = {k: v for k, v in asdict(s).items() if k in cls.__annotations__}
        values["in_degree_distribution"] = [
            DegreeCount(degree=d, count=c) for d, c in s.in_degree_distribution
        ]
        values["out_degree_distribution"] = [
            DegreeCount(degree=d, count=c) for d, c in s.out_degree_distribution
        ]
        return cls(
            **values, autapses=s.self_loops, min_weight=min_weight, reciprocity_by_group=by_group
        )


@strawberry.type(
    description="One triad class (Holland-Leinhardt MAN label, as networkx names them) "
    "against the null model: z = (observed - mean) / std over the samples; empirical "
    "p-values (1 + samples at least as extreme) / (1 + samples)."
)
class CensusClass:
    name: str = strawberry.field(
        description="MAN label for triads (030T ...); 4-<k> for igraph's 4-node class k"
    )
    connected: bool = strawberry.field(description="all its neurons linked (a motif)")
    edges: list[str] = strawberry.field(
        description="a representative's edges on nodes 0..size-1, as 'a->b'"
    )
    observed: int
    null_mean: float
    null_std: float
    z: float | None = strawberry.field(description="null when the null samples do not vary")
    p_greater: float
    p_less: float


@strawberry.type
class MotifCensus:
    neurons: int
    connections: int
    size: int
    null_model: NullModel
    null_description: str
    samples: int
    seed: int
    min_weight: int
    type_level: Level | None
    classes: list[CensusClass]


@strawberry.type
class MotifBinding:
    variable: str
    neuron: strawberry.ID


@strawberry.type
class MotifMatch:
    cursor: str
    bindings: list[MotifBinding]


@strawberry.type(
    description="Matches of a DotMotif motif among a dataset's neurons: distinct neurons, "
    "every automorphic mapping listed (as DotMotif does by default)."
)
class MotifSearchResult:
    variables: list[str]
    automorphisms: int = strawberry.field(
        description="symmetries of the motif, the identity included: without "
        "excludeAutomorphisms each circuit is found this many times"
    )
    count: int | None = strawberry.field(description="all matches (when countOnly or asked)")
    matches: list[MotifMatch]
    page_info: PageInfo


@strawberry.type(
    description="Feed-forward loops (A -> B -> C with A -> C, all one-way: triad class 030T) "
    "against a null model."
)
class FeedForwardLoops:
    observed: int
    null_model: NullModel
    null_description: str
    samples: int
    seed: int
    null_mean: float
    null_std: float
    z: float | None
    p_greater: float
    p_less: float


@strawberry.type
class GroupReciprocityEntry:
    group_a: str | None
    group_b: str | None = strawberry.field(description="the same as groupA: within that group")
    pairs: int = strawberry.field(description="unordered neuron pairs, one in each group")
    connections_ab: int
    connections_ba: int
    reciprocal_pairs: int
    expected: float
    enrichment: float | None


@strawberry.type
class ReciprocityByGroup:
    level: Level
    min_weight: int
    null_model: str
    entries: list[GroupReciprocityEntry]
