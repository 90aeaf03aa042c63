"""A scripted exploration through the MCP server (stdio, as an assistant runs it), ten
tool calls that answer: which interneurons receive the most input from ASH, and is the
ASH -> AVA -> VA/DA pathway enriched for feed-forward loops against the
degree-preserving null? Each step's answer is checked against networkx on the source
sheet, and the transcript is the one printed in the README."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from connectomedb.settings import Settings
from tests.oracles import cook_graphs
from tests.service.mcp_clients import answer, session
from tests.world import World

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- mcp-transcript -->", "<!-- /mcp-transcript -->"
#: The dataset's id in the README (the tests load Cook 2019 under an id of their own).
README_ID = "cook2019_herm"
SAMPLES = 500


def _line(name: str, args: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"{name}({shown})"


def explore(world: World) -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], list[str]]:
    """The ten calls, as an assistant would make them: (tool, arguments, answer) each,
    and the transcript's lines."""
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    lines: list[str] = []

    async def go(c: Any) -> None:
        async def call(name: str, note: str | None = None, **args: Any) -> dict[str, Any]:
            a = answer(await c.call_tool(name, args))
            calls.append((name, args, a))
            lines.append(f"{len(calls)}. {_line(name, args)}")
            return a

        datasets = await call("list_datasets")
        cook = next(d for d in datasets["datasets"] if d["id"] == world.cook)
        lines.append(
            f"   -> {cook['id']}: {cook['name']}; {cook['neuronCount']} neurons, "
            f"{cook['connectionCount']} connections"
        )
        ds = cook["id"]
        ash = await call("find_neurons", dataset=ds, filter={"type": "ASH"})
        ash_ids = [n["id"] for n in ash["neurons"]]
        lines.append(
            "   -> "
            + "; ".join(
                f"{n['id']} ({n['class']}, out-degree {n['outDegree']})" for n in ash["neurons"]
            )
        )
        received: Counter[str] = Counter()
        kinds: dict[str, str] = {}
        for a in ash_ids:
            p = await call(
                "neuron_partners", dataset=ds, neuron=a, direction="downstream", first=50
            )
            partners = p["downstream"]["partners"]
            assert not p["downstream"]["more"]
            inter = [x for x in partners if x["class"] == "interneuron"]
            lines.append(
                f"   -> {len(partners)} partners, {len(inter)} interneurons; most: "
                + ", ".join(f"{x['id']} {x['synapses']}" for x in inter[:4])
            )
            for x in partners:
                kinds[x["id"]] = x["class"]
                if x["class"] == "interneuron":
                    received[x["id"]] += x["synapses"]
        top = sorted(received.items(), key=lambda t: (-t[1], t[0]))[:6]
        lines.append(
            "   Interneurons by synapses from ASHL + ASHR: " + ", ".join(f"{k} {v}" for k, v in top)
        )
        ava = ["AVAL", "AVAR"]
        ash_ava = await call("connections", dataset=ds, pre=ash_ids, post=ava)
        lines.append(
            "   -> "
            + "; ".join(
                f"{r['pre']} -> {r['post']} {r['synapses']}" for r in ash_ava["connections"]
            )
        )
        motor: list[str] = []
        for t in ("VA", "DA"):
            m = await call("find_neurons", dataset=ds, filter={"type": t}, first=50)
            motor += [n["id"] for n in m["neurons"]]
            lines.append(f"   -> {m['total']}: " + " ".join(n["id"] for n in m["neurons"]))
        ava_motor = await call("connections", dataset=ds, pre=ava, post=motor, first=100)
        rows = ava_motor["connections"]
        lines.append(
            f"   -> {len(rows)} connections onto {len({r['post'] for r in rows})} of the "
            f"{len(motor)} VA/DA neurons, {sum(r['synapses'] for r in rows)} synapses"
        )
        selection = ash_ids + ava + motor
        ffl = await call(
            "feed_forward_loops",
            dataset=ds,
            null_model="degree_preserving",
            filter={"ids": selection},
            samples=SAMPLES,
        )
        lines.append(
            f"   -> observed {ffl['observed']}, null mean {ffl['nullMean']:.2f} "
            f"(sd {ffl['nullStd']:.2f}), z {ffl['z']:.2f}, p(>=) {ffl['pGreater']:.4f}; "
            f"null: {ffl['nullDescription']}"
        )
        motif = 'A -> B; B -> C; A -> C; A.type = "ASH"; B.type = "AVA"; C.class = "motor"'
        m = await call("motif_search", dataset=ds, motif=motif, count_only=False, first=50)
        assert m["next"] is None
        lines.append(
            f"   -> {len(m['matches'])} matches: "
            + ", ".join(f"{x['A']}>{x['B']}>{x['C']}" for x in m["matches"][:8])
            + (" ..." if len(m["matches"]) > 8 else "")
        )
        enriched = ffl["pGreater"] < 0.05
        lines.append(
            f"   Answer: the interneurons with most input from ASH are "
            f"{', '.join(k for k, _ in top[:3])}. Among the {len(selection)} neurons of "
            f"ASH, AVA, VA and DA, feed-forward loops are "
            f"{'more frequent than' if enriched else 'not more frequent than'} under the "
            f"degree-preserving null ({ffl['observed']} against {ffl['nullMean']:.1f}, "
            f"p = {ffl['pGreater']:.4f}, {SAMPLES} samples)"
            + (
                ", and no loop in the whole connectome runs ASH -> AVA -> a motor neuron: "
                "none receives synapses from both an ASH and an AVA that ASH contacts. "
                if not m["matches"]
                else f"; {len(m['matches'])} loops of the whole connectome run ASH -> AVA -> "
                "a motor neuron. "
            )
            + "This is about wiring only: "
            "synapse counts are a proxy for strength, and the test does not show that the "
            "loops shape the escape response."
        )

    session(world, "stdio", "victor", go)
    return calls, lines


