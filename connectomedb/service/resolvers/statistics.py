"""What the wiring shows among selected neurons: network statistics, motif search,
reciprocity, feed-forward loops and motif censuses against named null models, and two
datasets' architectures compared.

One module, because the schema lists these fields interleaved and they share
:func:`_subgraph`, the one read of a selected subgraph."""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial
from typing import Any

import strawberry

from connectomedb.analytics.architecture import compare_architecture
from connectomedb.errors import BadInput
from connectomedb.motifs.census import (
    CENSUS_SIZES,
    census_rows,
    is_structural,
    structural_count,
)
from connectomedb.motifs.language import automorphisms, parse_motif
from connectomedb.motifs.named import RECIPROCITY_NULL
from connectomedb.service import inputs
from connectomedb.service.aggregates import Aggregates, census_result_from, statistics_from
from connectomedb.service.context import Info
from connectomedb.service.inputs import NeuronFilterInput
from connectomedb.service.pagination import PageInfo, decode_cursor, encode_cursor, page_size
from connectomedb.service.permissions import ReadsDataset
from connectomedb.service.types import from_row
from connectomedb.service.types.architecture import ArchitectureComparison
from connectomedb.service.types.connectivity import CLASS, Level
from connectomedb.service.types.statistics import (
    DEGREE_PRESERVING,
    CensusClass,
    FeedForwardLoops,
    GroupReciprocityEntry,
    MotifBinding,
    MotifCensus,
    MotifMatch,
    MotifSearchResult,
    NetworkStatistics,
    NullModel,
    ReciprocityByGroup,
)
from connectomedb.settings import Settings
from connectomedb.store.graph import Graph, GraphReader
from connectomedb.store.motifs import MotifRepository


