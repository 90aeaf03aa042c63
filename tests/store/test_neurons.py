"""The reads of ``connectomedb.store.neurons`` against the real Neo4j: keyset pages walked
to the end give the rows of one plain, unpaged Cypher query written here, and a page of
neurons or connections reads from the index only what it returns, however deep it is."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import neo4j
import pytest

from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.graphdb import Store, make_async_driver
from connectomedb.store.neurons import NeuronRepository, connections_query, neurons_page
from tests.factories import TiedSource

T = TypeVar("T")


@pytest.fixture(scope="module")
def tied(driver: neo4j.Driver, settings: Settings) -> Iterator[str]:
    ds = f"t_tied_{uuid.uuid4().hex[:8]}"
    DatasetWriter(driver, settings.neo4j_database).load(TiedSource(ds))
    yield ds
    delete_dataset(driver, ds, settings.neo4j_database)


Page = Callable[[NeuronRepository, Any, int], Awaitable[list[dict[str, Any]]]]


def walk(
    settings: Settings, ds: str, page: Page, key: Callable[[dict[str, Any]], Any], size: int
) -> list[dict[str, Any]]:
    """Reads ``page(repo, after, size + 1)`` from the start until a page comes back
    short, each time after the key of the last row kept."""

    async def go() -> list[dict[str, Any]]:
        d = make_async_driver(settings)
        try:
            repo = NeuronRepository(Store(d, settings.neo4j_database, 30), ds)
            out: list[dict[str, Any]] = []
            after = None
            while True:
                rows = await page(repo, after, size + 1)
                out += rows[:size]
                if len(rows) <= size:
                    return out
                after = key(rows[size - 1])
        finally:
            await d.close()

    return asyncio.run(go())


def plain(driver: neo4j.Driver, text: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in driver.execute_query(text, **params).records]


async def _of_h(found: Awaitable[dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    return (await found).get("h", [])


@pytest.mark.parametrize("size", [1, 2, 4])
@pytest.mark.parametrize(
    ("direction", "pattern"), [("upstream", "(n)<-[r]-(p)"), ("downstream", "(n)-[r]->(p)")]
)
def test_partner_pages_equal_one_unpaged_query(
    driver: neo4j.Driver, settings: Settings, tied: str, direction: str, pattern: str, size: int
) -> None:
    got = walk(
        settings,
        tied,
        lambda repo, after, limit: _of_h(repo.partners(direction, ["h"], 2, after, limit)),  # type: ignore[arg-type]
        lambda r: (r["synapse_count"], r["cell"]["id"]),
        size,
    )
    want = plain(
        driver,
        f"MATCH {pattern} WHERE n.dataset = $ds AND n.id = 'h' AND type(r) = 'CONNECTS_TO'"
        " AND r.synapse_count >= 2 RETURN p.id, r.synapse_count"
        " ORDER BY r.synapse_count DESC, p.id",
        ds=tied,
    )
    assert [(r["cell"]["id"], r["synapse_count"]) for r in got] == want and len(want) > 5


@pytest.mark.parametrize("size", [1, 3])
def test_gap_junction_and_synapse_pages_equal_one_unpaged_query(
    driver: neo4j.Driver, settings: Settings, tied: str, size: int
) -> None:
    gaps = walk(
        settings,
        tied,
        lambda repo, after, limit: _of_h(repo.gap_junctions(["h"], after, limit)),
        lambda r: (r["count"], r["cell"]["id"]),
        size,
    )
    assert [(r["cell"]["id"], r["count"]) for r in gaps] == plain(
        driver,
        "MATCH (n:Cell {dataset: $ds, id: 'h'})-[g:GAP_JUNCTION]-(p)"
        " RETURN p.id, g.count ORDER BY g.count DESC, p.id",
        ds=tied,
    )
    syn = walk(
        settings,
        tied,
        lambda repo, after, limit: _of_h(repo.synapses("downstream", ["h"], after, limit)),
        lambda r: r["s"]["id"],
        size,
    )
    assert [(r["s"]["id"], r["pre"], r["post"]) for r in syn] == plain(
        driver,
        "MATCH (n:Cell {dataset: $ds, id: 'h'})-[:PRESYNAPTIC]->(s)-[:POSTSYNAPTIC]->(p)"
        " RETURN s.id, n.id, p.id ORDER BY s.id",
        ds=tied,
    )


@pytest.mark.parametrize("size", [1, 2, 5])
def test_connection_and_neuron_pages_equal_one_unpaged_query(
    driver: neo4j.Driver, settings: Settings, tied: str, size: int
) -> None:
    got = walk(
        settings,
        tied,
        lambda repo, after, limit: repo.connections(None, None, 1, after or ("", ""), limit),
        lambda r: (r["pre"], r["post"]),
        size,
    )
    assert [(r["pre"], r["post"], r["synapse_count"]) for r in got] == plain(
        driver,
        "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->(b)"
        " RETURN a.id, b.id, r.synapse_count ORDER BY a.id, b.id",
        ds=tied,
    )

    async def page(repo: NeuronRepository, after: Any, limit: int) -> list[dict[str, Any]]:
        rows, more = await repo.page(None, limit - 1, after)
        return rows + [{}] * more  # a stand-in row for "another page follows"

    got = walk(settings, tied, page, lambda r: r["id"], size)
    assert [r["id"] for r in got] == [
        r[0]
        for r in plain(driver, "MATCH (n:Neuron {dataset: $ds}) RETURN n.id ORDER BY n.id", ds=tied)
    ]


# -- a deep page costs what the first does ---------------------------------------------------


def operators(plan: dict[str, Any]) -> list[tuple[str, int]]:
    """(operator, rows) of every operator of a profiled plan (the driver's dict), depth
    first."""
    out = [(plan["operatorType"].split("@")[0], int(plan["rows"]))]
    for c in plan.get("children", []):
        out += operators(c)
    return out


def profile(driver: neo4j.Driver, text: str, params: dict[str, Any]) -> list[tuple[str, int]]:
    with driver.session() as s:
        summary = s.run("PROFILE " + text, params).consume()
    assert summary.profile is not None
    return operators(summary.profile)


@pytest.mark.parametrize("after", [None, "p01", "p09"])
def test_a_neuron_page_reads_only_its_rows_from_the_index(
    driver: neo4j.Driver, tied: str, after: str | None
) -> None:
    text, params = neurons_page(None, 2, after)
    ops = profile(driver, text, {**params, "dataset": tied})
    seek = [rows for op, rows in ops if op.endswith("IndexSeek")]
    # the index hands out the neurons in id order: no sort, and 3 rows (the page and one
    # more) whatever the depth, of the 13 cells
    assert len(seek) == 1 and seek[0] == 3, ops
    assert not any(op in ("Sort", "Top", "PartialSort") for op, _ in ops), ops


@pytest.mark.parametrize("after", [("", ""), ("h", "p05"), ("p05", "p06")])
def test_a_connection_page_stops_at_its_last_cell(
    driver: neo4j.Driver, tied: str, after: tuple[str, str]
) -> None:
    params = {"dataset": tied, "min_weight": 1, "after_pre": after[0], "after_post": after[1]}
    ops = profile(driver, connections_query(False, False), {**params, "limit": 2})
    names = [op for op, _ in ops]
    seek = [rows for op, rows in ops if op.endswith("IndexSeek")]
    # cells come in id order and the partial sort stops once the page is full and the
    # next cell begins: at most 2 + 2 of the 8 to 13 cells from the cursor on are read
    assert len(seek) == 1 and seek[0] <= 4, ops
    below = names[names.index("PartialTop") :]
    assert not any(op in ("Sort", "Top") for op in below), ops
