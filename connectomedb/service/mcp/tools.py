"""The MCP tools and resources. Each tool runs one GraphQL operation of the API with the
caller's token (through ``Run``), so it sees, refuses and limits exactly as the API does,
and returns a small, documented part of the answer. Each description says what the
number means and what it does not claim (DESIGN §7), so that an assistant can quote the
null model and the caveat with the number."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from connectomedb.jobs.registry import kind_names
from connectomedb.service.resolvers.connectivity import MAX_PATHS

#: Runs one GraphQL operation for the current caller: (query, variables) -> data. Errors
#: are raised as ``ToolError("CODE: message")``.
Run = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

READS = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)

Level = Literal["type", "class", "superclass", "neurotransmitter", "side", "region"]
NullModel = Literal["degree_preserving", "erdos_renyi", "cell_type_sbm"]
Direction = Literal["upstream", "downstream", "both"]

#: What a paged tool's answer carries: the cursor of the next page, and how to ask for less.
NEXT_PAGE = (
    "Pass `after` = the answer's `next` for the next page; `next` is null on the last. "
    "A long answer carries a `hint` on how to ask for less."
)

WIRING_CAVEAT = (
    "Synapse counts are anatomical: a proxy for strength, not a measured strength; the "
    "wiring says nothing of sign, dynamics or neuromodulation."
)
NULL_CAVEAT = (
    "An enrichment is relative to its null model, named in the answer (`nullDescription`): "
    "quote it with the number. z and p come from the null samples (p never below "
    "1/(samples+1)); with a selection (`filter`), the null rewires only the induced "
    "subgraph of the selected neurons, so the answer is about that subgraph, not the "
    "whole connectome. Structure alone does not show that a motif is used in computation."
)

INSTRUCTIONS = (
    "connectomedb serves synapse-resolved connectomes (neurons, chemical connections with "
    "synapse counts, gap junctions) with functional measurements beside them. Start with "
    "list_datasets, then describe_dataset. Ids of neurons are the dataset's cell ids "
    "(find_neurons finds them by name, type or class). Lists are paged: ask for small pages "
    "and follow `next`; a long answer carries a `hint` on how to ask for less. Statistics "
    "against null models (motif_census, feed_forward_loops, "
    "network_statistics' reciprocity) name their null model: report it, and the caveats "
    "of each tool, with every number. " + WIRING_CAVEAT
)


class NeuronFilter(BaseModel):
    """Which neurons: every field given must hold (non-neuronal cells are never selected
    by statistics)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = Field(None, description="cell ids, exactly")
    name: str | None = Field(None, description="the name, exactly")
    name_starts_with: str | None = None
    type: str | None = Field(None, description="cell type, exactly")
    cell_class: str | None = Field(
        None, description="class (C. elegans: sensory, interneuron, motor, ...)"
    )
    superclass: str | None = None
    side: str | None = None
    neurotransmitter: str | None = None
    region: str | None = None
    min_in_degree: int | None = None
    max_in_degree: int | None = None
    min_out_degree: int | None = None
    max_out_degree: int | None = None

    def graphql(self) -> dict[str, Any]:
        """The API's ``NeuronFilterInput``."""
        names = {"cell_class": "class"}
        out: dict[str, Any] = {}
        for key, value in self.model_dump(exclude_none=True).items():
            head, *rest = names.get(key, key).split("_")
            out[head + "".join(w.title() for w in rest)] = value
        return out


def _filter(f: NeuronFilter | None) -> dict[str, Any] | None:
    return f.graphql() if f is not None else None


def _null(
    dataset: str,
    null_model: str,
    f: NeuronFilter | None,
    min_weight: int,
    samples: int,
    seed: int,
    type_level: str,
) -> dict[str, Any]:
    """The variables of an operation against a null model (``NULL_ARGS``)."""
    return {
        "ds": dataset,
        "null": null_model.upper(),
        "f": _filter(f),
        "w": min_weight,
        "samples": samples,
        "seed": seed,
        "typeLevel": type_level.upper(),
    }