@pytest.fixture(scope="module")
def exploration(world: World) -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], str]:
    calls, lines = explore(world)
    text = "\n".join(lines).replace(world.cook, README_ID)
    out = os.environ.get("CONNECTOMEDB_MCP_TRANSCRIPT")
    if out:  # to refresh the README's copy
        Path(out).write_text(text + "\n")
    return calls, text


def test_ten_calls_answer_the_question(
    world: World, settings: Settings, exploration: tuple[list[Any], str]
) -> None:
    calls, _ = exploration
    assert len(calls) == 10
    g, _, _ = cook_graphs(str(settings.data_cache))
    rows = world.client("victor")(
        "query($ds: ID!) { neurons(dataset: $ds, first: 1000) { edges { node { id class } } } }",
        ds=world.cook,
    )["neurons"]["edges"]
    classes = {e["node"]["id"]: e["node"]["class"] for e in rows}
    by_name = {name: [a for n, a, x in calls if n == name] for name, _, _ in calls}
    answers = {name: [x for n, _, x in calls if n == name] for name, _, _ in calls}
    # the input each interneuron gets from ASH, from the source sheet
    received: Counter[str] = Counter()
    for a in ("ASHL", "ASHR"):
        for b, d in g[a].items():
            if classes.get(b) == "interneuron":
                received[b] += d["synapse_count"]
    top = [k for k, _ in sorted(received.items(), key=lambda t: (-t[1], t[0]))[:3]]
    assert f"are {', '.join(top)}." in _answer_line(exploration[1])
    # the ASH -> AVA and AVA -> VA/DA connections
    ash_ava = answers["connections"][0]["connections"]
    assert {(r["pre"], r["post"], r["synapses"]) for r in ash_ava} == {
        (a, b, g[a][b]["synapse_count"])
        for a in ("ASHL", "ASHR")
        for b in ("AVAL", "AVAR")
        if g.has_edge(a, b)
    }
    motor = [n for n in g if re.fullmatch(r"(VA|DA)\d+", n)]
    assert sorted(by_name["connections"][1]["post"]) == sorted(motor)
    ava_motor = answers["connections"][1]["connections"]
    assert {(r["pre"], r["post"], r["synapses"]) for r in ava_motor} == {
        (a, b, g[a][b]["synapse_count"])
        for a in ("AVAL", "AVAR")
        for b in motor
        if g.has_edge(a, b)
    }
    # the feed-forward loops of the selection: networkx's triad census of its subgraph
    selection = by_name["feed_forward_loops"][0]["filter"]["ids"]
    assert sorted(selection) == sorted(["ASHL", "ASHR", "AVAL", "AVAR", *motor])
    sub = nx.DiGraph(g.subgraph(selection))
    sub.remove_edges_from(nx.selfloop_edges(sub))
    ffl = answers["feed_forward_loops"][0]
    assert ffl["observed"] == nx.triadic_census(sub)["030T"]
    assert ffl["samples"] == SAMPLES and "degree" in ffl["nullDescription"].lower()
    # the pathway's loops across the whole connectome (matches, not induced triads)
    expected = {
        (a, b, c)
        for a in ("ASHL", "ASHR")
        for b in ("AVAL", "AVAR")
        if g.has_edge(a, b)
        for c in g.successors(b)
        if c not in (a, b) and g.has_edge(a, c) and classes.get(c) == "motor"
    }
    m = answers["motif_search"][0]
    assert len(m["matches"]) == len(expected)
    assert {(x["A"], x["B"], x["C"]) for x in m["matches"]} == expected


def _answer_line(text: str) -> str:
    return next(line for line in text.splitlines() if "Answer:" in line)


def test_the_readme_shows_this_transcript(exploration: tuple[list[Any], str]) -> None:
    readme = README.read_text()
    start, end = readme.index(BEGIN), readme.index(END)
    shown = readme[start + len(BEGIN) : end].strip().removeprefix("```text").removesuffix("```")
    assert shown.strip() == exploration[1].strip(), (
        "the README's transcript is not the one the calls give; run this test with "
        "CONNECTOMEDB_MCP_TRANSCRIPT=/tmp/t.txt and copy that file into the README"
    )
