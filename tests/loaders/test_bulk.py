"""The bulk load (``neo4j-admin database import``) against the transactional writer.

The integration tests run a second local Neo4j of their own (its home under the test's
temporary directory, free ports, 512m of heap and page cache), never the shared server:
the bulk load stops and restarts the server it loads into. A bulk load and a
transactional load of the same source must leave the same store: the same fingerprint,
the same nodes and relationships with the same properties and types, the same schema.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import neo4j.time
import pytest
from neo4j.spatial import CartesianPoint
from typer.testing import CliRunner, Result

from connectomedb import localneo4j
from connectomedb.cli import app
from connectomedb.errors import BadInput, ConfigError, LoaderError
from connectomedb.loaders import bulk
from connectomedb.loaders.base import Row, Source, Where
from connectomedb.loaders.bulk import (
    POINT,
    BulkLoader,
    BulkLoadFailed,
    CsvTable,
    Point3,
    array_text,
    csv_field,
    csv_type,
    double_text,
    header_line,
    quote,
)
from connectomedb.loaders.csvbundle import FlywireBundle, NeuprintBundle
from connectomedb.localneo4j import ImportFiles, import_args, import_error_line, import_stage
from connectomedb.schema.models import DatasetMeta
from connectomedb.settings import Settings
from connectomedb.store.driver import make_driver
from connectomedb.store.fingerprint import FULL, dataset_fingerprint
from connectomedb.store.graphdb import Store, make_async_driver
from tests.factories import DEFAULT_SYNAPSES, neuprint_bundle, write_csv

# -- CSV values -------------------------------------------------------------------------


def test_csv_type_as_the_driver_stores_values() -> None:
    assert csv_type("a") == "string"
    assert csv_type(True) == "boolean"
    assert csv_type(3) == "long"
    assert csv_type(3.0) == "double"
    assert csv_type(["a", "b"]) == "string[]"
    assert csv_type((1, 2)) == "long[]"
    assert csv_type(Point3(1.0, 2.0, 3.0)) == POINT
    with pytest.raises(BadInput, match="empty list"):
        csv_type([])
    with pytest.raises(BadInput, match="cannot be a property"):
        csv_type([1, 2.5])
    with pytest.raises(BadInput, match="cannot be bulk loaded"):
        csv_type({"a": 1})


def test_csv_fields_exact() -> None:
    assert quote('say "hi", twice') == '"say ""hi"", twice"'
    assert csv_field("", "string") == '""'  # an empty string, not a missing value
    assert csv_field(None, "string") == ""
    assert csv_field(-7, "long") == "-7"
    assert csv_field(0.1, "double") == "0.1"
    assert csv_field(1e-300, "double") == "1e-300"
    assert [double_text(v) for v in (math.nan, math.inf, -math.inf)] == [
        "NaN",
        "Infinity",
        "-Infinity",
    ]
    assert csv_field(False, "boolean") == "false"
    assert csv_field(["AL(R)", 'M"B'], "string[]") == '"AL(R)\x1fM""B"'
    assert csv_field([1, 2], "long[]") == '"1\x1f2"'
    assert csv_field(Point3(1.0, -2.5, 3.0), POINT) == '"{x:1.0,y:-2.5,z:3.0}"'
    with pytest.raises(BadInput, match="does not fit"):
        csv_field(1 << 63, "long")
    with pytest.raises(BadInput, match="array delimiter"):
        array_text(["a\x1fb"], "string")
    with pytest.raises(BadInput, match="cannot be bulk loaded"):
        array_text([""], "string")  # would read back as no value


def test_header_line_exact() -> None:
    assert header_line([":START_ID(Cell)", ":END_ID(Cell)"], [("count", "long")]) == (
        ":START_ID(Cell),:END_ID(Cell),count:long\n"
    )


def test_csv_table_gives_each_type_assignment_its_file(tmp_path: Path) -> None:
    t = CsvTable(tmp_path, "t", ("Cell", "Neuron"), (":ID(Cell)",), ("id", "x", "side"))
    t.add((0,), {"id": "a", "x": 1.5})
    t.add((1,), {"id": "b", "x": 2, "side": "L"})  # x an integer: another file
    t.add((2,), {"id": "c", "side": 'R"'})  # no x: fits the first file
    t.add((3,), {"id": "d\ne", "x": 3})
    files = t.close()
    assert [f.labels for f in files] == [("Cell", "Neuron")] * 2
    assert [p.name for f in files for p in f.files] == [
        "t_0.header.csv",
        "t_0.csv",
        "t_1.header.csv",
        "t_1.csv",
    ]
    text = [p.read_text() for f in files for p in f.files]
    assert text == [
        ":ID(Cell),id:string,x:double,side:string\n",
        '0,"a",1.5,\n2,"c",,"R"""\n',
        ":ID(Cell),id:string,x:long,side:string\n",
        '1,"b",2,"L"\n3,"d\ne",3,\n',
    ]
    assert t.rows == 4 and t.multiline