def _next(page: dict[str, Any]) -> str | None:
    info = page["pageInfo"]
    return info["endCursor"] if info["hasNextPage"] else None


Dataset = Annotated[str, Field(description="dataset id (from list_datasets)")]
First = Annotated[int, Field(ge=0, description="page size (the API's page limit applies)")]
MinWeight = Annotated[
    int, Field(ge=1, description="only connections of at least this many synapses")
]
TypeLevel = Annotated[
    Level, Field(description="the groups of the cell_type_sbm null (ignored by the others)")
]
Seed = Annotated[int, Field(ge=0, description="the seed of the null samples")]
Samples = Annotated[
    int, Field(ge=1, description="null-model samples (more: slower, finer p-values)")
]

DATASETS = """{ datasets { id name species version visibility neuronCount connectionCount
  chemicalSynapseTotal gapJunctionCount synapseCount } }"""

DESCRIBE = """query($ds: ID!) {
  dataset(id: $ds) { id name species version source sourceFiles citation license description
    status visibility loadedAt neuronCount nonNeuronalCount connectionCount chemicalSynapseTotal
    gapJunctionCount gapJunctionTotal synapseCount
    measurementSets { id kind name condition description citation count } }
}"""
GROUPS = """query($ds: ID!, $level: Level!) {
  cellTypeConnectivity(dataset: $ds, level: $level) { groups { name size } }
}"""

NEURON_FIELDS = (
    "id name kind type class superclass side neurotransmitter "
    "inDegree outDegree preSynapses postSynapses"
)
NEURONS = f"""query($ds: ID!, $f: NeuronFilterInput, $first: Int!, $after: String) {{
  neurons(dataset: $ds, filter: $f, first: $first, after: $after) {{
    totalCount edges {{ node {{ {NEURON_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }}
}}"""

PARTNER_PAGE = (
    "edges { node { synapseCount neuron { id name type class superclass } } } "
    "pageInfo { hasNextPage endCursor }"
)
PARTNERS = f"""query($ds: ID!, $id: ID!, $w: Int!, $first: Int!, $up: Boolean!, $down: Boolean!) {{
  neuron(dataset: $ds, id: $id) {{ {NEURON_FIELDS}
    upstream(minWeight: $w, first: $first) @include(if: $up) {{ {PARTNER_PAGE} }}
    downstream(minWeight: $w, first: $first) @include(if: $down) {{ {PARTNER_PAGE} }} }}
}}"""

CONNECTIONS = """query($ds: ID!, $pre: [ID!], $post: [ID!], $w: Int!, $first: Int!, $after: String) {
  adjacency(dataset: $ds, pre: $pre, post: $post, minWeight: $w, first: $first, after: $after) {
    pre post synapseCount hasNextPage endCursor }
}"""

PATHS = """query($ds: ID!, $s: ID!, $t: ID!, $hops: Int!, $w: Int!, $first: Int!) {
  paths(dataset: $ds, source: $s, target: $t, maxHops: $hops, minWeight: $w, first: $first) {
    neurons synapseCounts hops }
}"""

CELL_TYPES = """query($ds: ID!, $level: Level!, $w: Int!) {
  cellTypeConnectivity(dataset: $ds, level: $level, minWeight: $w) {
    level minWeight groups { name size }
    entries { pre post synapses connectedPairs possiblePairs connectionProbability } }
}"""

STATISTICS = """query($ds: ID!, $f: NeuronFilterInput, $w: Int!) {
  networkStatistics(dataset: $ds, filter: $f, minWeight: $w) {
    neurons connections autapses density reciprocalPairs reciprocalPairsExpected
    reciprocityEnrichment reciprocity meanConvergence meanDivergence clusteringCoefficient
    transitivity nullModel minWeight }
}"""

MOTIF = """query($ds: ID!, $motif: String!, $first: Int!, $after: String, $countOnly: Boolean!,
               $auto: Boolean!) {
  motifSearch(dataset: $ds, motif: $motif, first: $first, after: $after, countOnly: $countOnly,
              excludeAutomorphisms: $auto) {
    variables automorphisms count matches { bindings { variable neuron } }
    pageInfo { hasNextPage endCursor } }
}"""

