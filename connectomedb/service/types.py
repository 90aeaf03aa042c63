"""GraphQL types. Storage rows become these through ``from_row``; resolvers on them fetch
nested data through the request's DataLoaders (one query per level, never per object)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from strawberry.types import Info

from connectomedb.analytics.statistics import NetworkStatistics as StatisticsResult
from connectomedb.errors import BadInput
from connectomedb.store.access import DatasetAccess, Principal
from connectomedb.store.neurons import NeuronFilter

if TYPE_CHECKING:
    from connectomedb.service.context import Context

    CInfo = Info[Context, None]
else:
    CInfo = Info


# -- cursors and limits -----------------------------------------------------------------
def encode_cursor(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"malformed cursor {cursor!r}") from e
    prefix, sep, value = raw.partition(":")
    if prefix != kind or not sep:
        raise BadInput(f"cursor {cursor!r} does not belong to this list")
    return value


def decode_offset(cursor: str | None) -> int:
    """Offset lists (partners, connections): the cursor is the offset of the last row."""
    v = decode_cursor("o", cursor)
    if v is None:
        return 0
    if not (v.isascii() and v.isdigit()) or len(v) > 12:
        raise BadInput(f"malformed cursor {cursor!r}")
    return int(v) + 1


def page_size(info: CInfo, first: int) -> int:
    limit = info.context.settings.max_page_size
    if not 0 <= first <= limit:
        raise BadInput(f"first must be between 0 and {limit}")
    return first


def id_list(info: CInfo, name: str, ids: list[strawberry.ID] | None) -> list[str] | None:
    """A list argument of ids, at most one page long."""
    if ids is None:
        return None
    limit = info.context.settings.max_page_size
    if len(ids) > limit:
        raise BadInput(f"{name} may name at most {limit} ids")
    return [str(i) for i in ids]


def min_weight(value: int) -> int:
    if value < 1:
        raise BadInput("minWeight must be at least 1")
    return value


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, edges: Sequence[Any], more: bool) -> PageInfo:
        """The page info of a list of edges (each with a ``cursor``)."""
        return cls(has_next_page=more, end_cursor=edges[-1].cursor if edges else None)


E = TypeVar("E")


def offset_page(
    rows: Sequence[Any], skip: int, n: int, edge: Callable[[str, Any], E]
) -> tuple[list[E], PageInfo]:
    """Edges of an offset list from ``n + 1`` fetched rows: each edge built by
    ``edge(cursor, row)``; the extra row only says that another page follows."""
    edges = [edge(encode_cursor("o", skip + i), r) for i, r in enumerate(rows[:n])]
    return edges, PageInfo.of(edges, len(rows) > n)


# -- datasets -----------------------------------------------------------------------
@strawberry.enum
class Visibility(Enum):
    PRIVATE = "private"
    PUBLIC = "public"


@strawberry.type
class Dataset:
    id: strawberry.ID
    name: str
    species: str
    version: str
    source: str
    source_files: list[str]
    citation: str
    license: str
    description: str
    status: str
    visibility: Visibility
    owner_lab: str | None
    shared_with: list[str]
    created_at: datetime | None
    loaded_at: datetime | None
    neuron_count: int
    non_neuronal_count: int
    connection_count: int
    chemical_synapse_total: int
    gap_junction_count: int
    gap_junction_total: int
    synapse_count: int

    @classmethod
    def from_access(cls, d: DatasetAccess, who: Principal) -> Dataset:
        """Lab ids are shown only to those labs: the owner to members of the owner lab
        and of labs it is shared with, the share list to the owner lab's members."""
        p = d.props
        in_owner = who.admin or (d.owner is not None and d.owner in who.labs)
        in_shared = bool(set(d.shared_with) & set(who.labs))

        def dt(v: Any) -> datetime | None:
            return v.to_native() if hasattr(v, "to_native") else v

        return cls(
            id=strawberry.ID(d.id),
            name=p.get("name") or d.id,
            species=p.get("species") or "",
            version=str(p.get("version") or ""),
            source=p.get("source") or "",
            source_files=list(p.get("source_files") or []),
            citation=p.get("citation") or "",
            license=p.get("license") or "",
            description=p.get("description") or "",
            status=p.get("status") or "",
            visibility=Visibility(d.visibility),
            owner_lab=d.owner if in_owner or in_shared else None,
            shared_with=list(d.shared_with) if in_owner else [],
            created_at=dt(p.get("created_at")),
            loaded_at=dt(p.get("loaded_at")),
            neuron_count=int(p.get("neuron_count") or 0),
            non_neuronal_count=int(p.get("non_neuronal_count") or 0),
            connection_count=int(p.get("connection_count") or 0),
            chemical_synapse_total=int(p.get("chemical_synapse_total") or 0),
            gap_junction_count=int(p.get("gap_junction_count") or 0),
            gap_junction_total=int(p.get("gap_junction_total") or 0),
            synapse_count=int(p.get("synapse_count") or 0),
        )


