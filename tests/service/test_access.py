"""Sharing and isolation over real HTTP: a user of lab B can neither read nor change lab
A's private dataset, and cannot tell it from a dataset that does not exist."""

from __future__ import annotations

import pytest

from tests.world import Client, World

GHOST = "t_no_such_dataset"

#: Every query and mutation that names a dataset, as (name, text with $ds).
DATASET_OPERATIONS = {
    "dataset": "query($ds: ID!) { dataset(id: $ds) { id } }",
    "neurons": "query($ds: ID!) { neurons(dataset: $ds, first: 1) { edges { node { id } } } }",
    "neuron": 'query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") { id } }',
    "connections": "query($ds: ID!) { connections(dataset: $ds, first: 1) { edges { node { pre } } } }",
    "paths": 'query($ds: ID!) { paths(dataset: $ds, source: "ASHL", target: "AVAL") { hops } }',
    "cellTypeConnectivity": "query($ds: ID!) { cellTypeConnectivity(dataset: $ds) { level } }",
    "networkStatistics": "query($ds: ID!) { networkStatistics(dataset: $ds) { neurons } }",
    "reciprocityByGroup": "query($ds: ID!) { reciprocityByGroup(dataset: $ds) { level } }",
    "feedForwardLoops": "query($ds: ID!) { feedForwardLoops(dataset: $ds, samples: 1) { observed } }",
    "motifSearch": 'query($ds: ID!) { motifSearch(dataset: $ds, motif: "A -> B", countOnly: true) { count } }',
    "motifCensus": "query($ds: ID!) { motifCensus(dataset: $ds, nullModel: ERDOS_RENYI, samples: 1) { neurons } }",
    "shareDataset": "mutation($ds: ID!, $lab: ID!) { shareDataset(dataset: $ds, lab: $lab) { id } }",
    "unshareDataset": "mutation($ds: ID!, $lab: ID!) { unshareDataset(dataset: $ds, lab: $lab) { id } }",
    "setDatasetVisibility": "mutation($ds: ID!) { setDatasetVisibility(dataset: $ds, visibility: PUBLIC) { id } }",
    "annotateNeuron": 'mutation($ds: ID!) { annotateNeuron(dataset: $ds, neuron: "AVAL", key: "note", value: "x") { id } }',
    "jobs": "query($ds: ID!) { jobs(dataset: $ds) { edges { node { id } } } }",
    "schedules": "query($ds: ID!) { schedules(dataset: $ds) { id } }",
    "modelRuns": "query($ds: ID!) { modelRuns(dataset: $ds) { edges { node { id } } } }",
    "submitJob": 'mutation($ds: ID!) { submitJob(dataset: $ds, kind: PROBE, queue: "nobody") { id } }',
    "createSchedule": 'mutation($ds: ID!) { createSchedule(dataset: $ds, kind: PROBE, cron: "0 3 * * *") { id } }',
}


def _answer(c: Client, text: str, ds: str, lab: str) -> tuple[int, dict]:
    variables = {"ds": ds}
    if "$lab" in text:
        variables["lab"] = lab
    r = c.raw(text, variables)
    body = r.json()
    for e in body.get("errors", []):
        e.pop("locations", None)
        e["message"] = e["message"].replace(ds, "<ds>")
    return r.status_code, body


@pytest.mark.parametrize("op", list(DATASET_OPERATIONS))
@pytest.mark.parametrize("who", ["bob", "dave", None])
def test_outsiders_cannot_tell_a_private_dataset_from_none(
    world: World, op: str, who: str | None
) -> None:
    c = world.client(who)
    text = DATASET_OPERATIONS[op]
    private = _answer(c, text, world.cook, world.lab_b)
    ghost = _answer(c, text, GHOST, world.lab_b)
    assert private == ghost
    status, body = private
    assert body["data"] is None
    code = body["errors"][0]["extensions"]["code"]
    if who is None and op in (
        "shareDataset",
        "unshareDataset",
        "setDatasetVisibility",
        "annotateNeuron",
        "submitJob",
        "createSchedule",
    ):
        assert code == "UNAUTHENTICATED"
    else:
        assert code == "NOT_FOUND"


