"""compareArchitecture over HTTP: Cook 2019 beside a 40-unit weight matrix loaded as a
dataset. Its figures equal networkx and scipy on the graphs read from the source sheet
and from the matrix itself; its z-scores are those of motifCensus; both datasets pass
the read check, and one that a caller cannot read answers exactly like a missing one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import networkx as nx
import numpy as np
import pytest
from scipy.stats import ks_2samp

from connectomedb.loaders.weights import WeightMatrixSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.motifs.census import CONNECTED_CLASSES
from connectomedb.settings import Settings
from connectomedb.store.access import SET_OWNER_IF_NONE
from connectomedb.store.datasets import delete_dataset
from tests.oracles import cook_graphs
from tests.world import Client, LiveServer, World

Q = """query($a: ID!, $b: ID!, $null: NullModel!, $n: Int!, $seed: Int!, $fa: NeuronFilterInput,
           $fb: NeuronFilterInput, $wa: Int! = 1) {
  compareArchitecture(datasetA: $a, datasetB: $b, nullModel: $null, samples: $n, seed: $seed,
                      filterA: $fa, filterB: $fb, minWeightA: $wa) {
    datasetA { dataset neurons connections autapses minWeight density reciprocalPairs
               reciprocalPairsExpected reciprocityEnrichment nullModel }
    datasetB { dataset neurons connections density reciprocalPairs reciprocalPairsExpected
               reciprocityEnrichment nullModel }
    degreeDistributions { degree normalisedBy meanA meanB ksDistance pValue test nullHypothesis }
    triadProfile { nullModel nullDescription samples seed typeLevel classesCompared correlation
                   pValue permutations test correlationNull
                   classes { name observedA observedB zA zB profileA profileB } }
    caveats
  }
}"""

CENSUS = """query($ds: ID!, $n: Int!, $seed: Int!) {
  motifCensus(dataset: $ds, nullModel: DEGREE_PRESERVING, samples: $n, seed: $seed) {
    classes { name z } } }"""

SHARE = """mutation($ds: ID!, $lab: ID!) { shareDataset(dataset: $ds, lab: $lab) { id } }"""

UNITS = 40


def _matrix() -> np.ndarray:
    """W[post, pre] (PyTorch's orientation): about 15% of the entries nonzero, signed."""
    rng = np.random.default_rng(2024)
    return rng.normal(size=(UNITS, UNITS)) * (rng.random((UNITS, UNITS)) < 0.15)


def _load_weights(
    driver: neo4j.Driver, settings: Settings, folder: Path, ds: str, owner: str
) -> None:
    path = folder / f"{ds}.npz"
    np.savez(path, weights=_matrix())
    DatasetWriter(driver, settings.neo4j_database).load(WeightMatrixSource(path, ds))
    driver.execute_query(SET_OWNER_IF_NONE, lab=owner, dataset=ds)


@pytest.fixture(scope="module")
def rnn(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The weight matrix as a dataset of lab B, shared with lab A by lab B's admin."""
    ds = f"t_rnn_{uuid.uuid4().hex[:8]}"
    _load_weights(driver, settings, tmp_path_factory.mktemp("weights"), ds, world.lab_b)
    try:
        world.client("bob")(SHARE, ds=ds, lab=world.lab_a)
        yield ds
    finally:
        delete_dataset(driver, ds)


def _rnn_graph() -> nx.DiGraph:
    """The matrix's graph read straight from W: pre -> post for each nonzero off-diagonal
    W[post, pre]."""
    w = _matrix()
    h = nx.DiGraph()
    h.add_nodes_from(f"u{i}" for i in range(UNITS))
    h.add_edges_from(
        (f"u{pre}", f"u{post}") for post, pre in zip(*np.nonzero(w), strict=True) if pre != post
    )
    return h


def _cook_graph(settings: Settings, min_weight: int = 1) -> nx.DiGraph:
    """Cook 2019's neurons and their chemical connections, from the source sheet (its
    autapses, which every figure leaves out, as ``graph["autapses"]``)."""
    chem, gj, neurons = cook_graphs(str(settings.data_cache))
    cells = (set(chem.nodes) | set(gj.nodes)) & neurons
    kept = [
        (a, b)
        for a, b, d in chem.edges(data=True)
        if a in cells and b in cells and d["synapse_count"] >= min_weight
    ]
    h = nx.DiGraph(autapses=sum(a == b for a, b in kept))
    h.add_nodes_from(cells)
    h.add_edges_from((a, b) for a, b in kept if a != b)
    return h


def _check_side(side: dict[str, Any], h: nx.DiGraph) -> None:
    n, p = h.number_of_nodes(), nx.density(h)
    pairs = sum(1 for a, b in h.edges if a < b and h.has_edge(b, a))
    assert (side["neurons"], side["connections"]) == (n, h.number_of_edges())
    assert side["density"] == pytest.approx(p, rel=1e-12)
    assert side["reciprocalPairs"] == pairs
    assert side["reciprocalPairsExpected"] == pytest.approx(n * (n - 1) / 2 * p * p)
    assert side["reciprocityEnrichment"] == pytest.approx(pairs / (n * (n - 1) / 2 * p * p))
    assert "Erdős–Rényi" in side["nullModel"]


def _check_degrees(r: dict[str, Any], ga: nx.DiGraph, gb: nx.DiGraph) -> None:
    na, nb = ga.number_of_nodes(), gb.number_of_nodes()
    for c, view, scale in zip(
        r["degreeDistributions"], ("in_degree", "out_degree", "degree"), (1, 1, 2), strict=True
    ):
        xa = [d / (scale * (na - 1)) for _, d in getattr(ga, view)()]
        xb = [d / (scale * (nb - 1)) for _, d in getattr(gb, view)()]
        ks = ks_2samp(xa, xb)
        assert c["ksDistance"] == pytest.approx(ks.statistic, rel=1e-12), c["degree"]
        assert c["pValue"] == pytest.approx(ks.pvalue, rel=1e-9), c["degree"]
        assert (c["meanA"], c["meanB"]) == pytest.approx((np.mean(xa), np.mean(xb)))
    assert [c["degree"] for c in r["degreeDistributions"]] == ["IN", "OUT", "TOTAL"]


def test_cook_beside_a_weight_matrix(world: World, rnn: str, settings: Settings) -> None:
    cook, net = _cook_graph(settings), _rnn_graph()
    alice = world.client("alice")
    r = alice(Q, a=world.cook, b=rnn, null="DEGREE_PRESERVING", n=20, seed=3)["compareArchitecture"]
    assert (r["datasetA"]["dataset"], r["datasetB"]["dataset"]) == (world.cook, rnn)
    assert (r["datasetA"]["minWeight"], r["datasetA"]["autapses"]) == (1, cook.graph["autapses"])
    assert cook.graph["autapses"] > 0
    _check_side(r["datasetA"], cook)
    _check_side(r["datasetB"], net)
    _check_degrees(r, cook, net)
    assert "continuous distribution" in r["degreeDistributions"][0]["nullHypothesis"]

    t = r["triadProfile"]
    assert (t["nullModel"], t["samples"], t["seed"], t["typeLevel"]) == (
        "DEGREE_PRESERVING",
        20,
        3,
        None,
    )
    assert "in- and out-degree" in t["nullDescription"] and "permuted" in t["correlationNull"]
    assert [c["name"] for c in t["classes"]] == list(CONNECTED_CLASSES)
    want_a, want_b = nx.triadic_census(cook), nx.triadic_census(net)
    assert [c["observedA"] for c in t["classes"]] == [want_a[k] for k in CONNECTED_CLASSES]
    assert [c["observedB"] for c in t["classes"]] == [want_b[k] for k in CONNECTED_CLASSES]
    # each census is motifCensus's for its dataset with the same null, samples and seed
    for ds, key in ((world.cook, "zA"), (rnn, "zB")):
        census = {
            c["name"]: c["z"] for c in alice(CENSUS, ds=ds, n=20, seed=3)["motifCensus"]["classes"]
        }
        assert [c[key] for c in t["classes"]] == [census[k] for k in CONNECTED_CLASSES]

    za = np.array([np.nan if c["zA"] is None else c["zA"] for c in t["classes"]])
    zb = np.array([np.nan if c["zB"] is None else c["zB"] for c in t["classes"]])
    for key, z in (("profileA", za), ("profileB", zb)):
        got = np.array([np.nan if c[key] is None else c[key] for c in t["classes"]])
        assert got == pytest.approx(z / np.sqrt(np.nansum(z * z)), nan_ok=True, rel=1e-9)
    both = np.isfinite(za) & np.isfinite(zb)
    assert t["classesCompared"] == int(both.sum()) >= 10
    x, y = za[both], zb[both]
    assert t["correlation"] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-9)
    # the permutation p-value against an independent run of the same test, 20 000
    # permutations of another generator: equal within Monte Carlo error
    rng = np.random.default_rng(99)
    null = np.array([np.corrcoef(x, rng.permutation(y))[0, 1] for _ in range(20_000)])
    p = (1 + np.sum(np.abs(null) >= abs(t["correlation"]) - 1e-12)) / 20_001
    assert t["permutations"] == 9999
    assert t["pValue"] == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / 9999) + 1e-3)
    assert any("not synapse counts" in c for c in r["caveats"])
    assert any("compute alike" in c for c in r["caveats"])


