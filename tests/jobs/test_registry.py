"""The registry of job kinds: one entry per kind, parameters checked with the field
named, run functions found by import path, and a clear error where they cannot be."""

from __future__ import annotations

import inspect

import pytest

from connectomedb.errors import BadInput, ConfigError
from connectomedb.jobs.registry import KINDS, Kind, check_params, get_kind, kind_names
from connectomedb.simulate.params import SimulateParams


def test_the_kinds() -> None:
    assert kind_names() == (
        "probe",
        "census",
        "embedding",
        "anomaly",
        "celltype_gnn",
        "structure_function",
        "simulate",
        "fit_strengths",
        "fit_propagation",
        "rnn_experiment",
    )
    assert all(k.description and k.name == name for name, k in KINDS.items())
    assert get_kind("simulate").params is SimulateParams


def test_every_run_function_is_found_and_takes_a_context_and_parameters() -> None:
    for k in KINDS.values():
        fn = k.load()
        assert callable(fn) and list(inspect.signature(fn).parameters) == ["ctx", "p"], k.name


def test_parameters_are_checked_with_defaults_filled_in() -> None:
    assert check_params("probe", None) == {"seconds": 0.0, "steps": 10}
    assert check_params("census", {"samples": 5})["null_model"] == "degree_preserving"
    with pytest.raises(BadInput, match="samples"):
        check_params("census", {"samples": 0})
    with pytest.raises(BadInput, match="colour"):
        check_params("embedding", {"colour": 1})
    with pytest.raises(BadInput, match="type_level"):
        check_params("census", {"type_level": "colour"})
    with pytest.raises(BadInput, match="unknown job kind 'bake'"):
        get_kind("bake")


def test_a_kind_whose_module_cannot_be_imported_says_what_to_install() -> None:
    k = Kind("ghost", KINDS["probe"].params, "connectomedb_no_such_module:run", "x", "analytics")
    with pytest.raises(ConfigError, match=r"cannot run ghost jobs.*connectomedb\[analytics\]"):
        k.load()