def test_outsiders_do_not_see_it_listed(world: World) -> None:
    for who in ("bob", "dave", None):
        ids = {d["id"] for d in world.client(who)("{ datasets { id } }")["datasets"]}
        assert world.cook not in ids
    for who in ("alice", "carol", "victor", "admin"):
        ids = {d["id"] for d in world.client(who)("{ datasets { id } }")["datasets"]}
        assert world.cook in ids


def test_members_read_but_only_lab_admins_share(world: World) -> None:
    op = DATASET_OPERATIONS["shareDataset"]
    for who in ("carol", "victor"):
        code, _ = world.client(who).error(op, ds=world.cook, lab=world.lab_b)
        assert code == "FORBIDDEN"
    assert world.client("victor")(DATASET_OPERATIONS["neurons"], ds=world.cook)["neurons"]["edges"]


def test_sharing_with_a_lab_and_taking_it_back(world: World) -> None:
    alice, bob = world.client("alice"), world.client("bob")
    neuron = DATASET_OPERATIONS["neuron"]
    assert bob.error(neuron, ds=world.cook)[0] == "NOT_FOUND"
    shared = alice(DATASET_OPERATIONS["shareDataset"], ds=world.cook, lab=world.lab_b)
    assert shared["shareDataset"]["id"] == world.cook
    try:
        assert bob(neuron, ds=world.cook)["neuron"]["id"] == "AVAL"
        # sharing lets bob read, not manage: bob is admin of lab B, not of the owner lab
        code, _ = bob.error(DATASET_OPERATIONS["setDatasetVisibility"], ds=world.cook)
        assert code == "FORBIDDEN"
        # dave is an editor of lab B: annotating a dataset shared with lab B is allowed
        dave = world.client("dave")
        ann = dave(DATASET_OPERATIONS["annotateNeuron"], ds=world.cook)
        assert ann["annotateNeuron"]["id"]
    finally:
        alice(DATASET_OPERATIONS["unshareDataset"], ds=world.cook, lab=world.lab_b)
    assert bob.error(neuron, ds=world.cook)[0] == "NOT_FOUND"


