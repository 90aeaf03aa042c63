"""Measurements over GraphQL on Cook 2019 + the atlas: a neuron's responses equal the h5
file's, page by page; an outsider sees nothing; bad arguments get clear codes."""

from __future__ import annotations

import math
from pathlib import Path

import neo4j

from connectomedb.loaders.functional import MeasurementLoad, MeasurementLoader, NeuronTable
from connectomedb.settings import Settings
from tests.oracles import funatlas
from tests.world import World

RESPONSES = """
query($ds: ID!, $id: ID!, $set: ID!, $after: String, $maxQ: Float) {
  neuron(dataset: $ds, id: $id) {
    responsesTo(set: $set, first: 7, after: $after, maxQ: $maxQ) {
      edges { node { stimulated { id } responder { id } amplitude q qEq trials } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


def _all_pages(client, ds: str, neuron: str, set_id: str, max_q: float | None = None) -> list:
    out, after = [], None
    while True:
        page = client(RESPONSES, ds=ds, id=neuron, set=set_id, after=after, maxQ=max_q)
        conn = page["neuron"]["responsesTo"]
        out += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return out
        after = conn["pageInfo"]["endCursor"]


def test_responses_to_equal_the_atlas(
    atlas: dict[str, MeasurementLoad], world: World, settings: Settings
) -> None:
    df = funatlas(str(settings.data_cache), "wt")
    want = df[(df.responder == "AVAL") & ~df.stimulated.isin(["AWCOF", "AWCON"])]
    got = _all_pages(world.client("alice"), world.cook, "AVAL", "randi2023_wt")
    assert len(got) == len(want) > 7  # more than one page
    by_stim = {r.stimulated: r for r in want.itertuples()}
    for node in got:
        assert node["responder"]["id"] == "AVAL"
        r = by_stim[node["stimulated"]["id"]]
        assert node["trials"] == r.occ1
        assert node["q"] == (None if math.isnan(r.q) else r.q)
    qs = [n["q"] for n in got if n["q"] is not None]
    assert qs == sorted(qs)  # lowest q first, missing q last
    assert all(n["q"] is None for n in got[len(qs) :])
    # maxQ keeps the functional connections only
    strong = _all_pages(world.client("alice"), world.cook, "AVAL", "randi2023_wt", 0.05)
    assert {n["stimulated"]["id"] for n in strong} == set(want[want.q <= 0.05].stimulated)


def test_responses_from_and_sets(atlas: dict[str, MeasurementLoad], world: World) -> None:
    q = """query($ds: ID!) {
      dataset(id: $ds) { measurementSets { id kind condition count unmatched citation } }
      neuron(dataset: $ds, id: "ASHL") {
        responsesFrom(set: "randi2023_unc31", first: 500) {
          edges { node { stimulated { id } responder { id } } } }
        extrasynaptic(direction: DOWNSTREAM, first: 500) { edges { node { set transmitter } } }
      }
    }"""
    data = world.client("alice")(q, ds=world.cook)
    sets = {s["id"]: s for s in data["dataset"]["measurementSets"]}
    assert set(sets) == set(atlas)
    assert sets["randi2023_unc31"]["kind"] == "PAIRWISE"
    assert sets["randi2023_unc31"]["count"] == atlas["randi2023_unc31"].count
    assert sets["randi2023_wt"]["unmatched"] == ["AWCOF", "AWCON"]
    assert "Nature 623" in sets["randi2023_wt"]["citation"]
    edges = data["neuron"]["responsesFrom"]["edges"]
    assert edges and all(e["node"]["stimulated"]["id"] == "ASHL" for e in edges)


def test_outsiders_and_bad_arguments(atlas: dict[str, MeasurementLoad], world: World) -> None:
    q = """query($ds: ID!, $set: ID!, $maxQ: Float) { neuron(dataset: $ds, id: "AVAL") {
      responsesTo(set: $set, maxQ: $maxQ) { edges { node { q } } } } }"""
    for who in ("bob", None):
        assert world.client(who).error(q, ds=world.cook, set="randi2023_wt")[0] == "NOT_FOUND"
    alice = world.client("alice")
    code, message = alice.error(q, ds=world.cook, set="no_such_set")
    assert code == "NOT_FOUND" and "no_such_set" in message
    code, message = alice.error(q, ds=world.cook, set="bentley2016_monoamines")
    assert code == "BAD_INPUT" and "extrasynaptic" in message
    assert alice.error(q, ds=world.cook, set="randi2023_wt", maxQ=2.0)[0] == "BAD_INPUT"


def test_measured_properties_over_graphql(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "tuning.csv"
    loader = MeasurementLoader(driver, settings.neo4j_database)
    path.write_text("neuron,preferred,tuning\nAVAL,10.5,1;2;3\nAVAR,,4;5;6\n")
    loader.load(NeuronTable(path, "t_api_tuning"), world.cook)
    try:
        q = """query($ds: ID!) { neurons(dataset: $ds, filter: {ids: ["AVAL", "AVAR", "ASHL"]}) {
          edges { node { id measurements(set: "t_api_tuning") { set name value vector } } } } }"""
        data = world.client("alice")(q, ds=world.cook)
        got = {e["node"]["id"]: e["node"]["measurements"] for e in data["neurons"]["edges"]}
        assert got["AVAL"] == [
            {"set": "t_api_tuning", "name": "preferred", "value": 10.5, "vector": None},
            {"set": "t_api_tuning", "name": "tuning", "value": None, "vector": [1.0, 2.0, 3.0]},
        ]
        assert got["AVAR"] == [
            {"set": "t_api_tuning", "name": "tuning", "value": None, "vector": [4.0, 5.0, 6.0]}
        ]
        assert got["ASHL"] == []
    finally:
        loader.store.delete(world.cook, "t_api_tuning")
