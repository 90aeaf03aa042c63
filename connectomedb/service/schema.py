"""The GraphQL schema: queries, mutations, error codes and limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext, ExecutionResult

from connectomedb.analytics.statistics import network_statistics
from connectomedb.errors import BadInput, ConnectomeDBError, NotFound
from connectomedb.motifs.census import CENSUS_SIZES, census_against_null, census_classes
from connectomedb.motifs.language import automorphisms, parse_motif
from connectomedb.motifs.named import RECIPROCITY_NULL, reciprocity_by_group
from connectomedb.service.jobs import JobMutations, JobQueries
from connectomedb.service.types import (
    Annotation,
    ApiToken,
    CellGroup,
    CellTypeConnectivity,
    CensusClass,
    CInfo,
    Connection,
    ConnectionConnection,
    ConnectionEdge,
    Dataset,
    FeedForwardLoops,
    GroupConnectivity,
    GroupReciprocityEntry,
    Lab,
    LabRole,
    Level,
    MotifBinding,
    MotifCensus,
    MotifMatch,
    MotifSearchResult,
    NetworkStatistics,
    Neuron,
    NeuronConnection,
    NeuronEdge,
    NeuronFilterInput,
    NewApiToken,
    NullModel,
    PageInfo,
    Path,
    ReciprocityByGroup,
    Role,
    User,
    Visibility,
    decode_cursor,
    decode_offset,
    encode_cursor,
    id_list,
    min_weight,
    offset_page,
    page_size,
)
from connectomedb.settings import Settings
from connectomedb.store.annotations import AnnotationRepository
from connectomedb.store.neurons import Subgraph

log = logging.getLogger("connectomedb.api")

#: Error codes a client may see with the error's own message; anything else is masked.
CLIENT_CODES = frozenset({"NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED", "BAD_INPUT", "TIMEOUT"})
MAX_PATHS = 100


@strawberry.type
class Query(JobQueries):
    @strawberry.field(description="Datasets the caller may read.")
    async def datasets(self, info: CInfo) -> list[Dataset]:
        ctx = info.context
        return [
            Dataset.from_access(d, ctx.principal) for d in await ctx.access.datasets(ctx.principal)
        ]

    @strawberry.field
    async def dataset(self, info: CInfo, id: strawberry.ID) -> Dataset:
        return Dataset.from_access(await info.context.dataset(str(id)), info.context.principal)

    @strawberry.field(description="A page of neurons ordered by id (Relay cursors).")
    async def neurons(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        filter: NeuronFilterInput | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> NeuronConnection:
        ds = str(dataset)
        await info.context.dataset(ds)
        n = page_size(info, first)
        f = filter.to_filter(info.context.settings.max_page_size) if filter else None
        rows, more = await info.context.neurons(ds).page(f, n, decode_cursor("n", after))
        edges = [
            NeuronEdge(cursor=encode_cursor("n", r["id"]), node=Neuron.from_row(r)) for r in rows
        ]
        return NeuronConnection(
            edges=edges,
            page_info=PageInfo.of(edges, more),
            _dataset=ds,
            _filter=f,
        )

    @strawberry.field(description="One cell (neuron or non-neuronal) by id.")
    async def neuron(self, info: CInfo, dataset: strawberry.ID, id: strawberry.ID) -> Neuron:
        ds = str(dataset)
        await info.context.dataset(ds)
        row = await info.context.cells.load((ds, str(id)))
        if row is None:
            raise NotFound(f"neuron {str(id)!r} not found in dataset {ds!r}")
        return Neuron.from_row(row)

    @strawberry.field(
        description="Chemical connections from pre to post cells (either may be left out)."
    )
    async def connections(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        pre: list[strawberry.ID] | None = None,
        post: list[strawberry.ID] | None = None,
        min_weight: int = 1,
        first: int = 100,
        after: str | None = None,
    ) -> ConnectionConnection:
        ds = str(dataset)
        await info.context.dataset(ds)
        n = page_size(info, first)
        skip = decode_offset(after)
        rows = await info.context.neurons(ds).connections(
            id_list(info, "pre", pre),
            id_list(info, "post", post),
            _min_weight(min_weight),
            skip,
            n + 1,
        )
        edges, info_ = offset_page(
            rows, skip, n, lambda c, r: ConnectionEdge(cursor=c, node=Connection(**r))
        )
        return ConnectionConnection(edges=edges, page_info=info_)

    @strawberry.field(
        description="All shortest directed paths from source to target over connections "
        "with at least minWeight synapses (at most maxHops hops)."
    )
    async def paths(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        source: strawberry.ID,
        target: strawberry.ID,
        max_hops: int = 3,
        min_weight: int = 1,
        first: int = MAX_PATHS,
    ) -> list[Path]:
        ds = str(dataset)
        await info.context.dataset(ds)
        if not 1 <= first <= MAX_PATHS:
            raise BadInput(f"first must be between 1 and {MAX_PATHS}")
        if str(source) == str(target):
            raise BadInput("source and target must be different neurons")
        repo = info.context.neurons(ds)
        found = await repo.cells([str(source), str(target)])
        for cid in (str(source), str(target)):
            if cid not in found:
                raise NotFound(f"neuron {cid!r} not found in dataset {ds!r}")
        rows = await repo.paths(str(source), str(target), max_hops, _min_weight(min_weight), first)
        paths = [
            Path(neurons=r["cells"], synapse_counts=r["counts"], hops=len(r["counts"]))
            for r in rows
        ]
        return sorted(paths, key=lambda p: [str(x) for x in p.neurons])

    @strawberry.field(
        description="Synapses and connected pairs between groups of neurons (type x type)."
    )
    async def cell_type_connectivity(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        level: Level = Level.CLASS,
        min_weight: int = 1,
    ) -> CellTypeConnectivity:
        ds = str(dataset)
        await info.context.dataset(ds)
        sizes, pairs = await info.context.neurons(ds).type_connectivity(
            level.value, _min_weight(min_weight)
        )
        entries = []
        for r in sorted(pairs, key=lambda r: (str(r["pre"]), str(r["post"]))):
            a, b = sizes.get(r["pre"], 0), sizes.get(r["post"], 0)
            possible = a * b - (a if r["pre"] == r["post"] else 0)
            entries.append(
                GroupConnectivity(
                    pre=r["pre"],
                    post=r["post"],
                    synapses=int(r["synapses"]),
                    connected_pairs=int(r["pairs"]),
                    possible_pairs=possible,
                    connection_probability=int(r["pairs"]) / possible if possible else None,
                )
            )
        groups = [
            CellGroup(name=k, size=v) for k, v in sorted(sizes.items(), key=lambda kv: str(kv[0]))
        ]
        return CellTypeConnectivity(
            level=level, min_weight=min_weight, groups=groups, entries=entries
        )

    @strawberry.field(
        description="Sparsity, degrees, reciprocity (with its enrichment over an "
        "Erdős–Rényi graph of the same density; with groupLevel, also within and between "
        "the groups of that level), convergence, divergence and clustering of the neurons "
        "selected by filter (neurons only; non-neuronal cells are left out)."
    )
    async def network_statistics(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        filter: NeuronFilterInput | None = None,
        min_weight: int = 1,
        group_level: Level | None = None,
    ) -> NetworkStatistics:
        g = await _subgraph(info, str(dataset), filter, min_weight, group_level)
        s = await asyncio.to_thread(network_statistics, len(g.ids), g.pre, g.post)
        by_group = await _reciprocity(g, group_level, min_weight) if group_level else None
        return NetworkStatistics.from_result(s, min_weight, by_group)

    @strawberry.field(
        description="Find a motif written in the DotMotif language (A -> B [synapse_count "
        '>= 3]; A !> C; A.class = "sensory"; A.type != B.type) among the neurons. With '
        "excludeAutomorphisms, a match and its relabellings by the motif's symmetries "
        "(automorphisms) count once."
    )
    async def motif_search(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        motif: str,
        first: int = 100,
        after: str | None = None,
        count_only: bool = False,
        exclude_automorphisms: bool = False,
    ) -> MotifSearchResult:
        ds = str(dataset)
        await info.context.dataset(ds)
        spec = parse_motif(motif)
        repo = info.context.neurons(ds)
        symmetries = len(automorphisms(spec)) + 1
        if count_only:
            return MotifSearchResult(
                variables=list(spec.nodes),
                automorphisms=symmetries,
                count=await repo.motif_count(spec, exclude_automorphisms),
                matches=[],
                page_info=PageInfo(has_next_page=False, end_cursor=None),
            )
        n = page_size(info, first)
        skip = decode_offset(after)
        rows = await repo.motif_matches(spec, skip, n + 1, exclude_automorphisms)
        matches, info_ = offset_page(
            rows,
            skip,
            n,
            lambda c, row: MotifMatch(
                cursor=c,
                bindings=[
                    MotifBinding(variable=v, neuron=strawberry.ID(nid))
                    for v, nid in zip(spec.nodes, row, strict=True)
                ],
            ),
        )
        return MotifSearchResult(
            variables=list(spec.nodes),
            automorphisms=symmetries,
            count=None,
            matches=matches,
            page_info=info_,
        )

    @strawberry.field(
        description="Reciprocal pairs within and between groups of neurons (type, class, "
        "...) against independent connections at each group pair's observed densities."
    )
    async def reciprocity_by_group(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        level: Level = Level.CLASS,
        min_weight: int = 1,
        filter: NeuronFilterInput | None = None,
    ) -> ReciprocityByGroup:
        g = await _subgraph(info, str(dataset), filter, min_weight, level)
        return await _reciprocity(g, level, min_weight)

    @strawberry.field(
        description="Feed-forward loops (triad class 030T) among the selected neurons against "
        "samples of a null model (default: degree- and reciprocity-preserving swaps)."
    )
    async def feed_forward_loops(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        null_model: NullModel = NullModel.DEGREE_PRESERVING,
        filter: NeuronFilterInput | None = None,
        min_weight: int = 1,
        samples: int = 100,
        seed: int = 0,
        type_level: Level = Level.CLASS,
    ) -> FeedForwardLoops:
        census = await _motif_census(
            info, str(dataset), null_model, filter, min_weight, samples, seed, type_level
        )
        c = next(x for x in census.classes if x.name == "030T")
        return FeedForwardLoops(
            observed=c.observed,
            null_model=null_model,
            null_description=census.null_description,
            samples=samples,
            seed=seed,
            null_mean=c.null_mean,
            null_std=c.null_std,
            z=c.z,
            p_greater=c.p_greater,
            p_less=c.p_less,
        )

    @strawberry.field(
        description="The census of induced subgraphs of the selected neurons: size 3, the 16 "
        "triad classes; size 4, the 199 connected 4-node classes (igraph class numbers, each "
        "with a representative's edges). Each class against samples of a null model; runs "
        "within the census time budget or answers TIMEOUT."
    )
    async def motif_census(
        self,
        info: CInfo,
        dataset: strawberry.ID,
        null_model: NullModel,
        filter: NeuronFilterInput | None = None,
        min_weight: int = 1,
        size: int = 3,
        samples: int = 100,
        seed: int = 0,
        type_level: Level = Level.CLASS,
    ) -> MotifCensus:
        if size not in CENSUS_SIZES:
            raise BadInput(f"size must be one of {', '.join(map(str, CENSUS_SIZES))}")
        return await _motif_census(
            info, str(dataset), null_model, filter, min_weight, samples, seed, type_level, size
        )

    @strawberry.field(
        description="The signed-in user, their labs and tokens (null when anonymous)."
    )
    async def me(self, info: CInfo) -> User | None:
        p = info.context.principal
        if p.user_id is None:
            return None
        u = await info.context.access.user(p.user_id)
        tokens = await info.context.access.tokens(p.user_id)
        return User(
            id=u["id"],
            name=u.get("name") or u["id"],
            admin=bool(u.get("admin")),
            labs=[LabRole(lab=m["lab"], role=Role(m["role"])) for m in u["labs"]],
            tokens=[ApiToken.from_row(t) for t in tokens],
        )

    @strawberry.field(description="A lab and its members (for its members and site admins).")
    async def lab(self, info: CInfo, id: strawberry.ID) -> Lab:
        p = info.context.principal
        if not (p.admin or str(id) in p.labs):
            raise NotFound(f"lab {str(id)!r} not found")
        return Lab.from_row(await info.context.access.lab(str(id)))


async def _motif_census(
    info: CInfo,
    ds: str,
    null_model: NullModel,
    filter: NeuronFilterInput | None,
    min_weight: int,
    samples: int,
    seed: int,
    type_level: Level,
    size: int = 3,
) -> MotifCensus:
    settings = info.context.settings
    if not 1 <= samples <= settings.max_census_samples:
        raise BadInput(f"samples must be between 1 and {settings.max_census_samples}")
    sbm = null_model is NullModel.CELL_TYPE_SBM
    g = await _subgraph(info, ds, filter, min_weight, type_level if sbm else None)
    r = await asyncio.to_thread(
        census_against_null,
        len(g.ids),
        g.pre,
        g.post,
        null_model.value,
        samples,
        seed,
        g.groups,
        time.monotonic() + settings.census_time_budget_s,
        size,
    )
    kinds = census_classes(size)
    return MotifCensus(
        neurons=len(g.ids),
        connections=int((g.pre != g.post).sum()),  # autapses are not in motifs
        size=size,
        null_model=null_model,
        null_description=r.null_description,
        samples=samples,
        seed=seed,
        min_weight=min_weight,
        type_level=type_level if sbm else None,
        classes=[
            CensusClass(
                name=c.name,
                connected=k.connected,
                edges=[f"{a}->{b}" for a, b in k.edges],
                observed=c.observed,
                null_mean=c.null_mean,
                null_std=c.null_std,
                z=c.z,
                p_greater=c.p_greater,
                p_less=c.p_less,
            )
            for c, k in zip(r.classes, kinds, strict=True)
        ],
    )


async def _reciprocity(g: Subgraph, level: Level, min_weight: int) -> ReciprocityByGroup:
    assert g.groups is not None
    rows = await asyncio.to_thread(reciprocity_by_group, len(g.ids), g.pre, g.post, g.groups)
    return ReciprocityByGroup(
        level=level,
        min_weight=min_weight,
        null_model=RECIPROCITY_NULL,
        entries=[
            GroupReciprocityEntry(
                group_a=g.group_names[r.a],
                group_b=g.group_names[r.b],
                pairs=r.pairs,
                connections_ab=r.connections_ab,
                connections_ba=r.connections_ba,
                reciprocal_pairs=r.reciprocal_pairs,
                expected=r.expected,
                enrichment=r.enrichment,
            )
            for r in rows
        ],
    )


async def _subgraph(
    info: CInfo,
    ds: str,
    filter: NeuronFilterInput | None,
    weight: int,
    level: Level | None,
) -> Subgraph:
    """The selected neurons of a dataset the caller may read and the connections among
    them with at least ``weight`` synapses, with groups at ``level`` when given."""
    await info.context.dataset(ds)
    return await info.context.neurons(ds).subgraph(
        filter.to_filter(info.context.settings.max_page_size) if filter else None,
        _min_weight(weight),
        level.value if level else None,
    )


def _min_weight(v: int) -> int:
    return min_weight(v)


@strawberry.type
class Mutation(JobMutations):
    @strawberry.mutation(description="Site admins: create a user (then give them a token).")
    async def create_user(
        self, info: CInfo, id: strawberry.ID, name: str = "", admin: bool = False
    ) -> User:
        u = await info.context.access.create_user(info.context.principal, str(id), name, admin)
        return User(id=u["id"], name=u["name"], admin=bool(u["admin"]), labs=[], tokens=[])

    @strawberry.mutation(description="Site admins: create a lab; the creator becomes its admin.")
    async def create_lab(self, info: CInfo, id: strawberry.ID, name: str = "") -> Lab:
        return Lab.from_row(
            await info.context.access.create_lab(info.context.principal, str(id), name)
        )

    @strawberry.mutation(description="Lab admins: add a user to the lab or change their role.")
    async def add_member(
        self, info: CInfo, lab: strawberry.ID, user: strawberry.ID, role: Role
    ) -> Lab:
        return Lab.from_row(
            await info.context.access.add_member(
                info.context.principal, str(lab), str(user), role.value
            )
        )

    @strawberry.mutation
    async def remove_member(self, info: CInfo, lab: strawberry.ID, user: strawberry.ID) -> Lab:
        return Lab.from_row(
            await info.context.access.remove_member(info.context.principal, str(lab), str(user))
        )

    @strawberry.mutation(description="Admins of the owner lab: let another lab read the dataset.")
    async def share_dataset(
        self, info: CInfo, dataset: strawberry.ID, lab: strawberry.ID
    ) -> Dataset:
        ctx = info.context
        return Dataset.from_access(
            await ctx.access.share(ctx.principal, str(dataset), str(lab)), ctx.principal
        )

    @strawberry.mutation
    async def unshare_dataset(
        self, info: CInfo, dataset: strawberry.ID, lab: strawberry.ID
    ) -> Dataset:
        ctx = info.context
        return Dataset.from_access(
            await ctx.access.unshare(ctx.principal, str(dataset), str(lab)), ctx.principal
        )

    @strawberry.mutation
    async def set_dataset_visibility(
        self, info: CInfo, dataset: strawberry.ID, visibility: Visibility
    ) -> Dataset:
        ctx = info.context
        return Dataset.from_access(
            await ctx.access.set_visibility(ctx.principal, str(dataset), visibility.value),
            ctx.principal,
        )

    @strawberry.mutation(
        description="A new API token for yourself (site admins: for any user); shown once."
    )
    async def create_api_token(
        self, info: CInfo, name: str = "", user: strawberry.ID | None = None
    ) -> NewApiToken:
        t = await info.context.access.create_token(
            info.context.principal, name, str(user) if user is not None else None
        )
        return NewApiToken(id=t["id"], name=t["name"], user=t["user"], token=t["token"])

    @strawberry.mutation
    async def revoke_api_token(self, info: CInfo, id: strawberry.ID) -> ApiToken:
        return ApiToken.from_row(
            await info.context.access.revoke_token(info.context.principal, str(id))
        )

    @strawberry.mutation(
        description="Editors: annotate a neuron; a newer value for the same key supersedes "
        "the current one, which stays in the history."
    )
    async def annotate_neuron(
        self, info: CInfo, dataset: strawberry.ID, neuron: strawberry.ID, key: str, value: str
    ) -> Annotation:
        ctx = info.context
        await ctx.editable(str(dataset))
        assert ctx.principal.user_id is not None  # editable() asked anonymous callers to sign in
        row = await AnnotationRepository(ctx.store, str(dataset)).annotate(
            str(neuron), key, value, ctx.principal.user_id
        )
        return Annotation.from_row(row)


# -- errors -----------------------------------------------------------------------------
def coded(e: GraphQLError, operation: str | None) -> GraphQLError:
    """The error as a client sees it, with ``extensions.code``. Our own errors keep their
    message; GraphQL syntax and validation errors are BAD_INPUT; anything else is logged
    with its context and reaches the client only as INTERNAL."""
    if e.extensions and "code" in e.extensions:
        return e
    orig = e.original_error
    if orig is None:
        code, message = "BAD_INPUT", e.message
    elif isinstance(orig, ConnectomeDBError) and orig.code in CLIENT_CODES:
        code, message = orig.code, str(orig)
    else:
        log.error(
            "internal error in %s at %s",
            operation or "anonymous operation",
            ".".join(map(str, e.path or [])) or "(no field)",
            exc_info=orig,
        )
        code, message = "INTERNAL", "internal error"
    return GraphQLError(
        message,
        nodes=e.nodes,
        source=e.source,
        positions=e.positions,
        path=e.path,
        extensions={"code": code},
    )


class ErrorCodes(MaskErrors):
    """Applies :func:`coded` to the errors of an executed operation."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [coded(e, self.execution_context.operation_name) for e in errors]


class ConnectomeSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not incidents: :func:`coded` logs the unexpected ones."""

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        # Parse errors end the operation before extensions see its result: code them here.
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [coded(e, kwargs.get("operation_name")) for e in result.errors]
        return result


def build_schema(
    settings: Settings | None = None, extra: Sequence[type[SchemaExtension]] = ()
) -> strawberry.Schema:
    s = settings or Settings()
    # Validation rules are built once for the schema's life: the validation cache is keyed
    # by the rule classes, and the limiters make a new class each time they are built.
    rules = [
        *QueryDepthLimiter(max_depth=s.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=s.max_query_aliases).validation_rules,
    ]
    return ConnectomeSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: ParserCache(maxsize=512),
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=s.max_query_tokens),
            ErrorCodes,
            *extra,
        ],
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