def test_buffered_table_appends_its_tail(tmp_path: Path) -> None:
    t = CsvTable(tmp_path, "c", ("Cell",), (":ID(Cell)",), ("id",), tail=(("deg", "long"),))
    t.add((0,), {"id": "a"}, tag=0)
    t.add((1,), {"id": "b"}, tag=1)
    [files] = t.close(lambda i: str(10 * i + 1))
    assert [p.read_text() for p in files.files] == [
        ":ID(Cell),id:string,deg:long\n",
        '0,"a",1\n1,"b",11\n',
    ]


# -- neo4j-admin ------------------------------------------------------------------------


def test_import_args_exact() -> None:
    nodes = [ImportFiles(("Cell", "Neuron"), (Path("/w/n.header.csv"), Path("/w/n.csv")))]
    rels = [ImportFiles(("CONNECTS_TO",), (Path("/w/c.header.csv"), Path("/w/c.csv")))]
    assert import_args(
        "neo4j", nodes, rels, report_file=Path("/w/r"), max_off_heap="2g", multiline=True
    ) == [
        "database",
        "import",
        "full",
        "neo4j",
        "--overwrite-destination=true",
        "--id-type=integer",
        "--array-delimiter=U+001F",
        "--bad-tolerance=0",
        "--multiline-fields=true",
        "--max-off-heap-memory=2g",
        "--report-file=/w/r",
        "--verbose",
        "--nodes=Cell:Neuron=/w/n.header.csv,/w/n.csv",
        "--relationships=CONNECTS_TO=/w/c.header.csv,/w/c.csv",
    ]
    with pytest.raises(ConfigError, match="comma"):
        ImportFiles(("Cell",), (Path("/a,b/n.csv"),)).arg()


def test_import_stage_from_the_importers_lines() -> None:
    # lines as neo4j-admin 5.26 prints them with --verbose (the first follows a warning
    # that has no line break)
    assert (
        import_stage(
            "WARNING: heap size 512.0MiB may be too small to complete this import. Suggested "
            "heap size is 1.000GiBNodes, started 2026-11-30 04:48:47.990+0000"
        )
        == "Nodes"
    )
    assert (
        import_stage("Relationship --> Relationship 1/1, started 2026-11-30 04:49:03.965+0000")
        == "Relationship --> Relationship 1/1"
    )
    assert import_stage("Done in 1s 834ms") is None


#: the end of neo4j-admin 5.26's output for a field it cannot parse (--verbose)
INPUT_ERROR = """\
IMPORT FAILED in 732ms.
Error in input data
org.neo4j.cli.CommandFailedException: Error importing csv file.
Caused by: org.neo4j.importer.FileImporter$CsvImportException: org.neo4j.internal.batchimport.input.InputException: ERROR in input
  data source: BufferedCharSeeker[source:/tmp/w/neurons_0.csv, position:10, line:0]
  in field: x:double:3
  for header: [:ID(Cell), id:string, x:double]
  raw field value: abc
  original error: Not a number: "abc"
\tat org.neo4j.importer.FileImporter.andPrintError(FileImporter.java:306)
Caused by: java.lang.NumberFormatException: Not a number: "abc"
\tat org.neo4j.csv.reader.Extractors$DoubleExtractor.extract(Extractors.java:499)
"""

