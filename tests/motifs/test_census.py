"""Triad census against networkx.triadic_census; null models tested for what they keep."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from connectomedb.errors import BadInput, Timeout
from connectomedb.motifs import nulls
from connectomedb.motifs.census import (
    CONNECTED_CLASSES,
    TRIAD_CLASSES,
    census_against_null,
    census_classes,
    edge_arrays,
    is_structural,
    motif_census,
    structural_count,
    triad_census,
)
from connectomedb.motifs.language import parse_motif
from connectomedb.settings import Settings
from tests.oracles import (
    D,
    cook_graphs,
    member,
    norm,
    quad_census_brute_force,
    quad_codes,
    weakly_connected_quads,
    wheel_zip,
)


def _arrays(g: nx.DiGraph) -> tuple[int, np.ndarray, np.ndarray, list]:
    nodes = sorted(g.nodes, key=str)
    ix = {v: i for i, v in enumerate(nodes)}
    e = np.array([(ix[a], ix[b]) for a, b in g.edges], dtype=np.int64).reshape(-1, 2)
    return len(nodes), e[:, 0], e[:, 1], nodes


def _census_equals_networkx(g: nx.DiGraph) -> None:
    g = nx.DiGraph(g)
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    n, pre, post, _ = _arrays(g)
    assert triad_census(n, pre, post) == nx.triadic_census(g)


def test_every_single_triad_class_on_its_own() -> None:
    """Each of the 16 classes drawn by hand on three nodes (MAN labels)."""
    drawings = {
        "003": [],
        "012": [(0, 1)],
        "102": [(0, 1), (1, 0)],
        "021D": [(1, 0), (1, 2)],
        "021U": [(0, 1), (2, 1)],
        "021C": [(0, 1), (1, 2)],
        "111D": [(0, 1), (1, 0), (2, 1)],
        "111U": [(0, 1), (1, 0), (1, 2)],
        "030T": [(0, 1), (1, 2), (0, 2)],
        "030C": [(0, 1), (1, 2), (2, 0)],
        "201": [(0, 1), (1, 0), (1, 2), (2, 1)],
        "120D": [(1, 0), (1, 2), (0, 2), (2, 0)],
        "120U": [(0, 1), (2, 1), (0, 2), (2, 0)],
        "120C": [(0, 1), (1, 2), (0, 2), (2, 0)],
        "210": [(0, 1), (1, 2), (2, 1), (0, 2), (2, 0)],
        "300": [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)],
    }
    for name, edges in drawings.items():
        e = np.array(edges, dtype=np.int64).reshape(-1, 2)
        got = triad_census(3, e[:, 0], e[:, 1])
        assert got == {k: int(k == name) for k in TRIAD_CLASSES}, name


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_equal_networkx(seed: int) -> None:
    g = nx.gnp_random_graph(80, 0.06, seed=seed, directed=True)
    rng = np.random.default_rng(seed)
    edges = list(g.edges)
    for i in rng.choice(len(edges), size=len(edges) // 3, replace=False):
        a, b = edges[i]
        g.add_edge(b, a)  # plant reciprocity so every class occurs
    _census_equals_networkx(g)


def test_cook2019_equals_networkx(settings: Settings) -> None:
    chem, _, _ = cook_graphs(str(settings.data_cache))
    _census_equals_networkx(chem)


def test_varshney2011_equals_networkx(settings: Settings) -> None:
    cect = wheel_zip(settings.data_cache, "cect")
    df = pd.read_excel(member(cect, D + "NeuronConnectFormatted.xlsx"))
    df.columns = ["a", "b", "t", "n"]
    df = df[df.t.isin(["S", "Sp"])]
    g = nx.DiGraph((norm(a), norm(b)) for a, b in zip(df.a, df.b, strict=True))
    assert g.number_of_nodes() > 250
    _census_equals_networkx(g)


def test_duplicates_and_self_loops_do_not_count() -> None:
    pre, post = np.array([0, 0, 1, 2, 2]), np.array([1, 1, 1, 0, 0])
    assert triad_census(3, pre, post) == triad_census(3, np.array([0, 2]), np.array([1, 0]))


@pytest.mark.parametrize(
    ("n", "pre", "post"),
    [(3, [0, 1], [1]), (3, [0, 5], [1, 1]), (3, [0.5], [1.0]), (3, [-1], [0])],
)
def test_bad_input(n: int, pre: list, post: list) -> None:
    with pytest.raises(BadInput):
        triad_census(n, np.array(pre), np.array(post))


def test_a_negative_seed_is_bad_input_not_a_numpy_error() -> None:
    # numpy's default_rng refuses negative seeds with a ValueError (found by bench/fuzz.py)
    pre, post = np.array([0, 1, 2]), np.array([1, 2, 0])
    with pytest.raises(BadInput, match="seed"):
        census_against_null(3, pre, post, null_model="erdos_renyi", samples=2, seed=-1)
    r = census_against_null(3, pre, post, null_model="erdos_renyi", samples=2, seed=0)
    # the 3-cycle is the one triad of the graph (class 030C)
    assert [c.name for c in r.classes if c.observed] == ["030C"]


# -- null models ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cook(settings: Settings) -> tuple[int, np.ndarray, np.ndarray]:
    chem, _, _ = cook_graphs(str(settings.data_cache))
    g = nx.DiGraph(chem)
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    n, pre, post, _ = _arrays(g)
    return (n, *edge_arrays(n, pre, post))


def _simple(n: int, a: np.ndarray, b: np.ndarray) -> None:
    assert (a != b).all()
    assert np.unique(a * n + b).size == a.size


def _mutual_per_node(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    keys = set((a * n + b).tolist())
    back = np.array([int(y) * n + int(x) in keys for x, y in zip(a, b, strict=True)])
    return np.bincount(a[back], minlength=n)


def test_degree_preserving_keeps_every_degree_and_mutual_pair(cook) -> None:
    n, pre, post = cook
    a, b = nulls.degree_preserving(n, pre, post, np.random.default_rng(3))
    _simple(n, a, b)
    assert np.array_equal(np.bincount(a, minlength=n), np.bincount(pre, minlength=n))
    assert np.array_equal(np.bincount(b, minlength=n), np.bincount(post, minlength=n))
    assert np.array_equal(_mutual_per_node(n, a, b), _mutual_per_node(n, pre, post))
    kept = len(
        set(zip(a.tolist(), b.tolist(), strict=True))
        & set(zip(pre.tolist(), post.tolist(), strict=True))
    )
    assert kept < 0.3 * pre.size  # it really rewired


class _CountingRng:
    """A generator that counts the rounds of swaps asked of it (one permutation each)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.rounds = 0

    def random(self, size: int) -> np.ndarray:
        return self.rng.random(size)

    def permutation(self, m: int) -> np.ndarray:
        self.rounds += 1
        return self.rng.permutation(m)


