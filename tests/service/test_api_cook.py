"""Connectivity answers of the running API on Cook 2019 against networkx on the same
connectome read straight from the source sheet (SI 5) in the test."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest

from connectomedb.settings import Settings
from tests.oracles import cook_graphs
from tests.world import World

NEURON_FIELDS = "id name class inDegree outDegree"


@pytest.fixture(scope="module")
def oracle(settings: Settings) -> tuple[nx.DiGraph, nx.Graph, frozenset[str]]:
    return cook_graphs(str(settings.data_cache))


def expected_partners(
    g: nx.DiGraph, cell: str, direction: str, min_weight: int
) -> list[tuple[str, int]]:
    edges = g.in_edges(cell, data=True) if direction == "upstream" else g.out_edges(cell, data=True)
    out = [
        (a if direction == "upstream" else b, d["synapse_count"])
        for a, b, d in edges
        if d["synapse_count"] >= min_weight
    ]
    return sorted(out, key=lambda t: (-t[1], t[0]))


PARTNERS = """
query($ds: ID!, $id: ID!, $w: Int!, $first: Int!, $up: String, $down: String) {
  neuron(dataset: $ds, id: $id) {
    up: upstream(minWeight: $w, first: $first, after: $up) {
      edges { cursor node { synapseCount neuron { id } } } pageInfo { hasNextPage endCursor } }
    down: downstream(minWeight: $w, first: $first, after: $down) {
      edges { cursor node { synapseCount neuron { id } } } pageInfo { hasNextPage endCursor } }
  }
}"""


@pytest.mark.parametrize("cell", ["AVAL", "AVAR", "PVCL", "RIML", "DVA", "ASHL", "VB5"])
@pytest.mark.parametrize("min_weight", [1, 3, 10])
def test_partner_lists_equal_the_source(world: World, oracle, cell: str, min_weight: int) -> None:
    g, _, _ = oracle
    c = world.client("victor")
    got = {"up": [], "down": []}
    for key in got:
        # each list takes only its own cursors: an upstream one is refused downstream
        after = None
        while True:
            data = c(PARTNERS, ds=world.cook, id=cell, w=min_weight, first=7, **{key: after})
            page = data["neuron"][key]
            got[key] += [
                (e["node"]["neuron"]["id"], e["node"]["synapseCount"]) for e in page["edges"]
            ]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    assert got["up"] == expected_partners(g, cell, "upstream", min_weight)
    assert got["down"] == expected_partners(g, cell, "downstream", min_weight)


@pytest.mark.parametrize("first", [3, 100])
def test_gap_junction_partners_equal_the_source(world: World, oracle, first: int) -> None:
    _, gj, _ = oracle
    c = world.client("victor")
    got, after = [], None
    while True:
        page = c(
            """query($ds: ID!, $first: Int!, $after: String) { neuron(dataset: $ds, id: "AVAL") {
                 gapJunctions(first: $first, after: $after) { edges { partner { id } count }
                 pageInfo { hasNextPage endCursor } } } }""",
            ds=world.cook,
            first=first,
            after=after,
        )["neuron"]["gapJunctions"]
        got += [(e["partner"]["id"], e["count"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    want = sorted(
        ((b, d["count"]) for _, b, d in gj.edges("AVAL", data=True)), key=lambda t: (-t[1], t[0])
    )
    assert got == want and len(want) > 5


PATHS = """
query($ds: ID!, $s: ID!, $t: ID!, $h: Int!, $w: Int!) {
  paths(dataset: $ds, source: $s, target: $t, maxHops: $h, minWeight: $w, first: 100) {
    neurons synapseCounts hops } }"""


@pytest.mark.parametrize(
    ("source", "target", "min_weight"),
    [
        ("ASHL", "AVAL", 1),
        ("ASHL", "VA8", 1),
        ("AWCL", "AVAL", 3),
        ("ALML", "DA5", 2),
        ("PHBL", "RIML", 5),
    ],
)
def test_shortest_paths_equal_networkx(
    world: World, oracle, source: str, target: str, min_weight: int
) -> None:
    g, _, _ = oracle
    h = nx.DiGraph(
        [(a, b, d) for a, b, d in g.edges(data=True) if d["synapse_count"] >= min_weight]
    )
    want = sorted(nx.all_shortest_paths(h, source, target))
    hops = len(want[0]) - 1
    c = world.client("victor")
    # the hop bound just reaching the shortest length finds them all; one less finds none
    got = c(PATHS, ds=world.cook, s=source, t=target, h=hops, w=min_weight)["paths"]
    assert sorted(p["neurons"] for p in got) == want
    if hops > 1:
        assert c(PATHS, ds=world.cook, s=source, t=target, h=hops - 1, w=min_weight)["paths"] == []
    for p in got:
        assert p["synapseCounts"] == [
            h[a][b]["synapse_count"] for a, b in zip(p["neurons"], p["neurons"][1:], strict=False)
        ]
        assert p["hops"] == len(p["neurons"]) - 1


def test_no_path_within_the_hop_bound_is_an_empty_list(world: World, oracle) -> None:
    g, _, _ = oracle
    assert nx.shortest_path_length(g, "ASHL", "VA8") > 1
    data = world.client("victor")(PATHS, ds=world.cook, s="ASHL", t="VA8", h=1, w=1)
    assert data["paths"] == []


STATS = """
query($ds: ID!, $w: Int!, $f: NeuronFilterInput) {
  networkStatistics(dataset: $ds, minWeight: $w, filter: $f) {
    neurons connections density reciprocalPairs reciprocalPairsExpected reciprocityEnrichment
    reciprocity autapses clusteringCoefficient transitivity meanConvergence meanDivergence nullModel
    inDegreeDistribution { degree count } outDegreeDistribution { degree count } } }"""


def _neuron_subgraph(g: nx.DiGraph, nodes: set[str], min_weight: int) -> nx.DiGraph:
    h = nx.DiGraph()
    h.add_nodes_from(nodes)
    h.add_edges_from(
        (a, b)
        for a, b, d in g.edges(data=True)
        if a in nodes and b in nodes and d["synapse_count"] >= min_weight
    )
    return h


@pytest.mark.parametrize("min_weight", [1, 5])
def test_network_statistics_equal_networkx(world: World, oracle, min_weight: int) -> None:
    g, _, neurons = oracle
    cells = set(g.nodes) | set(oracle[1].nodes)
    h = _neuron_subgraph(g, cells & neurons, min_weight)
    loops = nx.number_of_selfloops(h)
    h.remove_edges_from(list(nx.selfloop_edges(h)))  # autapses are reported apart
    s = world.client("victor")(STATS, ds=world.cook, w=min_weight)["networkStatistics"]
    assert s["autapses"] == loops and (min_weight > 1 or loops > 0)
    n, m = h.number_of_nodes(), h.number_of_edges()
    recip = sum(1 for a, b in h.edges if a < b and h.has_edge(b, a))
    p = m / (n * (n - 1))
    assert (s["neurons"], s["connections"], s["reciprocalPairs"]) == (n, m, recip)
    assert s["density"] == pytest.approx(nx.density(h), rel=1e-12)
    assert s["reciprocalPairsExpected"] == pytest.approx(n * (n - 1) / 2 * p * p, rel=1e-12)
    assert s["reciprocityEnrichment"] == pytest.approx(recip / (n * (n - 1) / 2 * p * p), rel=1e-12)
    assert s["reciprocity"] == pytest.approx(nx.overall_reciprocity(h), rel=1e-12)
    u = h.to_undirected()
    assert s["clusteringCoefficient"] == pytest.approx(nx.average_clustering(u), rel=1e-12)
    assert s["transitivity"] == pytest.approx(nx.transitivity(u), rel=1e-12)
    assert s["meanConvergence"] == pytest.approx(m / n, rel=1e-12)
    hist = pd.Series(dict(h.in_degree())).value_counts().sort_index()
    assert [(d["degree"], d["count"]) for d in s["inDegreeDistribution"]] == [
        (int(k), int(v)) for k, v in hist.items()
    ]
    hist = pd.Series(dict(h.out_degree())).value_counts().sort_index()
    assert [(d["degree"], d["count"]) for d in s["outDegreeDistribution"]] == [
        (int(k), int(v)) for k, v in hist.items()
    ]
    assert "Erdős–Rényi" in s["nullModel"]


def test_network_statistics_of_a_filtered_subset(world: World, oracle) -> None:
    g, gj, neurons = oracle
    c = world.client("victor")
    classes = {}
    after = None
    while True:
        page = c(
            """query($ds: ID!, $after: String) { neurons(dataset: $ds, first: 100, after: $after) {
                 edges { node { id class } } pageInfo { hasNextPage endCursor } } }""",
            ds=world.cook,
            after=after,
        )["neurons"]
        classes.update({e["node"]["id"]: e["node"]["class"] for e in page["edges"]})
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert set(classes) == (set(g.nodes) | set(gj.nodes)) & neurons
    motor = {k for k, v in classes.items() if v == "motor"}
    h = _neuron_subgraph(g, motor, 1)
    h.remove_edges_from(list(nx.selfloop_edges(h)))
    s = c(STATS, ds=world.cook, w=1, f={"class": "motor"})["networkStatistics"]
    assert (s["neurons"], s["connections"]) == (len(motor), h.number_of_edges())
    assert s["clusteringCoefficient"] == pytest.approx(
        nx.average_clustering(h.to_undirected()), rel=1e-12
    )


def test_cell_type_connectivity_equals_counts_from_the_source(world: World, oracle) -> None:
    g, _, neurons = oracle
    c = world.client("victor")
    data = c(
        """query($ds: ID!) {
             neurons(dataset: $ds, first: 1000) { edges { node { id class } } }
             cellTypeConnectivity(dataset: $ds, level: CLASS, minWeight: 2) {
               groups { name size } entries { pre post synapses connectedPairs possiblePairs connectionProbability } } }""",
        ds=world.cook,
    )
    cls = {e["node"]["id"]: e["node"]["class"] for e in data["neurons"]["edges"]}
    size = pd.Series(cls).value_counts()
    want = {}
    for a, b, d in g.edges(data=True):
        if a in neurons and b in neurons and d["synapse_count"] >= 2:
            k = (cls[a], cls[b])
            syn, pairs = want.get(k, (0, 0))
            want[k] = (syn + d["synapse_count"], pairs + 1)
    ctc = data["cellTypeConnectivity"]
    assert {x["name"]: x["size"] for x in ctc["groups"]} == size.to_dict()
    got = {(e["pre"], e["post"]): (e["synapses"], e["connectedPairs"]) for e in ctc["entries"]}
    assert got == want
    for e in ctc["entries"]:
        a, b = size[e["pre"]], size[e["post"]]
        possible = a * b - (a if e["pre"] == e["post"] else 0)
        assert e["possiblePairs"] == possible
        assert e["connectionProbability"] == pytest.approx(
            e["connectedPairs"] / possible, rel=1e-12
        )


def test_neuron_filters_and_connections(world: World, oracle) -> None:
    g, _, neurons = oracle
    c = world.client("victor")
    data = c(
        """query($ds: ID!) {
             neurons(dataset: $ds, filter: {minOutDegree: 30}, first: 1000) { totalCount edges { node { id outDegree } } }
             connections(dataset: $ds, pre: ["AVAL", "AVAR"], minWeight: 5, first: 1000) {
               edges { node { pre post synapseCount } } } }""",
        ds=world.cook,
    )
    want = {n for n in neurons if n in g and g.out_degree(n) >= 30}
    got = {e["node"]["id"] for e in data["neurons"]["edges"]}
    assert got == want and data["neurons"]["totalCount"] == len(want)
    assert all(
        e["node"]["outDegree"] == g.out_degree(e["node"]["id"]) for e in data["neurons"]["edges"]
    )
    conns = [
        (e["node"]["pre"], e["node"]["post"], e["node"]["synapseCount"])
        for e in data["connections"]["edges"]
    ]
    want_c = sorted(
        (a, b, d["synapse_count"])
        for a in ("AVAL", "AVAR")
        for _, b, d in g.out_edges(a, data=True)
        if d["synapse_count"] >= 5
    )
    assert conns == want_c


def test_reciprocity_by_class_equals_counts_from_the_source(world: World, oracle) -> None:
    g, gj, neurons = oracle
    c = world.client("victor")
    data = c(
        """query($ds: ID!) {
             neurons(dataset: $ds, first: 1000) { edges { node { id class } } }
             reciprocityByGroup(dataset: $ds, level: CLASS, minWeight: 2) { nullModel
               entries { groupA groupB pairs connectionsAb connectionsBa reciprocalPairs expected } }
             networkStatistics(dataset: $ds, groupLevel: CLASS, minWeight: 2) {
               reciprocalPairs reciprocityByGroup { level nullModel
               entries { groupA groupB pairs connectionsAb connectionsBa reciprocalPairs expected } } }
             plain: networkStatistics(dataset: $ds) { reciprocityByGroup { level } } }""",
        ds=world.cook,
    )
    assert data["plain"]["reciprocityByGroup"] is None
    inside = data["networkStatistics"]["reciprocityByGroup"]
    assert (
        inside["level"] == "CLASS"
        and inside["nullModel"] == data["reciprocityByGroup"]["nullModel"]
    )
    assert inside["entries"] == data["reciprocityByGroup"]["entries"]  # checked below
    assert data["networkStatistics"]["reciprocalPairs"] == sum(
        e["reciprocalPairs"] for e in inside["entries"]
    )
    cls = {e["node"]["id"]: e["node"]["class"] for e in data["neurons"]["edges"]}
    size = pd.Series(cls).value_counts()
    h = nx.DiGraph(
        (a, b)
        for a, b, d in g.edges(data=True)
        if a in cls and b in cls and a != b and d["synapse_count"] >= 2
    )
    got = {(e["groupA"], e["groupB"]): e for e in data["reciprocityByGroup"]["entries"]}
    assert len(got) == len(size) * (len(size) + 1) // 2
    for (x, y), e in got.items():
        recip = sum(
            1
            for a, b in h.edges
            if a < b and h.has_edge(b, a) and sorted((cls[a], cls[b])) == sorted((x, y))
        )
        ab = sum(1 for a, b in h.edges if cls[a] == x and cls[b] == y)
        ba = sum(1 for a, b in h.edges if cls[a] == y and cls[b] == x) if x != y else 0
        pairs = size[x] * (size[x] - 1) // 2 if x == y else size[x] * size[y]
        assert (e["reciprocalPairs"], e["connectionsAb"], e["connectionsBa"], e["pairs"]) == (
            recip,
            ab,
            ba,
            pairs,
        )
        expected = pairs * (ab / (2 * pairs)) ** 2 if x == y else ab * ba / pairs
        assert e["expected"] == pytest.approx(expected, rel=1e-12)
    assert "per block" in data["reciprocityByGroup"]["nullModel"]