NULL_ARGS = (
    "nullModel: $null, filter: $f, minWeight: $w, samples: $samples, seed: $seed, "
    "typeLevel: $typeLevel"
)
CENSUS = f"""query($ds: ID!, $null: NullModel!, $f: NeuronFilterInput, $w: Int!, $size: Int!,
                $samples: Int!, $seed: Int!, $typeLevel: Level!) {{
  motifCensus(dataset: $ds, size: $size, {NULL_ARGS}) {{
    neurons connections size nullModel nullDescription samples seed minWeight
    classes {{ name connected edges observed nullMean nullStd z pGreater pLess }} }}
}}"""

FFL = f"""query($ds: ID!, $null: NullModel!, $f: NeuronFilterInput, $w: Int!, $samples: Int!,
             $seed: Int!, $typeLevel: Level!) {{
  feedForwardLoops(dataset: $ds, {NULL_ARGS}) {{
    observed nullModel nullDescription samples seed nullMean nullStd z pGreater pLess }}
}}"""

STRUCTURE_FUNCTION = """query($ds: ID!, $m: ID!, $q: Float!, $null: FunctionalNull!, $samples: Int!,
                            $w: Int!, $seed: Int!) {
  structureFunction(dataset: $ds, measurements: $m, qThreshold: $q, nullModel: $null,
                    nullSamples: $samples, minWeight: $w, seed: $seed) {
    measurementSet neurons pairs pairsWithoutQ qThreshold amplitudeMode
    categories { category pairs functional probability ciLow ciHigh }
    directOddsRatio { category reference oddsRatio ciLow ciHigh }
    spearmanCount spearmanPath cvR2 folds tests { statistic observed nullMean pValue }
    null nullDescription nullSamples seed confidence caveats }
}"""

JOB_FIELDS = (
    "id kind dataset status progress message error attempts maxAttempts queue "
    "createdAt startedAt finishedAt runId"
)
SUBMIT = f"""mutation($ds: ID!, $kind: JobKind!, $params: JSON, $queue: String!) {{
  submitJob(dataset: $ds, kind: $kind, params: $params, queue: $queue) {{ {JOB_FIELDS} params }}
}}"""
JOB = f"""query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"""
RESULTS = """query($id: ID!, $first: Int!, $after: String) {
  job(id: $id) { id status error modelRun { id kind dataset params metrics seed codeVersion
    createdAt outputCount files { name url }
    outputs(first: $first, after: $after) { edges { node { neuron label score vector } }
      pageInfo { hasNextPage endCursor } } } }
}"""


#: Answers longer than this (characters of JSON) carry a hint on how to ask for less.
LARGE_ANSWER = 40_000


def sized(out: dict[str, Any], how: str) -> dict[str, Any]:
    """``out``, with a ``hint`` saying how to ask for less when it is large."""
    n = len(json.dumps(out))
    if n > LARGE_ANSWER:
        return out | {"hint": f"this answer is about {n} characters of JSON; {how}"}
    return out


def _levels(groups: list[dict[str, Any]], largest: int = 10) -> dict[str, Any]:
    named = [g for g in groups if g["name"] is not None]
    top = sorted(named, key=lambda g: (-g["size"], g["name"]))[:largest]
    return {
        "groups": len(named),
        "unassigned": sum(g["size"] for g in groups if g["name"] is None),
        "largest": top,
    }


def _partners(page: dict[str, Any]) -> dict[str, Any]:
    partners = [
        {**e["node"]["neuron"], "synapses": e["node"]["synapseCount"]} for e in page["edges"]
    ]
    return {"partners": partners, "more": page["pageInfo"]["hasNextPage"]}


