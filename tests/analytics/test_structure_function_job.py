"""The structure_function job on Cook 2019 + the signal propagation atlas: its odds ratios
and rank correlation equal a count made here with pandas and networkx from Cook's sheet
and the h5 file; its run is served over GraphQL with its plots."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import neo4j
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from connectomedb.loaders.functional import MeasurementLoad, NeuronTable
from connectomedb.settings import Settings
from tests.factories import run_job
from tests.oracles import cook_graphs, funatlas
from tests.world import World

CATS = ("chemical", "gap_junction", "two_hop", "none")


def _run(
    driver: neo4j.Driver, settings: Settings, ds: str, params: dict, artifacts: Path
) -> dict[str, Any]:
    j = run_job(driver, settings, ds, "structure_function", params, artifacts)
    assert j["status"] == "succeeded", j.get("error")
    recs, _, _ = driver.execute_query(
        "MATCH (r:ModelRun {id: $id}) RETURN r.metrics AS m", id=j["run_id"]
    )
    return {"run": j["run_id"], "metrics": json.loads(recs[0]["m"])}


def _oracle(settings: Settings, strain: str, q_threshold: float) -> pd.DataFrame:
    """The atlas's tested pairs among Cook 2019's neurons, each with its wiring category
    from the sheets (self-connections left out) and whether it is functional."""
    chem, gap, names = cook_graphs(str(settings.data_cache))
    chem = nx.DiGraph(chem.subgraph(names))
    gap = nx.Graph(gap.subgraph(names))
    chem.remove_edges_from(list(nx.selfloop_edges(chem)))
    gap.remove_edges_from(list(nx.selfloop_edges(gap)))
    df = funatlas(str(settings.data_cache), strain)
    df = df[df.stimulated.isin(names) & df.responder.isin(names) & df.q.notna()].copy()

    def near(g_out: set[str], g_gap: set[str]) -> set[str]:
        return g_out | g_gap

    def category(s: str, r: str) -> str:
        if chem.has_edge(s, r):
            return "chemical"
        if gap.has_edge(s, r):
            return "gap_junction"
        after_s = near(
            set(chem.successors(s)) if s in chem else set(), set(gap[s]) if s in gap else set()
        )
        before_r = near(
            set(chem.predecessors(r)) if r in chem else set(), set(gap[r]) if r in gap else set()
        )
        return "two_hop" if after_s & before_r else "none"

    df["category"] = [category(s, r) for s, r in zip(df.stimulated, df.responder, strict=True)]
    df["functional"] = df.q < q_threshold
    df["synapses"] = [
        chem[s][r]["synapse_count"] if chem.has_edge(s, r) else 0
        for s, r in zip(df.stimulated, df.responder, strict=True)
    ]
    return df


@pytest.mark.parametrize("strain", ["wt", "unc31"])
def test_odds_ratios_equal_a_count_from_the_sheet_and_the_h5_file(
    strain: str,
    atlas: dict[str, MeasurementLoad],
    world: World,
    driver: neo4j.Driver,
    settings: Settings,
    tmp_path: Path,
) -> None:
    run = _run(
        driver,
        settings,
        world.cook,
        {"measurements": f"randi2023_{strain}", "null_samples": 50, "seed": 3},
        settings.artifacts,  # where the API reads run files from
    )
    m = run["metrics"]
    pw = m["pairwise"]
    df = _oracle(settings, strain, 0.05)
    counts = df.groupby("category").functional.agg(["size", "sum"]).reindex(list(CATS))
    got = {c["category"]: (c["pairs"], c["functional"]) for c in pw["categories"]}
    assert got == {k: (int(v["size"]), int(v["sum"])) for k, v in counts.iterrows()}
    c_f, c_n = (
        int(counts.loc["none", "sum"]),
        int(counts.loc["none", "size"] - counts.loc["none", "sum"]),
    )
    for o in pw["odds_ratios"]:
        a = int(counts.loc[o["category"], "sum"])
        b = int(counts.loc[o["category"], "size"]) - a
        assert o["odds_ratio"] == pytest.approx(a * c_n / (b * c_f), rel=1e-12)
        assert o["ci_low"] < o["odds_ratio"] < o["ci_high"]
    direct = df[df.category.isin(["chemical", "gap_junction"])]
    a = int(direct.functional.sum())
    assert pw["direct_odds_ratio"]["odds_ratio"] == pytest.approx(
        a * c_n / ((len(direct) - a) * c_f), rel=1e-12
    )
    amp = df[df.dFF.notna()]
    rho = stats.spearmanr(np.abs(amp.dFF), amp.synapses).statistic
    assert pw["spearman_count"] == pytest.approx(rho, abs=1e-12)
    assert m["measurements"]["pairs_without_q"] == int((m["measurements"]["pairs_read"]) - len(df))
    assert [t["statistic"] for t in pw["tests"]] == [
        "direct_odds_ratio",
        "spearman_count",
        "spearman_path",
        "cv_r2",
    ]
    assert all(0 < t["p_value"] <= 1 for t in pw["tests"])
    assert pw["null"] == "label_permutation" and pw["null_samples"] == 50
    # the run over GraphQL, with its plots behind the same read check
    q = """query($id: ID!) { modelRun(id: $id) { kind metrics files { name url } } }"""
    data = world.client("alice")(q, id=run["run"])["modelRun"]
    assert data["kind"] == "STRUCTURE_FUNCTION"
    assert data["metrics"]["pairwise"]["categories"] == pw["categories"]
    names = {f["name"] for f in data["files"]}
    assert names == {"functional_by_wiring.png", "odds_ratios.png"}
    for f in data["files"]:
        r = httpx.get(
            world.url + f["url"], headers={"Authorization": f"Bearer {world.tokens['alice']}"}
        )
        assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert httpx.get(world.url + f["url"]).status_code == 404


def test_like_to_like_on_a_property_table(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """Per-neuron properties from a CSV: the slope equals numpy's least-squares slope
    computed here over every ordered pair of the measured neurons."""
    from connectomedb.loaders.functional import MeasurementLoader

    chem, _, names = cook_graphs(str(settings.data_cache))
    rng = np.random.default_rng(5)
    measured = sorted(names)[:80]
    value = {n: float(rng.normal()) for n in measured}
    path = tmp_path / "props.csv"
    path.write_text("neuron,x\n" + "".join(f"{n},{v!r}\n" for n, v in value.items()))
    set_id = f"t_ll_{uuid.uuid4().hex[:6]}"
    loader = MeasurementLoader(driver, settings.neo4j_database)
    loader.load(NeuronTable(path, set_id), world.cook)
    try:
        run = _run(
            driver,
            settings,
            world.cook,
            {"properties": set_id, "permutations": 99, "bins": 5},
            tmp_path,
        )
    finally:
        loader.store.delete(world.cook, set_id)
    ll = run["metrics"]["like_to_like"]["x"]
    sim, conn = [], []
    for i in measured:
        for j in measured:
            if i != j:
                sim.append(-abs(value[i] - value[j]))
                conn.append(1.0 if chem.has_edge(i, j) else 0.0)
    slope, _ = np.polyfit(sim, conn, 1)
    assert ll["pairs_used"] == len(sim) and not ll["sampled"]
    assert ll["connected_pairs"] == int(sum(conn))
    assert ll["slope"] == pytest.approx(slope, rel=1e-9)
    assert ll["slope_ci_low"] < ll["slope"] < ll["slope_ci_high"]
    assert run["metrics"]["files"] == ["like_to_like-x.png"]
