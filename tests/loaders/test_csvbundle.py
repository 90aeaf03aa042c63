"""CSV bundle parsing: columns, values and the located errors (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectomedb.errors import LoaderError
from connectomedb.loaders.csvbundle import FlywireBundle, NeuprintBundle
from tests.factories import DEFAULT_SYNAPSES, neuprint_bundle, write_csv


def test_neuprint_rows(tmp_path: Path) -> None:
    src = NeuprintBundle(neuprint_bundle(tmp_path / "b", synapses=DEFAULT_SYNAPSES), "x")
    neurons = [p for _, p in src.neurons()]
    assert [n["id"] for n in neurons] == ["101", "102", "201", "301"]
    assert neurons[2] == {
        "id": "201",
        "kind": "neuron",
        "name": "MBON_1",
        "type": "MBON",
        "neurotransmitter": "glutamate",
    }
    conns = [(w.row, p) for w, p in src.connections()]
    assert conns[0] == (2, {"pre": "101", "post": "201", "synapse_count": 12})
    assert sum(p["synapse_count"] for _, p in conns) == 31
    syn = [p for _, p in src.synapses()]
    assert len(syn) == 6
    assert syn[0]["id"] == "r2" and syn[0]["x"] == 1.0 and syn[0]["confidence"] == 0.9
    assert not src.aggregate_connections


def test_neuprint_missing_column(tmp_path: Path) -> None:
    b = neuprint_bundle(tmp_path / "b", connection_header=["bodyId_pre", "bodyId_post", "count"])
    with pytest.raises(LoaderError) as e:
        list(NeuprintBundle(b, "x").connections())
    assert (e.value.file, e.value.row, e.value.column) == ("connections.csv", 1, "weight")
    assert str(e.value).startswith(
        "connections.csv, row 1, column 'weight': missing required column"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("seven", "expected a non-negative integer, got 'seven'"),
        ("-3", "negative count '-3'"),
        ("2.5", "expected a non-negative integer, got '2.5'"),
    ],
)
def test_neuprint_bad_count(tmp_path: Path, value: str, message: str) -> None:
    rows = [[101, 201, 12], [102, 201, value]]
    src = NeuprintBundle(neuprint_bundle(tmp_path / "b", connections=rows), "x")
    with pytest.raises(LoaderError) as e:
        list(src.connections())
    assert (e.value.file, e.value.row, e.value.column) == ("connections.csv", 3, "weight")
    assert e.value.message == message


def test_unreadable_file(tmp_path: Path) -> None:
    b = neuprint_bundle(tmp_path / "b")
    (b / "connections.csv").write_bytes(b"bodyId_pre,bodyId_post,weight\n1,2,\xff\xfe\n")
    with pytest.raises(LoaderError) as e:
        list(NeuprintBundle(b, "x").connections())
    assert e.value.file == "connections.csv"
    assert "unreadable CSV" in e.value.message


def test_ragged_row(tmp_path: Path) -> None:
    b = neuprint_bundle(tmp_path / "b", connections=[[101, 201, 3], [101, 301]])
    with pytest.raises(LoaderError) as e:
        list(NeuprintBundle(b, "x").connections())
    assert (e.value.row, e.value.message) == (3, "expected 3 fields, found 2")


def test_missing_bundle_file(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    with pytest.raises(LoaderError) as e:
        NeuprintBundle(tmp_path / "b", "x")
    assert e.value.message == "required file not found in bundle"
    assert e.value.file.endswith("neurons.csv")


def test_flywire_joins_classification(tmp_path: Path) -> None:
    d = tmp_path / "fw"
    write_csv(
        d / "neurons.csv",
        ["root_id", "group", "nt_type"],
        [["720575940600000001", "g1", "ACH"], ["720575940600000002", "g2", "GABA"]],
    )
    write_csv(
        d / "classification.csv",
        ["root_id", "flow", "super_class", "class", "sub_class", "cell_type", "side"],
        [["720575940600000002", "intrinsic", "central", "ALLN", "", "LN1", "left"]],
    )
    write_csv(
        d / "connections.csv",
        ["pre_root_id", "post_root_id", "neuropil", "syn_count", "nt_type"],
        [
            ["720575940600000001", "720575940600000002", "AL_L", 5, "ACH"],
            ["720575940600000001", "720575940600000002", "AL_R", 2, "ACH"],
        ],
    )
    src = FlywireBundle(d, "fw")
    neurons = [p for _, p in src.neurons()]
    assert neurons[1] == {
        "id": "720575940600000002",
        "kind": "neuron",
        "group": "g2",
        "neurotransmitter": "GABA",
        "flow": "intrinsic",
        "superclass": "central",
        "class": "ALLN",
        "type": "LN1",
        "side": "left",
    }
    assert src.aggregate_connections
    assert [p["synapse_count"] for _, p in src.connections()] == [5, 2]


def test_corrupt_gzip(tmp_path: Path) -> None:
    import gzip

    b = neuprint_bundle(tmp_path / "b")
    rows = "".join(f"{101 + i % 2},201,{i}\n" for i in range(20000))
    data = gzip.compress(("bodyId_pre,bodyId_post,weight\n" + rows).encode())
    (b / "connections.csv").unlink()
    mid = len(data) // 2
    (b / "connections.csv.gz").write_bytes(data[:mid] + b"\x00" * 64 + data[mid + 64 :])
    with pytest.raises(LoaderError) as e:  # never a bare zlib.error
        list(NeuprintBundle(b, "x").connections())
    assert e.value.file == "connections.csv.gz"
    (b / "connections.csv.gz").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(LoaderError) as e:
        list(NeuprintBundle(b, "x").connections())
    assert e.value.file == "connections.csv.gz"
    assert e.value.message.startswith("cannot read file: Compressed file ended")
    assert e.value.row is not None and e.value.row > 1000
