"""Error codes, limits and query counts of the running API."""

from __future__ import annotations

import logging

import pytest

from tests.world import World

PAGE = """query($ds: ID!, $first: Int!) {
  neurons(dataset: $ds, first: $first) { edges { node { id
    upstream(first: 5) { edges { node { synapseCount neuron { id name } } } }
    downstream(first: 5) { edges { node { synapseCount neuron { id } } } }
    gapJunctions(first: 3) { edges { count partner { id } } }
    synapses(first: 2) { edges { node { id } } }
    annotations { key value } } } } }"""


@pytest.mark.parametrize("who", ["victor", None])
def test_a_page_with_partners_takes_a_constant_number_of_queries(
    world: World, who: str | None
) -> None:
    if who is None:
        world.client("alice")(
            "mutation($ds: ID!) { setDatasetVisibility(dataset: $ds, visibility: PUBLIC) { id } }",
            ds=world.cook,
        )
    try:
        c = world.client(who)
        counts = {}
        for first in (1, 10, 100, 300):
            data = c(PAGE, ds=world.cook, first=first)
            assert len(data["neurons"]["edges"]) == first
            counts[first] = c.last_queries
        # auth (when signed in) + access check + page + upstream + downstream + gap
        # junctions + synapses + annotations
        assert set(counts.values()) == {7 + (who is not None)}, counts
    finally:
        if who is None:
            world.client("alice")(
                "mutation($ds: ID!) { setDatasetVisibility(dataset: $ds, visibility: PRIVATE) { id } }",
                ds=world.cook,
            )


def test_two_datasets_in_one_request_are_checked_separately(world: World) -> None:
    c = world.client("victor")
    r = c.raw(
        'query($ds: ID!) { a: neuron(dataset: $ds, id: "AVAL") { id } '
        'b: neuron(dataset: "t_nowhere", id: "AVAL") { id } }',
        {"ds": world.cook},
    ).json()
    assert r["data"] is None  # a failed non-null field nulls the whole answer
    assert [(e["path"], e["extensions"]["code"]) for e in r["errors"]] == [(["b"], "NOT_FOUND")]


def test_page_size_and_argument_limits(world: World, settings) -> None:
    c = world.client("victor")
    code, msg = c.error(PAGE, ds=world.cook, first=settings.max_page_size + 1)
    assert code == "BAD_INPUT" and str(settings.max_page_size) in msg
    code, _ = c.error(
        'query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") { upstream(minWeight: 0) { edges { cursor } } } }',
        ds=world.cook,
    )
    assert code == "BAD_INPUT"
    code, _ = c.error(
        'query($ds: ID!) { paths(dataset: $ds, source: "ASHL", target: "AVAL", maxHops: 9) { hops } }',
        ds=world.cook,
    )
    assert code == "BAD_INPUT"
    code, _ = c.error(
        'query($ds: ID!) { neurons(dataset: $ds, after: "!!!") { edges { cursor } } }',
        ds=world.cook,
    )
    assert code == "BAD_INPUT"
    code, _ = c.error(
        'query($ds: ID!) { paths(dataset: $ds, source: "NOPE", target: "AVAL") { hops } }',
        ds=world.cook,
    )
    assert code == "NOT_FOUND"


def test_syntax_validation_and_depth_errors_are_bad_input(world: World, settings) -> None:
    c = world.client("victor")
    assert c.error("{ datasets { id ")[0] == "BAD_INPUT"
    assert c.error("{ datasets { nope } }")[0] == "BAD_INPUT"
    deep = "upstream { edges { node { neuron { " * 4
    q = (
        'query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") { '
        + deep
        + "id"
        + " } } } }" * 4
        + " } }"
    )
    code, msg = c.error(q, ds=world.cook)
    assert code == "BAD_INPUT" and "depth" in msg


def test_too_many_tokens_are_refused(world: World, settings) -> None:
    fields = " ".join(f"a{i}: datasets {{ id }}" for i in range(settings.max_query_tokens // 4))
    code, _ = world.client("victor").error("{ " + fields + " }")
    assert code == "BAD_INPUT"


def test_internal_errors_are_masked_and_logged(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    """A failure that is not ours reaches the client as INTERNAL, without its message."""
    from connectomedb.service import aggregates

    async def broken(self, *a, **k):
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(aggregates.Aggregates, "cell_type_connectivity", broken)
    with caplog.at_level(logging.ERROR, logger="connectomedb.api"):
        r = (
            world.client("victor")
            .raw(
                "query($ds: ID!) { cellTypeConnectivity(dataset: $ds) { level } }",
                {"ds": world.cook},
            )
            .json()
        )
    e = r["errors"][0]
    assert e["extensions"]["code"] == "INTERNAL" and "hunter2" not in str(r)
    assert any("cellTypeConnectivity" in rec.getMessage() for rec in caplog.records)


def test_health_checks_neo4j(world: World) -> None:
    import httpx

    r = httpx.get(f"{world.url}/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "neo4j": "up"}


def test_more_argument_limits(world: World, settings) -> None:
    c = world.client("victor")
    code, msg = c.error(
        'query($ds: ID!) { paths(dataset: $ds, source: "AVAL", target: "AVAL") { hops } }',
        ds=world.cook,
    )
    assert code == "BAD_INPUT" and "different" in msg
    import base64

    # a partner cursor whose synapse count is past Neo4j's 64-bit integers
    huge = base64.urlsafe_b64encode(b"u:[" + b"9" * 24 + b', "AVAL"]').decode()
    code, _ = c.error(
        'query($ds: ID!, $a: String) { neuron(dataset: $ds, id: "AVAL") { upstream(after: $a) { edges { cursor } } } }',
        ds=world.cook,
        a=huge,
    )
    assert code == "BAD_INPUT"
    aliases = " ".join(f"a{i}: datasets {{ id }}" for i in range(settings.max_query_aliases + 1))
    code, msg = c.error("{ " + aliases + " }")
    assert code == "BAD_INPUT" and "alias" in msg.lower()
    too_many = [f"n{i}" for i in range(settings.max_page_size + 1)]
    code, _ = c.error(
        "query($ds: ID!, $p: [ID!]) { connections(dataset: $ds, pre: $p) { edges { cursor } } }",
        ds=world.cook,
        p=too_many,
    )
    assert code == "BAD_INPUT"
    code, _ = c.error(
        "query($ds: ID!, $f: NeuronFilterInput) { neurons(dataset: $ds, filter: $f) { edges { cursor } } }",
        ds=world.cook,
        f={"ids": too_many},
    )
    assert code == "BAD_INPUT"


def test_rest_errors_are_coded(world: World) -> None:
    import httpx

    h = {"Authorization": f"Bearer {world.tokens['victor']}"}
    base = f"{world.url}/rest/datasets/{world.cook}/neurons"
    for url in (f"{base}?first=-1", f"{base}/AVAL/upstream?min_weight=0", f"{base}?first=x"):
        r = httpx.get(url, headers=h)
        assert (
            r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
        ), url
    r = httpx.get(f"{base}/NOPE", headers=h)
    assert r.status_code == 404 and r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