def test_filters_and_min_weights_select_each_side(
    world: World, rnn: str, settings: Settings
) -> None:
    cook, net = _cook_graph(settings, min_weight=4), _rnn_graph()
    units = [f"u{i}" for i in range(0, UNITS, 2)]
    r = world.client("victor")(
        Q, a=world.cook, b=rnn, null="ERDOS_RENYI", n=5, seed=0, wa=4, fb={"ids": units}
    )["compareArchitecture"]
    sub = nx.DiGraph(net.subgraph(units))
    assert r["datasetA"]["minWeight"] == 4
    _check_side(r["datasetA"], cook)
    _check_side(r["datasetB"], sub)
    _check_degrees(r, cook, sub)
    t = r["triadProfile"]
    assert (t["nullModel"], "G(n, m)" in t["nullDescription"]) == ("ERDOS_RENYI", True)
    census = nx.triadic_census(sub)
    assert [c["observedB"] for c in t["classes"]] == [census[k] for k in CONNECTED_CLASSES]
    # the cell-type null reads each side's types at typeLevel (the matrix has none: one block)
    sbm = world.client("victor")(Q, a=world.cook, b=rnn, null="CELL_TYPE_SBM", n=3, seed=1)
    t = sbm["compareArchitecture"]["triadProfile"]
    assert (t["nullModel"], t["typeLevel"]) == ("CELL_TYPE_SBM", "CLASS")
    assert "block model" in t["nullDescription"]


