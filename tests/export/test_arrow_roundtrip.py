"""Round trips through the Arrow bundle against the real Neo4j: export with the CLI's code
path, load the file under a new id with :class:`ArrowBundle`, and find the same counts
(read with plain Cypher) and the same fingerprint over everything the model holds; and
bad bundles refused with nothing left in the store."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import neo4j
import pyarrow as pa
import pytest

from connectomedb.errors import LoaderError
from connectomedb.export.stream import export_to_file
from connectomedb.loaders.arrowbundle import ArrowBundle
from connectomedb.loaders.base import Row, Source, Where, file_digest
from connectomedb.loaders.registry import make_source
from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.graph import CELL_PROPERTIES
from connectomedb.schema.models import DatasetMeta
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.export import ExportRepository
from connectomedb.store.fingerprint import dataset_fingerprint
from connectomedb.store.graphdb import Store, make_async_driver
from tests.cli.conftest import cli
from tests.conftest import cell_count, dataset_node, graph_counts

#: What graph_counts leaves out: cell types and the synapses' two relationships.
MORE_COUNTS = """
RETURN
  COUNT { MATCH (t:CellType {dataset: $ds}) } AS cell_types,
  COUNT { MATCH (:Cell {dataset: $ds})-[:HAS_TYPE]->() } AS has_type,
  COUNT { MATCH (:Cell {dataset: $ds})-[:PRESYNAPTIC]->(:Synapse) } AS presynaptic,
  COUNT { MATCH (:Synapse {dataset: $ds})-[:POSTSYNAPTIC]->(:Cell) } AS postsynaptic
