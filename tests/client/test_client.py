"""The Python client against the live server: each method's result equals the GraphQL
answer it wraps (queries written out here, paged by hand), the token decides what is
seen, and errors carry the server's code."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import networkx as nx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pytest

from connectomedb.client import Client, ClientError, JobFailed, chunks_by_degree, neuron_filter
from connectomedb.settings import Settings
from connectomedb.store.access import SET_VISIBILITY
from connectomedb.workers.worker import Worker
from tests.oracles import cook_graphs
from tests.world import World


@pytest.fixture(scope="module")
def alice(world: World) -> Client:
    with Client(world.url, world.tokens["alice"]) as c:
        yield c


def paged(world: World, who: str | None, field: str, query: str, **variables: Any) -> list[dict]:
    """Every node of a cursor-paged list, read by hand with the test's own HTTP client."""
    c = world.client(who)
    out, after = [], None
    while True:
        page = c(query, after=after, **variables)[field]
        out += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


CONNECTIONS = """query($ds: ID!, $pre: [ID!], $post: [ID!], $w: Int!, $after: String) {
  connections(dataset: $ds, pre: $pre, post: $post, minWeight: $w, first: 250, after: $after) {
    edges { node { pre post synapseCount weight psdAreaTotal ntType neuropils } }
    pageInfo { hasNextPage endCursor } } }"""


def test_pure_helpers() -> None:
    assert chunks_by_degree(list("abcde"), [3, 3, 5, 0, 1], 6) == [["a", "b"], ["c", "d", "e"]]
    assert chunks_by_degree(["hub", "x"], [50, 1], 6) == [["hub"], ["x"]]
    assert chunks_by_degree(list("abc"), [0, 0, 0], 2) == [["a", "b"], ["c"]]
    assert neuron_filter({"cls": "motor", "min_in_degree": 3, "side": None}) == {
        "class": "motor",
        "minInDegree": 3,
    }
    with pytest.raises(ClientError) as e:
        neuron_filter({"colour": "red"})
    assert e.value.code == "BAD_INPUT" and "name_starts_with" in str(e.value)


