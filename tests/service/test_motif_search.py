"""motifSearch over HTTP against DotMotif's NetworkXExecutor on the same connectome read
from the source sheet (Cook 2019) in the test; malicious motif text is refused."""

from __future__ import annotations

import re

import neo4j
import networkx as nx
import pytest
from dotmotif import Motif
from dotmotif.executors import NetworkXExecutor

from connectomedb.settings import Settings
from tests.oracles import cook_graphs
from tests.world import World

SEARCH = """query($ds: ID!, $m: String!, $first: Int!, $after: String) {
  motifSearch(dataset: $ds, motif: $m, first: $first, after: $after) {
    variables matches { bindings { variable neuron } } pageInfo { hasNextPage endCursor } } }"""
COUNT = """query($ds: ID!, $m: String!) { motifSearch(dataset: $ds, motif: $m, countOnly: true) { count } }"""

#: motifs in DotMotif text; `weight` is the synapse count in both graphs
MOTIFS = [
    "A -> B\nB -> A",  # reciprocal pair
    "A -> B\nB -> C\nA -> C",  # feed-forward loop
    "A -> B\nB -> C\nC -> A",  # cycle
    "A -> B\nB -> C\nA !> C",  # open chain (negative edge)
    "A -> B [weight >= 10]\nB -> C [weight >= 5]\nA -> C",  # constrained FFL
    'A -> B\nB -> C\nA -> C\nA.class = "sensory"',  # node attribute
    'A -> B [weight > 20]\nB.class = "motor"',
    "A -> B\nB -> C\nA -> C\nA.class != B.class",  # comparison between nodes
    "A -> B\nA -> C\nB !> C\nC !> B\nB -> A",  # negative edges both ways
]


@pytest.fixture(scope="module")
def host(world: World, driver: neo4j.Driver, settings: Settings) -> nx.DiGraph:
    """Cook 2019 neurons and chemical connections from the sheet; classes from the graph."""
    chem, gj, neurons = cook_graphs(str(settings.data_cache))
    cells = (set(chem.nodes) | set(gj.nodes)) & neurons
    recs, _, _ = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.class AS class, n.type AS type",
        ds=world.cook,
    )
    h = nx.DiGraph()
    for r in recs:
        h.add_node(r["id"], **{"class": r["class"], "type": r["type"]})
    assert set(h.nodes) == cells
    h.add_edges_from(
        (a, b, {"weight": d["synapse_count"]})
        for a, b, d in chem.edges(data=True)
        if a in cells and b in cells and a != b
    )
    return h


@pytest.mark.parametrize("motif", MOTIFS)
def test_matches_equal_dotmotif_networkx_executor(
    world: World, host: nx.DiGraph, motif: str
) -> None:
    want = sorted(
        tuple(m[v] for v in sorted(m)) for m in NetworkXExecutor(graph=host).find(Motif(motif))
    )
    c = world.client("victor")
    assert c(COUNT, ds=world.cook, m=motif)["motifSearch"]["count"] == len(want)
    got: list[tuple[str, ...]] = []
    after = None
    while True:
        r = c(SEARCH, ds=world.cook, m=motif, first=1000, after=after)["motifSearch"]
        got += [tuple(b["neuron"] for b in m["bindings"]) for m in r["matches"]]
        if not r["pageInfo"]["hasNextPage"]:
            break
        after = r["pageInfo"]["endCursor"]
    assert r["variables"] == sorted(r["variables"])
    assert got == want and len(want) > 0


SYMMETRIC = {  # motif -> its symmetry group's size, counted by hand
    "A -> B\nB -> A": 2,
    "A -> B\nB -> C\nC -> A": 3,
    "A -> B\nA -> C\nB !> C\nC !> B": 2,
    "A -> B [weight >= 5]\nB -> A [weight >= 5]\nB -> C\nC -> B\nA -> C\nC -> A": 2,
}
EXCLUDING = """query($ds: ID!, $m: String!, $first: Int!, $after: String, $count: Boolean!) {
  motifSearch(dataset: $ds, motif: $m, first: $first, after: $after, countOnly: $count,
              excludeAutomorphisms: true) {
    automorphisms count matches { bindings { neuron } } pageInfo { hasNextPage endCursor } } }"""


@pytest.mark.parametrize(("motif", "group"), SYMMETRIC.items())
def test_excluding_automorphisms_keeps_one_match_per_symmetry_class(
    world: World, host: nx.DiGraph, motif: str, group: int
) -> None:
    full = {tuple(m[v] for v in sorted(m)) for m in NetworkXExecutor(graph=host).find(Motif(motif))}
    c = world.client("victor")
    r = c(EXCLUDING, ds=world.cook, m=motif, first=1, after=None, count=True)["motifSearch"]
    assert r["automorphisms"] == group
    assert r["count"] * group == len(full) > 0
    got: list[tuple[str, ...]] = []
    after = None
    while True:
        r = c(EXCLUDING, ds=world.cook, m=motif, first=1000, after=after, count=False)
        r = r["motifSearch"]
        got += [tuple(b["neuron"] for b in m["bindings"]) for m in r["matches"]]
        if not r["pageInfo"]["hasNextPage"]:
            break
        after = r["pageInfo"]["endCursor"]
    assert len(got) * group == len(full) and set(got) <= full
    # a circuit is the set of connections a match uses, each with its constraint text;
    # every circuit is found `group` times, and the match kept is the one that sorts first
    circuits: dict[frozenset[tuple[str, str, str]], list[tuple[str, ...]]] = {}
    for m in full:
        circuits.setdefault(_circuit(motif, m), []).append(m)
    assert all(len(ms) == group for ms in circuits.values())
    assert sorted(got) == sorted(min(ms) for ms in circuits.values())


