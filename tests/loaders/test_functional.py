"""Measurement sets onto Cook 2019: the signal propagation atlas and Bentley 2016 against
the files read independently here (h5py, pandas), and CSV tables whose errors are
located and leave nothing written."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import neo4j
import numpy as np
import pandas as pd
import pytest

from connectomedb.errors import BadInput, LoaderError
from connectomedb.loaders.functional import (
    MeasurementLoad,
    MeasurementLoader,
    NeuronTable,
    PairTable,
)
from connectomedb.settings import Settings
from connectomedb.store.graph import read_graph
from connectomedb.store.measurements import read_pairs, read_property
from tests.oracles import cook_graphs, funatlas, member, wheel_zip
from tests.world import World


def _cook_neurons(settings: Settings) -> frozenset[str]:
    return cook_graphs(str(settings.data_cache))[2]


def _evokes(driver: neo4j.Driver, ds: str, set_id: str) -> dict[tuple[str, str], dict]:
    recs = driver.execute_query(
        "MATCH (s:Neuron {dataset: $ds})-[e:EVOKES {set: $set}]->(r) "
        "RETURN s.id AS s, r.id AS r, e.amplitude AS amplitude, e.q AS q, e.q_eq AS q_eq, "
        "e.trials AS trials",
        ds=ds,
        set=set_id,
    ).records
    return {(r["s"], r["r"]): dict(r) for r in recs}


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


@pytest.mark.parametrize("strain", ["wt", "unc31"])
def test_atlas_pairs_equal_the_h5_file(
    strain: str,
    atlas: dict[str, MeasurementLoad],
    world: World,
    driver: neo4j.Driver,
    settings: Settings,
) -> None:
    df = funatlas(str(settings.data_cache), strain)
    names = _cook_neurons(settings)
    inside = df.stimulated.isin(names) & df.responder.isin(names)
    expected = df[inside]
    res = atlas[f"randi2023_{strain}"]
    # every atlas name outside Cook 2019's neurons is reported, with the rows it cost
    outside = (set(df.stimulated) | set(df.responder)) - names
    assert set(res.unmatched) == outside == {"AWCOF", "AWCON"}
    lost = {n: int(((df.stimulated == n) | (df.responder == n)).sum()) for n in outside}
    assert res.unmatched == lost
    assert res.count == len(expected)
    stored = _evokes(driver, world.cook, f"randi2023_{strain}")
    assert len(stored) == len(expected)
    for row in expected.itertuples():
        got = stored[(row.stimulated, row.responder)]
        assert got["trials"] == row.occ1
        assert got["amplitude"] == _opt(row.dFF)
        assert got["q"] == _opt(row.q)
        assert got["q_eq"] == _opt(row.q_eq)


def test_atlas_reads_back_as_columns(
    atlas: dict[str, MeasurementLoad], world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    g = read_graph(driver, settings.neo4j_database, world.cook)
    p = read_pairs(driver, settings.neo4j_database, g, "randi2023_wt")
    df = funatlas(str(settings.data_cache), "wt")
    names = _cook_neurons(settings)
    expected = df[df.stimulated.isin(names) & df.responder.isin(names)]
    assert p.stim.size == len(expected) and p.outside == 0
    got = pd.DataFrame(
        {
            "stimulated": [g.ids[i] for i in p.stim],
            "responder": [g.ids[i] for i in p.resp],
            "q": p.q,
            "trials": p.trials,
        }
    ).sort_values(["stimulated", "responder"], ignore_index=True)
    want = expected.sort_values(["stimulated", "responder"], ignore_index=True)
    assert (got.stimulated == want.stimulated).all() and (got.responder == want.responder).all()
    np.testing.assert_array_equal(got.q.to_numpy(), want.q.to_numpy())
    np.testing.assert_array_equal(got.trials.to_numpy(), want.occ1.to_numpy())


@pytest.mark.parametrize(
    ("set_id", "member_name"),
    [
        ("bentley2016_monoamines", "esconnectome_monoamines_Bentley_2016.csv"),
        ("bentley2016_neuropeptides", "esconnectome_neuropeptides_Bentley_2016.csv"),
    ],
)
def test_bentley_counts_equal_the_sheet(
    set_id: str,
    member_name: str,
    atlas: dict[str, MeasurementLoad],
    world: World,
    driver: neo4j.Driver,
    settings: Settings,
) -> None:
    zf = wheel_zip(settings.data_cache, "wormneuroatlas")
    df = pd.read_csv(
        member(zf, "wormneuroatlas/data/" + member_name),
        comment="#",
        header=None,
        usecols=[0, 1, 2, 3],
        names=["source", "target", "transmitter", "receptor"],
        skipinitialspace=True,
    )
    names = _cook_neurons(settings)
    inside = df.source.isin(names) & df.target.isin(names)
    assert atlas[set_id].count == int(inside.sum())
    assert set(atlas[set_id].unmatched) == (set(df.source) | set(df.target)) - names
    recs = driver.execute_query(
        "MATCH (a:Neuron {dataset: $ds})-[e:EXTRASYNAPTIC {set: $set}]->(b) "
        "RETURN a.id AS a, b.id AS b, e.transmitter AS t, e.receptor AS r",
        ds=world.cook,
        set=set_id,
    ).records
    got = sorted((r["a"], r["b"], r["t"], r["r"]) for r in recs)
    want = sorted(df[inside].itertuples(index=False, name=None))
    assert got == want
    # nothing functional is written onto the wiring
    assert (
        driver.execute_query(
            "MATCH (:Neuron {dataset: $ds})-[r:CONNECTS_TO]->() "
            "WHERE r.set IS NOT NULL OR r.transmitter IS NOT NULL RETURN count(r) AS n",
            ds=world.cook,
        ).records[0]["n"]
        == 0
    )


# -- CSV tables ---------------------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _set_rows(driver: neo4j.Driver, ds: str, set_id: str) -> int:
    return driver.execute_query(
        "RETURN COUNT { (m:MeasurementSet {dataset: $ds, id: $set}) } "
        "+ COUNT { (:Neuron {dataset: $ds})-[:EVOKES {set: $set}]->() } "
        "+ COUNT { (:MeasurementSet {dataset: $ds, id: $set})-[:MEASURED]->() } AS n",
        ds=ds,
        set=set_id,
    ).records[0]["n"]


@pytest.mark.parametrize(
    ("text", "row", "column", "message"),
    [
        ("stimulated,responder,q\nASHL,AVAL,0.01\nASHR,AVAR,x\n", 3, "q", "expected a number"),
        ("stimulated,responder,q\nASHL,AVAL,0.01\nASHR,AVAR,1.5\n", 3, "q", "lies in [0, 1]"),
        ("stimulated,responder,trials\nASHL,AVAL,2\nASHR,,3\n", 3, "responder", "missing neuron"),
        ("stimulated,responder,trials\nASHL,AVAL,2\nASHR,AVAR,-1\n", 3, "trials", "negative"),
        ("stimulated,responder,gain\nASHL,AVAL,2\n", 1, "gain", "unknown column"),
        ("stimulated,q\nASHL,0.1\n", 1, "responder", "missing column"),
        ("stimulated,responder,q\nASHL,AVAL,0.01\nASHL,AVAL,0.02\n", 3, None, "as row 2"),
    ],
)
def test_bad_pair_table_is_located_and_writes_nothing(
    tmp_path: Path,
    text: str,
    row: int,
    column: str | None,
    message: str,
    world: World,
    driver: neo4j.Driver,
    settings: Settings,
) -> None:
    path = _write(tmp_path / "pairs.csv", text)
    set_id = f"t_bad_{uuid.uuid4().hex[:6]}"
    with pytest.raises(LoaderError) as e:
        MeasurementLoader(driver, settings.neo4j_database).load(PairTable(path, set_id), world.cook)
    assert (e.value.file, e.value.row, e.value.column) == (str(path), row, column)
    assert message in e.value.message
    assert _set_rows(driver, world.cook, set_id) == 0


def test_bad_vector_in_neuron_table(
    tmp_path: Path, world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    path = _write(tmp_path / "tuning.csv", "neuron,tuning\nAVAL,1;2;3\nAVAR,1;2\n")
    with pytest.raises(LoaderError) as e:
        MeasurementLoader(driver, settings.neo4j_database).load(
            NeuronTable(path, "t_tuning_bad"), world.cook
        )
    assert (e.value.row, e.value.column) == (3, "tuning")
    assert "row 2 has 3" in e.value.message
    assert _set_rows(driver, world.cook, "t_tuning_bad") == 0


def test_bad_property_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.csv", "neuron,1st\nAVAL,1\n")
    with pytest.raises(LoaderError) as e:
        NeuronTable(path, "t_x")
    assert (e.value.row, e.value.column) == (1, "1st")


def test_table_unmatched_names_are_reported_and_the_rest_loaded(
    tmp_path: Path, world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    path = _write(
        tmp_path / "pairs.csv",
        "stimulated,responder,amplitude,q,trials\n"
        "ASHL,AVAL,0.5,0.01,4\n"
        "ASHR,NOSUCH,0.1,0.5,2\n"
        "NOSUCH,AVAR,,,\n"
        "XYZ,AVAR,0.2,0.2,1\n",
    )
    set_id = f"t_pairs_{uuid.uuid4().hex[:6]}"
    loader = MeasurementLoader(driver, settings.neo4j_database)
    res = loader.load(PairTable(path, set_id, condition="test"), world.cook)
    try:
        assert res.count == 1
        assert res.unmatched == {"NOSUCH": 2, "XYZ": 1}
        assert _evokes(driver, world.cook, set_id) == {
            ("ASHL", "AVAL"): {
                "s": "ASHL",
                "r": "AVAL",
                "amplitude": 0.5,
                "q": 0.01,
                "q_eq": None,
                "trials": 4,
            }
        }
        # the same input again changes nothing; other input needs replace
        assert loader.load(PairTable(path, set_id), world.cook).status == "unchanged"
        other = _write(tmp_path / "other.csv", "stimulated,responder\nAVAL,AVAR\n")
        with pytest.raises(BadInput, match="replace"):
            loader.load(PairTable(other, set_id), world.cook)
        again = loader.load(PairTable(other, set_id), world.cook, replace=True)
        assert again.count == 1 and set(_evokes(driver, world.cook, set_id)) == {("AVAL", "AVAR")}
    finally:
        loader.store.delete(world.cook, set_id)
    assert _set_rows(driver, world.cook, set_id) == 0


def test_neuron_table_round_trip(
    tmp_path: Path, world: World, driver: neo4j.Driver, settings: Settings
) -> None:
    path = _write(
        tmp_path / "tuning.csv",
        "neuron,preferred,tuning\nAVAL,10.5,1;2;3\nAVAR,,4;5;6\nASHL,-3,\n",
    )
    set_id = f"t_props_{uuid.uuid4().hex[:6]}"
    loader = MeasurementLoader(driver, settings.neo4j_database)
    res = loader.load(NeuronTable(path, set_id), world.cook)
    try:
        assert res.count == 3 and not res.unmatched
        g = read_graph(driver, settings.neo4j_database, world.cook)
        pref = read_property(driver, settings.neo4j_database, g, set_id, "preferred")
        at = {v: i for i, v in enumerate(g.ids)}
        assert pref[at["AVAL"]] == 10.5 and pref[at["ASHL"]] == -3
        assert np.isnan(pref).sum() == g.n - 2
        tuning = read_property(driver, settings.neo4j_database, g, set_id, "tuning")
        assert tuning.shape == (g.n, 3)
        assert tuning[at["AVAR"]].tolist() == [4.0, 5.0, 6.0]
        assert np.isnan(tuning[at["ASHL"]]).all()
    finally:
        loader.store.delete(world.cook, set_id)


def test_dataset_delete_removes_its_sets(
    tmp_path: Path, driver: neo4j.Driver, settings: Settings
) -> None:
    from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
    from connectomedb.loaders.writer import DatasetWriter
    from connectomedb.store.datasets import delete_dataset

    ds = f"t_fn_{uuid.uuid4().hex[:6]}"
    DatasetWriter(driver, settings.neo4j_database).load(
        SyntheticSource(SyntheticParams(n_neurons=20, n_connections=40, seed=1), ds)
    )
    ids = [
        r["id"]
        for r in driver.execute_query(
            "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id ORDER BY id LIMIT 3", ds=ds
        ).records
    ]
    text = "stimulated,responder,q\n" + "".join(
        f"{a},{b},0.1\n" for a, b in zip(ids[:-1], ids[1:], strict=True)
    )
    path = _write(tmp_path / "p.csv", text)
    MeasurementLoader(driver, settings.neo4j_database).load(PairTable(path, "s1"), ds)
    assert _set_rows(driver, ds, "s1") == 3
    delete_dataset(driver, ds, settings.neo4j_database)
    assert _set_rows(driver, ds, "s1") == 0


def test_loading_onto_a_missing_dataset(
    tmp_path: Path, driver: neo4j.Driver, settings: Settings
) -> None:
    from connectomedb.errors import NotFound

    path = _write(tmp_path / "p.csv", "stimulated,responder\nA,B\n")
    with pytest.raises(NotFound):
        MeasurementLoader(driver, settings.neo4j_database).load(PairTable(path, "s"), "t_nope")


def test_csv_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffneuron,x\nAVAL,1\n".encode())
    rows = [v for _, v in NeuronTable(path, "t").rows()]
    assert rows == [{"neuron": "AVAL", "values": {"x": 1.0}}]