def test_degree_preserving_stops_at_once_when_no_swap_can_succeed() -> None:
    # nodes 0-29 all linked both ways (a dense weight matrix), 30-35 a one-way tournament
    # (i -> j for i < j), 36-39 isolated: every two nodes of each kind of edge are linked
    mutual = [(a, b) for a in range(30) for b in range(30) if a != b]
    one_way = [(a, b) for a in range(30, 36) for b in range(a + 1, 36)]
    e = np.array(mutual + one_way)
    rng = _CountingRng(0)
    a, b = nulls.degree_preserving(40, e[:, 0], e[:, 1], rng)  # type: ignore[arg-type]
    assert rng.rounds == 0
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == sorted(mutual + one_way)
    # one pair unlinked: the swaps are tried (none can succeed, so the rounds run out)
    e = np.array([x for x in mutual if {x[0], x[1]} != {0, 1}])
    rng = _CountingRng(0)
    nulls.degree_preserving(30, e[:, 0], e[:, 1], rng, max_rounds=3)  # type: ignore[arg-type]
    assert rng.rounds == 3


def test_erdos_renyi_keeps_the_edge_count(cook) -> None:
    n, pre, post = cook
    a, b = nulls.erdos_renyi(n, pre.size, np.random.default_rng(4))
    _simple(n, a, b)
    assert a.size == pre.size and a.max() < n


