"""The MCP tools' pure parts: the neuron filter as the API's input, and the summary of a
level's groups."""

from __future__ import annotations

import asyncio
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from connectomedb.service.mcp.server import build_server
from connectomedb.service.mcp.tools import LARGE_ANSWER, NeuronFilter, _levels, sized
from connectomedb.store.neurons import NeuronFilter as StoreFilter
from tests.service.mcp_clients import answer, failure

SDL = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()


def test_the_filter_has_the_fields_of_the_store_filter() -> None:
    assert set(NeuronFilter.model_fields) == {f.name for f in fields(StoreFilter)}


def test_the_filter_becomes_the_apis_input() -> None:
    f = NeuronFilter(cell_class="motor", name_starts_with="VA", min_in_degree=3, ids=["VA1"])
    assert f.graphql() == {
        "class": "motor",
        "nameStartsWith": "VA",
        "minInDegree": 3,
        "ids": ["VA1"],
    }
    every = NeuronFilter(
        **{
            k: ["x"] if k == "ids" else 1 if "degree" in k else "x"
            for k in NeuronFilter.model_fields
        }
    )
    api = build_schema(SDL).type_map["NeuronFilterInput"]
    assert set(every.graphql()) == set(api.fields)  # type: ignore[attr-defined]


def test_levels_count_named_groups_and_the_unassigned() -> None:
    groups = [
        {"name": "b", "size": 3},
        {"name": None, "size": 5},
        {"name": "a", "size": 3},
        {"name": "c", "size": 9},
    ]
    assert _levels(groups, largest=2) == {
        "groups": 3,
        "unassigned": 5,
        "largest": [{"name": "c", "size": 9}, {"name": "a", "size": 3}],
    }


def test_a_long_answer_says_how_to_ask_for_less() -> None:
    small = {"rows": ["x" * 10]}
    assert sized(small, "ask for less") == small
    big = {"rows": ["x" * LARGE_ANSWER]}  # {"rows": ["  and  "]}: 11 + 3 characters more
    assert sized(big, "ask for less") == big | {
        "hint": f"this answer is about {LARGE_ANSWER + 14} characters of JSON; ask for less"
    }


class FakeApi:
    """Stands in for the API: records each operation's variables and answers from a
    table, or fails."""

    def __init__(self, answers: dict[str, Any], fail: dict[str, str] | None = None) -> None:
        self.answers, self.fail = answers, fail or {}
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.seen.append(variables)
        for key, message in self.fail.items():
            if key in json.dumps(variables):
                raise ToolError(message)
        for field, reply in self.answers.items():
            if field in query:
                return reply
        raise AssertionError(query)


def call(api: FakeApi, tool: str, args: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with Client(build_server(api), cache=None) as c:
            return await c.call_tool(tool, args)

    return asyncio.run(go())


GROUPS = [{"name": "a", "size": 2}, {"name": "b", "size": 3}, {"name": None, "size": 1}]
ENTRIES = [
    {"pre": "a", "post": "b", "synapses": 5},
    {"pre": "b", "post": "a", "synapses": 9},
    {"pre": "a", "post": "a", "synapses": 1},
    {"pre": None, "post": "b", "synapses": 7},
]


def test_describe_keeps_a_failing_level_to_itself() -> None:
    api = FakeApi(
        {
            "dataset(id": {"dataset": {"id": "d"}},
            "cellTypeConnectivity": {"cellTypeConnectivity": {"groups": GROUPS}},
        },
        fail={'"TYPE"': "TIMEOUT: too slow"},
    )
    out = answer(call(api, "describe_dataset", {"dataset": "d"}))
    assert out["levels"]["type"] == {"error": "TIMEOUT: too slow"}
    assert out["levels"]["class"] == {
        "groups": 2,
        "unassigned": 1,
        "largest": [{"name": "b", "size": 3}, {"name": "a", "size": 2}],
    }


def test_cell_type_entries_are_cut_to_the_largest_and_unknown_groups_refused() -> None:
    table = {"level": "CLASS", "minWeight": 1, "groups": GROUPS, "entries": ENTRIES}
    api = FakeApi({"cellTypeConnectivity": {"cellTypeConnectivity": table}})
    out = answer(call(api, "cell_type_connectivity", {"dataset": "d", "max_entries": 2}))
    assert out["entries"] == [ENTRIES[1], ENTRIES[3]]
    assert out["omitted"] == 2 and out["groupCount"] == 3
    assert out["groups"] == GROUPS  # a, b and the unnamed group appear in the kept entries
    out = answer(call(api, "cell_type_connectivity", {"dataset": "d", "groups": ["a"]}))
    assert out["entries"] == [ENTRIES[2]] and out["groups"] == [GROUPS[0]]
    refused = failure(call(api, "cell_type_connectivity", {"dataset": "d", "groups": ["A", "a"]}))
    assert refused == "BAD_INPUT: no class named 'A'; 2 class groups, e.g. a, b"


def test_the_sbm_level_and_any_case_of_a_job_kind_reach_the_api() -> None:
    ffl = {"observed": 1}
    api = FakeApi({"feedForwardLoops": {"feedForwardLoops": ffl}, "submitJob": {"submitJob": {}}})
    args = {"dataset": "d", "null_model": "cell_type_sbm", "type_level": "type"}
    assert answer(call(api, "feed_forward_loops", args)) == ffl
    assert api.seen[-1]["null"] == "CELL_TYPE_SBM" and api.seen[-1]["typeLevel"] == "TYPE"
    answer(call(api, "submit_job", {"dataset": "d", "kind": "Celltype_GNN"}))
    assert api.seen[-1]["kind"] == "CELLTYPE_GNN"


@pytest.mark.parametrize(
    ("found", "first", "asked", "shown", "more"),
    [(3, 3, 4, 3, False), (4, 3, 4, 3, True), (100, 100, 100, 100, True), (7, 100, 100, 7, False)],
)
def test_paths_ask_one_more_to_know_whether_there_are_more(
    found: int, first: int, asked: int, shown: int, more: bool
) -> None:
    paths = [{"neurons": [str(i)], "synapseCounts": [], "hops": 1} for i in range(found)]
    api = FakeApi({"paths(": {"paths": paths}})
    out = answer(
        call(api, "find_paths", {"dataset": "d", "source": "a", "target": "b", "first": first})
    )
    assert api.seen[-1]["first"] == asked
    assert out["paths"] == paths[:shown] and out["more"] is more