def test_public_visibility_opens_reading_to_everyone_only(world: World) -> None:
    alice, anon = world.client("alice"), world.client(None)
    neuron = DATASET_OPERATIONS["neuron"]
    assert anon.error(neuron, ds=world.cook)[0] == "NOT_FOUND"
    alice(DATASET_OPERATIONS["setDatasetVisibility"], ds=world.cook)
    try:
        assert anon(neuron, ds=world.cook)["neuron"]["id"] == "AVAL"
        assert world.client("bob")(neuron, ds=world.cook)["neuron"]["id"] == "AVAL"
        # public is read-only for outsiders
        assert (
            world.client("bob").error(DATASET_OPERATIONS["annotateNeuron"], ds=world.cook)[0]
            == "FORBIDDEN"
        )
        assert (
            anon.error(DATASET_OPERATIONS["annotateNeuron"], ds=world.cook)[0] == "UNAUTHENTICATED"
        )
    finally:
        alice(
            "mutation($ds: ID!) { setDatasetVisibility(dataset: $ds, visibility: PRIVATE) { visibility } }",
            ds=world.cook,
        )
    assert anon.error(neuron, ds=world.cook)[0] == "NOT_FOUND"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nonsense",
        "Bearer cdb_0123456789abcdef_" + "A" * 43,  # well formed, unknown
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "cdb_0123456789abcdef_" + "A" * 43,
    ],
)
def test_malformed_and_unknown_tokens_are_refused(world: World, header: str) -> None:
    r = Client(world.url).raw("{ datasets { id } }", Authorization=header)
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_revoked_token_is_refused(world: World) -> None:
    alice = world.client("alice")
    new = alice('mutation { createApiToken(name: "laptop") { id token user } }')["createApiToken"]
    assert new["user"] == world.users["alice"]
    mine = Client(world.url, new["token"])
    assert mine("{ me { id } }")["me"]["id"] == world.users["alice"]
    # another user cannot revoke it, and learns nothing about it
    code, _ = world.client("bob").error(
        "mutation($id: ID!) { revokeApiToken(id: $id) { id } }", id=new["id"]
    )
    assert code == "NOT_FOUND"
    assert mine("{ me { id } }")["me"]["id"] == world.users["alice"]
    revoked = alice("mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }", id=new["id"])
    assert revoked["revokeApiToken"]["revokedAt"]
    r = mine.raw("{ me { id } }")
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_stored_tokens_are_hashed(world: World, driver) -> None:
    recs, _, _ = driver.execute_query(
        "MATCH (:User {id: $u})-[:HAS_TOKEN]->(t:ApiToken) RETURN t {.*} AS t",
        u=world.users["alice"],
    )
    import hashlib

    tid, secret = world.tokens["alice"].removeprefix("cdb_").split("_", 1)
    stored = {r["t"]["id"]: r["t"] for r in recs}
    assert stored[tid]["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    for t in stored.values():
        assert all(secret not in str(v) for v in t.values())


def test_lab_administration_rules(world: World) -> None:
    bob, alice, admin = world.client("bob"), world.client("alice"), world.client("admin")
    add = "mutation($lab: ID!, $u: ID!, $r: Role!) { addMember(lab: $lab, user: $u, role: $r) { members { user role } } }"
    # bob administers lab B, not lab A, and learns nothing about lab A
    assert bob.error(add, lab=world.lab_a, u=world.users["bob"], r="ADMIN")[0] == "NOT_FOUND"
    assert (
        world.client("carol").error(add, lab=world.lab_a, u=world.users["bob"], r="ADMIN")[0]
        == "FORBIDDEN"
    )
    lab = alice(add, lab=world.lab_a, u=world.users["dave"], r="VIEWER")["addMember"]
    assert {"user": world.users["dave"], "role": "VIEWER"} in lab["members"]
    removed = alice(
        "mutation($lab: ID!, $u: ID!) { removeMember(lab: $lab, user: $u) { members { user } } }",
        lab=world.lab_a,
        u=world.users["dave"],
    )["removeMember"]
    assert world.users["dave"] not in {m["user"] for m in removed["members"]}
    # only site admins create labs and users
    assert alice.error('mutation { createLab(id: "t_lab_nope") { id } }')[0] == "FORBIDDEN"
    assert (
        world.client(None).error('mutation { createLab(id: "t_lab_nope") { id } }')[0]
        == "UNAUTHENTICATED"
    )
    lab_id = f"{world.lab_a}_new"
    made = admin(
        'mutation($id: ID!) { createLab(id: $id, name: "New") { id members { user role } } }',
        id=lab_id,
    )
    assert made["createLab"]["members"] == [{"user": world.users["admin"], "role": "ADMIN"}]
    assert (
        admin.error("mutation($id: ID!) { createLab(id: $id) { id } }", id=lab_id)[0] == "BAD_INPUT"
    )
    assert admin.error('mutation { createLab(id: "bad id!") { id } }')[0] == "BAD_INPUT"


@pytest.mark.parametrize(
    "path", ["/neurons/AVAL", "/neurons/AVAL/upstream", "/neurons/AVAL/downstream", "/neurons"]
)
def test_rest_mirror_applies_the_same_access_rules(world: World, path: str) -> None:
    import httpx

    def get(ds: str, who: str | None) -> httpx.Response:
        h = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
        return httpx.get(f"{world.url}/rest/datasets/{ds}{path}", headers=h)

    assert get(world.cook, "victor").status_code == 200
    for who in ("bob", None):
        private, ghost = get(world.cook, who), get(GHOST, who)
        assert private.status_code == ghost.status_code == 404
        assert private.json()["errors"][0]["message"].replace(world.cook, "x") == ghost.json()[
            "errors"
        ][0]["message"].replace(GHOST, "x")


def test_rest_partners_equal_graphql_partners(world: World) -> None:
    import httpx

    h = {"Authorization": f"Bearer {world.tokens['victor']}"}
    rest = httpx.get(
        f"{world.url}/rest/datasets/{world.cook}/neurons/AVAL/upstream?first=10", headers=h
    ).json()
    gql = world.client("victor")(
        'query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") { upstream(first: 10) { edges { node { synapseCount neuron { id } } } } } }',
        ds=world.cook,
    )
    assert [(p["cell"]["id"], p["synapse_count"]) for p in rest["upstream"]] == [
        (e["node"]["neuron"]["id"], e["node"]["synapseCount"])
        for e in gql["neuron"]["upstream"]["edges"]
    ]
    assert rest["neuron"]["id"] == "AVAL"


def test_labs_users_and_tokens_of_others_are_out_of_reach(world: World) -> None:
    bob, alice, anon = world.client("bob"), world.client("alice"), world.client(None)
    lab_q = "query($id: ID!) { lab(id: $id) { id members { user } } }"
    # a lab you are not in answers like a lab that does not exist
    assert bob.error(lab_q, id=world.lab_a)[1].replace(world.lab_a, "x") == bob.error(
        lab_q, id="t_no_lab"
    )[1].replace("t_no_lab", "x")
    assert bob.error(lab_q, id=world.lab_a)[0] == "NOT_FOUND"
    assert anon.error(lab_q, id=world.lab_a)[0] == "NOT_FOUND"
    assert {m["user"] for m in alice(lab_q, id=world.lab_a)["lab"]["members"]} >= {
        world.users["alice"],
        world.users["carol"],
    }
    # me: anonymous is null; a user sees their own labs only
    assert anon("{ me { id } }")["me"] is None
    me = bob("{ me { id labs { lab role } } }")["me"]
    assert me == {"id": world.users["bob"], "labs": [{"lab": world.lab_b, "role": "ADMIN"}]}
    # only site admins create users or tokens for someone else
    create_user = 'mutation { createUser(id: "t_intruder") { id } }'
    assert bob.error(create_user)[0] == "FORBIDDEN"
    assert anon.error(create_user)[0] == "UNAUTHENTICATED"
    other_token = 'mutation($u: ID!) { createApiToken(name: "x", user: $u) { token } }'
    assert bob.error(other_token, u=world.users["alice"])[0] == "FORBIDDEN"
    assert anon.error('mutation { createApiToken(name: "x") { token } }')[0] == "UNAUTHENTICATED"
    # removing members of a lab you do not administer
    remove = "mutation($lab: ID!, $u: ID!) { removeMember(lab: $lab, user: $u) { id } }"
    assert bob.error(remove, lab=world.lab_a, u=world.users["carol"])[0] == "NOT_FOUND"
    assert (
        world.client("carol").error(remove, lab=world.lab_a, u=world.users["victor"])[0]
        == "FORBIDDEN"
    )
    assert anon.error(remove, lab=world.lab_a, u=world.users["carol"])[0] == "UNAUTHENTICATED"
    # and nothing changed
    assert {m["user"] for m in alice(lab_q, id=world.lab_a)["lab"]["members"]} >= {
        world.users["carol"],
        world.users["victor"],
    }


def test_lab_ids_are_shown_only_to_those_labs(world: World) -> None:
    alice, bob = world.client("alice"), world.client("bob")
    q = "query($ds: ID!) { dataset(id: $ds) { ownerLab sharedWith } }"
    assert alice(q, ds=world.cook)["dataset"] == {"ownerLab": world.lab_a, "sharedWith": []}
    alice(DATASET_OPERATIONS["shareDataset"], ds=world.cook, lab=world.lab_b)
    alice(DATASET_OPERATIONS["setDatasetVisibility"], ds=world.cook)
    try:
        assert alice(q, ds=world.cook)["dataset"] == {
            "ownerLab": world.lab_a,
            "sharedWith": [world.lab_b],
        }
        # a lab it is shared with sees the owner, not who else it is shared with
        assert bob(q, ds=world.cook)["dataset"] == {"ownerLab": world.lab_a, "sharedWith": []}
        # the public sees neither
        assert world.client(None)(q, ds=world.cook)["dataset"] == {
            "ownerLab": None,
            "sharedWith": [],
        }
    finally:
        alice(
            "mutation($ds: ID!) { setDatasetVisibility(dataset: $ds, visibility: PRIVATE) { id } }",
            ds=world.cook,
        )
        alice(DATASET_OPERATIONS["unshareDataset"], ds=world.cook, lab=world.lab_b)
