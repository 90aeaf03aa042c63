"""The MCP server with the SDK's own client, over streamable HTTP (the API's /mcp) and
stdio (``connectomedb mcp``), against Cook 2019 in the live API: every tool's answer
equals the GraphQL answer it wraps (queries written here, sent over HTTP), an outsider
sees no private dataset through any tool or resource, and bad arguments get a clear
error."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import neo4j
import pytest
from mcp import MCPError

from connectomedb.service.app import create_app
from connectomedb.settings import Settings
from connectomedb.workers.worker import Worker
from tests.oracles import cook_graphs
from tests.service.mcp_clients import TRANSPORTS, answer, failure, session
from tests.world import LiveServer, World

ASH = ["ASHL", "ASHR"]
TRIO = ["ASHL", "AVAL", "VA2"]

#: Every tool, with arguments that reach data on the world's Cook 2019 ("DS": its id).
CALLS: dict[str, dict[str, Any]] = {
    "list_datasets": {},
    "describe_dataset": {"dataset": "DS"},
    "find_neurons": {"dataset": "DS", "filter": {"cell_class": "interneuron"}, "first": 7},
    "neuron_partners": {"dataset": "DS", "neuron": "AVAL", "min_weight": 3, "first": 5},
    "connections": {"dataset": "DS", "pre": ASH, "first": 9},
    "find_paths": {"dataset": "DS", "source": "ASHL", "target": "VA2", "max_hops": 3},
    "cell_type_connectivity": {"dataset": "DS", "groups": ["sensory", "interneuron"]},
    "network_statistics": {"dataset": "DS", "filter": {"cell_class": "motor"}},
    "motif_search": {"dataset": "DS", "motif": 'A -> B; B -> C; A -> C; A.type = "ASH"'},
    "motif_census": {"dataset": "DS", "filter": {"ids": TRIO + ASH[1:]}, "samples": 20},
    "feed_forward_loops": {"dataset": "DS", "filter": {"cell_class": "sensory"}, "samples": 20},
    "structure_function": {"dataset": "DS", "measurements": "SET", "null_samples": 5},
    "job_status": {"job": "JOB"},
    "job_results": {"job": "JOB", "first": 4},
    "submit_job": {"dataset": "DS", "kind": "probe", "params": {"steps": 1}, "queue": "Q"},
}


def _args(world: World, name: str, **ids: str) -> dict[str, Any]:
    values = {"DS": world.cook, **ids}
    out = {}
    for k, v in CALLS[name].items():
        out[k] = values.get(v, v) if isinstance(v, str) else v
    return out


@pytest.fixture(scope="module")
def finished_job(world: World, driver: neo4j.Driver, settings: Settings) -> str:
    """An anomaly job on Cook 2019, run to the end by a worker."""
    q = f"q_{uuid.uuid4().hex[:8]}"
    job = world.client("carol")(
        """mutation($ds: ID!, $q: String!) { submitJob(dataset: $ds, kind: ANOMALY, queue: $q)
           { id } }""",
        ds=world.cook,
        q=q,
    )["submitJob"]["id"]
    Worker(driver, settings.neo4j_database, "mcp-test", 60, 0.1, q).run(exit_when_idle=True)
    return str(job)


def _graphql(world: World, name: str, args: dict[str, Any], who: str) -> dict[str, Any]:
    """What each tool must answer, from the API over HTTP with queries written here."""
    c = world.client(who)
    ds = args.get("dataset")
    if name == "list_datasets":
        rows = c("""{ datasets { id name species version visibility neuronCount connectionCount
                   chemicalSynapseTotal gapJunctionCount synapseCount } }""")["datasets"]
        return {"datasets": rows}
    if name == "describe_dataset":
        d = c(
            """query($ds: ID!) { dataset(id: $ds) { id name species version source sourceFiles
              citation license description status visibility loadedAt neuronCount
              nonNeuronalCount connectionCount chemicalSynapseTotal gapJunctionCount
              gapJunctionTotal synapseCount measurementSets { id kind name condition description
              citation count } } }""",
            ds=ds,
        )["dataset"]
        levels = {}
        for level in ("class", "type"):
            groups = c(
                "query($ds: ID!, $l: Level!) { cellTypeConnectivity(dataset: $ds, level: $l) "
                "{ groups { name size } } }",
                ds=ds,
                l=level.upper(),
            )["cellTypeConnectivity"]["groups"]
            named = [g for g in groups if g["name"] is not None]
            levels[level] = {
                "groups": len(named),
                "unassigned": sum(g["size"] for g in groups if g["name"] is None),
                "largest": sorted(named, key=lambda g: (-g["size"], g["name"]))[:10],
            }
        return {"dataset": d, "levels": levels}
    if name == "find_neurons":
        page = c(
            """query($ds: ID!, $first: Int!) { neurons(dataset: $ds, first: $first,
                 filter: {class: "interneuron"}) { totalCount edges { node { id name kind type
                 class superclass side neurotransmitter inDegree outDegree preSynapses
                 postSynapses } } pageInfo { hasNextPage endCursor } } }""",
            ds=ds,
            first=args["first"],
        )["neurons"]
        return {
            "total": page["totalCount"],
            "neurons": [e["node"] for e in page["edges"]],
            "next": page["pageInfo"]["endCursor"],
        }
    if name == "neuron_partners":
        n = c(
            """query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") { id name kind type class
                 superclass side neurotransmitter inDegree outDegree preSynapses postSynapses
                 up: upstream(minWeight: 3, first: 5) { edges { node { synapseCount
                   neuron { id name type class superclass } } } pageInfo { hasNextPage } }
                 down: downstream(minWeight: 3, first: 5) { edges { node { synapseCount
                   neuron { id name type class superclass } } } pageInfo { hasNextPage } } } }""",
            ds=ds,
        )["neuron"]
        out: dict[str, Any] = {}
        for key, alias in (("upstream", "up"), ("downstream", "down")):
            page = n.pop(alias)
            out[key] = {
                "partners": [
                    {**e["node"]["neuron"], "synapses": e["node"]["synapseCount"]}
                    for e in page["edges"]
                ],
                "more": page["pageInfo"]["hasNextPage"],
            }
        return {"neuron": n, **out}
    if name == "connections":
        page = c(
            """query($ds: ID!) { connections(dataset: $ds, pre: ["ASHL", "ASHR"], first: 9) {
                 edges { node { pre post synapseCount } }
                 pageInfo { hasNextPage endCursor } } }""",
            ds=ds,
        )["connections"]
        rows = [
            {
                "pre": e["node"]["pre"],
                "post": e["node"]["post"],
                "synapses": e["node"]["synapseCount"],
            }
            for e in page["edges"]
        ]
        return {"connections": rows, "has_next": page["pageInfo"]["hasNextPage"]}
    if name == "find_paths":
        paths = c(
            """query($ds: ID!) { paths(dataset: $ds, source: "ASHL", target: "VA2", maxHops: 3)
                 { neurons synapseCounts hops } }""",
            ds=ds,
        )["paths"]
        return {"paths": paths[:20], "more": len(paths) > 20}
    if name == "cell_type_connectivity":
        t = c(
            """query($ds: ID!) { cellTypeConnectivity(dataset: $ds) { level minWeight
                 groups { name size } entries { pre post synapses connectedPairs possiblePairs
                 connectionProbability } } }""",
            ds=ds,
        )["cellTypeConnectivity"]
        keep = {"sensory", "interneuron"}
        entries = [e for e in t["entries"] if e["pre"] in keep and e["post"] in keep]
        return {
            "level": t["level"],
            "minWeight": t["minWeight"],
            "groupCount": len(t["groups"]),
            "groups": [g for g in t["groups"] if g["name"] in keep],
            "entries": sorted(entries, key=lambda e: -e["synapses"]),
            "omitted": 0,
        }
    if name == "network_statistics":
        return c(
            """query($ds: ID!) { networkStatistics(dataset: $ds, filter: {class: "motor"}) {
                 neurons connections autapses density reciprocalPairs reciprocalPairsExpected
                 reciprocityEnrichment reciprocity meanConvergence meanDivergence
                 clusteringCoefficient transitivity nullModel minWeight } }""",
            ds=ds,
        )["networkStatistics"]
    if name == "motif_search":
        m = c(
            """query($ds: ID!, $m: String!) { motifSearch(dataset: $ds, motif: $m, countOnly: true)
                 { variables automorphisms count } }""",
            ds=ds,
            m=args["motif"],
        )["motifSearch"]
        return m
    if name == "motif_census":
        return c(
            """query($ds: ID!, $ids: [ID!]) { motifCensus(dataset: $ds, nullModel:
                 DEGREE_PRESERVING, filter: {ids: $ids}, samples: 20) { neurons connections size
                 nullModel nullDescription samples seed minWeight classes { name connected edges
                 observed nullMean nullStd z pGreater pLess } } }""",
            ds=ds,
            ids=args["filter"]["ids"],
        )["motifCensus"]
    if name == "feed_forward_loops":
        return c(
            """query($ds: ID!) { feedForwardLoops(dataset: $ds, filter: {class: "sensory"},
                 samples: 20) { observed nullModel nullDescription samples seed nullMean nullStd
                 z pGreater pLess } }""",
            ds=ds,
        )["feedForwardLoops"]
    if name == "structure_function":
        return c(
            """query($ds: ID!, $m: ID!) { structureFunction(dataset: $ds, measurements: $m,
                 nullSamples: 5) { measurementSet neurons pairs pairsWithoutQ qThreshold
                 amplitudeMode categories { category pairs functional probability ciLow ciHigh }
                 directOddsRatio { category reference oddsRatio ciLow ciHigh } spearmanCount
                 spearmanPath cvR2 folds tests { statistic observed nullMean pValue } null
                 nullDescription nullSamples seed confidence caveats } }""",
            ds=ds,
            m=args["measurements"],
        )["structureFunction"]
    if name == "job_status":
        return c(
            """query($id: ID!) { job(id: $id) { id kind dataset status progress message error
                 attempts maxAttempts queue createdAt startedAt finishedAt runId } }""",
            id=args["job"],
        )["job"]
    if name == "job_results":
        j = c(
            """query($id: ID!) { job(id: $id) { id status error modelRun { id kind dataset params
                 metrics seed codeVersion createdAt outputCount files { name url }
                 outputs(first: 4) { edges { node { neuron label score vector } }
                 pageInfo { hasNextPage endCursor } } } } }""",
            id=args["job"],
        )["job"]
        run = j["modelRun"]
        page = run.pop("outputs")
        return {
            "job": j["id"],
            "status": j["status"],
            "error": j["error"],
            "run": run,
            "outputs": [e["node"] for e in page["edges"]],
            "next": page["pageInfo"]["endCursor"],
        }
    raise AssertionError(name)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_tool_answers_as_graphql(
    world: World, atlas: dict[str, Any], finished_job: str, transport: str
) -> None:
    wt = next(k for k in atlas if k.endswith("wt"))
    reads = [n for n in CALLS if n != "submit_job"]

    async def calls(c: Any) -> dict[str, Any]:
        listed = {t.name for t in (await c.list_tools()).tools}
        assert listed == set(CALLS)
        return {
            n: answer(await c.call_tool(n, _args(world, n, SET=wt, JOB=finished_job)))
            for n in reads
        }

    got = session(world, transport, "victor", calls)
    for name in reads:
        want = _graphql(world, name, _args(world, name, SET=wt, JOB=finished_job), "victor")
        mine = got[name]
        if name == "connections":  # the tool pages the column form: same rows, same order
            want_next = want.pop("has_next")
            assert (mine.pop("next") is not None) == want_next
        assert mine == want, name
    # data, not just agreement: the answers reach Cook 2019's wiring
    assert got["neuron_partners"]["downstream"]["partners"][0]["synapses"] >= 3
    assert got["connections"]["connections"][0]["pre"] == "ASHL"
    assert got["motif_search"]["count"] > 0
    assert got["job_results"]["run"]["outputCount"] > 0 and len(got["job_results"]["outputs"]) == 4


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_submit_job_is_submit_job(world: World, transport: str) -> None:
    q = f"q_{uuid.uuid4().hex[:8]}"

    async def submit(c: Any) -> dict[str, Any]:
        return answer(await c.call_tool("submit_job", _args(world, "submit_job", Q=q)))

    job = session(world, transport, "carol", submit)
    assert job["status"] == "QUEUED" and job["kind"] == "PROBE" and job["queue"] == q
    assert job["params"] == {"seconds": 0.0, "steps": 1}
    stored = world.client("carol")(
        "query($id: ID!) { job(id: $id) { id kind dataset status queue params } }", id=job["id"]
    )["job"]
    assert stored == {k: job[k] for k in stored}

    async def as_viewer(c: Any) -> str:
        return failure(await c.call_tool("submit_job", _args(world, "submit_job", Q=q)))

    code, message = world.client("victor").error(
        """mutation($ds: ID!) { submitJob(dataset: $ds, kind: PROBE, queue: "x") { id } }""",
        ds=world.cook,
    )
    assert session(world, transport, "victor", as_viewer) == f"{code}: {message}"
    assert code == "FORBIDDEN"


OUTSIDERS = [("stdio", "bob"), ("http", "bob"), ("http", None), ("stdio-local", "dave")]


@pytest.mark.parametrize(("transport", "who"), OUTSIDERS)
def test_an_outsider_sees_no_private_dataset(
    world: World, finished_job: str, transport: str, who: str | None
) -> None:
    missing = f"no_such_{uuid.uuid4().hex[:6]}"

    async def probe(c: Any) -> tuple[Any, ...]:
        listed = answer(await c.call_tool("list_datasets", {}))["datasets"]
        resource = (await c.read_resource("connectomedb://datasets")).contents[0].text
        schema = (await c.read_resource("connectomedb://schema")).contents[0].text
        private, absent = {}, {}
        for name in CALLS:
            if name == "list_datasets":
                continue
            private[name] = failure(
                await c.call_tool(name, _args(world, name, SET="x", JOB=finished_job, Q="q"))
            )
            absent[name] = failure(
                await c.call_tool(
                    name,
                    {**_args(world, name, SET="x", JOB=missing, Q="q"), "dataset": missing}
                    if "dataset" in CALLS[name]
                    else _args(world, name, JOB=missing),
                )
            )
        return listed, resource, schema, private, absent

    listed, resource, schema, private, absent = session(world, transport, who, probe)
    assert world.cook not in {d["id"] for d in listed}
    assert world.cook not in resource and json.loads(resource) == listed
    assert "type Query" in schema
    for name, message in private.items():
        # exactly as missing: the same answer with the id swapped
        if name in ("job_status", "job_results"):
            expected = absent[name].replace(
                missing, finished_job
            )  # a job on a hidden dataset is a missing job
        elif name == "submit_job" and who is None:
            expected = absent[name]
        else:
            expected = absent[name].replace(missing, world.cook)
        assert message == expected, name
        assert message.startswith(("NOT_FOUND: ", "UNAUTHENTICATED: ")), message
        if name in ("job_status", "job_results"):
            assert world.cook not in message


def test_bad_arguments_get_a_clear_error(world: World) -> None:
    async def bad(c: Any) -> dict[str, str]:
        ds = world.cook
        calls = {
            "type": ("find_neurons", {"dataset": ds, "first": "many"}),
            "missing": ("neuron_partners", {"dataset": ds}),
            "level": ("cell_type_connectivity", {"dataset": ds, "level": "phylum"}),
            "negative": ("neuron_partners", {"dataset": ds, "neuron": "AVAL", "min_weight": 0}),
            "filter": ("find_neurons", {"dataset": ds, "filter": {"colour": "blue"}}),
            "page": ("find_neurons", {"dataset": ds, "first": 100_000}),
            "cursor": ("find_neurons", {"dataset": ds, "after": "not a cursor"}),
            "motif": ("motif_search", {"dataset": ds, "motif": "A -> "}),
            "neuron": ("neuron_partners", {"dataset": ds, "neuron": "NOPE"}),
            "kind": ("submit_job", {"dataset": ds, "kind": "astrology"}),
            "params": ("submit_job", {"dataset": ds, "kind": "probe", "params": {"steps": -1}}),
            "samples": ("motif_census", {"dataset": ds, "samples": 0}),
        }
        return {k: failure(await c.call_tool(n, a)) for k, (n, a) in calls.items()}

    got = session(world, "http", "carol", bad)
    assert "first" in got["type"] and "valid integer" in got["type"]
    assert "neuron" in got["missing"] and "required" in got["missing"].lower()
    assert "level\n  Input should be 'type', 'class', 'superclass'" in got["level"]
    assert "min_weight" in got["negative"]
    assert "colour" in got["filter"]
    assert got["page"].startswith("BAD_INPUT: first must be between 0 and")
    assert got["cursor"].startswith("BAD_INPUT: ")
    assert got["motif"].startswith("BAD_INPUT: ")
    assert got["neuron"].startswith("NOT_FOUND: ") and "NOPE" in got["neuron"]
    assert got["kind"].startswith("BAD_INPUT: unknown job kind 'astrology'; one of probe,")
    assert got["params"].startswith("BAD_INPUT: ") and "steps" in got["params"]
    assert "samples" in got["samples"]


def test_descriptions_carry_the_null_model_and_the_caveats(world: World) -> None:
    async def listing(c: Any) -> tuple[dict[str, str], str | None]:
        tools = {t.name: t.description or "" for t in (await c.list_tools()).tools}
        return tools, c.instructions

    tools, instructions = session(world, "http", None, listing)
    for name in ("motif_census", "feed_forward_loops"):
        assert "null model" in tools[name] and "nullDescription" in tools[name]
        assert "does not show that a motif is used" in tools[name]
    assert "Erdős–Rényi" in tools["network_statistics"]
    assert "not evidence that the response travels" in tools["structure_function"]
    for name in ("neuron_partners", "connections", "network_statistics"):
        assert "proxy for strength" in tools[name]
    assert "A count has no null model" in tools["motif_search"]
    assert instructions is not None and "null model" in instructions


def test_bad_tokens_count_against_the_same_limit_as_graphql(
    world: World, settings: Settings
) -> None:
    limited = settings.model_copy(update={"max_failed_sign_ins": 3})
    with LiveServer(limited) as url:
        here = World(url, world.cook, world.lab_a, world.lab_b, dict(world.tokens), world.users)
        here.tokens["stranger"] = "not-a-token"

        async def listing(c: Any) -> str:
            return failure(await c.call_tool("list_datasets", {}))

        for _ in range(3):
            message = session(here, "http", "stranger", listing)
            assert message.startswith("UNAUTHENTICATED: "), message
        # the fourth try is refused before the token is looked at, a good one included,
        # and GraphQL from the same client shares the count
        assert session(here, "http", "victor", listing).startswith("RATE_LIMITED: ")
        code, _ = here.client("victor").error("{ datasets { id } }")
        assert code == "RATE_LIMITED"


def test_a_read_only_token_reads_but_submits_nothing(world: World) -> None:
    made = world.client("carol")(
        'mutation { createApiToken(name: "mcp read-only", readOnly: true) { token } }'
    )["createApiToken"]["token"]
    here = World(world.url, world.cook, world.lab_a, world.lab_b, dict(world.tokens), world.users)
    here.tokens["carol_ro"] = made

    async def use(c: Any) -> tuple[dict[str, Any], str]:
        listed = answer(await c.call_tool("list_datasets", {}))
        refused = failure(await c.call_tool("submit_job", _args(world, "submit_job", Q="q_ro")))
        return listed, refused

    listed, refused = session(here, "http", "carol_ro", use)
    assert world.cook in {d["id"] for d in listed["datasets"]}
    assert refused.startswith("FORBIDDEN: ") and "read-only" in refused
    assert made not in refused


def test_motif_matches_page_through_every_match(world: World, settings: Settings) -> None:
    """Reciprocal pairs among AVA's partners, page by page, against networkx."""
    motif = 'A -> B; B -> A; A.type = "AVA"'

    async def walk(c: Any) -> list[dict[str, Any]]:
        pages, after = [], None
        while True:
            args = {"dataset": world.cook, "motif": motif, "count_only": False, "first": 7}
            page = answer(await c.call_tool("motif_search", args | {"after": after}))
            pages.append(page)
            if page["next"] is None:
                return pages
            after = page["next"]

    pages = session(world, "http", "victor", walk)
    g, _, _ = cook_graphs(str(settings.data_cache))
    expected = {
        (a, b) for a in ("AVAL", "AVAR") for b in g.successors(a) if b != a and g.has_edge(b, a)
    }
    got = [(m["A"], m["B"]) for p in pages for m in p["matches"]]
    assert len(got) == len(set(got)) == len(expected) > 7
    assert set(got) == expected
    assert all("count" not in p and p["variables"] == ["A", "B"] for p in pages)


