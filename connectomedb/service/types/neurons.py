"""A cell and what hangs off it: partners, gap junctions, synapses, annotations and the
outputs of model runs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Final

import strawberry

from connectomedb.service import inputs
from connectomedb.service.context import Info
from connectomedb.service.pagination import Connection, Keyset, OffsetPage, PageInfo
from connectomedb.service.types import from_row
from connectomedb.store.neurons import NeuronFilter

#: Partner lists, strongest first: keyed by (synapse count, partner id), one cursor kind
#: per direction (an upstream cursor is no place in a downstream list).
PARTNERS: Final = {"upstream": Keyset("u", (int, str)), "downstream": Keyset("d", (int, str))}
#: Gap-junction partners, most gap junctions first: (gap junctions, partner id).
GAP_JUNCTIONS: Final = Keyset("g", (int, str))
#: A cell's synapses in id order, per direction.
SYNAPSES: Final = {"upstream": Keyset("su", (str,)), "downstream": Keyset("sd", (str,))}


def partner_key(r: dict[str, Any]) -> tuple[int, str]:
    """The sort key of a partner row: its synapse count and the partner's id."""
    return r["synapse_count"], r["cell"]["id"]


def gap_junction_key(r: dict[str, Any]) -> tuple[int, str]:
    return r["count"], r["cell"]["id"]