def register(server: MCPServer, run: Run, schema_sdl: Callable[[], str]) -> None:
    """Adds every tool and resource to ``server``; each runs through ``run``."""

    @server.tool(
        annotations=READS,
        description="The datasets you may read (your token decides): ids, species, version, "
        "visibility and sizes. A dataset you may not read is not listed.",
    )
    async def list_datasets() -> dict[str, Any]:
        return {"datasets": (await run(DATASETS, {}))["datasets"]}

    @server.tool(
        annotations=READS,
        description="One dataset: provenance (source, files, citation, licence), counts of "
        "neurons, connections, synapses and gap junctions, the functional measurement "
        "sets beside it, and its grouping levels (how many classes and types, the largest "
        "ten of each, and how many neurons have none). Counts are of what was "
        "reconstructed: missing synapses in the source are missing here.",
    )
    async def describe_dataset(dataset: Dataset) -> dict[str, Any]:
        data = await run(DESCRIBE, {"ds": dataset})
        levels: dict[str, Any] = {}
        for level in ("class", "type"):  # each on its own: one failing loses only itself
            try:
                g = await run(GROUPS, {"ds": dataset, "level": level.upper()})
            except ToolError as e:
                levels[level] = {"error": str(e)}
            else:
                levels[level] = _levels(g["cellTypeConnectivity"]["groups"])
        return {"dataset": data["dataset"], "levels": levels}

    @server.tool(
        annotations=READS,
        description="Neurons (not non-neuronal cells) matching a filter, ordered by id, with "
        "their type, class, degrees (distinct partners) and synapse totals; `total` counts "
        "every match. " + NEXT_PAGE,
    )
    async def find_neurons(
        dataset: Dataset,
        filter: NeuronFilter | None = None,
        first: First = 20,
        after: str | None = None,
    ) -> dict[str, Any]:
        data = await run(
            NEURONS, {"ds": dataset, "f": _filter(filter), "first": first, "after": after}
        )
        page = data["neurons"]
        out = {
            "total": page["totalCount"],
            "neurons": [e["node"] for e in page["edges"]],
            "next": _next(page),
        }
        return sized(out, "ask for a smaller `first` or a narrower filter")

    @server.tool(
        annotations=READS,
        description="A neuron and its chemical partners, most synapses first: upstream "
        "(presynaptic to it), downstream (postsynaptic) or both; `more` says the list was "
        "cut at `first` (ask for more, up to the page limit, or raise min_weight). "
        + WIRING_CAVEAT,
    )
    async def neuron_partners(
        dataset: Dataset,
        neuron: Annotated[str, Field(description="cell id")],
        direction: Direction = "both",
        min_weight: MinWeight = 1,
        first: First = 10,
    ) -> dict[str, Any]:
        data = await run(
            PARTNERS,
            {
                "ds": dataset,
                "id": neuron,
                "w": min_weight,
                "first": first,
                "up": direction in ("upstream", "both"),
                "down": direction in ("downstream", "both"),
            },
        )
        n = dict(data["neuron"])
        out: dict[str, Any] = {}
        for key in ("upstream", "downstream"):
            if key in n:
                out[key] = _partners(n.pop(key))
        return sized({"neuron": n, **out}, "ask for a smaller `first` or a higher min_weight")

    @server.tool(
        annotations=READS,
        description="Chemical connections from the `pre` cells to the `post` cells (either "
        "list may be left out, not both on a large dataset), as pre, post, synapses; ordered "
        "by (pre, post). " + NEXT_PAGE + " " + WIRING_CAVEAT,
    )
    async def connections(
        dataset: Dataset,
        pre: list[str] | None = None,
        post: list[str] | None = None,
        min_weight: MinWeight = 1,
        first: First = 50,
        after: str | None = None,
    ) -> dict[str, Any]:
        data = await run(
            CONNECTIONS,
            {
                "ds": dataset,
                "pre": pre,
                "post": post,
                "w": min_weight,
                "first": first,
                "after": after,
            },
        )
        a = data["adjacency"]
        rows = [
            {"pre": p, "post": q, "synapses": s}
            for p, q, s in zip(a["pre"], a["post"], a["synapseCount"], strict=True)
        ]
        out = {"connections": rows, "next": a["endCursor"] if a["hasNextPage"] else None}
        return sized(out, "ask for a smaller `first`, fewer cells or a higher min_weight")

    @server.tool(
        annotations=READS,
        description="All shortest directed chemical paths from source to target (at most "
        "max_hops hops, each hop of at least min_weight synapses), with the synapses of "
        "each hop; `more`: there are more than `first` (at the API's limit of "
        f"{MAX_PATHS}: there may be more); raise min_weight to keep the strong ones. A "
        "path is anatomical: it does not show that signals travel along it.",
    )
    async def find_paths(
        dataset: Dataset,
        source: str,
        target: str,
        max_hops: Annotated[int, Field(ge=1)] = 3,
        min_weight: MinWeight = 1,
        first: First = 20,
    ) -> dict[str, Any]:
        # one more than asked, when the API allows it, tells whether there are more
        ask = first + 1 if first < MAX_PATHS else first
        data = await run(
            PATHS,
            {
                "ds": dataset,
                "s": source,
                "t": target,
                "hops": max_hops,
                "w": min_weight,
                "first": ask,
            },
        )
        paths = data["paths"]
        more = len(paths) > first if ask > first else len(paths) == first
        out = {"paths": paths[:first], "more": more}
        return sized(out, "ask for a smaller `first` or a higher min_weight")

    @server.tool(
        annotations=READS,
        description="Synapses and connected pairs between groups of neurons at a level "
        "(type, class, ...): for each (pre group, post group), synapses, connected pairs, "
        "possible pairs and their ratio (connection probability). Give `groups` to keep the "
        "pairs among a few groups; otherwise the `max_entries` pairs with most synapses are "
        "kept and `omitted` counts the rest. `groups` lists the sizes of the groups named and "
        "of those in the entries kept; `groupCount` counts every group of the level; a "
        "name the level does not have is refused. No null model: these "
        "are observed counts, and a connection probability is not a synaptic strength.",
    )
    async def cell_type_connectivity(
        dataset: Dataset,
        level: Level = "class",
        groups: list[str] | None = None,
        min_weight: MinWeight = 1,
        max_entries: Annotated[int, Field(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        data = await run(CELL_TYPES, {"ds": dataset, "level": level.upper(), "w": min_weight})
        c = data["cellTypeConnectivity"]
        entries = c["entries"]
        if groups is not None:
            keep = set(groups)
            unknown = sorted(keep - {g["name"] for g in c["groups"]})
            if unknown:
                some = sorted(str(g["name"]) for g in c["groups"] if g["name"] is not None)
                raise ToolError(
                    f"BAD_INPUT: no {level} named {', '.join(map(repr, unknown))}; "
                    f"{len(some)} {level} groups, e.g. {', '.join(some[:12])}"
                )
            entries = [e for e in entries if e["pre"] in keep and e["post"] in keep]
        entries = sorted(entries, key=lambda e: (-e["synapses"], str(e["pre"]), str(e["post"])))
        kept = entries[:max_entries]
        named = {e["pre"] for e in kept} | {e["post"] for e in kept} | set(groups or ())
        out = {
            "level": c["level"],
            "minWeight": c["minWeight"],
            "groupCount": len(c["groups"]),
            "groups": [g for g in c["groups"] if g["name"] in named],
            "entries": kept,
            "omitted": len(entries) - len(kept),
        }
        return sized(out, "name fewer groups or ask for fewer max_entries")

    @server.tool(
        annotations=READS,
        description="Sparsity, reciprocity, convergence, divergence and clustering of the "
        "neurons selected by `filter` (all neurons without one). `reciprocityEnrichment` is "
        "reciprocal pairs over those expected in an Erdős–Rényi graph of the same density "
        "(`nullModel`), which ignores degrees and cell types: a value above 1 is not, by "
        "itself, evidence of a mechanism. " + WIRING_CAVEAT,
    )
    async def network_statistics(
        dataset: Dataset, filter: NeuronFilter | None = None, min_weight: MinWeight = 1
    ) -> dict[str, Any]:
        data = await run(STATISTICS, {"ds": dataset, "f": _filter(filter), "w": min_weight})
        return dict(data["networkStatistics"])

    @server.tool(
        annotations=READS,
        description="Find a motif written in the DotMotif language, e.g. 'A -> B; B -> C; "
        "A -> C' (edges: ->, absent edges: !>, edge conditions: A -> B [synapse_count >= 3], "
        'node conditions: A.type = "AVA"). By default only the count is returned '
        "(count_only); ask for matches with count_only=false (no count then) and follow "
        "`next`. Each match "
        "binds the motif's variables to cell ids. Without exclude_automorphisms a circuit "
        "is found once per symmetry of the motif (`automorphisms`). A count has no null "
        "model: use motif_census or feed_forward_loops to compare with one.",
    )
    async def motif_search(
        dataset: Dataset,
        motif: str,
        count_only: bool = True,
        exclude_automorphisms: bool = False,
        first: First = 20,
        after: str | None = None,
    ) -> dict[str, Any]:
        data = await run(
            MOTIF,
            {
                "ds": dataset,
                "motif": motif,
                "first": 0 if count_only else first,
                "after": after,
                "countOnly": count_only,
                "auto": exclude_automorphisms,
            },
        )
        m = data["motifSearch"]
        matches = [{b["variable"]: b["neuron"] for b in x["bindings"]} for x in m["matches"]]
        out = {"variables": m["variables"], "automorphisms": m["automorphisms"]}
        if count_only:
            return out | {"count": m["count"]}
        page = out | {"matches": matches, "next": _next(m)}
        return sized(page, "ask for a smaller `first`, or add node conditions to the motif")

    @server.tool(
        annotations=READS,
        description="The census of induced subgraphs of the selected neurons against a null "
        "model: size 3, the 16 triad classes (MAN names: 030T is the feed-forward loop); "
        "size 4, the connected classes (those observed or expected). Per class: observed, "
        "null mean and sd, z and one-sided p-values. Null models: degree_preserving "
        "(degree- and reciprocity-preserving swaps), erdos_renyi (same density), "
        "cell_type_sbm (same connection probability between each pair of groups at "
        "type_level). " + NULL_CAVEAT,
    )
    async def motif_census(
        dataset: Dataset,
        null_model: NullModel = "degree_preserving",
        filter: NeuronFilter | None = None,
        min_weight: MinWeight = 1,
        size: Literal[3, 4] = 3,
        samples: Samples = 100,
        seed: Seed = 0,
        type_level: TypeLevel = "class",
    ) -> dict[str, Any]:
        variables = _null(dataset, null_model, filter, min_weight, samples, seed, type_level)
        data = await run(CENSUS, variables | {"size": size})
        c = dict(data["motifCensus"])
        if size == 4:
            c["classes"] = [k for k in c["classes"] if k["observed"] > 0 or k["nullMean"] > 0]
        return sized(c, "ask for size 3, or select fewer neurons with `filter`")

    @server.tool(
        annotations=READS,
        description="Feed-forward loops (A -> B, B -> C, A -> C and no other edge among "
        "the three: triad class 030T) among the selected neurons against samples of a null "
        "model: observed, null mean and sd, z, and one-sided p-values (pGreater: as many or "
        "more under the null). " + NULL_CAVEAT,
    )
    async def feed_forward_loops(
        dataset: Dataset,
        null_model: NullModel = "degree_preserving",
        filter: NeuronFilter | None = None,
        min_weight: MinWeight = 1,
        samples: Samples = 100,
        seed: Seed = 0,
        type_level: TypeLevel = "class",
    ) -> dict[str, Any]:
        variables = _null(dataset, null_model, filter, min_weight, samples, seed, type_level)
        data = await run(FFL, variables)
        return dict(data["feedForwardLoops"])

    @server.tool(
        annotations=READS,
        description="How much the wiring predicts a pairwise functional measurement set (its "
        "id from describe_dataset, e.g. a signal propagation atlas): the rate of functional "
        "connections (q below q_threshold) among pairs with a direct chemical connection, a "
        "gap junction, a two-hop path or none, with confidence intervals; the odds ratio of "
        "any direct wiring against none; rank correlations of response strength with "
        "synapse count and path-summed weight; cross-validated R^2; each against the null "
        "(label_permutation shuffles which neurons are which; degree_preserving rewires the "
        "wiring). `caveats` say what this does not show: quote them. Correlation with "
        "wiring is not evidence that the response travels through that wiring.",
    )
    async def structure_function(
        dataset: Dataset,
        measurements: Annotated[str, Field(description="pairwise measurement set id")],
        q_threshold: Annotated[float, Field(gt=0, le=1)] = 0.05,
        null_model: Literal["label_permutation", "degree_preserving"] = "label_permutation",
        null_samples: Samples = 100,
        min_weight: MinWeight = 1,
        seed: Seed = 0,
    ) -> dict[str, Any]:
        data = await run(
            STRUCTURE_FUNCTION,
            {
                "ds": dataset,
                "m": measurements,
                "q": q_threshold,
                "null": null_model.upper(),
                "samples": null_samples,
                "w": min_weight,
                "seed": seed,
            },
        )
        return dict(data["structureFunction"])

    @server.tool(
        annotations=WRITES,
        description="Submit an analytics job on a dataset (needs a token with the editor role "
        "in a lab the dataset is shared with; read-only tokens are refused). Kinds: "
        + ", ".join(kind_names())
        + "; `params` as the API's submitJob "
        "takes them (unknown ones are refused). Poll with job_status; read with job_results. "
        "Learned and simulated results depend on the model's assumptions and seeds: each "
        "run records its parameters, seed and code version.",
    )
    async def submit_job(
        dataset: Dataset,
        kind: Annotated[str, Field(json_schema_extra={"enum": list(kind_names())})],
        params: dict[str, Any] | None = None,
        queue: str = "default",
    ) -> dict[str, Any]:
        if kind.lower() not in kind_names():
            raise ToolError(
                f"BAD_INPUT: unknown job kind {kind!r}; one of {', '.join(kind_names())}"
            )
        data = await run(
            SUBMIT, {"ds": dataset, "kind": kind.upper(), "params": params, "queue": queue}
        )
        return dict(data["submitJob"])

    @server.tool(
        annotations=READS,
        description="A job's status (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED), "
        "progress (0-1), message, error and the id of the run it produced.",
    )
    async def job_status(job: str) -> dict[str, Any]:
        return dict((await run(JOB, {"id": job}))["job"])

    @server.tool(
        annotations=READS,
        description="The results of a finished job: its run's parameters, metrics, seed, "
        "code version and files, and a page of its per-neuron outputs (label, score or "
        "vector). `run` is null until the job succeeded. " + NEXT_PAGE,
    )
    async def job_results(job: str, first: First = 20, after: str | None = None) -> dict[str, Any]:
        data = (await run(RESULTS, {"id": job, "first": first, "after": after}))["job"]
        r = data["modelRun"]
        out: dict[str, Any] = {"job": data["id"], "status": data["status"], "error": data["error"]}
        if r is None:
            return out | {"run": None}
        page = r.pop("outputs")
        outputs = [e["node"] for e in page["edges"]]
        done = out | {"run": r, "outputs": outputs, "next": _next(page)}
        return sized(done, "ask for a smaller `first`")

    @server.resource(
        "connectomedb://schema",
        name="schema",
        description="The GraphQL schema (SDL) the tools run against.",
        mime_type="text/plain",
    )
    def schema() -> str:
        return schema_sdl()

    @server.resource(
        "connectomedb://datasets",
        name="datasets",
        description="The datasets you may read (as list_datasets).",
        mime_type="application/json",
    )
    async def datasets() -> str:
        try:
            return json.dumps((await run(DATASETS, {}))["datasets"])
        except ToolError as e:  # the caller's mistake (a bad token, say), not a crash
            raise ResourceError(str(e)) from None
