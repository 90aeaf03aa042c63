"""Accounts over HTTP: failed sign-ins rate-limited per client, tokens that expire or
may only read, and the audit log of every change that lab admins read."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from connectomedb.settings import Settings
from tests.world import Client, LiveServer, World

ME = "{ me { id tokens { id expiresAt readOnly } } }"
DATASET = "query($ds: ID!) { dataset(id: $ds) { id } }"
ANNOTATE = """mutation($ds: ID!, $n: ID!, $k: String!, $v: String!) {
  annotateNeuron(dataset: $ds, neuron: $n, key: $k, value: $v) { id } }"""
NEW_TOKEN = """mutation($days: Float, $ro: Boolean!) {
  createApiToken(name: "t", expiresInDays: $days, readOnly: $ro) {
    id token expiresAt readOnly } }"""
LOG = """query($lab: ID, $user: ID, $action: String, $first: Int!, $after: String) {
  auditLog(lab: $lab, user: $user, action: $action, first: $first, after: $after) {
    events { id at user token action arguments datasets labs outcome }
    endCursor hasNextPage } }"""
DATASET_LOG = """query($ds: ID!) { datasetAuditLog(dataset: $ds, first: 50) {
  events { user action datasets outcome } } }"""
BAD = "cdb_0123456789abcdef_" + "A" * 43


def _annotations(world: World, key: str) -> list[Any]:
    q = 'query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") { annotations { key value } } }'
    rows = world.client("alice")(q, ds=world.cook)["neuron"]["annotations"]
    return [a for a in rows if a["key"] == key]


# -- failed sign-ins ------------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_client(world: World, settings: Settings) -> None:
    strict = settings.model_copy(update={"max_failed_sign_ins": 3, "failed_sign_in_window_s": 60.0})
    with LiveServer(strict) as url:
        good = Client(url, world.tokens["carol"])
        assert good(DATASET, ds=world.cook)["dataset"]["id"] == world.cook  # not counted
        for _ in range(3):
            r = Client(url, BAD).raw(DATASET, {"ds": world.cook})
            assert r.status_code == 401
            assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # the fourth attempt is refused before its token is looked at, a good one included
        r = good.raw(DATASET, {"ds": world.cook})
        assert r.status_code == 429
        err = r.json()["errors"][0]
        assert err["extensions"]["code"] == "RATE_LIMITED"
        assert "too many failed sign-ins" in err["message"]
        # the oldest failure is seconds old: it leaves the 60 s window in nearly 60 s
        assert 45 <= int(r.headers["retry-after"]) <= 60
        auth = {"Authorization": f"Bearer {world.tokens['carol']}"}
        rest = httpx.get(f"{url}/rest/datasets/{world.cook}/neurons", headers=auth, timeout=30)
        assert rest.status_code == 429
        page = httpx.get(f"{url}/dashboard/datasets", headers=auth, timeout=30)
        assert page.status_code == 429
        # anonymous requests need no sign-in and are still answered
        anon = Client(url).raw("{ datasets { id } }")
        assert anon.status_code == 200 and "errors" not in anon.json()


# -- token expiry and scope --------------------------------------------------------------


def test_a_token_stops_working_when_it_expires(world: World) -> None:
    carol = world.client("carol")
    t = carol(NEW_TOKEN, days=8 / 86400, ro=False)["createApiToken"]
    assert t["expiresAt"] is not None and not t["readOnly"]
    mine = {x["id"]: x for x in carol(ME)["me"]["tokens"]}
    assert mine[t["id"]]["expiresAt"] == t["expiresAt"]
    short = Client(world.url, t["token"])
    assert short(ME)["me"]["id"] == world.users["carol"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = short.raw(ME).json()
        if "errors" in r:
            break
        time.sleep(0.25)
    assert r["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", r
    assert "expired" in r["errors"][0]["message"]


def test_token_lifetimes_are_checked(world: World) -> None:
    carol = world.client("carol")
    for days in (0, -1, 4000):
        code, message = carol.error(NEW_TOKEN, days=days, ro=False)
        assert code == "BAD_INPUT" and "lifetime" in message


def test_a_read_only_token_reads_and_changes_nothing(world: World) -> None:
    t = world.client("carol")(NEW_TOKEN, days=None, ro=True)["createApiToken"]
    assert t["readOnly"] and t["expiresAt"] is None
    ro = Client(world.url, t["token"])
    assert ro(DATASET, ds=world.cook)["dataset"]["id"] == world.cook
    assert ro(ME)["me"]["id"] == world.users["carol"]
    before = _annotations(world, "ro_probe")
    submit = """mutation($ds: ID!) { submitJob(dataset: $ds, kind: ANOMALY) { id } }"""
    for query, variables in (
        (ANNOTATE, {"ds": world.cook, "n": "AVAL", "k": "ro_probe", "v": "x"}),
        (NEW_TOKEN, {"days": None, "ro": False}),
        (submit, {"ds": world.cook}),
    ):
        code, message = ro.error(query, **variables)
        assert code == "FORBIDDEN" and "read-only" in message
    assert _annotations(world, "ro_probe") == before
    # the refusal is in the audit log, with the read-only token's id
    events = world.client("alice")(
        LOG, lab=world.lab_a, user=world.users["carol"], action="annotateNeuron", first=5,
        after=None,
    )["auditLog"]["events"]  # fmt: skip
    refused = [e for e in events if e["token"] == t["id"]]
    assert refused and refused[0]["outcome"] == "FORBIDDEN"


# -- the audit log -----------------------------------------------------------------------


def test_every_change_is_in_the_audit_log_for_the_lab_admins(world: World) -> None:
    carol, victor = world.client("carol"), world.client("victor")
    value = f"audited {time.time_ns()}"
    carol(ANNOTATE, ds=world.cook, n="AVAL", k="audit_probe", v=value)
    assert victor.error(ANNOTATE, ds=world.cook, n="AVAL", k="audit_probe", v="no")[0] == (
        "FORBIDDEN"
    )
    alice = world.client("alice")  # admin of the owner lab
    page = alice(LOG, lab=world.lab_a, user=None, action="annotateNeuron", first=50, after=None)
    events = page["auditLog"]["events"]
    ours = [e for e in events if value in e["arguments"]]
    assert len(ours) == 1
    e = ours[0]
    assert e["user"] == world.users["carol"]
    assert e["outcome"] == "OK" and e["datasets"] == [world.cook]
    assert world.lab_a in e["labs"]
    assert json.loads(e["arguments"]) == {
        "dataset": world.cook, "neuron": "AVAL", "key": "audit_probe", "value": value,
    }  # fmt: skip
    refused = [x for x in events if x["user"] == world.users["victor"]]
    assert refused and refused[0]["outcome"] == "FORBIDDEN"
    # newest first
    ats = [x["at"] for x in events]
    assert ats == sorted(ats, reverse=True)

    # the dataset's own log, for the admins of its owner lab
    by_ds = alice(DATASET_LOG, ds=world.cook)["datasetAuditLog"]["events"]
    assert any(x["user"] == world.users["carol"] for x in by_ds)
    assert all(world.cook in x["datasets"] for x in by_ds)
    assert carol.error(DATASET_LOG, ds=world.cook)[0] == "FORBIDDEN"  # an editor
    assert world.client("bob").error(DATASET_LOG, ds=world.cook)[0] == "NOT_FOUND"  # outsider

    # the lab's log: members who are not admins are refused, outsiders learn nothing
    args = {"lab": world.lab_a, "user": None, "action": None, "first": 5, "after": None}
    assert victor.error(LOG, **args)[0] == "FORBIDDEN"
    assert world.client("bob").error(LOG, **args)[0] == "NOT_FOUND"
    assert Client(world.url).error(LOG, **args)[0] == "UNAUTHENTICATED"
    # another lab's admin does not see lab A's changes, only those that name lab B (such
    # as sharing lab A's dataset with it); the role is written as the API names it
    add = """mutation($lab: ID!, $u: ID!) { addMember(lab: $lab, user: $u, role: EDITOR) { id } }"""
    world.client("bob")(add, lab=world.lab_b, u=world.users["dave"])
    b = world.client("bob")(LOG, **{**args, "lab": world.lab_b})["auditLog"]["events"]
    assert b and all(world.lab_b in x["labs"] for x in b)  # each names lab B
    assert not [x for x in b if value in x["arguments"]]  # carol's change to lab A's data
    assert b[0]["action"] == "addMember" and json.loads(b[0]["arguments"])["role"] == "editor"


def test_mutations_in_fragments_are_audited_and_skipped_ones_are_not(world: World) -> None:
    carol = world.client("carol")
    value = f"fragment {time.time_ns()}"
    doc = """mutation($ds: ID!, $v: String!, $no: Boolean!) {
      ...F
      ... on Mutation { inline: annotateNeuron(dataset: $ds, neuron: "AVAL", key: "frag_b",
                                               value: $v) { id } }
      skipped: annotateNeuron(dataset: $ds, neuron: "AVAL", key: "frag_c", value: $v)
        @skip(if: $no) { id } }
    fragment F on Mutation {
      annotateNeuron(dataset: $ds, neuron: "AVAL", key: "frag_a", value: $v) { id } }"""
    data = carol(doc, ds=world.cook, v=value, no=True)
    assert set(data) == {"annotateNeuron", "inline"}
    events = world.client("alice")(
        LOG, lab=world.lab_a, user=world.users["carol"], action="annotateNeuron", first=20,
        after=None,
    )["auditLog"]["events"]  # fmt: skip
    keys = sorted(json.loads(e["arguments"])["key"] for e in events if value in e["arguments"])
    assert keys == ["frag_a", "frag_b"]


def test_a_probe_of_a_hidden_dataset_does_not_reveal_its_owner(world: World) -> None:
    bob = world.client("bob")  # an outsider to the private Cook dataset
    value = f"probe {time.time_ns()}"
    code, _ = bob.error(ANNOTATE, ds=world.cook, n="AVAL", k="probe", v=value)
    assert code == "NOT_FOUND"
    mine = bob(LOG, lab=None, user=None, action="annotateNeuron", first=20, after=None)
    probe = [e for e in mine["auditLog"]["events"] if value in e["arguments"]]
    assert len(probe) == 1 and probe[0]["outcome"] == "NOT_FOUND"
    assert probe[0]["labs"] == []  # not lab A, which owns it
    # while the owner lab's admin sees the probe, and their lab on it
    seen = world.client("alice")(
        LOG, lab=world.lab_a, user=world.users["bob"], action=None, first=20, after=None
    )["auditLog"]["events"]
    theirs = [e for e in seen if value in e["arguments"]]
    assert len(theirs) == 1 and theirs[0]["labs"] == [world.lab_a]


def test_variables_of_the_wrong_type_are_bad_input(world: World) -> None:
    code, _ = world.client("carol").error(ANNOTATE, ds=world.cook, n="AVAL", k=5, v="x")
    assert code == "BAD_INPUT"


def test_a_token_made_with_an_expiring_token_expires_no_later(world: World) -> None:
    short = world.client("carol")(NEW_TOKEN, days=1.0, ro=False)["createApiToken"]
    child = Client(world.url, short["token"])(NEW_TOKEN, days=30.0, ro=False)["createApiToken"]
    assert child["expiresAt"] == short["expiresAt"]
    forever = Client(world.url, short["token"])(NEW_TOKEN, days=None, ro=False)
    assert forever["createApiToken"]["expiresAt"] == short["expiresAt"]


def test_users_read_their_own_changes_and_pages_follow(world: World) -> None:
    carol = world.client("carol")
    for i in range(4):
        carol(ANNOTATE, ds=world.cook, n="AVAR", k="audit_page", v=str(i))
    own = carol(LOG, lab=None, user=None, action=None, first=100, after=None)["auditLog"]
    assert own["events"] and {e["user"] for e in own["events"]} == {world.users["carol"]}
    code, _ = carol.error(
        LOG, lab=None, user=world.users["alice"], action=None, first=5, after=None
    )
    assert code == "FORBIDDEN"
    # page by page, one event at a time: the same events as one page, in order
    seen, after = [], None
    for _ in range(3):
        p = carol(LOG, lab=None, user=None, action="annotateNeuron", first=1, after=after)
        seen += [e["id"] for e in p["auditLog"]["events"]]
        assert p["auditLog"]["hasNextPage"]
        after = p["auditLog"]["endCursor"]
    whole = carol(LOG, lab=None, user=None, action="annotateNeuron", first=3, after=None)
    assert seen == [e["id"] for e in whole["auditLog"]["events"]]
    assert [json.loads(e["arguments"])["value"] for e in whole["auditLog"]["events"]] == [
        "3", "2", "1",
    ]  # fmt: skip
    # a site admin reads everyone's
    admin = world.client("admin")
    every = admin(LOG, lab=None, user=world.users["carol"], action=None, first=5, after=None)
    assert [e["id"] for e in every["auditLog"]["events"]][:3] == [e["id"] for e in own["events"]][
        :3
    ]
