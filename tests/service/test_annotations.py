"""Annotations over HTTP: authorship, superseding, history, and no lost writes when
two users annotate the same neuron at the same time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.world import World

ANNOTATE = """mutation($ds: ID!, $n: ID!, $k: String!, $v: String!) {
  annotateNeuron(dataset: $ds, neuron: $n, key: $k, value: $v) { id key value author current } }"""

READ = """query($ds: ID!, $n: ID!, $h: Boolean!) { neuron(dataset: $ds, id: $n) {
  annotations(history: $h) { id key value author current supersededBy createdAt } } }"""


def test_newer_annotation_supersedes_and_history_stays(world: World) -> None:
    carol, alice = world.client("carol"), world.client("alice")
    first = carol(ANNOTATE, ds=world.cook, n="RIML", k="cell_type", v="RIM")["annotateNeuron"]
    assert first["author"] == world.users["carol"] and first["current"]
    second = alice(ANNOTATE, ds=world.cook, n="RIML", k="cell_type", v="RIM-left")["annotateNeuron"]
    other = carol(ANNOTATE, ds=world.cook, n="RIML", k="status", v="proofread")["annotateNeuron"]
    current = carol(READ, ds=world.cook, n="RIML", h=False)["neuron"]["annotations"]
    assert {(a["key"], a["value"], a["author"]) for a in current} == {
        ("cell_type", "RIM-left", world.users["alice"]),
        ("status", "proofread", world.users["carol"]),
    }
    history = carol(READ, ds=world.cook, n="RIML", h=True)["neuron"]["annotations"]
    by_id = {a["id"]: a for a in history}
    assert set(by_id) == {first["id"], second["id"], other["id"]}
    assert by_id[first["id"]]["supersededBy"] == second["id"]
    assert not by_id[first["id"]]["current"] and by_id[second["id"]]["current"]


def test_viewers_cannot_annotate_and_bad_keys_are_refused(world: World) -> None:
    code, _ = world.client("victor").error(ANNOTATE, ds=world.cook, n="AVAL", k="note", v="x")
    assert code == "FORBIDDEN"
    code, msg = world.client("carol").error(ANNOTATE, ds=world.cook, n="AVAL", k="bad key}", v="x")
    assert code == "BAD_INPUT" and "key" in msg
    code, _ = world.client("carol").error(ANNOTATE, ds=world.cook, n="NOPE", k="note", v="x")
    assert code == "NOT_FOUND"


def test_concurrent_annotations_lose_nothing(world: World) -> None:
    writers = {"carol": world.client("carol"), "alice": world.client("alice")}
    jobs = [(who, i) for i in range(12) for who in writers]

    def write(job: tuple[str, int]) -> str:
        who, i = job
        return writers[who](ANNOTATE, ds=world.cook, n="AVAR", k="race", v=f"{who}-{i}")[
            "annotateNeuron"
        ]["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(write, jobs))
    history = [
        a
        for a in world.client("carol")(READ, ds=world.cook, n="AVAR", h=True)["neuron"][
            "annotations"
        ]
        if a["key"] == "race"
    ]
    assert {a["id"] for a in history} == set(ids) and len(ids) == 24
    assert {a["value"] for a in history} == {f"{w}-{i}" for w, i in jobs}
    current = [a for a in history if a["current"]]
    assert len(current) == 1
    # the supersede links form one chain through all 24, ending at the current one
    nxt = {a["id"]: a["supersededBy"] for a in history if a["supersededBy"]}
    assert len(nxt) == 23 and len(set(nxt.values())) == 23
    start = (set(ids) - set(nxt.values())).pop()
    seen = [start]
    while seen[-1] in nxt:
        seen.append(nxt[seen[-1]])
    assert len(seen) == 24 and seen[-1] == current[0]["id"]