def test_cell_type_sbm_keeps_blocks_in_expectation() -> None:
    rng = np.random.default_rng(0)
    types = np.repeat([0, 1, 2], [30, 50, 20])
    g = nx.stochastic_block_model(
        [30, 50, 20], [[0.3, 0.02, 0.0], [0.1, 0.05, 0.2], [0.0, 0.0, 0.5]], seed=1, directed=True
    )
    e = np.array(list(g.edges))
    obs = np.zeros((3, 3))
    np.add.at(obs, (types[e[:, 0]], types[e[:, 1]]), 1)
    tot = np.zeros((3, 3))
    for _ in range(200):
        a, b = nulls.cell_type_sbm(types, e[:, 0], e[:, 1], rng)
        _simple(100, a, b)
        np.add.at(tot, (types[a], types[b]), 1)
    assert (tot[obs == 0] == 0).all()  # never a block the data has no connection in
    assert np.allclose(tot / 200, obs, rtol=0.05)


@pytest.mark.parametrize("model", ["erdos_renyi", "degree_preserving", "cell_type_sbm"])
def test_seeded_runs_repeat_exactly(cook, model: str) -> None:
    n, pre, post = cook
    types = np.arange(n) % 4
    one = census_against_null(n, pre, post, null_model=model, samples=5, seed=11, types=types)
    two = census_against_null(n, pre, post, null_model=model, samples=5, seed=11, types=types)
    other = census_against_null(n, pre, post, null_model=model, samples=5, seed=12, types=types)
    assert one == two and one != other
    assert [c.name for c in one.classes] == list(TRIAD_CLASSES)


def test_census_statistics_by_hand() -> None:
    """A null that is the graph itself has no spread: z is None, both p-values are 1."""
    pre, post = np.array([0, 1, 2]), np.array([1, 2, 0])
    r = census_against_null(3, pre, post, null_model="degree_preserving", samples=3, seed=0)
    cyc = {c.name: c for c in r.classes}["030C"]
    assert (cyc.observed, cyc.null_mean, cyc.null_std, cyc.z, cyc.p_greater, cyc.p_less) == (
        1,
        1.0,
        0.0,
        None,
        1.0,
        1.0,
    )
    assert set(CONNECTED_CLASSES) < set(TRIAD_CLASSES) and len(CONNECTED_CLASSES) == 13


def test_a_passed_deadline_is_a_timeout(cook) -> None:
    n, pre, post = cook
    with pytest.raises(Timeout, match="fewer samples"):
        census_against_null(
            n, pre, post, null_model="erdos_renyi", samples=10, seed=0, deadline=0.0
        )


# -- size 4 -----------------------------------------------------------------------------
def _census4_by_code(n: int, pre: np.ndarray, post: np.ndarray) -> dict[int, int]:
    got = motif_census(4, n, pre, post)
    out = {}
    for k, c in zip(census_classes(4), got, strict=True):
        block = np.zeros((1, 4, 4), dtype=bool)
        for i, j in k.edges:
            block[0, i, j] = True
        if c:
            out[int(quad_codes(block)[0])] = int(c)
    return out


def test_size4_classes_are_the_199_connected_isomorphism_classes() -> None:
    classes = census_classes(4)
    assert len(classes) == 199  # connected directed graphs on 4 nodes (OEIS A003085)
    blocks = np.zeros((len(classes), 4, 4), dtype=bool)
    for x, k in enumerate(classes):
        for i, j in k.edges:
            blocks[x, i, j] = True
    assert weakly_connected_quads(blocks).all()
    assert len(set(quad_codes(blocks).tolist())) == 199