@strawberry.type
class StatisticsQueries:
    @strawberry.field(
        description="Sparsity, degrees, reciprocity (with its enrichment over an "
        "Erdős–Rényi graph of the same density; with groupLevel, also within and between "
        "the groups of that level), convergence, divergence and clustering of the neurons "
        "selected by filter (neurons only; non-neuronal cells are left out).",
        extensions=[ReadsDataset()],
    )
    async def network_statistics(
        self,
        info: Info,
        dataset: strawberry.ID,
        filter: NeuronFilterInput | None = None,
        min_weight: int = 1,
        group_level: Level | None = None,
    ) -> NetworkStatistics:
        settings = info.context.settings
        value = await Aggregates(info.context.store, settings, str(dataset)).network_statistics(
            inputs.neuron_filter(settings, filter),
            inputs.min_weight(min_weight),
            group_level.value if group_level else None,
        )
        by_group = _reciprocity(value["by_group"], group_level, min_weight) if group_level else None
        return NetworkStatistics.from_result(statistics_from(value), min_weight, by_group)

    @strawberry.field(
        description="Find a motif written in the DotMotif language (A -> B [synapse_count "
        '>= 3]; A !> C; A.class = "sensory"; A.type != B.type) among the neurons. With '
        "excludeAutomorphisms, a match and its relabellings by the motif's symmetries "
        "(automorphisms) count once.",
        extensions=[ReadsDataset()],
    )
    async def motif_search(
        self,
        info: Info,
        dataset: strawberry.ID,
        motif: str,
        first: int = 100,
        after: str | None = None,
        count_only: bool = False,
        exclude_automorphisms: bool = False,
    ) -> MotifSearchResult:
        spec = parse_motif(motif)
        repo = MotifRepository(info.context.store, str(dataset))
        autos = automorphisms(spec)
        excluded = autos if exclude_automorphisms else []
        if count_only:
            if is_structural(spec):  # read off the dataset's triad census
                settings = info.context.settings
                census = await Aggregates(info.context.store, settings, str(dataset)).triad_census()
                count = structural_count(spec, census) // (len(excluded) + 1)
            else:
                count = await repo.count(spec, excluded)
            return MotifSearchResult(
                variables=list(spec.nodes),
                automorphisms=len(autos) + 1,
                count=count,
                matches=[],
                page_info=PageInfo(has_next_page=False, end_cursor=None),
            )
        size = page_size(info.context.settings, first)
        rows = await repo.matches(spec, _decode_match(after, len(spec.nodes)), size + 1, excluded)
        more = len(rows) > size
        matches = [
            MotifMatch(
                cursor=encode_cursor(MATCH, json.dumps(row)),
                bindings=[
                    MotifBinding(variable=v, neuron=strawberry.ID(nid))
                    for v, nid in zip(spec.nodes, row, strict=True)
                ],
            )
            for row in rows[:size]
        ]
        return MotifSearchResult(
            variables=list(spec.nodes),
            automorphisms=len(autos) + 1,
            count=None,
            matches=matches,
            page_info=PageInfo(
                has_next_page=more, end_cursor=matches[-1].cursor if matches else None
            ),
        )

    @strawberry.field(
        description="Reciprocal pairs within and between groups of neurons (type, class, "
        "...) against independent connections at each group pair's observed densities.",
        extensions=[ReadsDataset()],
    )
    async def reciprocity_by_group(
        self,
        info: Info,
        dataset: strawberry.ID,
        level: Level = CLASS,
        min_weight: int = 1,
        filter: NeuronFilterInput | None = None,
    ) -> ReciprocityByGroup:
        settings = info.context.settings
        rows = await Aggregates(info.context.store, settings, str(dataset)).reciprocity(
            inputs.neuron_filter(settings, filter), inputs.min_weight(min_weight), level.value
        )
        return _reciprocity(rows, level, min_weight)

    @strawberry.field(
        description="Feed-forward loops (triad class 030T) among the selected neurons against "
        "samples of a null model (default: degree- and reciprocity-preserving swaps).",
        extensions=[ReadsDataset()],
    )
    async def feed_forward_loops(
        self,
        info: Info,
        dataset: strawberry.ID,
        null_model: NullModel = DEGREE_PRESERVING,
        filter: NeuronFilterInput | None = None,
        min_weight: int = 1,
        samples: int = 100,
        seed: int = 0,
        type_level: Level = CLASS,
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
        "within the census time budget or answers TIMEOUT.",
        extensions=[ReadsDataset()],
    )
    async def motif_census(
        self,
        info: Info,
        dataset: strawberry.ID,
        null_model: NullModel,
        filter: NeuronFilterInput | None = None,
        min_weight: int = 1,
        size: int = 3,
        samples: int = 100,
        seed: int = 0,
        type_level: Level = CLASS,
    ) -> MotifCensus:
        if size not in CENSUS_SIZES:
            raise BadInput(f"size must be one of {', '.join(map(str, CENSUS_SIZES))}")
        return await _motif_census(
            info, str(dataset), null_model, filter, min_weight, samples, seed, type_level, size
        )

    @strawberry.field(
        description="Two datasets side by side (e.g. a connectome and a trained network's "
        "weights loaded with `connectomedb load weights`): the density and reciprocity of "
        "each against an Erdős–Rényi null; Kolmogorov–Smirnov distances between their in-, "
        "out- and total degree distributions, degrees as fractions of the possible "
        "partners so that datasets of different sizes compare; and the correlation of "
        "their triad significance profiles (Milo et al. 2004), each census against samples "
        "of nullModel, with a permutation p-value. Both censuses run within the census "
        "time budget or answer TIMEOUT. The caveats say what this does not show.",
        # the last extension listed runs first: datasetA is checked, then datasetB
        extensions=[ReadsDataset("dataset_b"), ReadsDataset("dataset_a")],
    )
    async def compare_architecture(
        self,
        info: Info,
        dataset_a: strawberry.ID,
        dataset_b: strawberry.ID,
        null_model: NullModel = DEGREE_PRESERVING,
        filter_a: NeuronFilterInput | None = None,
        filter_b: NeuronFilterInput | None = None,
        min_weight_a: int = 1,
        min_weight_b: int = 1,
        samples: int = 100,
        seed: int = 0,
        type_level: Level = CLASS,
    ) -> ArchitectureComparison:
        settings = info.context.settings
        _check_samples(settings, samples)
        check_seed(seed)
        sbm = null_model.value == "cell_type_sbm"
        level = type_level if sbm else None
        a, b = str(dataset_a), str(dataset_b)
        ga, gb = await asyncio.gather(
            _subgraph(info, a, filter_a, min_weight_a, level),
            _subgraph(info, b, filter_b, min_weight_b, level),
        )
        r = await asyncio.to_thread(
            partial(
                compare_architecture,
                (ga.n, ga.pre, ga.post),
                (gb.n, gb.pre, gb.post),
                null_model=null_model.value,
                samples=samples,
                seed=seed,
                types=(ga.groups, gb.groups) if sbm else (None, None),
                deadline=time.monotonic() + settings.census_time_budget_s,
                names=("the selection of datasetA", "the selection of datasetB"),
            )
        )
        return ArchitectureComparison.from_result(
            r, (a, b), (min_weight_a, min_weight_b), null_model, level
        )


