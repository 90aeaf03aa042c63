"""The writers on a hand-made graph of three cells: exact file contents."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import networkx as nx
import pyarrow as pa
import pytest

from connectomedb.errors import BadInput
from connectomedb.export.stream import ChunkSink, make_writer
from connectomedb.export.writers import ARROW_SCHEMAS, Writer
from connectomedb.store.export import CELL_COLUMNS, CONNECTION_COLUMNS, SYNAPSE_COLUMNS, Columns


def cols(rows: list[dict[str, Any]], names: tuple[str, ...]) -> Columns:
    return {n: [r.get(n) for r in rows] for n in names}


CELLS = [
    {
        "id": "A",
        "name": "AVAL",
        "kind": "neuron",
        "type": "AVA",
        "class": "inter",
        "x": 1.5,
        "sign": 1,
        "neurotransmitter": "acetylcholine",
        "side": "L",
    },
    {"id": "B", "name": "B,1", "kind": "muscle", "type": "BWM", "group": "g1"},
    {"id": "C&<", "name": "C", "kind": "neuron", "soma_x": 0.1},
]
CONNECTIONS = [
    {
        "pre": "A",
        "post": "B",
        "kind": "chemical",
        "synapse_count": 3,
        "weight": 3,
        "neuropils": ["AL", "MB"],
        "nt_type": "ACH",
    },
    {"pre": "B", "post": "A", "kind": "chemical", "synapse_count": 1, "weight": 0.25},
    {"pre": "A", "post": "C&<", "kind": "electrical", "synapse_count": 2, "weight": 2},
]
SYNAPSES = [
    {
        "id": "s1",
        "pre": "A",
        "post": "B",
        "kind": "chemical",
        "x": 1.0,
        "y": 2.0,
        "z": 3.5,
        "confidence": 0.9,
        "region": "AL",
    },
]


def run(writer: Writer, sink: ChunkSink) -> bytes:
    data = {
        "cells": cols(CELLS, CELL_COLUMNS),
        "connections": cols(CONNECTIONS, CONNECTION_COLUMNS),
        "synapses": cols(SYNAPSES, SYNAPSE_COLUMNS),
    }
    for part, stream in writer.parts():
        writer.start(part)
        writer.write(part, data[stream])
        writer.end(part)
    writer.close()
    return sink.take()


def export(fmt: str, **kw: Any) -> bytes:
    sink = ChunkSink()
    return run(make_writer(fmt, sink, "tiny", **kw), sink)


def test_neuprint_bundle_is_exactly_the_loader_columns() -> None:
    z = zipfile.ZipFile(io.BytesIO(export("neuprint", synapses=True)))
    assert z.namelist() == ["neurons.csv", "connections.csv", "synapses.csv"]
    assert z.read("neurons.csv").decode() == (
        "bodyId,instance,type,class,superclass,side,region,predictedNt,status,"
        "somaLocation_x,somaLocation_y,somaLocation_z\n"
        "A,AVAL,AVA,inter,,L,,acetylcholine,,,,\n"
        'B,"B,1",BWM,,,,,,,,,\n'
        "C&<,C,,,,,,,,0.1,,\n"
    )
    # chemical only: the gap junction has no place in a neuPrint bundle
    assert z.read("connections.csv").decode() == ("bodyId_pre,bodyId_post,weight\nA,B,3\nB,A,1\n")
    assert z.read("synapses.csv").decode() == (
        "bodyId_pre,bodyId_post,x,y,z,synapse_id,confidence,roi,kind\n"
        "A,B,1.0,2.0,3.5,s1,0.9,AL,chemical\n"
    )


def test_codex_bundle_is_exactly_the_loader_columns() -> None:
    z = zipfile.ZipFile(io.BytesIO(export("codex")))
    assert z.namelist() == ["neurons.csv", "classification.csv", "connections.csv"]
    assert z.read("neurons.csv").decode() == (
        "root_id,group,nt_type\nA,,acetylcholine\nB,g1,\nC&<,,\n"
    )
    assert z.read("classification.csv").decode() == (
        "root_id,flow,super_class,class,sub_class,cell_type,hemilineage,side,nerve\n"
        "A,,,inter,,AVA,,L,\nB,,,,,BWM,,,\nC&<,,,,,,,,\n"
    )
    assert z.read("connections.csv").decode() == (
        "pre_root_id,post_root_id,neuropil,syn_count,nt_type\nA,B,,3,ACH\nB,A,,1,\n"
    )


def test_codex_and_graphml_refuse_synapses() -> None:
    for fmt in ("codex", "graphml"):
        with pytest.raises(BadInput, match="holds no synapses"):
            export(fmt, synapses=True)
    with pytest.raises(BadInput, match="format must be one of"):
        export("csv")
    with pytest.raises(BadInput, match="table must be one of"):
        export("arrow", table="edges")


def test_arrow_zip_holds_every_row_and_a_manifest() -> None:
    z = zipfile.ZipFile(io.BytesIO(export("arrow", synapses=True)))
    assert z.namelist() == ["neurons.arrow", "connections.arrow", "synapses.arrow", "manifest.json"]
    neurons = pa.ipc.open_stream(z.read("neurons.arrow")).read_all()
    assert neurons.schema == ARROW_SCHEMAS["cells"]
    got = neurons.to_pylist()
    assert [r["id"] for r in got] == ["A", "B", "C&<"]
    assert got[0]["x"] == 1.5 and got[0]["sign"] == 1 and got[0]["lineage"] is None
    assert got[1]["kind"] == "muscle" and got[1]["group"] == "g1"
    conns = pa.ipc.open_stream(z.read("connections.arrow")).read_all().to_pylist()
    assert conns == [
        {
            "pre": "A",
            "post": "B",
            "kind": "chemical",
            "synapse_count": 3,
            "weight": 3.0,
            "psd_area_total": None,
            "neuropils": ["AL", "MB"],
            "nt_type": "ACH",
        },
        {
            "pre": "B",
            "post": "A",
            "kind": "chemical",
            "synapse_count": 1,
            "weight": 0.25,
            "psd_area_total": None,
            "neuropils": None,
            "nt_type": None,
        },
        {
            "pre": "A",
            "post": "C&<",
            "kind": "electrical",
            "synapse_count": 2,
            "weight": 2.0,
            "psd_area_total": None,
            "neuropils": None,
            "nt_type": None,
        },
    ]
    syn = pa.ipc.open_stream(z.read("synapses.arrow")).read_all().to_pylist()
    assert syn == [{**SYNAPSES[0], "psd_area": None, "neurotransmitter": None}]
    assert json.loads(z.read("manifest.json")) == {
        "format": "connectomedb-arrow-1",
        "dataset": "tiny",
        "tables": {
            "neurons": "neurons.arrow",
            "connections": "connections.arrow",
            "synapses": "synapses.arrow",
        },
        "rows": {"neurons": 3, "connections": 3, "synapses": 1},
    }


def test_arrow_schemas_follow_the_store_columns() -> None:
    assert tuple(ARROW_SCHEMAS["connections"].names) == CONNECTION_COLUMNS
    assert tuple(ARROW_SCHEMAS["synapses"].names) == SYNAPSE_COLUMNS
    assert tuple(ARROW_SCHEMAS["cells"].names) == CELL_COLUMNS


def test_one_arrow_table_is_a_bare_ipc_stream() -> None:
    data = export("arrow", table="connections")
    t = pa.ipc.open_stream(data).read_all()
    assert t.column("weight").to_pylist() == [3.0, 0.25, 2.0]


def test_graphml_is_streamed_text_that_networkx_reads() -> None:
    text = export("graphml").decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<graphml ')
    assert '  <graph id="tiny" edgedefault="directed">\n' in text
    assert (
        '    <node id="C&amp;&lt;"><data key="n_name">C</data><data key="n_kind">neuron</data>'
        '<data key="n_soma_x">0.1</data></node>\n'
    ) in text
    assert (
        '    <edge source="A" target="B"><data key="e_kind">chemical</data>'
        '<data key="e_synapse_count">3</data><data key="e_weight">3.0</data>'
        '<data key="e_neuropils">AL;MB</data><data key="e_nt_type">ACH</data></edge>\n'
    ) in text
    assert text.endswith("  </graph>\n</graphml>\n")
    g = nx.read_graphml(io.BytesIO(text.encode()))
    assert sorted(g.nodes) == ["A", "B", "C&<"]
    assert g.nodes["A"] == {
        "name": "AVAL",
        "kind": "neuron",
        "type": "AVA",
        "class": "inter",
        "side": "L",
        "neurotransmitter": "acetylcholine",
        "sign": 1,
        "x": 1.5,
    }
    edges = sorted((u, v, d["kind"], d["weight"]) for u, v, d in g.edges(data=True))
    assert edges == [
        ("A", "B", "chemical", 3.0),
        ("A", "C&<", "electrical", 2.0),
        ("B", "A", "chemical", 0.25),
    ]