"""


def counts(driver: neo4j.Driver, ds: str) -> dict[str, int]:
    recs, _, _ = driver.execute_query(MORE_COUNTS, ds=ds)
    return {**graph_counts(driver, ds), **{k: int(v) for k, v in dict(recs[0]).items()}}


def fingerprint(settings: Settings, ds: str) -> str:
    async def go() -> str:
        d = make_async_driver(settings)
        try:
            return await dataset_fingerprint(Store(d, settings.neo4j_database, 60), ds)
        finally:
            await d.close()

    return asyncio.run(go())


def export(settings: Settings, ds: str, path: Path, *, synapses: bool = False) -> dict[str, int]:
    """The export as ``connectomedb export DS --format arrow`` writes it (a small page size,
    so that the loader meets many record batches)."""

    async def go() -> dict[str, int]:
        d = make_async_driver(settings)
        try:
            repo = ExportRepository(Store(d, settings.neo4j_database, 60), ds, page_size=97)
            return await export_to_file(repo, "arrow", path, synapses=synapses)
        finally:
            await d.close()

    return asyncio.run(go())


@pytest.fixture
def new_ids(driver: neo4j.Driver, settings: Settings) -> Iterator[Callable[[], str]]:
    """Fresh dataset ids, every one removed after the test."""
    made: list[str] = []

    def new() -> str:
        made.append(f"t_arrow_{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield new
    for ds in made:
        delete_dataset(driver, ds, settings.neo4j_database)


def load(driver: neo4j.Driver, settings: Settings, src: Source) -> str:
    DatasetWriter(driver, settings.neo4j_database, batch_size=500).load(src)
    return src.meta.id


def registered(name: str, settings: Settings, ds: str) -> Source:
    src = make_source(name, settings.data_cache)
    src.meta = src.meta.model_copy(update={"id": ds})
    return src


def round_trip(
    driver: neo4j.Driver,
    settings: Settings,
    ds: str,
    archive: Path,
    new_id: str,
    *,
    synapses: bool = False,
) -> str:
    """Export ``ds``, load it back as ``new_id``; assert the same counts and fingerprint."""
    rows = export(settings, ds, archive, synapses=synapses)
    back = load(driver, settings, ArrowBundle(archive, new_id))
    before = counts(driver, ds)
    assert counts(driver, back) == before
    assert rows["neurons"] == before["neurons"] + before["non_neuronal"]
    assert rows["connections"] == before["connections"] + before["gap_junctions"]
    assert fingerprint(settings, back) == fingerprint(settings, ds)
    return back


@pytest.fixture(scope="module")
def cook(driver: neo4j.Driver, settings: Settings) -> Iterator[str]:
    ds = f"t_arrow_cook_{uuid.uuid4().hex[:8]}"
    try:
        yield load(driver, settings, registered("cook2019", settings, ds))
    finally:
        delete_dataset(driver, ds, settings.neo4j_database)


def test_cook_comes_back_whole_with_cell_kinds_and_gap_junctions(
    cook: str, driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    archive = tmp_path / "cook.arrow.zip"
    back = round_trip(driver, settings, cook, archive, new_ids())
    c = counts(driver, back)
    # Cook et al. 2019, hermaphrodite: 473 cells (muscles and end organs among them),
    # 4879 chemical connections, 1450 gap-junction pairs
    assert c["neurons"] + c["non_neuronal"] == 473 and c["non_neuronal"] > 0
    assert (c["connections"], c["gap_junctions"]) == (4879, 1450)
    labels, _, _ = driver.execute_query(
        "MATCH (n:Cell {dataset: $ds}) RETURN n.kind AS kind, "
        "n:Neuron AS neuron, n:NonNeuronal AS other, count(*) AS n",
        ds=back,
    )
    # every kind on its label: neurons alone are :Neuron
    assert {r["kind"] for r in labels} > {"neuron"}
    assert all(r["neuron"] == (r["kind"] == "neuron") != r["other"] for r in labels)
    d = dataset_node(driver, back)
    assert d is not None and d["status"] == "ready"
    assert d["source_files"] == ["cook.arrow.zip"]
    assert d["fingerprint"] == file_digest(archive)
    assert d["description"] == (
        f"Loaded from an Arrow export (connectomedb-arrow-1) of dataset {cook!r}."
    )
    assert (d["neuron_count"], d["gap_junction_count"]) == (c["neurons"], 1450)


def test_larva_mushroom_body(
    driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    ds = load(driver, settings, registered("larva-mb-left", settings, new_ids()))
    back = round_trip(driver, settings, ds, tmp_path / "larva.arrow.zip", new_ids())
    assert counts(driver, back)["neurons"] == 209


def test_synthetic_with_synapses_from_the_zip_and_from_a_directory(
    driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    params = SyntheticParams(n_neurons=120, n_connections=900, synapses=True, seed=5)
    ds = load(driver, settings, SyntheticSource(params, new_ids()))
    archive = tmp_path / "syn.arrow.zip"
    round_trip(driver, settings, ds, archive, new_ids(), synapses=True)
    c = counts(driver, ds)
    assert c["synapses"] == c["presynaptic"] == c["chemical_synapse_total"] > 900

    directory = tmp_path / "syn"
    zipfile.ZipFile(archive).extractall(directory)
    back = load(driver, settings, ArrowBundle(directory, new_ids()))
    assert counts(driver, back) == c
    assert fingerprint(settings, back) == fingerprint(settings, ds)


def test_the_cli_loads_an_export(
    driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    ds = load(driver, settings, SyntheticSource(SyntheticParams(20, 40, n_types=3), new_ids()))
    archive = tmp_path / "small.arrow.zip"
    export(settings, ds, archive)
    new = new_ids()
    res = cli("load", "arrow", "--path", str(archive), "--id", new, "--public")
    assert res.exit_code == 0, res.output
    assert f"{new} loaded in" in res.stdout
    assert counts(driver, new) == counts(driver, ds)
    assert dataset_node(driver, new)["visibility"] == "public"
    res = cli("load", "arrow")
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        "error: `load arrow` needs --path to the export's .arrow.zip (or directory)"
    )


# -- bad bundles ----------------------------------------------------------------------


def rewrite(archive: Path, out: Path, change: dict[str, Callable[[bytes], bytes]]) -> Path:
    """A copy of ``archive`` with some members' bytes changed."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, change.get(info.filename, lambda b: b)(data))
    return out


