"""motifCensus over HTTP on Cook 2019: observed counts equal networkx.triadic_census on
the neuron graph read from the source sheet; seeded answers repeat; budgets hold."""

from __future__ import annotations

import networkx as nx
import numpy as np

from connectomedb.settings import Settings
from tests.oracles import cook_graphs, quad_census_brute_force, quad_codes
from tests.world import Client, LiveServer, World

CENSUS = """query($ds: ID!, $null: NullModel!, $n: Int!, $seed: Int!, $w: Int!) {
  motifCensus(dataset: $ds, nullModel: $null, samples: $n, seed: $seed, minWeight: $w) {
    neurons connections nullModel nullDescription samples seed typeLevel
    classes { name connected observed nullMean nullStd z pGreater pLess } } }"""


def test_observed_triads_equal_networkx(world: World, settings: Settings) -> None:
    chem, gj, neurons = cook_graphs(str(settings.data_cache))
    cells = (set(chem.nodes) | set(gj.nodes)) & neurons
    for w in (1, 4):
        h = nx.DiGraph()
        h.add_nodes_from(cells)
        h.add_edges_from(
            (a, b)
            for a, b, d in chem.edges(data=True)
            if a in cells and b in cells and a != b and d["synapse_count"] >= w
        )
        r = world.client("victor")(
            CENSUS, ds=world.cook, null="DEGREE_PRESERVING", n=5, seed=1, w=w
        )["motifCensus"]
        assert {c["name"]: c["observed"] for c in r["classes"]} == nx.triadic_census(h)
        assert (r["neurons"], r["connections"]) == (h.number_of_nodes(), h.number_of_edges())
        assert sum(c["connected"] for c in r["classes"]) == 13
        assert "in- and out-degree" in r["nullDescription"] and r["typeLevel"] is None


def test_seeded_census_repeats_and_sbm_names_its_level(world: World) -> None:
    c = world.client("victor")
    one = c(CENSUS, ds=world.cook, null="CELL_TYPE_SBM", n=10, seed=5, w=1)["motifCensus"]
    two = c(CENSUS, ds=world.cook, null="CELL_TYPE_SBM", n=10, seed=5, w=1)["motifCensus"]
    assert one == two and one["typeLevel"] == "CLASS"
    ffl = {x["name"]: x for x in one["classes"]}["030T"]
    assert ffl["z"] is not None and 0 < ffl["pGreater"] <= 1


def test_census_limits(world: World, settings: Settings) -> None:
    c = world.client("victor")
    code, _ = c.error(
        CENSUS, ds=world.cook, null="ERDOS_RENYI", n=settings.max_census_samples + 1, seed=0, w=1
    )
    assert code == "BAD_INPUT"
    code, _ = c.error(
        "query($ds: ID!) { motifCensus(dataset: $ds, nullModel: ERDOS_RENYI, size: 5) { seed } }",
        ds=world.cook,
    )
    assert code == "BAD_INPUT"
    quick = settings.model_copy(update={"census_time_budget_s": 0.05})
    with LiveServer(quick) as url:
        code, msg = Client(url, world.tokens["victor"]).error(
            CENSUS, ds=world.cook, null="DEGREE_PRESERVING", n=5000, seed=0, w=1
        )
    assert code == "TIMEOUT" and "fewer samples" in msg


def test_feed_forward_loops_are_the_030t_class_of_the_census(world: World) -> None:
    c = world.client("victor")
    ffl = c(
        "query($ds: ID!) { feedForwardLoops(dataset: $ds, samples: 20, seed: 3) { observed nullMean z pGreater nullDescription } }",
        ds=world.cook,
    )["feedForwardLoops"]
    census = c(CENSUS, ds=world.cook, null="DEGREE_PRESERVING", n=20, seed=3, w=1)["motifCensus"]
    t = {x["name"]: x for x in census["classes"]}["030T"]
    assert (ffl["observed"], ffl["nullMean"], ffl["z"], ffl["pGreater"]) == (
        t["observed"],
        t["nullMean"],
        t["z"],
        t["pGreater"],
    )
    assert "mutual pairs" in ffl["nullDescription"]


CENSUS4 = """query($ds: ID!, $ids: [ID!]!) {
  motifCensus(dataset: $ds, nullModel: DEGREE_PRESERVING, size: 4, samples: 3, seed: 2,
              filter: {ids: $ids}) {
    neurons connections size classes { name connected edges observed nullMean z } } }"""


def test_size4_census_of_hub_neurons_equals_brute_force(world: World, settings: Settings) -> None:
    """The 32 neurons with the most chemical partners in the sheet; every 4-subset of them
    classified by brute force in the test."""
    chem, _, neurons = cook_graphs(str(settings.data_cache))
    h = nx.DiGraph(chem.subgraph(set(chem.nodes) & neurons))
    h.remove_edges_from(list(nx.selfloop_edges(h)))
    hubs = sorted(h.nodes, key=lambda v: (-h.degree(v), v))[:32]
    ix = {v: i for i, v in enumerate(hubs)}
    e = np.array([(ix[a], ix[b]) for a, b in h.subgraph(hubs).edges], dtype=np.int64)
    want = quad_census_brute_force(len(hubs), e[:, 0], e[:, 1])
    r = world.client("victor")(CENSUS4, ds=world.cook, ids=hubs)["motifCensus"]
    assert (r["neurons"], r["connections"], r["size"]) == (32, len(e), 4)
    assert len(r["classes"]) == 199 and all(c["connected"] for c in r["classes"])
    got = {}
    for c in r["classes"]:
        block = np.zeros((1, 4, 4), dtype=bool)
        for edge in c["edges"]:
            a, b = map(int, edge.split("->"))
            block[0, a, b] = True
        if c["observed"]:
            got[int(quad_codes(block)[0])] = c["observed"]
    assert got == want and sum(want.values()) > 10_000
