"""simulate job parameters: what is refused before anything runs, and the sweep's
conditions in order."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectomedb.simulate.job import FitParams, SimulateParams, conditions

ASH = [{"ids": ["ASHL"]}]


@pytest.mark.parametrize(
    "bad",
    [
        {"dt": 1e-5},  # a billion steps
        {"bin_ms": 0.01},
        {"seconds": 10, "bin_ms": 0.5},  # 20 000 bins
        {"grid": {"amplitude_mv": [1e9]}},
        {"grid": {"w_syn": [0.0]}},
        {"grid": {"rate_hz": [2000.0]}},
        {"grid": {"w_syn": []}},
        {"w_syn": 1e40},
        {"stimulus_sets": [ASH, ASH]},  # and stimuli too
        {"grid": {"w_syn": [0.1] * 65}},
        {"model": "rate", "stimuli": [{"ids": ["ASHL"], "kind": "current", "amplitude_mv": 5}]},
        {"stimuli": [{"ids": ["ASHL"], "kind": "current"}]},  # no amplitude
        {"stimuli": [{"ids": ["ASHL"], "start_ms": 5}]},  # a window on Poisson input
        {
            "stimuli": [
                {"ids": ["ASHL"], "kind": "current", "amplitude_mv": 5, "start_ms": 9, "end_ms": 3}
            ]
        },
    ],
)
def test_bad_parameters_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        SimulateParams.model_validate({"stimuli": ASH, **bad})


def test_conditions_cross_sets_with_the_grid_in_order() -> None:
    p = SimulateParams.model_validate(
        {
            "stimulus_sets": [
                [{"ids": ["A"], "rate_hz": 10}],
                [{"ids": ["B"], "kind": "current", "amplitude_mv": 3}],
            ],
            "grid": {"rate_hz": [20, 30], "amplitude_mv": [4]},
        }
    )
    got = conditions(p)
    assert [c.name for c in got] == [
        "set 1, rate_hz=20, amplitude_mv=4",
        "set 1, rate_hz=30, amplitude_mv=4",
        "set 2, rate_hz=20, amplitude_mv=4",
        "set 2, rate_hz=30, amplitude_mv=4",
    ]
    # rates go to Poisson stimuli only, amplitudes to currents only
    assert [s.rate_hz for s in got[1].stimuli] == [30]
    assert got[1].stimuli[0].amplitude_mv is None
    assert got[2].stimuli[0].amplitude_mv == 4 and got[2].stimuli[0].kind == "current"


def test_the_fit_takes_poisson_stimuli_only() -> None:
    with pytest.raises(ValidationError):
        FitParams.model_validate(
            {
                "targets": [{"ids": ["A"], "rate_hz": 5}],
                "stimuli": [{"ids": ["B"], "kind": "current", "amplitude_mv": 3}],
            }
        )


def test_the_poisson_weight_follows_w_syn_unless_given() -> None:
    """250 x w_syn by default (Shiu et al.'s f_poi x w_syn), per grid point; a weight
    given for the run or on the grid wins."""
    swept = conditions(
        SimulateParams.model_validate({"stimuli": ASH, "grid": {"w_syn": [0.2, 0.4]}})
    )
    assert [c.drive_weight_mv for c in swept] == [50.0, 100.0]
    fixed = SimulateParams.model_validate(
        {"stimuli": ASH, "drive_weight_mv": 30, "grid": {"w_syn": [0.2]}}
    )
    assert [c.drive_weight_mv for c in conditions(fixed)] == [30.0]
    grid = SimulateParams.model_validate(
        {"stimuli": ASH, "drive_weight_mv": 30, "grid": {"drive_weight_mv": [7.0]}}
    )
    assert [c.drive_weight_mv for c in conditions(grid)] == [7.0]
    assert conditions(SimulateParams.model_validate({"stimuli": ASH}))[0].drive_weight_mv == 68.75


def test_the_named_choices_match_their_tables() -> None:
    """Each choice a parameter accepts has its entry in the table the job reads."""
    from typing import get_args

    from connectomedb.simulate.params import SIGN_RULES, STRENGTH_PROPERTY, SignRule, Strength

    assert set(get_args(SignRule)) == {"auto", *SIGN_RULES}
    assert set(get_args(Strength)) == set(STRENGTH_PROPERTY)