def manifest_rows(table: str, delta: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        m = json.loads(data)
        m["rows"][table] += delta
        return json.dumps(m).encode()

    return change


def drop_column(column: str) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        t = pa.ipc.open_stream(io.BytesIO(data)).read_all()
        t = t.drop_columns([column])
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        return sink.getvalue()

    return change


@pytest.fixture
def small_export(driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any) -> Path:
    params = SyntheticParams(30, 80, n_types=3, synapses=True, seed=1)
    ds = load(driver, settings, SyntheticSource(params, new_ids()))
    archive = tmp_path / "small.arrow.zip"
    export(settings, ds, archive, synapses=True)
    return archive


@pytest.mark.parametrize(
    ("table", "delta"),
    [("synapses", +1), ("synapses", -1), ("connections", +2)],
    ids=["synapses one row short", "synapses one row over", "connections short"],
)
def test_a_wrong_row_count_fails_the_load_and_leaves_nothing(
    driver: neo4j.Driver,
    small_export: Path,
    tmp_path: Path,
    dataset_id: str,
    table: str,
    delta: int,
) -> None:
    n = json.loads(zipfile.ZipFile(small_export).read("manifest.json"))["rows"][table]
    bad = rewrite(
        small_export, tmp_path / "bad.zip", {"manifest.json": manifest_rows(table, delta)}
    )
    with pytest.raises(LoaderError) as e:
        DatasetWriter(driver, batch_size=50).load(ArrowBundle(bad, dataset_id))
    if delta > 0:
        expected = f"{table}.arrow, row {n + 1}: {n:,} rows, but manifest.json gives {n + delta:,}"
    else:
        expected = f"{table}.arrow, row {n}: more rows than the {n - 1:,} that manifest.json gives"
    assert str(e.value) == expected
    # the writer removed whatever it had written and marked the dataset failed
    assert cell_count(driver, dataset_id) == 0
    assert sum(graph_counts(driver, dataset_id).values()) == 0
    d = dataset_node(driver, dataset_id)
    assert d is not None and d["status"] == "failed" and d["error"] == str(e.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"connections.arrow": drop_column("nt_type")},
            "connections.arrow, column 'nt_type': missing column (the table has pre, post, "
            "kind, synapse_count, weight, psd_area_total, neuropils)",
        ),
        (
            {
                "manifest.json": lambda b: b.replace(
                    b"connectomedb-arrow-1", b"connectomedb-arrow-9"
                )
            },
            "manifest.json, column 'format': format is 'connectomedb-arrow-9'; "
            "this loader reads 'connectomedb-arrow-1'",
        ),
        (
            {"manifest.json": lambda b: b[:-2]},
            "manifest.json, row ",
        ),
        (
            {"manifest.json": manifest_rows("neurons", -100)},
            "manifest.json, column 'rows': row count of 'neurons' must be a non-negative "
            "integer, got ",
        ),
    ],
    ids=["missing column", "unknown format", "broken JSON", "negative count"],
)
def test_a_bad_bundle_is_refused_before_anything_is_written(
    driver: neo4j.Driver,
    small_export: Path,
    tmp_path: Path,
    dataset_id: str,
    change: dict[str, Callable[[bytes], bytes]],
    message: str,
) -> None:
    bad = rewrite(small_export, tmp_path / "bad.zip", change)
    with pytest.raises(LoaderError) as e:
        DatasetWriter(driver).load(ArrowBundle(bad, dataset_id))
    assert str(e.value).startswith(message)
    assert dataset_node(driver, dataset_id) is None
    assert cell_count(driver, dataset_id) == 0


def test_a_missing_table_or_bundle_is_named(tmp_path: Path, small_export: Path) -> None:
    with zipfile.ZipFile(small_export) as src, zipfile.ZipFile(tmp_path / "b.zip", "w") as dst:
        for info in src.infolist():
            if info.filename != "neurons.arrow":
                dst.writestr(info.filename, src.read(info.filename))
    with pytest.raises(LoaderError, match=r"^neurons.arrow: missing from the bundle$"):
        ArrowBundle(tmp_path / "b.zip", "x")
    with pytest.raises(LoaderError, match=r"nope.zip: bundle not found$"):
        ArrowBundle(tmp_path / "nope.zip", "x")