def test_both_datasets_are_read_checked(
    world: World,
    rnn: str,
    driver: neo4j.Driver,
    settings: Settings,
    tmp_path: Path,
) -> None:
    args = {"null": "ERDOS_RENYI", "n": 5, "seed": 0}
    stats = "query($ds: ID!) { networkStatistics(dataset: $ds) { density } }"
    # dave (lab B) reads the weight matrix but not Cook 2019; nobody signed in reads
    # neither and hears of datasetA first. Each answer is networkStatistics' for that one.
    for who in ("dave", None):
        c = world.client(who)
        for a, b in ((world.cook, rnn), (rnn, world.cook)):
            hidden = world.cook if who else a
            want = ("NOT_FOUND", f"dataset {hidden!r} not found")
            assert c.error(Q, a=a, b=b, **args) == c.error(stats, ds=hidden) == want, (who, a)

    # a dataset alice cannot read answers exactly as it does once it no longer exists
    hidden = f"t_hidden_{uuid.uuid4().hex[:8]}"
    _load_weights(driver, settings, tmp_path, hidden, world.lab_b)
    alice = world.client("alice")
    try:
        before = [
            alice.raw(Q, {"a": a, "b": b, **args}).json()
            for a, b in ((world.cook, hidden), (hidden, world.cook))
        ]
        # it exists: its own lab reads it
        mine = world.client("bob")(Q, a=rnn, b=hidden, **args)["compareArchitecture"]
        assert mine["datasetB"]["dataset"] == hidden
    finally:
        delete_dataset(driver, hidden)
    after = [
        alice.raw(Q, {"a": a, "b": b, **args}).json()
        for a, b in ((world.cook, hidden), (hidden, world.cook))
    ]
    assert before == after
    assert before[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert before[0]["errors"][0]["message"] == f"dataset {hidden!r} not found"


def test_refusals(world: World, rnn: str, settings: Settings) -> None:
    alice = world.client("alice")
    for n in (0, settings.max_census_samples + 1):
        code, message = alice.error(Q, a=world.cook, b=rnn, null="ERDOS_RENYI", n=n, seed=0)
        assert code == "BAD_INPUT" and "samples must be between 1 and" in message
    code, message = alice.error(
        Q, a=world.cook, b=rnn, null="ERDOS_RENYI", n=5, seed=0, fb={"ids": ["u0", "u1"]}
    )
    assert code == "BAD_INPUT"
    assert message.startswith("the selection of datasetB has 2 neurons") and "at least 3" in message
    quick = settings.model_copy(update={"census_time_budget_s": 0.05})
    with LiveServer(quick) as url:
        code, message = Client(url, world.tokens["alice"]).error(
            Q, a=world.cook, b=rnn, null="DEGREE_PRESERVING", n=5000, seed=0
        )
    assert code == "TIMEOUT" and "fewer samples" in message