def _circuit(motif: str, match: tuple[str, ...]) -> frozenset[tuple[str, str, str]]:
    edges = re.findall(r"^(\w+) ([-!])> (\w+) ?(.*)$", motif, flags=re.MULTILINE)
    names = sorted({v for a, _, b, _ in edges for v in (a, b)})
    at = dict(zip(names, match, strict=True))
    return frozenset((at[a], at[b], c) for a, kind, b, c in edges if kind == "-")


def test_synapse_count_and_list_syntax(world: World, host: nx.DiGraph) -> None:
    """`synapse_count` (underscore) and `in [..]` are accepted; the same as weight / =."""
    c = world.client("victor")
    a = c(COUNT, ds=world.cook, m='A -> B [synapse_count >= 10]\nA.class in ["sensory", "motor"]')
    b = sum(
        1
        for x, y, d in host.edges(data=True)
        if d["weight"] >= 10 and host.nodes[x]["class"] in ("sensory", "motor")
    )
    assert a["motifSearch"]["count"] == b > 0


@pytest.mark.parametrize(
    "motif",
    [
        'A -> B\nA.name = "x" RETURN 1 //',
        "A -> B\nA.`class` = 1",
        "A -> B [weight >= 1] RETURN n\nMATCH (n) DETACH DELETE n",
        'A -> B\nA.password = "x"',
        "A -> B [id >= 1]",
        'A -> B\nA.class in [__import__("os").system("true")]',
        "A-[r]->B",
        "A !> B",
        "A -> B\nB -> C\nC -> D\nD -> E\nE -> F\nF -> G\nG -> H\nH -> I",
    ],
)
def test_malicious_or_bad_motif_text_is_refused(
    world: World, driver: neo4j.Driver, motif: str
) -> None:
    before = driver.execute_query("MATCH (n) RETURN count(n) AS c").records[0]["c"]
    code, _ = world.client("victor").error(COUNT, ds=world.cook, m=motif)
    assert code == "BAD_INPUT"
    assert driver.execute_query("MATCH (n) RETURN count(n) AS c").records[0]["c"] == before


def test_values_are_data_not_code(world: World) -> None:
    """A value full of Cypher is just a string that matches no neuron."""
    evil = 'A -> B\nA.name = "x\'}) MATCH (n) DETACH DELETE n //"'
    assert world.client("victor")(COUNT, ds=world.cook, m=evil)["motifSearch"]["count"] == 0


@pytest.fixture(scope="module")
def varshney(world: World, driver: neo4j.Driver, settings: Settings) -> tuple[str, nx.DiGraph]:
    """Varshney 2011 loaded for lab A, and its neuron graph read from the sheet."""
    import pandas as pd

    from connectomedb.loaders.registry import make_source
    from connectomedb.loaders.writer import DatasetWriter
    from connectomedb.store.access import SET_OWNER_IF_NONE
    from connectomedb.store.datasets import delete_dataset
    from tests.oracles import D, member, norm, wheel_zip

    src = make_source("varshney2011", settings.data_cache)
    ds = f"{world.cook}_varshney"
    src.meta = src.meta.model_copy(update={"id": ds})
    DatasetWriter(driver, settings.neo4j_database).load(src)
    driver.execute_query(SET_OWNER_IF_NONE, lab=world.lab_a, dataset=ds)
    df = pd.read_excel(
        member(wheel_zip(settings.data_cache, "cect"), D + "NeuronConnectFormatted.xlsx")
    )
    df.columns = ["a", "b", "t", "n"]
    df["a"], df["b"] = df.a.map(norm), df.b.map(norm)
    send = df[df.t.isin(["S", "Sp", "NMJ"])].groupby(["a", "b"]).n.sum()
    recs, _, _ = driver.execute_query(
        "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.class AS class", ds=ds
    )
    h = nx.DiGraph()
    h.add_nodes_from((r["id"], {"class": r["class"]}) for r in recs)
    h.add_edges_from(
        (a, b, {"weight": int(n)})
        for (a, b), n in send.items()
        if a in h and b in h and a != b and n > 0
    )
    yield ds, h
    delete_dataset(driver, ds)


@pytest.mark.parametrize("motif", [MOTIFS[1], MOTIFS[3], MOTIFS[4], MOTIFS[7]])
def test_varshney_matches_equal_dotmotif(world: World, varshney, motif: str) -> None:
    ds, host = varshney
    want = sorted(
        tuple(m[v] for v in sorted(m)) for m in NetworkXExecutor(graph=host).find(Motif(motif))
    )
    r = world.client("victor")(SEARCH, ds=ds, m=motif, first=1000, after=None)["motifSearch"]
    got = [tuple(b["neuron"] for b in m["bindings"]) for m in r["matches"]]
    count = world.client("victor")(COUNT, ds=ds, m=motif)["motifSearch"]["count"]
    assert count == len(want) > 0
    assert got == want[:1000]


def test_small_pages_walk_the_same_sorted_matches(world: World) -> None:
    """Keyset pages of 13 (cursor = the last match's ids) give exactly the matches of
    pages of 1000, in sorted order, none twice, whatever falls on a page boundary."""
    c = world.client("victor")

    def walk(first: int) -> list[list[str]]:
        out, after = [], None
        while True:
            r = c(SEARCH, ds=world.cook, m="A -> B\nB -> C\nA -> C", first=first, after=after)
            page = r["motifSearch"]
            out += [[b["neuron"] for b in m["bindings"]] for m in page["matches"]]
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    small, big = walk(13), walk(1000)
    assert small == big == sorted(big) and len(big) > 100
    assert len({tuple(m) for m in small}) == len(small)
    code, _ = c.error(SEARCH, ds=world.cook, m="A -> B", first=5, after="bm90IGEgY3Vyc29y")
    assert code == "BAD_INPUT"