class EveryProperty(Source):
    """Four cells of four kinds with every cell property, connections with weights that
    differ from their counts, PSD areas, a neuropil and a transmitter type, a self-loop
    gap junction and synapses with every property (the registered datasets leave most of
    these unset)."""

    def __init__(self, ds: str) -> None:
        self.meta = DatasetMeta(id=ds, name="every property", species="test", source="test")

    def fingerprint(self) -> str:
        return "every-property-1"

    def neurons(self) -> Iterator[Row]:
        for i, kind in enumerate(("neuron", "muscle", "glia", "end_organ")):
            props: dict[str, Any] = {p: f"{p}-{i}" for p in CELL_PROPERTIES}
            props.update(id=f"c{i}", kind=kind, sign=i - 1)
            props.update({p: 0.5 + i for p in ("x", "y", "z", "soma_x", "soma_y", "soma_z")})
            yield Where("cells", i + 1), props

    def connections(self) -> Iterator[Row]:
        yield (
            Where("c", 1),
            {
                "pre": "c0",
                "post": "c1",
                "synapse_count": 3,
                "weight": 2.5,
                "psd_area_total": 0.125,
                "neuropil": "NP",
                "nt_type": "ACH",
            },
        )
        yield Where("c", 2), {"pre": "c1", "post": "c0", "synapse_count": 0, "weight": -1.0}
        yield Where("c", 3), {"pre": "c2", "post": "c3", "synapse_count": 7}

    def gap_junctions(self) -> Iterator[Row]:
        yield Where("g", 1), {"a": "c3", "b": "c0", "count": 2}
        yield Where("g", 2), {"a": "c2", "b": "c2", "count": 1}

    def synapses(self) -> Iterator[Row]:
        yield (
            Where("s", 1),
            {
                "id": "s1",
                "pre": "c0",
                "post": "c1",
                "x": 1.0,
                "y": 2.0,
                "z": 3.0,
                "kind": "chemical",
                "confidence": 0.9,
                "psd_area": 0.05,
                "neurotransmitter": "acetylcholine",
                "region": "R",
            },
        )
        yield Where("s", 2), {"id": "s2", "pre": "c3", "post": "c0", "kind": "electrical"}


def test_every_property_of_the_model_comes_back(
    driver: neo4j.Driver, settings: Settings, tmp_path: Path, new_ids: Any
) -> None:
    ds = load(driver, settings, EveryProperty(new_ids()))
    back = round_trip(driver, settings, ds, tmp_path / "all.arrow.zip", new_ids(), synapses=True)
    recs, _, _ = driver.execute_query(
        "MATCH (a:Cell {dataset: $ds, id: 'c0'})-[r:CONNECTS_TO]->(b) "
        "RETURN labels(b) AS labels, b.flow AS flow, b.soma_z AS soma_z, b.sign AS sign, "
        "r {.*} AS r",
        ds=back,
    )
    assert [(sorted(x["labels"]), x["flow"], x["soma_z"], x["sign"]) for x in recs] == [
        (["Cell", "NonNeuronal"], "flow-1", 1.5, 0)
    ]
    assert recs[0]["r"] == {
        "synapse_count": 3,
        "weight": 2.5,
        "psd_area_total": 0.125,
        "neuropils": ["NP"],
        "nt_type": "ACH",
    }
    recs, _, _ = driver.execute_query(
        "MATCH (:Cell {dataset: $ds})-[:PRESYNAPTIC]->(s:Synapse)-[:POSTSYNAPTIC]->(b) "
        "RETURN s.id AS id, s.location AS loc, s.psd_area AS psd, b.id AS post ORDER BY id",
        ds=back,
    )
    assert [(r["id"], r["psd"], r["post"]) for r in recs] == [
        ("s1", 0.05, "c1"),
        ("s2", None, "c0"),
    ]
    assert (recs[0]["loc"].x, recs[0]["loc"].z, recs[1]["loc"]) == (1.0, 3.0, None)


def test_a_connection_in_several_neuropils_is_refused_by_row(
    driver: neo4j.Driver, small_export: Path, tmp_path: Path, dataset_id: str
) -> None:
    def two_neuropils(data: bytes) -> bytes:
        t = pa.ipc.open_stream(io.BytesIO(data)).read_all()
        neuropils = [None] * t.num_rows
        neuropils[4] = ["MB", "LH"]
        i = t.schema.get_field_index("neuropils")
        t = t.set_column(i, t.schema.field(i), pa.array(neuropils, pa.list_(pa.string())))
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        return sink.getvalue()

    bad = rewrite(small_export, tmp_path / "bad.zip", {"connections.arrow": two_neuropils})
    with pytest.raises(LoaderError) as e:
        DatasetWriter(driver).load(ArrowBundle(bad, dataset_id))
    assert str(e.value) == (
        "connections.arrow, row 5, column 'neuropils': 2 neuropils on one connection; "
        "only one per connection can be loaded"
    )
    assert cell_count(driver, dataset_id) == 0