#: ... and for a command line it cannot use
ARGS_ERROR = """\
java.lang.IllegalArgumentException: File 'neo4j' doesn't exist
\tat org.neo4j.kernel.impl.util.Validators.matchingFiles(Validators.java:52)
\tat org.neo4j.cli.AdminTool.main(AdminTool.java:82)
"""


def test_import_error_line_names_the_cause() -> None:
    assert import_error_line(INPUT_ERROR) == 'Not a number: "abc" (neurons_0.csv, field x:double)'
    assert import_error_line(ARGS_ERROR) == "File 'neo4j' doesn't exist"
    assert import_error_line("IMPORT FAILED in 1s.\nsomething else\n") == "IMPORT FAILED in 1s."


# -- CSV files from sources, without a server ----------------------------------------------


def _plan(src: Source, tmp: Path, batch_size: int = 10_000) -> bulk.ImportPlan:
    tmp.mkdir(parents=True, exist_ok=True)
    s = Settings(home=tmp / "no-home")
    return BulkLoader(s, batch_size).write_csv(src, tmp)


def _files(plan: bulk.ImportPlan) -> dict[str, str]:
    return {p.name: p.read_text() for g in (*plan.nodes, *plan.relationships) for p in g.files}


def test_flywire_rows_summed_per_pair_as_the_writer_sums_them(tmp_path: Path) -> None:
    d = tmp_path / "fw"
    write_csv(d / "neurons.csv", ["root_id", "group", "nt_type"], [[1, "g", "ACH"], [2, "", ""]])
    write_csv(
        d / "connections.csv",
        ["pre_root_id", "post_root_id", "neuropil", "syn_count", "nt_type"],
        [
            [1, 2, "AL_R", 3, "ACH"],
            [1, 2, "MB_R", 4, ""],
            [1, 2, "AL_R", 5, "GABA"],
            [2, 1, "", 6, ""],
        ],
    )
    plan = _plan(FlywireBundle(d, "fw"), tmp_path / "csv")
    files = _files(plan)
    # hand-summed: 1->2 from three rows (neuropils in first-seen order, last nt_type)
    assert files["connects_to_0.header.csv"] == (
        ":START_ID(Cell),:END_ID(Cell),synapse_count:long,weight:long,"
        "psd_area_total:string,neuropils:string[],nt_type:string,rows:long\n"
    )
    assert files["connects_to_0.csv"] == ('0,1,12,12,,"AL_R\x1fMB_R","GABA",3\n1,0,6,6,,,,1\n')
    assert plan.counts["connections"] == 2
    assert plan.counts["chemical_synapse_total"] == 18
    assert plan.rows == {"neurons": 2, "connections": 4, "gap_junctions": 0, "synapses": 0}


def test_neuprint_bundle_files_with_statistics_and_synapses(tmp_path: Path) -> None:
    src = NeuprintBundle(neuprint_bundle(tmp_path / "b", synapses=DEFAULT_SYNAPSES), "np")
    files = _files(_plan(src, tmp_path / "csv"))
    head = files["neurons_0.header.csv"]
    assert head.startswith(":ID(Cell),dataset:string,id:string,name:string,kind:string,type:")
    assert head.endswith(
        ",in_degree:long,out_degree:long,pre_synapses:long,post_synapses:long,"
        "gap_junction_degree:long\n"
    )
    # the factory's five connections, hand-counted: 101 -> 201 (12) and 301 -> 101 (5)
    first = files["neurons_0.csv"].splitlines()[0]
    assert first.startswith('0,"np","101","KC_a","neuron","KC",')
    assert first.endswith(",1,1,12,5,0")
    assert files["synapses_0.csv"].splitlines()[0] == (
        '0,"np","r2","chemical",0.9,,,,"{x:1.0,y:2.0,z:3.0}"'
    )
    assert files["presynaptic_0.csv"].splitlines()[:2] == ["0,0", "0,1"]
    assert files["postsynaptic_0.csv"].splitlines()[:2] == ["0,2", "1,2"]
    assert files["has_type_0.csv"].splitlines() == ["0,0", "1,0", "2,1", "3,2"]


