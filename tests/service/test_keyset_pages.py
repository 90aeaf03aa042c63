"""Keyset cursors through the running API: every list walked page by page, at several page
sizes, gives the rows of one unpaged read in order, once each, ties in the sort key and
page boundaries inside a tie included. Expected values come from the hand-made rows of
``tests.factories.TiedSource``, sorted here."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import neo4j
import pytest

from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.access import SET_OWNER_IF_NONE
from connectomedb.store.datasets import delete_dataset
from tests.factories import TiedSource
from tests.world import Client, World

SIZES = [1, 2, 3, 5, 1000]

PAGE_INFO = "pageInfo { hasNextPage endCursor }"
PARTNERS = """query($ds: ID!, $first: Int!, $after: String, $w: Int!) {
  neuron(dataset: $ds, id: "h") { %s(minWeight: $w, first: $first, after: $after) {
    edges { cursor node { synapseCount neuron { id } } } %s } } }"""
GAPS = f"""query($ds: ID!, $first: Int!, $after: String) {{
  neuron(dataset: $ds, id: "h") {{ gapJunctions(first: $first, after: $after) {{
    edges {{ cursor partner {{ id }} count }} {PAGE_INFO} }} }} }}"""
SYNAPSES = f"""query($ds: ID!, $first: Int!, $after: String, $d: PartnerDirection!) {{
  neuron(dataset: $ds, id: "h") {{ synapses(direction: $d, first: $first, after: $after) {{
    edges {{ cursor node {{ id pre post }} }} {PAGE_INFO} }} }} }}"""
CONNECTIONS = f"""query($ds: ID!, $first: Int!, $after: String, $pre: [ID!], $post: [ID!],
    $w: Int!) {{ connections(dataset: $ds, pre: $pre, post: $post, minWeight: $w,
    first: $first, after: $after) {{ edges {{ cursor node {{ pre post synapseCount }} }}
    {PAGE_INFO} }} }}"""
NEURONS = f"""query($ds: ID!, $first: Int!, $after: String, $f: NeuronFilterInput) {{
  neurons(dataset: $ds, filter: $f, first: $first, after: $after) {{
    edges {{ cursor node {{ id }} }} {PAGE_INFO} }} }}"""


@pytest.fixture(scope="module")
def tied(world: World, driver: neo4j.Driver, settings: Settings) -> Iterator[str]:
    """TiedSource loaded as a dataset of lab A (read by victor)."""
    import uuid

    ds = f"t_tied_{uuid.uuid4().hex[:8]}"
    DatasetWriter(driver, settings.neo4j_database).load(TiedSource(ds))
    driver.execute_query(SET_OWNER_IF_NONE, lab=world.lab_a, dataset=ds)
    yield ds
    delete_dataset(driver, ds, settings.neo4j_database)


def walk(
    c: Client,
    query: str,
    conn: Callable[[dict[str, Any]], dict[str, Any]],
    row: Callable[[dict[str, Any]], Any],
    first: int,
    **variables: Any,
) -> list[Any]:
    """Every row of a list, following cursors; checks that each page but the last is full
    and that no cursor comes twice."""
    rows: list[Any] = []
    cursors: list[str] = []
    after = None
    while True:
        page = conn(c(query, first=first, after=after, **variables))
        edges = page["edges"]
        rows += [row(e) for e in edges]
        cursors += [e["cursor"] for e in edges]
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert len(edges) == first
        assert page["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        after = page["pageInfo"]["endCursor"]
    assert len(set(cursors)) == len(cursors)
    return rows


def by_count(pairs: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(pairs, key=lambda t: (-t[1], t[0]))


@pytest.mark.parametrize("first", SIZES)
@pytest.mark.parametrize("min_weight", [1, 2])
@pytest.mark.parametrize(
    ("field", "rows"), [("upstream", TiedSource.UP), ("downstream", TiedSource.DOWN)]
)
def test_partner_pages_walk_the_whole_list(
    world: World, tied: str, field: str, rows: list[tuple[str, int]], min_weight: int, first: int
) -> None:
    got = walk(
        world.client("victor"),
        PARTNERS % (field, PAGE_INFO),
        lambda d: d["neuron"][field],
        lambda e: (e["node"]["neuron"]["id"], e["node"]["synapseCount"]),
        first,
        ds=tied,
        w=min_weight,
    )
    assert got == by_count([(p, c) for p, c in rows if c >= min_weight])


def test_partner_ties_straddle_page_boundaries(world: World, tied: str) -> None:
    """Pages of 2 of the upstream list cut the four partners with 2 synapses 1 | 2 | 1."""
    c = world.client("victor")
    q = PARTNERS % ("upstream", PAGE_INFO)
    pages, after = [], None
    for _ in range(5):
        page = c(q, ds=tied, first=2, after=after, w=1)["neuron"]["upstream"]
        pages.append(
            [(e["node"]["neuron"]["id"], e["node"]["synapseCount"]) for e in page["edges"]]
        )
        after = page["pageInfo"]["endCursor"]
    assert pages == [
        [("p03", 7), ("p10", 7)],
        [("p01", 4), ("p04", 4)],
        [("p07", 4), ("h", 2)],
        [("p02", 2), ("p05", 2)],
        [("p06", 2), ("p12", 2)],
    ]


@pytest.mark.parametrize("first", SIZES)
def test_gap_junction_pages_walk_the_whole_list(world: World, tied: str, first: int) -> None:
    got = walk(
        world.client("victor"),
        GAPS,
        lambda d: d["neuron"]["gapJunctions"],
        lambda e: (e["partner"]["id"], e["count"]),
        first,
        ds=tied,
    )
    want = [(b if a == "h" else a, n) for a, b, n in TiedSource.GAPS if "h" in (a, b)]
    assert got == by_count(want)
    assert got[:2] == [("p01", 6), ("p02", 6)]


@pytest.mark.parametrize("first", SIZES)
@pytest.mark.parametrize("direction", ["UPSTREAM", "DOWNSTREAM"])
def test_synapse_pages_walk_the_whole_list(
    world: World, tied: str, direction: str, first: int
) -> None:
    got = walk(
        world.client("victor"),
        SYNAPSES,
        lambda d: d["neuron"]["synapses"],
        lambda e: tuple(e["node"].values()),
        first,
        ds=tied,
        d=direction,
    )
    end = 2 if direction == "UPSTREAM" else 1
    assert got == sorted(s for s in TiedSource.SYNAPSES if s[end] == "h")


@pytest.mark.parametrize("first", SIZES)
@pytest.mark.parametrize(
    ("pre", "post", "min_weight"),
    [
        (None, None, 1),
        (None, None, 3),
        (["p12", "h", "p01"], None, 1),
        (None, ["p01", "h"], 2),
        (["h", "p01", "p03"], ["p01", "p03", "h", "p12"], 1),
    ],
)
def test_connection_pages_walk_the_whole_list(
    world: World, tied: str, pre: list[str] | None, post: list[str] | None, min_weight: int,
    first: int,
) -> None:  # fmt: skip
    got = walk(
        world.client("victor"),
        CONNECTIONS,
        lambda d: d["connections"],
        lambda e: tuple(e["node"].values()),
        first,
        ds=tied,
        pre=pre,
        post=post,
        w=min_weight,
    )
    want = sorted(
        (a, b, n)
        for a, b, n in TiedSource.connection_rows()
        if n >= min_weight and (pre is None or a in pre) and (post is None or b in post)
    )
    assert got == want and len(want) > 2


def test_connection_cursors_are_adjacency_cursors(world: World, tied: str) -> None:
    """Both list connections by (pre, post): a page of one continues in the other."""
    c = world.client("victor")
    page = c(CONNECTIONS, ds=tied, first=4, after=None, pre=None, post=None, w=1)["connections"]
    adj = c(
        """query($ds: ID!, $after: String) { adjacency(dataset: $ds, first: 3, after: $after) {
        pre post } }""",
        ds=tied,
        after=page["pageInfo"]["endCursor"],
    )["adjacency"]
    rest = sorted(TiedSource.connection_rows())[4:7]
    assert list(zip(adj["pre"], adj["post"], strict=True)) == [(a, b) for a, b, _ in rest]


@pytest.mark.parametrize("first", SIZES)
def test_neuron_pages_walk_the_whole_list(world: World, tied: str, first: int) -> None:
    c = world.client("victor")
    got = walk(c, NEURONS, lambda d: d["neurons"], lambda e: e["node"]["id"], first, ds=tied)
    assert got == sorted(TiedSource.CELLS)
    some = ["p11", "h", "p02", "p07"]
    got = walk(
        c, NEURONS, lambda d: d["neurons"], lambda e: e["node"]["id"], first, ds=tied,
        f={"ids": some},
    )  # fmt: skip
    assert got == sorted(some)


def test_rest_lists_page_with_the_same_cursors(world: World, tied: str) -> None:
    h = {"Authorization": f"Bearer {world.tokens['victor']}"}
    base = f"{world.url}/rest/datasets/{tied}/neurons"

    def rest_walk(path: str, key: str, first: int) -> list[Any]:
        out, after = [], None
        while True:
            params: dict[str, Any] = {"first": first} | ({"after": after} if after else {})
            body = httpx.get(f"{base}{path}", params=params, headers=h).json()
            out += body[key]
            if not body["has_next_page"]:
                return out
            after = body["end_cursor"]

    assert [n["id"] for n in rest_walk("", "neurons", 4)] == sorted(TiedSource.CELLS)
    up = rest_walk("/h/upstream", "upstream", 3)
    assert [(p["cell"]["id"], p["synapse_count"]) for p in up] == by_count(TiedSource.UP)
    # a GraphQL cursor continues a /rest list
    gql = world.client("victor")(
        PARTNERS % ("upstream", PAGE_INFO), ds=tied, first=5, after=None, w=1
    )
    body = httpx.get(
        f"{base}/h/upstream",
        params={"first": 2, "after": gql["neuron"]["upstream"]["pageInfo"]["endCursor"]},
        headers=h,
    ).json()
    assert [p["cell"]["id"] for p in body["upstream"]] == ["h", "p02"]


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "after",
    [
        _cursor('d:[4, "p01"]'),  # a downstream cursor
        _cursor("o:4"),  # an offset cursor of the old lists
        _cursor('u:["4", "p01"]'),  # the count as text
        _cursor('u:[true, "p01"]'),
        _cursor('u:[4.5, "p01"]'),
        _cursor('u:[99999999999999999999, "p01"]'),  # past Neo4j's integers
        _cursor('u:[4, "p01", 1]'),
        _cursor("u:[4"),
        "!!!",
    ],
)
def test_malformed_or_foreign_partner_cursors_are_bad_input(
    world: World, tied: str, after: str
) -> None:
    code, msg = world.client("victor").error(
        PARTNERS % ("upstream", PAGE_INFO), ds=tied, first=2, after=after, w=1
    )
    assert code == "BAD_INPUT" and "cursor" in msg


def test_foreign_cursors_of_other_lists_are_bad_input(world: World, tied: str) -> None:
    c = world.client("victor")
    neurons = c(NEURONS, ds=tied, first=2, after=None)["neurons"]["pageInfo"]["endCursor"]
    conns = c(CONNECTIONS, ds=tied, first=2, after=None, pre=None, post=None, w=1)
    pair = conns["connections"]["pageInfo"]["endCursor"]
    cases = [
        (CONNECTIONS, {"pre": None, "post": None, "w": 1}, neurons),
        (NEURONS, {}, pair),
        (GAPS, {}, pair),
        (SYNAPSES, {"d": "UPSTREAM"}, _cursor('sd:["s02"]')),  # a downstream synapse cursor
    ]
    for query, variables, after in cases:
        code, msg = c.error(query, ds=tied, first=2, after=after, **variables)
        assert code == "BAD_INPUT" and "does not belong to this list" in msg, query
    r = httpx.get(
        f"{world.url}/rest/datasets/{tied}/neurons",
        params={"after": pair},
        headers={"Authorization": f"Bearer {world.tokens['victor']}"},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