# -- neurons ------------------------------------------------------------------------
@strawberry.enum
class PartnerDirection(Enum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


@strawberry.input(description="Neurons to select; every field left out does not filter.")
class NeuronFilterInput:
    ids: list[strawberry.ID] | None = None
    name: str | None = None
    name_starts_with: str | None = None
    type: str | None = None
    cell_class: str | None = strawberry.field(default=None, name="class")
    superclass: str | None = None
    side: str | None = None
    neurotransmitter: str | None = None
    region: str | None = None
    min_in_degree: int | None = None
    max_in_degree: int | None = None
    min_out_degree: int | None = None
    max_out_degree: int | None = None

    def to_filter(self, max_ids: int) -> NeuronFilter:
        if self.ids is not None and len(self.ids) > max_ids:
            raise BadInput(f"filter.ids may name at most {max_ids} ids")
        values = {f.name: getattr(self, f.name) for f in fields(NeuronFilter)}
        values["ids"] = tuple(str(i) for i in self.ids) if self.ids is not None else None
        return NeuronFilter(**values)


@strawberry.type(description="A cell of a connectome: a neuron or a non-neuronal partner.")
class Neuron:
    dataset: strawberry.ID
    id: strawberry.ID
    name: str
    kind: str
    type: str | None
    cell_class: str | None = strawberry.field(name="class")
    superclass: str | None
    side: str | None
    region: str | None
    neurotransmitter: str | None
    sign: int | None
    in_degree: int = strawberry.field(description="presynaptic partners (chemical)")
    out_degree: int = strawberry.field(description="postsynaptic partners (chemical)")
    pre_synapses: int = strawberry.field(description="synapses as presynaptic cell")
    post_synapses: int = strawberry.field(description="synapses as postsynaptic cell")
    gap_junction_degree: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Neuron:
        return cls(
            dataset=row["dataset"],
            id=row["id"],
            name=row.get("name") or row["id"],
            kind=row.get("kind") or "neuron",
            type=row.get("type"),
            cell_class=row.get("class"),
            superclass=row.get("superclass"),
            side=row.get("side"),
            region=row.get("region"),
            neurotransmitter=row.get("neurotransmitter"),
            sign=row.get("sign"),
            in_degree=row.get("in_degree") or 0,
            out_degree=row.get("out_degree") or 0,
            pre_synapses=row.get("pre_synapses") or 0,
            post_synapses=row.get("post_synapses") or 0,
            gap_junction_degree=row.get("gap_junction_degree") or 0,
        )

    async def _partners(
        self, info: CInfo, direction: str, min_weight_: int, first: int, after: str | None
    ) -> PartnerConnection:
        skip = decode_offset(after)
        n = page_size(info, first)
        rows = await info.context.partners.load(
            (str(self.dataset), direction, str(self.id), min_weight(min_weight_), skip, n + 1)
        )
        return PartnerConnection.build(rows, skip, n)

    @strawberry.field(description="Presynaptic partners, most synapses first.")
    async def upstream(
        self, info: CInfo, min_weight: int = 1, first: int = 10, after: str | None = None
    ) -> PartnerConnection:
        return await self._partners(info, "upstream", min_weight, first, after)

    @strawberry.field(description="Postsynaptic partners, most synapses first.")
    async def downstream(
        self, info: CInfo, min_weight: int = 1, first: int = 10, after: str | None = None
    ) -> PartnerConnection:
        return await self._partners(info, "downstream", min_weight, first, after)

    @strawberry.field(description="Gap-junction partners, most gap junctions first.")
    async def gap_junctions(
        self, info: CInfo, first: int = 10, after: str | None = None
    ) -> GapJunctionConnection:
        skip = decode_offset(after)
        n = page_size(info, first)
        rows = await info.context.gap_junctions.load((str(self.dataset), str(self.id), skip, n + 1))
        edges, info_ = offset_page(
            rows,
            skip,
            n,
            lambda c, r: GapJunctionEdge(
                cursor=c, partner=Neuron.from_row(r["cell"]), count=r["count"]
            ),
        )
        return GapJunctionConnection(edges=edges, page_info=info_)

    @strawberry.field(description="Synapse nodes where the dataset has them (ordered by id).")
    async def synapses(
        self,
        info: CInfo,
        direction: PartnerDirection = PartnerDirection.DOWNSTREAM,
        first: int = 100,
        after: str | None = None,
    ) -> SynapseConnection:
        skip = decode_offset(after)
        n = page_size(info, first)
        rows = await info.context.synapses.load(
            (str(self.dataset), direction.value, str(self.id), skip, n + 1)
        )
        edges, info_ = offset_page(
            rows, skip, n, lambda c, r: SynapseEdge(cursor=c, node=Synapse.from_row(r))
        )
        return SynapseConnection(edges=edges, page_info=info_)

    @strawberry.field(description="Current annotations, or every one ever made with history: true.")
    async def annotations(self, info: CInfo, history: bool = False) -> list[Annotation]:
        rows = await info.context.annotations.load((str(self.dataset), str(self.id), history))
        return [Annotation.from_row(r) for r in rows]

    @strawberry.field(
        description="The cell-type prediction of a celltype_gnn run (default: the latest)."
    )
    async def predictions(self, info: CInfo, run: strawberry.ID | None = None) -> Prediction | None:
        o = await self._output(info, "celltype_gnn", run)
        return Prediction(run=o["run"], label=o["label"], confidence=o["score"]) if o else None

    @strawberry.field(description="The vector of an embedding run (default: the latest).")
    async def embedding(self, info: CInfo, run: strawberry.ID | None = None) -> Embedding | None:
        o = await self._output(info, "embedding", run)
        return Embedding(run=o["run"], vector=o["vector"], layout=o["layout"]) if o else None

    @strawberry.field(description="The score of an anomaly run (default: the latest).")
    async def anomaly_score(
        self, info: CInfo, run: strawberry.ID | None = None
    ) -> AnomalyScore | None:
        o = await self._output(info, "anomaly", run)
        return AnomalyScore(run=o["run"], score=o["score"]) if o else None

    async def _output(self, info: CInfo, kind: str, run: strawberry.ID | None) -> Any:
        return await info.context.outputs.load(
            (str(self.dataset), kind, str(run) if run else "", str(self.id))
        )


@strawberry.type(description="A model's cell-type label for one neuron and its confidence.")
class Prediction:
    run: strawberry.ID
    label: str
    confidence: float = strawberry.field(description="the predicted label's probability")


@strawberry.type
class Embedding:
    run: strawberry.ID
    vector: list[float]
    layout: list[float] = strawberry.field(description="2-D position for plots")


@strawberry.type
class AnomalyScore:
    run: strawberry.ID
    score: float


@strawberry.type
class Partner:
    neuron: Neuron
    synapse_count: int
    weight: float | None
    psd_area_total: float | None
    nt_type: str | None


@strawberry.type
class PartnerEdge:
    cursor: str
    node: Partner


@strawberry.type
class PartnerConnection:
    edges: list[PartnerEdge]
    page_info: PageInfo

    @classmethod
    def build(cls, rows: list[dict[str, Any]], skip: int, n: int) -> PartnerConnection:
        edges, info_ = offset_page(
            rows,
            skip,
            n,
            lambda c, r: PartnerEdge(
                cursor=c,
                node=Partner(
                    neuron=Neuron.from_row(r["cell"]),
                    synapse_count=r["synapse_count"],
                    weight=r.get("weight"),
                    psd_area_total=r.get("psd_area_total"),
                    nt_type=r.get("nt_type"),
                ),
            ),
        )
        return cls(edges=edges, page_info=info_)


@strawberry.type
class GapJunctionEdge:
    cursor: str
    partner: Neuron
    count: int


@strawberry.type
class GapJunctionConnection:
    edges: list[GapJunctionEdge]
    page_info: PageInfo


@strawberry.type
class Synapse:
    id: strawberry.ID
    pre: strawberry.ID
    post: strawberry.ID
    kind: str | None
    confidence: float | None
    psd_area: float | None
    neurotransmitter: str | None
    region: str | None
    x: float | None
    y: float | None
    z: float | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Synapse:
        s = r["s"]
        loc = s.get("location")
        return cls(
            id=s["id"],
            pre=r["pre"],
            post=r["post"],
            kind=s.get("kind"),
            confidence=s.get("confidence"),
            psd_area=s.get("psd_area"),
            neurotransmitter=s.get("neurotransmitter"),
            region=s.get("region"),
            x=loc.x if loc is not None else None,
            y=loc.y if loc is not None else None,
            z=loc.z if loc is not None else None,
        )


@strawberry.type
class SynapseEdge:
    cursor: str
    node: Synapse


@strawberry.type
class SynapseConnection:
    edges: list[SynapseEdge]
    page_info: PageInfo


@strawberry.type
class Annotation:
    id: strawberry.ID
    neuron: strawberry.ID
    key: str
    value: str
    author: str
    created_at: datetime
    superseded_by: strawberry.ID | None
    current: bool

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Annotation:
        return cls(
            id=r["id"],
            neuron=r["neuron"],
            key=r["key"],
            value=r["value"],
            author=r["author"],
            created_at=r["created_at"],
            superseded_by=r.get("superseded_by"),
            current=r.get("superseded_by") is None,
        )


@strawberry.type
class NeuronEdge:
    cursor: str
    node: Neuron


@strawberry.type
class NeuronConnection:
    edges: list[NeuronEdge]
    page_info: PageInfo
    _dataset: strawberry.Private[str]
    _filter: strawberry.Private[NeuronFilter | None]

    @strawberry.field(description="Neurons matching the filter (one extra query, only when asked).")
    async def total_count(self, info: CInfo) -> int:
        return await info.context.neurons(self._dataset).count(self._filter)


# -- connectivity ---------------------------------------------------------------------
@strawberry.type
class Connection:
    pre: strawberry.ID
    post: strawberry.ID
    synapse_count: int
    weight: float | None
    psd_area_total: float | None
    nt_type: str | None
    neuropils: list[str] | None


@strawberry.type
class ConnectionEdge:
    cursor: str
    node: Connection


@strawberry.type
class ConnectionConnection:
    edges: list[ConnectionEdge]
    page_info: PageInfo


@strawberry.type
class Path:
    neurons: list[strawberry.ID]
    synapse_counts: list[int] = strawberry.field(description="synapses of each hop, in order")
    hops: int


@strawberry.enum
class Level(Enum):
    TYPE = "type"
    CLASS = "class"
    SUPERCLASS = "superclass"
    NEUROTRANSMITTER = "neurotransmitter"
    SIDE = "side"
    REGION = "region"


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


@strawberry.enum
class NullModel(Enum):
    ERDOS_RENYI = "erdos_renyi"
    DEGREE_PRESERVING = "degree_preserving"
    CELL_TYPE_SBM = "cell_type_sbm"


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


# -- sharing --------------------------------------------------------------------------
@strawberry.enum
class Role(Enum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


@strawberry.type
class Membership:
    user: strawberry.ID
    role: Role


@strawberry.type
class Lab:
    id: strawberry.ID
    name: str
    members: list[Membership]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Lab:
        return cls(
            id=r["id"],
            name=r.get("name") or r["id"],
            members=[Membership(user=m["user"], role=Role(m["role"])) for m in r["members"]],
        )


@strawberry.type
class LabRole:
    lab: strawberry.ID
    role: Role


@strawberry.type
class ApiToken:
    id: strawberry.ID
    name: str
    created_at: datetime | None
    revoked_at: datetime | None = None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> ApiToken:
        return cls(
            id=r["id"],
            name=r.get("name") or "",
            created_at=r.get("created_at"),
            revoked_at=r.get("revoked_at"),
        )


@strawberry.type(description="A new API token: the secret is shown here once and never again.")
class NewApiToken:
    id: strawberry.ID
    name: str
    user: strawberry.ID
    token: str


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    admin: bool
    labs: list[LabRole]
    tokens: list[ApiToken]
