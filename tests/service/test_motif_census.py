"""motifCensus over HTTP on Cook 2019: observed counts equal networkx.triadic_census on
the neuron graph read from the source sheet; seeded answers repeat; budgets hold."""

from __future__ import annotations

import networkx as nx

from connectomedb.settings import Settings
from tests.oracles import cook_graphs
from tests.service.conftest import Client, LiveServer, World

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
        "query($ds: ID!) { motifCensus(dataset: $ds, nullModel: ERDOS_RENYI, size: 4) { seed } }",
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
