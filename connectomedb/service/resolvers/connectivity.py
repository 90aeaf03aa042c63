"""Connections between cells, shortest paths, and connectivity between groups."""

from __future__ import annotations

import strawberry

from connectomedb.errors import BadInput, NotFound
from connectomedb.service import inputs
from connectomedb.service.aggregates import Aggregates
from connectomedb.service.context import Info
from connectomedb.service.pagination import (
    PAIR,
    Connection,
    Keyset,
    decode_pair,
    encode_pair,
)
from connectomedb.service.permissions import ReadsDataset
from connectomedb.service.types.connectivity import (
    CLASS,
    Adjacency,
    CellGroup,
    CellTypeConnectivity,
    GroupConnectivity,
    Level,
    Path,
    SynapticConnection,
)

MAX_PATHS = 100

#: Connections in (pre id, post id) order; their cursors are adjacency's.
CONNECTIONS = Keyset(PAIR, (str, str))


@strawberry.type
class ConnectivityQueries:
    @strawberry.field(
        description="Chemical connections from pre to post cells (either may be left out).",
        extensions=[ReadsDataset()],
    )
    async def connections(
        self,
        info: Info,
        dataset: strawberry.ID,
        pre: list[strawberry.ID] | None = None,
        post: list[strawberry.ID] | None = None,
        min_weight: int = 1,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[SynapticConnection]:
        settings = info.context.settings
        page = CONNECTIONS.page(settings, first, after)
        rows = await info.context.neurons(str(dataset)).connections(
            inputs.id_list(settings, "pre", pre),
            inputs.id_list(settings, "post", post),
            inputs.min_weight(min_weight),
            ("", "") if page.after is None else (page.after[0], page.after[1]),
            page.limit,
        )
        return page.connection(
            rows, lambda r: (r["pre"], r["post"]), lambda r: SynapticConnection(**r)
        )

    @strawberry.field(
        description="The connections of `connections` as three columns (pre, post, "
        "synapseCount), up to the server's maxColumnRows per page (first), paged by the "
        "last (pre, post) pair: for reading many connections at once.",
        extensions=[ReadsDataset()],
    )
    async def adjacency(
        self,
        info: Info,
        dataset: strawberry.ID,
        pre: list[strawberry.ID] | None = None,
        post: list[strawberry.ID] | None = None,
        min_weight: int = 1,
        first: int = 10_000,
        after: str | None = None,
    ) -> Adjacency:
        settings = info.context.settings
        if not 1 <= first <= settings.max_column_rows:
            raise BadInput(f"first must be between 1 and {settings.max_column_rows}")
        cols = await info.context.neurons(str(dataset)).adjacency(
            inputs.id_list(settings, "pre", pre),
            inputs.id_list(settings, "post", post),
            inputs.min_weight(min_weight),
            decode_pair(after),
            first + 1,
        )
        more = len(cols["pre"]) > first
        pre_ids, post_ids = cols["pre"][:first], cols["post"][:first]
        return Adjacency(
            pre=pre_ids,
            post=post_ids,
            synapse_count=cols["synapse_count"][:first],
            has_next_page=more,
            end_cursor=encode_pair(pre_ids[-1], post_ids[-1]) if more else None,
        )

    @strawberry.field(
        description="All shortest directed paths from source to target over connections "
        "with at least minWeight synapses (at most maxHops hops).",
        extensions=[ReadsDataset()],
    )
    async def paths(
        self,
        info: Info,
        dataset: strawberry.ID,
        source: strawberry.ID,
        target: strawberry.ID,
        max_hops: int = 3,
        min_weight: int = 1,
        first: int = MAX_PATHS,
    ) -> list[Path]:
        ds = str(dataset)
        if not 1 <= first <= MAX_PATHS:
            raise BadInput(f"first must be between 1 and {MAX_PATHS}")
        if str(source) == str(target):
            raise BadInput("source and target must be different neurons")
        repo = info.context.neurons(ds)
        found = await repo.cells([str(source), str(target)])
        for cid in (str(source), str(target)):
            if cid not in found:
                raise NotFound(f"neuron {cid!r} not found in dataset {ds!r}")
        rows = await repo.paths(
            str(source), str(target), max_hops, inputs.min_weight(min_weight), first
        )
        paths = [
            Path(neurons=r["cells"], synapse_counts=r["counts"], hops=len(r["counts"]))
            for r in rows
        ]
        return sorted(paths, key=lambda p: [str(x) for x in p.neurons])

    @strawberry.field(
        description="Synapses and connected pairs between groups of neurons (type x type).",
        extensions=[ReadsDataset()],
    )
    async def cell_type_connectivity(
        self,
        info: Info,
        dataset: strawberry.ID,
        level: Level = CLASS,
        min_weight: int = 1,
    ) -> CellTypeConnectivity:
        value = await Aggregates(
            info.context.store, info.context.settings, str(dataset)
        ).cell_type_connectivity(level.value, inputs.min_weight(min_weight))
        sizes: dict[str | None, int] = {k: v for k, v in value["sizes"]}
        pairs = value["pairs"]
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
