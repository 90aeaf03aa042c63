"""The committed schema.graphql is the API's contract: it must match the code."""

from __future__ import annotations

from pathlib import Path

from connectomedb.service.schema import schema_sdl

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_current() -> None:
    assert SDL.exists(), "schema.graphql is missing: run `connectomedb schema export`"
    assert SDL.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql is stale: run `connectomedb schema export` and commit the diff"
    )


def test_contract_names_the_documented_operations() -> None:
    text = SDL.read_text(encoding="utf-8")
    for name in (
        "datasets:",
        "dataset(",
        "neurons(",
        "neuron(",
        "connections(",
        "paths(",
        "cellTypeConnectivity(",
        "networkStatistics(",
        "createLab(",
        "addMember(",
        "removeMember(",
        "shareDataset(",
        "unshareDataset(",
        "setDatasetVisibility(",
        "createApiToken(",
        "revokeApiToken(",
        "annotateNeuron(",
    ):
        assert name in text, name
