"""Round trips against the real Neo4j: export, load the file back under a new id with the
existing bundle loaders, compare counts and content fingerprints (over what each format
carries); Arrow and GraphML read back against plain Cypher."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import neo4j
import networkx as nx
import pyarrow as pa
import pytest

from connectomedb.errors import BadInput, NotFound
from connectomedb.export.stream import export_to_file
from connectomedb.export.writers import CODEX_CONTENT, NEUPRINT_CONTENT
from connectomedb.loaders.base import Source
from connectomedb.loaders.csvbundle import FlywireBundle, NeuprintBundle
from connectomedb.loaders.registry import make_source
from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.export import ExportRepository, Selection
from connectomedb.store.fingerprint import FULL, Content, Fingerprint, dataset_fingerprint
from connectomedb.store.graphdb import Store, make_async_driver
from tests.conftest import graph_counts

T = TypeVar("T")


def on_store(settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    async def go() -> T:
        d = make_async_driver(settings)
        try:
            return await fn(Store(d, settings.neo4j_database, 60))
        finally:
            await d.close()

    return asyncio.run(go())


def fingerprint(
    settings: Settings, ds: str, content: Content = FULL, sel: Selection | None = None
) -> str:
    # a small page size, so that paging itself is exercised
    return on_store(settings, lambda s: dataset_fingerprint(s, ds, content, sel, page_size=97))


def export(
    settings: Settings, ds: str, fmt: str, path: Path, sel: Selection | None = None, **kw: Any
) -> dict[str, int]:
    return on_store(
        settings,
        lambda s: export_to_file(ExportRepository(s, ds, sel, page_size=97), fmt, path, **kw),
    )


@pytest.fixture
def new_ids(driver: neo4j.Driver, settings: Settings) -> Iterator[Callable[[], str]]:
    """Fresh dataset ids, every one removed after the test."""
    made: list[str] = []

    def new() -> str:
        made.append(f"t_exp_{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield new
    for ds in made:
        delete_dataset(driver, ds, settings.neo4j_database)


def load(driver: neo4j.Driver, settings: Settings, src: Source) -> str:
    DatasetWriter(driver, settings.neo4j_database).load(src)
    return src.meta.id


def load_back(
    driver: neo4j.Driver, settings: Settings, fmt: str, archive: Path, new_id: str
) -> str:
    directory = archive.with_suffix(".d")
    zipfile.ZipFile(archive).extractall(directory)
    bundle = NeuprintBundle if fmt == "neuprint" else FlywireBundle
    return load(driver, settings, bundle(directory, new_id))


def source(name: str, settings: Settings, ds: str) -> Source:
    src = make_source(name, settings.data_cache)
    src.meta = src.meta.model_copy(update={"id": ds})
    return src


@pytest.fixture(scope="module")
def cook(driver: neo4j.Driver, settings: Settings) -> Iterator[str]:
    ds = f"t_exp_cook_{uuid.uuid4().hex[:8]}"
    try:
        yield load(driver, settings, source("cook2019", settings, ds))
    finally:
        delete_dataset(driver, ds, settings.neo4j_database)


def test_cook_through_neuprint_keeps_what_the_bundle_carries(
    cook: str, driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    rows = export(settings, cook, "neuprint", tmp_path / "cook.zip")
    assert rows == {"neurons.csv": 473, "connections.csv": 4879}
    back = load_back(driver, settings, "neuprint", tmp_path / "cook.zip", new_ids())
    before, after = graph_counts(driver, cook), graph_counts(driver, back)
    # every cell comes back, as a neuron: the bundle has no column for muscles and glia
    assert after["neurons"] == before["neurons"] + before["non_neuronal"] == 473
    assert after["connections"] == before["connections"] == 4879
    assert after["chemical_synapse_total"] == before["chemical_synapse_total"]
    assert before["gap_junctions"] == 1450 and after["gap_junctions"] == 0
    assert fingerprint(settings, back, NEUPRINT_CONTENT) == fingerprint(
        settings, cook, NEUPRINT_CONTENT
    )
    assert fingerprint(settings, back) != fingerprint(settings, cook)


def test_cook_through_codex(
    cook: str, driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    export(settings, cook, "codex", tmp_path / "cook.zip")
    back = load_back(driver, settings, "codex", tmp_path / "cook.zip", new_ids())
    after = graph_counts(driver, back)
    assert (after["neurons"], after["connections"]) == (473, 4879)
    assert fingerprint(settings, back, CODEX_CONTENT) == fingerprint(settings, cook, CODEX_CONTENT)


def test_a_subgraph_comes_back_as_the_whole_of_a_dataset(
    cook: str, driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    sel = Selection(level="class", values=("motor", "interneuron"), min_weight=3)
    export(settings, cook, "neuprint", tmp_path / "sub.zip", sel)
    back = load_back(driver, settings, "neuprint", tmp_path / "sub.zip", new_ids())
    # the oracle: the same subgraph counted with plain Cypher
    v = ["motor", "interneuron"]
    m, _, _ = driver.execute_query(
        "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->(b) "
        "WHERE a.class IN $v AND b.class IN $v AND r.synapse_count >= 3 RETURN count(r) AS m",
        ds=cook,
        v=v,
    )
    n, _, _ = driver.execute_query(
        "MATCH (n:Cell {dataset: $ds}) WHERE n.class IN $v RETURN count(n) AS n", ds=cook, v=v
    )
    counts = graph_counts(driver, back)
    assert (counts["neurons"], counts["connections"]) == (n[0]["n"], m[0]["m"])
    assert 0 < m[0]["m"] < 4879
    assert fingerprint(settings, back, NEUPRINT_CONTENT) == fingerprint(
        settings, cook, NEUPRINT_CONTENT, sel
    )


def test_arrow_holds_exactly_what_neo4j_holds(
    cook: str, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    export(settings, cook, "arrow", tmp_path / "cook.arrow.zip")
    z = zipfile.ZipFile(tmp_path / "cook.arrow.zip")
    neurons = pa.ipc.open_stream(z.read("neurons.arrow")).read_all()
    conns = pa.ipc.open_stream(z.read("connections.arrow")).read_all()
    recs, _, _ = driver.execute_query(
        "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->(b) "
        "RETURN a.id AS pre, b.id AS post, r.synapse_count AS n",
        ds=cook,
    )
    chem = conns.filter(pa.compute.equal(conns["kind"], "chemical")).to_pylist()
    assert Counter((r["pre"], r["post"], r["synapse_count"]) for r in chem) == Counter(
        (r["pre"], r["post"], r["n"]) for r in recs
    )
    recs, _, _ = driver.execute_query(
        "MATCH (a:Cell {dataset: $ds})-[r:GAP_JUNCTION]->(b) RETURN a.id AS a, b.id AS b, "
        "r.count AS n",
        ds=cook,
    )
    elec = conns.filter(pa.compute.equal(conns["kind"], "electrical")).to_pylist()
    assert Counter((r["pre"], r["post"], r["synapse_count"]) for r in elec) == Counter(
        (min(r["a"], r["b"]), max(r["a"], r["b"]), r["n"]) for r in recs
    )
    recs, _, _ = driver.execute_query(
        "MATCH (n:Cell {dataset: $ds}) RETURN n {.id, .name, .kind, .type, .class, .side, "
        ".neurotransmitter} AS n",
        ds=cook,
    )
    by_id = {r["id"]: r for r in neurons.to_pylist()}
    for r in recs:
        assert {k: by_id[r["n"]["id"]][k] for k in r["n"]} == r["n"]
    assert len(by_id) == len(recs) == 473
    # and, hashed in canonical order, the tables give the stored fingerprint
    assert arrow_fingerprint(neurons, conns) == fingerprint(settings, cook)


def arrow_fingerprint(neurons: pa.Table, conns: pa.Table, synapses: pa.Table | None = None) -> str:
    fp = Fingerprint()
    fp.add("cells", neurons.sort_by("id").to_pydict())
    for kind in ("chemical", "electrical"):
        t = conns.filter(pa.compute.equal(conns["kind"], kind))
        fp.add(kind, t.sort_by([("pre", "ascending"), ("post", "ascending")]).to_pydict())
    if synapses is not None:
        fp.add("synapses", synapses.sort_by("id").to_pydict())
    return fp.hexdigest()


def test_graphml_reads_back_with_networkx(
    cook: str, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    export(settings, cook, "graphml", tmp_path / "cook.graphml")
    g = nx.read_graphml(tmp_path / "cook.graphml")
    recs, _, _ = driver.execute_query(
        "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->(b) "
        "RETURN a.id AS pre, b.id AS post, toFloat(r.weight) AS w",
        ds=cook,
    )
    chem = Counter((u, v, d["weight"]) for u, v, d in g.edges(data=True) if d["kind"] == "chemical")
    assert chem == Counter((r["pre"], r["post"], r["w"]) for r in recs)
    assert sum(1 for *_, d in g.edges(data=True) if d["kind"] == "electrical") == 1450
    assert g.number_of_nodes() == 473 and g.nodes["AVAL"]["class"] == "interneuron"


def test_larva_through_neuprint_is_whole(
    driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    ds = load(driver, settings, source("larva-mb-left", settings, new_ids()))
    export(settings, ds, "neuprint", tmp_path / "larva.zip")
    back = load_back(driver, settings, "neuprint", tmp_path / "larva.zip", new_ids())
    assert graph_counts(driver, back) == graph_counts(driver, ds)
    assert graph_counts(driver, ds)["neurons"] == 209
    # names, types, classes, sides and regions are all a neuPrint bundle needs here
    assert fingerprint(settings, back) == fingerprint(settings, ds)
    export(settings, ds, "codex", tmp_path / "larva_codex.zip")
    back = load_back(driver, settings, "codex", tmp_path / "larva_codex.zip", new_ids())
    assert fingerprint(settings, back, CODEX_CONTENT) == fingerprint(settings, ds, CODEX_CONTENT)


def test_synthetic_with_synapses_and_a_fingerprint_that_fails(
    driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    params = SyntheticParams(n_neurons=150, n_connections=1200, synapses=True, seed=3)
    ds = load(driver, settings, SyntheticSource(params, new_ids()))
    rows = export(settings, ds, "neuprint", tmp_path / "syn.zip", synapses=True)
    counts = graph_counts(driver, ds)
    assert rows["synapses.csv"] == counts["synapses"] == counts["chemical_synapse_total"] > 1200
    back = load_back(driver, settings, "neuprint", tmp_path / "syn.zip", new_ids())
    assert graph_counts(driver, back) == counts
    fp = fingerprint(settings, back, NEUPRINT_CONTENT)
    assert fp == fingerprint(settings, ds, NEUPRINT_CONTENT)
    # signs and soma-free positions are not neuPrint columns
    assert fingerprint(settings, back) != fingerprint(settings, ds)

    # Arrow holds everything, synapses included
    export(settings, ds, "arrow", tmp_path / "syn.arrow.zip", synapses=True)
    z = zipfile.ZipFile(tmp_path / "syn.arrow.zip")
    tables = [
        pa.ipc.open_stream(io.BytesIO(z.read(f"{t}.arrow"))).read_all()
        for t in ("neurons", "connections", "synapses")
    ]
    assert tables[2].num_rows == counts["synapses"]
    assert arrow_fingerprint(*tables) == fingerprint(settings, ds)

    # one weight changed by one synapse changes the fingerprint
    driver.execute_query(
        "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->() WITH r ORDER BY a.id LIMIT 1 "
        "SET r.synapse_count = r.synapse_count + 1",
        ds=back,
    )
    assert fingerprint(settings, back, NEUPRINT_CONTENT) != fp


def test_a_failed_export_leaves_no_file(cook: str, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "x.zip"
    with pytest.raises(BadInput, match="holds no synapses"):
        export(settings, cook, "codex", out, synapses=True)
    with pytest.raises(NotFound, match="not found"):
        export(settings, "t_no_such_dataset", "arrow", out)
    assert list(tmp_path.iterdir()) == []