@strawberry.enum
class PartnerDirection(Enum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


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
        counts = ("in_degree", "out_degree", "pre_synapses", "post_synapses")
        return from_row(
            cls,
            row,
            name=row.get("name") or row["id"],
            kind=row.get("kind") or "neuron",
            cell_class=row.get("class"),
            gap_junction_degree=row.get("gap_junction_degree") or 0,
            **{k: row.get(k) or 0 for k in counts},
        )

    async def _partners(
        self, info: Info, direction: str, weight: int, first: int, after: str | None
    ) -> Connection[Partner]:
        page = PARTNERS[direction].page(info.context.settings, first, after)
        rows = await info.context.partners.load(
            (
                str(self.dataset),
                direction,
                str(self.id),
                inputs.min_weight(weight),
                page.after,
                page.limit,
            )
        )
        return page.connection(rows, partner_key, Partner.from_row)

    @strawberry.field(description="Presynaptic partners, most synapses first.")
    async def upstream(
        self, info: Info, min_weight: int = 1, first: int = 10, after: str | None = None
    ) -> Connection[Partner]:
        return await self._partners(info, "upstream", min_weight, first, after)

    @strawberry.field(description="Postsynaptic partners, most synapses first.")
    async def downstream(
        self, info: Info, min_weight: int = 1, first: int = 10, after: str | None = None
    ) -> Connection[Partner]:
        return await self._partners(info, "downstream", min_weight, first, after)

    @strawberry.field(description="Gap-junction partners, most gap junctions first.")
    async def gap_junctions(
        self, info: Info, first: int = 10, after: str | None = None
    ) -> GapJunctionConnection:
        page = GAP_JUNCTIONS.page(info.context.settings, first, after)
        rows = await info.context.gap_junctions.load(
            (str(self.dataset), str(self.id), page.after, page.limit)
        )
        edges, page_info = page.edges(
            rows,
            gap_junction_key,
            lambda c, r: GapJunctionEdge(
                cursor=c, partner=Neuron.from_row(r["cell"]), count=r["count"]
            ),
        )
        return GapJunctionConnection(edges=edges, page_info=page_info)

    @strawberry.field(description="Synapse nodes where the dataset has them (ordered by id).")
    async def synapses(
        self,
        info: Info,
        direction: PartnerDirection = PartnerDirection.DOWNSTREAM,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Synapse]:
        page = SYNAPSES[direction.value].page(info.context.settings, first, after)
        rows = await info.context.synapses.load(
            (
                str(self.dataset),
                direction.value,
                str(self.id),
                None if page.after is None else page.after[0],
                page.limit,
            )
        )
        return page.connection(rows, lambda r: (r["s"]["id"],), Synapse.from_row)

    @strawberry.field(description="Current annotations, or every one ever made with history: true.")
    async def annotations(self, info: Info, history: bool = False) -> list[Annotation]:
        rows = await info.context.annotations.load((str(self.dataset), str(self.id), history))
        return [Annotation.from_row(r) for r in rows]

    @strawberry.field(
        description="The cell-type prediction of a celltype_gnn run (default: the latest)."
    )
    async def predictions(self, info: Info, run: strawberry.ID | None = None) -> Prediction | None:
        o = await self._output(info, "celltype_gnn", run)
        return Prediction(run=o["run"], label=o["label"], confidence=o["score"]) if o else None

    @strawberry.field(description="The vector of an embedding run (default: the latest).")
    async def embedding(self, info: Info, run: strawberry.ID | None = None) -> Embedding | None:
        o = await self._output(info, "embedding", run)
        return Embedding(run=o["run"], vector=o["vector"], layout=o["layout"]) if o else None

    @strawberry.field(description="The score of an anomaly run (default: the latest).")
    async def anomaly_score(
        self, info: Info, run: strawberry.ID | None = None
    ) -> AnomalyScore | None:
        o = await self._output(info, "anomaly", run)
        return AnomalyScore(run=o["run"], score=o["score"]) if o else None

    async def _responses(
        self,
        info: Info,
        direction: str,
        set_id: strawberry.ID,
        max_q: float | None,
        first: int,
        after: str | None,
    ) -> Connection[Response]:
        page = OffsetPage.of(info.context.settings, first, after)
        await info.context.measurement_set(str(self.dataset), str(set_id), "pairwise")
        rows = await info.context.responses.load(
            (
                str(self.dataset),
                direction,
                str(set_id),
                inputs.q_bound(max_q),
                str(self.id),
                page.skip,
                page.limit,
            )
        )
        return page.connection(rows, lambda r: Response.of(self, direction, str(set_id), r))

    @strawberry.field(
        description="This neuron's responses to the stimulation of other neurons in a pairwise "
        "measurement set (stimulated -> this neuron), lowest q-value first."
    )
    async def responses_to(
        self,
        info: Info,
        set_id: Annotated[strawberry.ID, strawberry.argument(name="set")],
        max_q: float | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Response]:
        return await self._responses(info, "to", set_id, max_q, first, after)

    @strawberry.field(
        description="The responses that stimulating this neuron evoked in others in a "
        "pairwise measurement set (this neuron -> responder), lowest q-value first."
    )
    async def responses_from(
        self,
        info: Info,
        set_id: Annotated[strawberry.ID, strawberry.argument(name="set")],
        max_q: float | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Response]:
        return await self._responses(info, "from", set_id, max_q, first, after)

    @strawberry.field(
        description="Per-neuron properties measured for this neuron, one entry per set and "
        "property (all sets, or the one named)."
    )
    async def measurements(
        self,
        info: Info,
        set_id: Annotated[strawberry.ID | None, strawberry.argument(name="set")] = None,
    ) -> list[MeasuredValue]:
        if set_id is not None:
            await info.context.measurement_set(str(self.dataset), str(set_id), "neuron")
        rows = await info.context.measured.load(
            (str(self.dataset), str(set_id) if set_id else "", str(self.id))
        )
        return [v for r in rows for v in MeasuredValue.of(r)]

    @strawberry.field(
        description="Extrasynaptic (e.g. monoamine, neuropeptide) partners: predicted "
        "signalling from expression, not measured connections."
    )
    async def extrasynaptic(
        self,
        info: Info,
        direction: PartnerDirection = PartnerDirection.DOWNSTREAM,
        set_id: Annotated[strawberry.ID | None, strawberry.argument(name="set")] = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ExtrasynapticLink]:
        page = OffsetPage.of(info.context.settings, first, after)
        if set_id is not None:
            await info.context.measurement_set(str(self.dataset), str(set_id), "extrasynaptic")
        rows = await info.context.extrasynaptic.load(
            (
                str(self.dataset),
                direction.value,
                str(set_id) if set_id else "",
                str(self.id),
                page.skip,
                page.limit,
            )
        )
        return page.connection(rows, ExtrasynapticLink.from_row)

    async def _output(self, info: Info, kind: str, run: strawberry.ID | None) -> Any:
        return await info.context.outputs.load(
            (str(self.dataset), kind, str(run) if run else "", str(self.id))
        )


@strawberry.type
class NeuronConnection(Connection[Neuron]):
    """A page of neurons (keyset cursors on the id) that can count the whole selection."""

    _dataset: strawberry.Private[str]
    _filter: strawberry.Private[NeuronFilter | None]

    @strawberry.field(description="Neurons matching the filter (one extra query, only when asked).")
    async def total_count(self, info: Info) -> int:
        return await info.context.neurons(self._dataset).count(self._filter)


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

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Partner:
        return from_row(cls, r, neuron=Neuron.from_row(r["cell"]))


@strawberry.type(
    description="One measured pair of a pairwise set: the response of the responder to the "
    "stimulation of the stimulated neuron."
)
class Response:
    set: strawberry.ID
    stimulated: Neuron
    responder: Neuron
    amplitude: float | None = strawberry.field(description="mean response (e.g. dF/F)")
    q: float | None = strawberry.field(description="q-value of a response")
    q_eq: float | None = strawberry.field(
        description="q-value of the equivalence test for no response, where measured"
    )
    trials: int | None

    @classmethod
    def of(cls, me: Neuron, direction: str, set_id: str, r: dict[str, Any]) -> Response:
        other = Neuron.from_row(r["cell"])
        stim, resp = (other, me) if direction == "to" else (me, other)
        return from_row(cls, r, set=strawberry.ID(set_id), stimulated=stim, responder=resp)


@strawberry.type(description="One per-neuron property of a measurement set.")
class MeasuredValue:
    set: strawberry.ID
    name: str
    value: float | None = strawberry.field(description="the value, when a number")
    vector: list[float] | None = strawberry.field(description="the value, when a vector")

    @classmethod
    def of(cls, r: dict[str, Any]) -> list[MeasuredValue]:
        values = r["values"]
        out = []
        for name in r["names"] or []:
            v = values.get(name)
            if v is None:
                continue
            vec = isinstance(v, list)
            out.append(
                cls(
                    set=strawberry.ID(r["set"]),
                    name=name,
                    value=None if vec else float(v),
                    vector=[float(x) for x in v] if vec else None,
                )
            )
        return out


@strawberry.type
class ExtrasynapticLink:
    set: strawberry.ID
    partner: Neuron
    transmitter: str
    receptor: str
    family: str | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> ExtrasynapticLink:
        return from_row(cls, r, partner=Neuron.from_row(r["cell"]))


@strawberry.type
class GapJunctionEdge:
    """Not an ``Edge[Neuron]``: the public shape names the node ``partner`` and adds the
    number of gap junctions."""

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