class _Rows(Source):
    """A source from literal rows."""

    def __init__(self, cells: list[dict[str, Any]], synapses: list[dict[str, Any]]) -> None:
        self.meta = DatasetMeta(id="rows", name="rows", species="test", source="test")
        self._cells, self._synapses = cells, synapses

    def fingerprint(self) -> str:
        return "rows"

    def neurons(self) -> Iterator[Row]:
        return ((Where("cells.csv", i + 2), r) for i, r in enumerate(self._cells))

    def connections(self) -> Iterator[Row]:
        return iter(())

    def synapses(self) -> Iterator[Row]:
        return ((Where("syn.csv", i + 2), r) for i, r in enumerate(self._synapses))


def test_bad_rows_raise_the_writers_messages(tmp_path: Path) -> None:
    cells = [{"id": "a"}, {"id": "b"}, {"id": "a"}]
    with pytest.raises(
        LoaderError, match=r"cells.csv, row 4, column 'id': duplicate id 'a' \(first at row 2\)"
    ):
        _plan(_Rows(cells, []), tmp_path / "1")
    syn = [{"id": f"s{i}", "pre": "a", "post": "b"} for i in range(5)] + [
        {"id": "s3", "pre": "b", "post": "a"}
    ]
    with pytest.raises(
        LoaderError, match=r"syn.csv, row 7.*duplicate synapse id 's3' \(first at row 5\)"
    ):
        _plan(_Rows(cells[:2], syn), tmp_path / "2")


def test_refuses_an_external_server(tmp_path: Path) -> None:
    s = Settings(neo4j_uri="bolt://db.example:7687", home=tmp_path)
    with pytest.raises(ConfigError, match="CONNECTOMEDB_NEO4J_URI"):
        BulkLoader(s).check_store()


def test_bulk_does_not_replace(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, bolt_port=localneo4j.free_port())  # refused before it is reached
    res = _cli(s, "load", "synthetic", "--bulk", "--replace")
    assert res.exit_code == 1
    assert "--bulk loads into an empty store: --replace does not apply" in res.output


