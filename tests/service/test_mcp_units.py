"""The MCP tools' pure parts: the neuron filter as the API's input, and the summary of a
level's groups."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from graphql import build_schema

from connectomedb.service.mcp.tools import LARGE_ANSWER, NeuronFilter, _levels, sized
from connectomedb.store.neurons import NeuronFilter as StoreFilter

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
        "hint": f"this answer is {LARGE_ANSWER + 14} characters long; ask for less"
    }
