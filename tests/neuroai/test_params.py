"""rnn_experiment parameters: defaults (four variants, three tasks, ten seeds) and the
combinations that make no sense refused with the field named."""

from __future__ import annotations

import pytest

from connectomedb.errors import BadInput
from connectomedb.jobs.registry import check_params


def test_defaults() -> None:
    p = check_params("rnn_experiment", None)
    assert [v["kind"] for v in p["variants"]] == ["dense", "random", "reciprocal", "connectome"]
    assert p["tasks"] == ["pattern", "recall", "digits"] and p["seeds"] == 10


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"variants": [{"name": "a", "kind": "dense", "enrichment": 2}]}, "reciprocal"),
        ({"variants": [{"name": "a", "kind": "dense", "density": 0.1}]}, "density is for"),
        ({"variants": [{"name": "a", "kind": "random", "dale": True}]}, "dale"),
        (
            {"variants": [{"name": "a", "kind": "dense"}, {"name": "a", "kind": "random"}]},
            "distinct",
        ),
        ({"variants": [{"name": "A b", "kind": "dense"}]}, "name"),
        ({"tasks": ["pattern"], "store_task": "recall"}, "store_task"),
        ({"seeds": 1}, "seeds"),
        ({"tasks": ["sums"]}, "tasks"),
        ({"tasks": ["pair_echo"], "alpha": 0.5}, "alpha 1"),
        (
            {"tasks": ["pair_echo"], "variants": [{"name": "m", "kind": "dense_matched"}]},
            "own input",
        ),
        (
            {
                "tasks": ["pattern", "recall"],
                "seeds": 100,
                "variants": [{"name": f"v{i}", "kind": "dense"} for i in range(6)],
            },
            "at most 1000",
        ),
    ],
)
def test_bad_parameters_are_refused(params: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        check_params("rnn_experiment", params)