def test_a_bad_token_reading_a_resource_is_told_so(world: World) -> None:
    here = World(world.url, world.cook, world.lab_a, world.lab_b, dict(world.tokens), world.users)
    here.tokens["stranger"] = "cdb_not_a_token"

    async def read(c: Any) -> str:
        with pytest.raises(MCPError) as e:
            await c.read_resource("connectomedb://datasets")
        return str(e.value)

    assert "UNAUTHENTICATED: " in session(here, "http", "stranger", read)


def test_the_api_leaves_logging_as_it_was(settings: Settings) -> None:
    """The SDK sets up the root logger when it has no handler; the API does not let it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = []  # as in a process that has not set logging up yet
    try:
        create_app(settings)
        assert root.handlers == [] and root.level == level
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_large_page_carries_a_hint(world: World) -> None:
    async def pages(c: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        args = {"dataset": world.cook}
        small = answer(await c.call_tool("find_neurons", args))
        large = answer(await c.call_tool("find_neurons", args | {"first": 1000}))
        return small, large

    small, large = session(world, "http", "victor", pages)
    assert "hint" not in small and len(small["neurons"]) == 20
    assert len(large["neurons"]) == large["total"] == 302  # neurons, not the other cells
    assert large["hint"].endswith("ask for a smaller `first` or a narrower filter")
