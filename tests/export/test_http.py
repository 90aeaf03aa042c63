"""GET /export/datasets/{dataset} over real HTTP against the live API: the owner lab gets
the bytes; an outsider and an anonymous caller get the 404 of a missing dataset."""

from __future__ import annotations

import io
import zipfile

import httpx
import networkx as nx
import pyarrow as pa

from tests.world import World


def get(world: World, who: str | None, dataset: str, **params: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
    return httpx.get(
        f"{world.url}/export/datasets/{dataset}", params=params, headers=headers, timeout=120
    )


def test_the_owner_lab_gets_an_arrow_archive(world: World) -> None:
    r = get(world, "victor", world.cook, format="arrow")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == f'attachment; filename="{world.cook}.arrow.zip"'
    z = zipfile.ZipFile(io.BytesIO(r.content))
    neurons = pa.ipc.open_stream(z.read("neurons.arrow")).read_all()
    conns = pa.ipc.open_stream(z.read("connections.arrow")).read_all()
    assert (neurons.num_rows, conns.num_rows) == (473, 4879 + 1450)


def test_one_table_streams_as_bare_arrow_ipc(world: World) -> None:
    with httpx.stream(
        "GET",
        f"{world.url}/export/datasets/{world.cook}",
        params={"format": "arrow", "table": "connections", "min_weight": 5},
        headers={"Authorization": f"Bearer {world.tokens['alice']}"},
        timeout=120,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/vnd.apache.arrow.stream"
        data = b"".join(r.iter_bytes())
    t = pa.ipc.open_stream(data).read_all()
    assert 0 < t.num_rows < 4879 + 1450
    assert min(t.column("synapse_count").to_pylist()) == 5


def test_outsiders_and_anonymous_callers_see_no_such_dataset(world: World) -> None:
    missing = get(world, "alice", "t_no_such_dataset")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for who in ("bob", None):
        r = get(world, who, world.cook, format="neuprint")
        assert r.status_code == 404
        assert r.json() == {
            "data": None,
            "errors": [
                {
                    "message": f"dataset {world.cook!r} not found",
                    "extensions": {"code": "NOT_FOUND"},
                }
            ],
        }


def test_bad_parameters_answer_400_before_any_byte(world: World) -> None:
    for params in (
        {"format": "csv"},
        {"format": "codex", "synapses": "true"},
        {"level": "colour", "values": "red"},
        {"min_weight": 0},
    ):
        r = get(world, "alice", world.cook, **params)
        assert r.status_code == 400, params
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"


def test_a_subgraph_as_graphml(world: World) -> None:
    r = get(world, "alice", world.cook, format="graphml", ids=["AVAL", "AVAR", "AVBL"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/graphml+xml")
    g = nx.read_graphml(io.BytesIO(r.content))
    assert sorted(g.nodes) == ["AVAL", "AVAR", "AVBL"]