# -- on a second local server -----------------------------------------------------------


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A second Neo4j, started for this module and stopped after it."""
    s = localneo4j.side_settings(settings, tmp_path_factory.mktemp("neo4j-bulk"))
    try:
        localneo4j.start(s)
        yield s
    finally:
        localneo4j.stop(s)


def _query(server: Settings, text: str) -> list[dict[str, Any]]:
    """One query on a driver of its own: a driver that ran queries before an import holds
    bookmarks the imported database never reaches (see connectomedb.loaders.bulk)."""
    with make_driver(server) as d:
        recs, _, _ = d.execute_query(text, database_=server.neo4j_database)
        return [dict(r) for r in recs]


def _wipe(server: Settings) -> None:
    with make_driver(server) as d, d.session(database=server.neo4j_database) as s:
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture
def empty(server: Settings) -> Settings:
    """The second server, its database emptied (the schema stays)."""
    _wipe(server)
    return server


def _cli(server: Settings, *args: str) -> Result:
    env = {
        "COLUMNS": "200",
        "CONNECTOMEDB_NEO4J_URI": None,
        "CONNECTOMEDB_HOME": str(server.home),
        "CONNECTOMEDB_BOLT_PORT": str(server.bolt_port),
        "CONNECTOMEDB_HTTP_PORT": str(server.http_port),
        "CONNECTOMEDB_HEAP_SIZE": server.heap_size,
        "CONNECTOMEDB_PAGECACHE_SIZE": server.pagecache_size,
        "CONNECTOMEDB_NEO4J_USER": server.neo4j_user,
        "CONNECTOMEDB_NEO4J_PASSWORD": server.neo4j_password.get_secret_value(),
        "CONNECTOMEDB_NEO4J_DATABASE": server.neo4j_database,
        "CONNECTOMEDB_DATA_CACHE": str(server.data_cache),
    }
    return CliRunner().invoke(app, list(args), env=env)


def _value(v: Any) -> Any:
    """A property value in a form that compares types too (1 is not 1.0 here)."""
    if isinstance(v, neo4j.time.DateTime):
        return ("datetime",)  # load times differ; that there is one does not
    if isinstance(v, CartesianPoint):
        return ("point", v.srid, tuple(_value(c) for c in v))
    if isinstance(v, list):
        return ("list", tuple(_value(x) for x in v))
    if isinstance(v, float):
        return ("float", repr(v))
    return (type(v).__name__, v)


def _props(props: dict[str, Any]) -> tuple[Any, ...]:
    out = []
    for k, v in props.items():
        if k.startswith("done_"):  # concurrent batches commit in any order
            v = sorted(v)
        out.append((k, _value(v)))
    return tuple(sorted(out))


def dump(server: Settings) -> dict[str, Any]:
    """The whole store, independent of element ids: every node (labels, properties) and
    every relationship (its ends' labels and id or name, type, properties), sorted; the
    counts by label and by type; the schema."""
    recs = _query(server, "MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    nodes = sorted((tuple(sorted(r["l"])), _props(r["p"])) for r in recs)
    recs = _query(
        server,
        "MATCH (a)-[r]->(b) RETURN labels(a) AS la, coalesce(a.id, a.name) AS a, type(r) AS t,"
        " properties(r) AS p, labels(b) AS lb, coalesce(b.id, b.name) AS b",
    )
    rels = sorted(
        (tuple(sorted(r["la"])), r["a"], r["t"], _props(r["p"]), tuple(sorted(r["lb"])), r["b"])
        for r in recs
    )
    recs = _query(server, "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n")
    labels = {r["label"]: r["n"] for r in recs}
    recs = _query(server, "MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS n")
    types = {r["t"]: r["n"] for r in recs}
    recs = _query(
        server,
        "SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state "
        "RETURN * ORDER BY name",
    )
    schema = [tuple(r.values()) for r in recs]
    return {"nodes": nodes, "rels": rels, "labels": labels, "types": types, "schema": schema}


def fingerprint(server: Settings, ds: str) -> str:
    """The dataset's FULL fingerprint, read as the export reads it."""

    async def go() -> str:
        d = make_async_driver(server)
        try:
            return await dataset_fingerprint(Store(d, server.neo4j_database, 60), ds, FULL)
        finally:
            await d.close()

    return asyncio.run(go())


def _bulk_then_transactional(server: Settings, ds: str, *args: str) -> None:
    """``load ARGS --bulk`` into the empty store, then, emptied again, ``load ARGS``: the
    same fingerprint, counts by label and type, nodes, relationships and schema."""
    before = localneo4j.status(server)["pid"]
    # --no-warm: the stored statistics carry the time they took, which differs by run
    res = _cli(server, "load", *args, "--bulk", "--no-warm")
    assert res.exit_code == 0, res.output
    assert localneo4j.status(server)["pid"] != before  # restarted around the import
    bulk_fp, bulk_store = fingerprint(server, ds), dump(server)
    _wipe(server)
    res = _cli(server, "load", *args, "--no-warm")
    assert res.exit_code == 0, res.output
    fp, store = fingerprint(server, ds), dump(server)
    assert bulk_fp == fp
    assert bulk_store["labels"] == store["labels"]
    assert bulk_store["types"] == store["types"]
    assert bulk_store["schema"] == store["schema"]
    assert bulk_store["nodes"] == store["nodes"]
    assert bulk_store["rels"] == store["rels"]


def test_cook2019_bulk_and_transactional_leave_the_same_store(empty: Settings) -> None:
    _bulk_then_transactional(empty, "cook2019_herm", "cook2019")
    recs = _query(
        empty,
        "MATCH (d:Dataset {id: 'cook2019_herm'}) RETURN d.status AS s, d.neuron_count AS n",
    )
    # Cook et al. 2019, hermaphrodite: the 302 neurons of C. elegans
    assert recs == [{"s": "ready", "n": 302}]


def test_synthetic_with_synapses_bulk_and_transactional_leave_the_same_store(
    empty: Settings,
) -> None:
    _bulk_then_transactional(
        empty,
        "syn_bulk",
        *("synthetic", "--neurons", "200", "--connections", "1500", "--synapses"),
        *("--seed", "5", "--id", "syn_bulk", "--lab", "lab_b", "--public"),
        *("--batch-size", "700"),
    )
    recs = _query(
        empty,
        "MATCH (d:Dataset {id: 'syn_bulk'})-[:OWNED_BY]->(l:Lab) "
        "RETURN d.visibility AS v, l.id AS lab, d.done_connections AS batches, "
        "d.synapse_count = COUNT { (:Synapse {dataset: 'syn_bulk'}) } AS all_synapses",
    )
    # 1500 connection rows in batches of 700: three batches (committed in any order)
    recs[0]["batches"].sort()
    assert recs == [{"v": "public", "lab": "lab_b", "batches": [0, 1, 2], "all_synapses": True}]


def test_refuses_a_store_with_data(empty: Settings) -> None:
    _query(empty, "CREATE (:Dataset {id: 'other'})")
    pid = localneo4j.status(empty)["pid"]
    res = _cli(
        empty,
        "load",
        "synthetic",
        *("--neurons", "10", "--types", "2", "--connections", "20"),
        "--bulk",
    )
    assert res.exit_code == 1
    assert "already holds 1 node (labels Dataset; datasets other)" in res.output
    assert localneo4j.status(empty)["pid"] == pid  # never stopped


def test_bad_rows_stop_before_the_server_is_touched(empty: Settings, tmp_path: Path) -> None:
    src = NeuprintBundle(neuprint_bundle(tmp_path / "b", connections=[[101, 999, 3]]), "bad")
    pid = localneo4j.status(empty)["pid"]
    with pytest.raises(LoaderError, match="row 2, column 'bodyId_post': unknown neuron '999'"):
        BulkLoader(empty).load(src)
    assert localneo4j.status(empty)["pid"] == pid
    assert _query(empty, "MATCH (n) RETURN count(n) AS n") == [{"n": 0}]


def test_failed_import_leaves_the_database_empty(
    empty: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = bulk.long_text

    def corrupt(v: int) -> str:  # one synapse count the importer cannot read
        return "twelve" if v == 12 else real(v)

    monkeypatch.setitem(bulk._SCALAR_ENCODERS, "long", corrupt)
    src = NeuprintBundle(neuprint_bundle(tmp_path / "b"), "broken")
    with pytest.raises(BulkLoadFailed) as e:
        BulkLoader(empty).load(src)
    message = str(e.value)
    assert "failed and the database was emptied again" in message
    assert "neo4j-admin import failed: " in message
    assert "(connects_to_0.csv, field synapse_count:long)" in message
    assert localneo4j.status(empty)["answering"]
    assert _query(empty, "MATCH (n) RETURN count(n) AS n") == [{"n": 0}]
    recs = _query(empty, "SHOW CONSTRAINTS YIELD name WHERE name = 'cell_key' RETURN name")
    assert recs == [{"name": "cell_key"}]  # and the schema is back