def test_token_from_the_environment(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOMEDB_TOKEN", world.tokens["alice"])
    with Client(world.url) as c:
        assert world.cook in set(c.datasets()["id"])
    monkeypatch.delenv("CONNECTOMEDB_TOKEN")
    with Client(world.url) as c:
        assert world.cook not in set(c.datasets()["id"])


def test_datasets_and_neurons_equal_graphql(world: World, alice: Client) -> None:
    raw = world.client("alice")("{ datasets { id neuronCount connectionCount visibility } }")
    df = alice.datasets()
    assert sorted(df["id"]) == sorted(d["id"] for d in raw["datasets"])
    mine = df.set_index("id").loc[world.cook]
    want = next(d for d in raw["datasets"] if d["id"] == world.cook)
    assert (mine["neuron_count"], mine["connection_count"], mine["visibility"]) == (
        want["neuronCount"],
        want["connectionCount"],
        want["visibility"],
    )

    q = """query($ds: ID!, $f: NeuronFilterInput, $after: String) {
      neurons(dataset: $ds, filter: $f, first: 40, after: $after) {
        edges { node { id name type class inDegree outDegree preSynapses } }
        pageInfo { hasNextPage endCursor } } }"""
    for filters, f in (({}, None), ({"name_starts_with": "AV"}, {"nameStartsWith": "AV"})):
        want_rows = paged(world, "alice", "neurons", q, ds=world.cook, f=f)
        got = alice.fetch_neurons(world.cook, **filters)
        assert got["id"].tolist() == [r["id"] for r in want_rows]
        assert got["in_degree"].tolist() == [r["inDegree"] for r in want_rows]
        assert got["class"].fillna("").tolist() == [r["class"] or "" for r in want_rows]
    assert len(alice.fetch_neurons(world.cook)) == 302  # neurons only


def test_adjacencies_equal_graphql_and_the_source(
    world: World, alice: Client, settings: Settings, driver: neo4j.Driver
) -> None:
    rows = paged(
        world, "alice", "connections", CONNECTIONS, ds=world.cook, pre=None, post=None, w=1
    )
    want = {(r["pre"], r["post"]): r["synapseCount"] for r in rows}
    df = alice.fetch_adjacencies(world.cook)
    got = {(a, b): w for a, b, w in df[["pre", "post", "weight"]].itertuples(index=False)}
    assert len(df) == len(got) == len(want)  # every connection once
    stored = driver.execute_query(
        "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->() RETURN count(r) AS n,"
        " count(CASE WHEN a:NonNeuronal THEN r END) AS other",
        ds=world.cook,
    ).records[0]
    assert len(df) == stored["n"]  # from any cell, muscles and glia included
    assert got == want
    assert list(df.columns) == ["pre", "post", "weight"]
    # the columns of `adjacency`, paged by hand, are the same rows in the same order
    c, cols, after = world.client("alice"), {"pre": [], "post": [], "synapseCount": []}, None
    while True:
        a = c(
            """query($ds: ID!, $after: String) { adjacency(dataset: $ds, first: 700, after: $after)
            { pre post synapseCount hasNextPage endCursor } }""",
            ds=world.cook,
            after=after,
        )["adjacency"]
        for k in cols:
            cols[k] += a[k]
        if not a["hasNextPage"]:
            break
        after = a["endCursor"]
    assert df["pre"].tolist() == cols["pre"] and df["post"].tolist() == cols["post"]
    assert df["weight"].tolist() == cols["synapseCount"]
    assert df[["pre", "post"]].apply(tuple, axis=1).is_monotonic_increasing
    # and the chemical connections of the source sheet among its neurons are all there
    chem, _, _ = cook_graphs(str(settings.data_cache))
    for a, b, d in chem.edges(data=True):
        if (a, b) in got:
            assert got[(a, b)] == d["synapse_count"]
    # named sources and targets, a weight threshold
    src, dst = ["AVAL", "AVAR", "AVBL"], ["VA01", "VA02", "DA01", "AVBR", "AVAR"]
    for kw, pre, post in (
        ({"sources": src}, src, None),
        ({"targets": dst}, None, dst),
        ({"sources": src, "targets": dst}, src, dst),
    ):
        rows = paged(
            world, "alice", "connections", CONNECTIONS, ds=world.cook, pre=pre, post=post, w=3
        )
        full = alice.fetch_connections(world.cook, min_weight=3, **kw)
        assert full.to_dict("records") == [
            {
                "pre": r["pre"],
                "post": r["post"],
                "synapse_count": r["synapseCount"],
                "weight": r["weight"],
                "psd_area_total": r["psdAreaTotal"],
                "nt_type": r["ntType"],
                "neuropils": r["neuropils"],
            }
            for r in sorted(rows, key=lambda r: (r["pre"], r["post"]))
        ]
        assert len(full) > 0
    assert alice.fetch_adjacencies(world.cook, sources=[]).empty


def test_networkx_and_pyg(world: World, alice: Client) -> None:
    neurons = alice.fetch_neurons(world.cook)
    adj = alice.fetch_adjacencies(world.cook, min_weight=2)
    g = alice.to_networkx(neurons, adj)
    assert isinstance(g, nx.DiGraph) and g.number_of_nodes() == len(neurons)
    ids = set(neurons["id"])
    among = adj[adj["pre"].isin(ids) & adj["post"].isin(ids)]  # muscles etc. are no neurons
    assert 0 < len(among) < len(adj)
    assert g.number_of_edges() == len(among)
    a = among.iloc[0]
    assert g[a["pre"]][a["post"]]["weight"] == a["weight"]
    assert g.nodes["AVAL"]["class"] == neurons.set_index("id").loc["AVAL", "class"]
    data = alice.to_pyg(neurons, adj, label="class")
    assert data.num_nodes == len(neurons) and data.edge_index.shape == (2, len(among))
    i, j = data.edge_index[:, 0].tolist()
    assert (data.node_ids[i], data.node_ids[j]) == (a["pre"], a["post"])
    assert data.edge_weight[0].item() == a["weight"]
    aval = data.node_ids.index("AVAL")
    assert data.label_names[int(data.y[aval])] == g.nodes["AVAL"]["class"]


def test_motifs_and_statistics_equal_graphql(world: World, alice: Client) -> None:
    c = world.client("alice")
    motif = "A -> B [synapse_count >= 10]; B -> A [synapse_count >= 10]"
    q = """query($ds: ID!, $m: String!, $after: String) {
      motifSearch(dataset: $ds, motif: $m, first: 7, after: $after) {
        matches { bindings { variable neuron } } pageInfo { hasNextPage endCursor } } }"""
    want, after = [], None
    while True:
        r = c(q, ds=world.cook, m=motif, after=after)["motifSearch"]
        want += [{b["variable"]: b["neuron"] for b in m["bindings"]} for m in r["matches"]]
        if not r["pageInfo"]["hasNextPage"]:
            break
        after = r["pageInfo"]["endCursor"]
    df = alice.motif_search(world.cook, motif)
    assert df.to_dict("records") == want and len(want) > 7
    assert alice.motif_search(world.cook, motif, limit=5).to_dict("records") == want[:5]
    count = c(
        "query($ds: ID!, $m: String!) { motifSearch(dataset: $ds, motif: $m, countOnly: true) { count } }",
        ds=world.cook,
        m=motif,
    )["motifSearch"]["count"]
    assert alice.motif_count(world.cook, motif) == count == len(want)

    census = c(
        """query($ds: ID!) { motifCensus(dataset: $ds, nullModel: ERDOS_RENYI, samples: 5, seed: 3)
        { neurons connections nullDescription classes { name observed nullMean z } } }""",
        ds=world.cook,
    )["motifCensus"]
    got = alice.motif_census(world.cook, "ERDOS_RENYI", samples=5, seed=3)
    assert got["name"].tolist() == [k["name"] for k in census["classes"]]
    assert got["observed"].tolist() == [k["observed"] for k in census["classes"]]
    assert got["null_mean"].tolist() == [k["nullMean"] for k in census["classes"]]
    assert got.attrs["neurons"] == census["neurons"]
    assert got.attrs["null_description"] == census["nullDescription"]

    stats = c(
        """query($ds: ID!) { networkStatistics(dataset: $ds, minWeight: 2,
        filter: {nameStartsWith: "A"}) { neurons connections density reciprocity
        reciprocityEnrichment inDegreeDistribution { degree count } } }""",
        ds=world.cook,
    )["networkStatistics"]
    s = alice.network_statistics(world.cook, min_weight=2, name_starts_with="A")
    for k, v in (
        ("neurons", "neurons"),
        ("connections", "connections"),
        ("density", "density"),
        ("reciprocity", "reciprocity"),
        ("reciprocity_enrichment", "reciprocityEnrichment"),
    ):
        assert s[k] == stats[v]
    assert s["in_degree_distribution"].to_dict("records") == stats["inDegreeDistribution"]


def test_jobs_wait_and_outputs(
    world: World, driver: neo4j.Driver, settings: Settings, capsys: pytest.CaptureFixture
) -> None:
    queue = f"q_{uuid.uuid4().hex[:8]}"
    with Client(world.url, world.tokens["carol"]) as carol:
        job_id = carol.submit_job(world.cook, "embedding", {"dim": 2}, queue=queue)
        worker = Worker(driver, settings.neo4j_database, "client-test", 60, 0.1, queue)
        t = threading.Thread(target=worker.run, kwargs={"exit_when_idle": True})
        t.start()
        try:
            done = carol.wait(job_id, timeout=300, poll=0.2)
        finally:
            t.join(timeout=300)
        assert done["status"] == "SUCCEEDED" and done["progress"] == 1.0
        assert "100%" in capsys.readouterr().err  # the progress bar
        raw = world.client("carol")("query($id: ID!) { job(id: $id) { status runId } }", id=job_id)[
            "job"
        ]
        assert raw == {"status": "SUCCEEDED", "runId": done["run_id"]}
        want = []
        after = None
        while True:
            page = world.client("carol")(
                """query($id: ID!, $after: String) { modelRun(id: $id) {
                outputs(first: 100, after: $after) { edges { node { neuron vector layout } }
                pageInfo { hasNextPage endCursor } } } }""",
                id=raw["runId"],
                after=after,
            )["modelRun"]["outputs"]
            want += [e["node"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        for key in (job_id, raw["runId"]):
            df = carol.run_outputs(key)
            assert df["neuron"].tolist() == [w["neuron"] for w in want]
            assert df["vector"].tolist() == [w["vector"] for w in want]
            assert df["layout"].tolist() == [w["layout"] for w in want]
        # a job that does not succeed raises, with its last state
        stuck = carol.submit_job(world.cook, "probe", {"seconds": 60}, queue=f"{queue}_none")
        world.client("carol")("mutation($id: ID!) { cancelJob(id: $id) { id } }", id=stuck)
        with pytest.raises(JobFailed) as e:
            carol.wait(stuck, progress=False)
        assert e.value.code == "CANCELLED" and e.value.job["id"] == stuck


def test_outsiders_are_refused_with_the_servers_code(world: World) -> None:
    for token in (world.tokens["bob"], None):
        with Client(world.url, token) as c:
            assert world.cook not in set(c.datasets()["id"])
            calls = (
                lambda: c.fetch_neurons(world.cook),
                lambda: c.fetch_adjacencies(world.cook),
                lambda: c.fetch_adjacencies(world.cook, sources=["AVAL"]),
                lambda: c.fetch_connections(world.cook, targets=["AVAL"]),
                lambda: c.motif_search(world.cook, "A -> B"),
                lambda: c.motif_count(world.cook, "A -> B"),
                lambda: c.motif_census(world.cook, samples=2),
                lambda: c.network_statistics(world.cook),
            )
            for call in calls:
                with pytest.raises(ClientError) as e:
                    call()
                assert e.value.code == "NOT_FOUND", e.value
    with Client(world.url, world.tokens["victor"]) as viewer:  # a reader, not an editor
        with pytest.raises(ClientError) as e:
            viewer.submit_job(world.cook, "probe")
        assert e.value.code == "FORBIDDEN"
    with Client(world.url, "not-a-token") as c:
        with pytest.raises(ClientError) as e:
            c.datasets()
        assert e.value.code == "UNAUTHENTICATED"
    with Client("http://127.0.0.1:9") as c:  # nothing listens there
        with pytest.raises(ClientError) as e:
            c.datasets()
        assert e.value.code == "UNAVAILABLE"


def test_public_dataset_without_a_token(world: World, driver: neo4j.Driver) -> None:
    """Cook 2019 made public for the test: the anonymous client's answers equal the
    anonymous GraphQL answers."""
    driver.execute_query(SET_VISIBILITY, dataset=world.cook, visibility="public")
    try:
        anon, raw = Client(world.url, ""), world.client()
        assert world.cook in set(anon.datasets()["id"])
        q = """query($ds: ID!, $after: String) { neurons(dataset: $ds, first: 100, after: $after)
          { edges { node { id outDegree } } pageInfo { hasNextPage endCursor } } }"""
        want = paged(world, None, "neurons", q, ds=world.cook)
        got = anon.fetch_neurons(world.cook)
        assert got["id"].tolist() == [n["id"] for n in want]
        assert got["out_degree"].tolist() == [n["outDegree"] for n in want]
        rows = paged(
            world, None, "connections", CONNECTIONS, ds=world.cook, pre=["AVAL"], post=None, w=1
        )
        adj = anon.fetch_adjacencies(world.cook, sources=["AVAL"])
        assert adj.to_dict("records") == [
            {"pre": r["pre"], "post": r["post"], "weight": r["synapseCount"]} for r in rows
        ]
        stats = raw(
            "query($ds: ID!) { networkStatistics(dataset: $ds) { connections reciprocity } }",
            ds=world.cook,
        )["networkStatistics"]
        s = anon.network_statistics(world.cook)
        assert (s["connections"], s["reciprocity"]) == (stats["connections"], stats["reciprocity"])
        anon.close()
    finally:
        driver.execute_query(SET_VISIBILITY, dataset=world.cook, visibility="private")


def test_export_to_a_file(world: World, alice: Client, tmp_path: Path) -> None:
    out = alice.export(world.cook, tmp_path / "cook.arrow", table="connections", min_weight=3)
    with pa.memory_map(str(out)) as src:
        table = ipc.open_stream(src).read_all()
    chem = table.filter(pc.equal(table["kind"], "chemical"))
    adj = alice.fetch_adjacencies(world.cook, min_weight=3)
    assert chem["pre"].to_pylist() == adj["pre"].tolist()
    assert chem["post"].to_pylist() == adj["post"].tolist()
    assert chem["synapse_count"].to_pylist() == adj["weight"].tolist()
    with Client(world.url, world.tokens["bob"]) as bob:
        with pytest.raises(ClientError) as e:
            bob.export(world.cook, tmp_path / "no.zip")
        assert e.value.code == "NOT_FOUND" and e.value.status == 404
        with pytest.raises(ClientError) as e:
            alice.export(world.cook, tmp_path / "bad.zip", format="xlsx")
        assert e.value.code == "BAD_INPUT"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cook.arrow"]  # nothing half-written


def test_an_export_cut_short_leaves_no_file(tmp_path: Path) -> None:
    """A transfer that breaks after its first bytes raises, and neither the file nor its
    partial twin is left (no server needed: the transport breaks on purpose)."""

    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b"PK\x03\x04" + b"x" * 4096
            raise httpx.ReadError("connection reset")

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/export/datasets/ds"
        return httpx.Response(200, stream=Broken())

    c = Client("http://server.invalid")
    c._http = httpx.Client(base_url=c.url, transport=httpx.MockTransport(handler))
    with pytest.raises(ClientError) as e:
        c.export("ds", tmp_path / "ds.arrow.zip")
    assert e.value.code == "UNAVAILABLE" and "connection reset" in e.value.message
    assert list(tmp_path.iterdir()) == []