def test_size3_classes_carry_a_representative_of_their_own_class() -> None:
    for k in census_classes(3):
        g = nx.DiGraph()
        g.add_nodes_from(range(3))
        g.add_edges_from(k.edges)
        assert nx.triad_type(g) == k.name
        assert k.connected == (k.name in CONNECTED_CLASSES)


@pytest.mark.parametrize("seed", range(4))
def test_size4_census_equals_brute_force_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 14
    a = rng.random((n, n)) < rng.uniform(0.1, 0.5)
    pre, post = np.nonzero(a)
    assert _census4_by_code(n, pre, post) == quad_census_brute_force(n, pre, post)


def test_size4_census_equals_brute_force_on_cook2019_hubs(cook) -> None:
    """The 36 neurons with the most partners in Cook 2019 (graph read from the sheet)."""
    n, pre, post = cook
    deg = np.bincount(pre, minlength=n) + np.bincount(post, minlength=n)
    hubs = np.argsort(-deg, kind="stable")[:36]
    ix = np.full(n, -1)
    ix[hubs] = np.arange(hubs.size)
    keep = (ix[pre] >= 0) & (ix[post] >= 0)
    p, q = ix[pre[keep]], ix[post[keep]]
    want = quad_census_brute_force(hubs.size, p, q)
    assert sum(want.values()) > 10_000
    assert _census4_by_code(hubs.size, p, q) == want


def test_size4_census_against_a_null_keeps_the_degrees_statistics(cook) -> None:
    n, pre, post = cook
    r = census_against_null(n, pre, post, null_model="degree_preserving", samples=3, seed=1, size=4)
    assert r.size == 4 and len(r.classes) == 199
    observed = motif_census(4, n, pre, post)
    assert [c.observed for c in r.classes] == observed.tolist()
    again = census_against_null(
        n, pre, post, null_model="degree_preserving", samples=3, seed=1, size=4
    )
    assert again == r


def test_census_size_must_be_3_or_4() -> None:
    with pytest.raises(BadInput, match="3, 4"):
        census_classes(5)


def test_every_null_model_name_has_its_description() -> None:
    from typing import get_args

    from connectomedb.motifs.nulls import NULL_MODELS, NullModelName

    assert tuple(NULL_MODELS) == get_args(NullModelName)


@pytest.mark.parametrize(
    "text",
    [
        "A -> B\nB -> C\nA -> C",  # feed-forward loop
        "A -> B\nB -> C\nC -> A",  # cycle
        "A -> B\nB -> A\nA -> C",
        "A -> B\nA -> C\nB !> C\nC !> B",  # divergence, targets unlinked
        "A -> B\nB -> C\nA !> C",
        "A -> B\nC !> A",
    ],
)
def test_structural_count_equals_enumeration(text: str) -> None:
    rng = np.random.default_rng(7)
    n = 40
    pre, post = rng.integers(0, n, 300), rng.integers(0, n, 300)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((int(a), int(b)) for a, b in zip(pre, post, strict=True) if a != b)
    spec = parse_motif(text)
    ix = {v: i for i, v in enumerate(spec.nodes)}
    # every injective assignment of the three variables, checked edge by edge
    brute = sum(
        all(g.has_edge(p[ix[e.pre]], p[ix[e.post]]) == e.exists for e in spec.edges)
        for p in itertools.permutations(range(n), 3)
    )
    assert is_structural(spec)
    assert structural_count(spec, triad_census(n, pre, post)) == brute
    assert brute > 0


def test_motifs_the_census_cannot_answer() -> None:
    for text in ("A -> B\nB -> C\nC -> D", "A -> B [synapse_count > 2]\nB -> C",
                 'A -> B\nB -> C\nA.type = "x"', "A -> B\nA -> A\nB -> C"):  # fmt: skip
        assert not is_structural(parse_motif(text))