#: the kind of motif match cursors: a keyset on the match's neuron ids
MATCH = "m"


def _decode_match(cursor: str | None, variables: int) -> list[str] | None:
    """The neuron ids of the match a cursor continues after (None: the start)."""
    v = decode_cursor(MATCH, cursor)
    if v is None:
        return None
    try:
        ids = json.loads(v)
    except ValueError:
        ids = None
    if not (
        isinstance(ids, list) and len(ids) == variables and all(isinstance(x, str) for x in ids)
    ):
        raise BadInput(f"malformed cursor {cursor!r}")
    return ids


def _check_samples(settings: Settings, samples: int) -> None:
    if not 1 <= samples <= settings.max_census_samples:
        raise BadInput(f"samples must be between 1 and {settings.max_census_samples}")


def check_seed(seed: int) -> None:
    """Null-model samples are seeded by numpy, which takes no negative seed."""
    if seed < 0:
        raise BadInput("seed must be 0 or more")


async def _motif_census(
    info: Info,
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
    _check_samples(settings, samples)
    check_seed(seed)
    sbm = null_model.value == "cell_type_sbm"
    value = await Aggregates(info.context.store, settings, ds).census(
        inputs.neuron_filter(settings, filter),
        inputs.min_weight(min_weight),
        null_model=null_model.value,
        samples=samples,
        seed=seed,
        size=size,
        type_level=type_level.value if sbm else None,
        budget_s=settings.census_time_budget_s,
    )
    r = census_result_from(value["result"])
    return MotifCensus(
        neurons=value["neurons"],
        connections=value["connections"],
        size=size,
        null_model=null_model,
        null_description=r.null_description,
        samples=samples,
        seed=seed,
        min_weight=min_weight,
        type_level=type_level if sbm else None,
        classes=[CensusClass(**row) for row in census_rows(r)],
    )


def _reciprocity(rows: list[dict[str, Any]], level: Level, min_weight: int) -> ReciprocityByGroup:
    return ReciprocityByGroup(
        level=level,
        min_weight=min_weight,
        null_model=RECIPROCITY_NULL,
        entries=[from_row(GroupReciprocityEntry, r) for r in rows],
    )


async def _subgraph(
    info: Info,
    ds: str,
    filter: NeuronFilterInput | None,
    weight: int,
    level: Level | None,
) -> Graph:
    """The selected neurons of a dataset (its read check done by the field) and the
    connections among them with at least ``weight`` synapses, with groups at ``level``
    when given (:mod:`connectomedb.store.graph`, as every job reads it)."""
    return await GraphReader(info.context.store).read(
        ds,
        inputs.neuron_filter(info.context.settings, filter),
        inputs.min_weight(weight),
        level.value if level else None,
    )
