"""The engine against Shiu et al.'s own model run in Brian2 (``reference``: their
``default_params``, ``create_model`` and ``poi`` reproduced statement for statement):
identical spike times under the same input, and the same rates under Poisson input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from connectomedb.settings import Settings
from connectomedb.simulate import reference as ref
from connectomedb.simulate.engine import (
    Drive,
    GapJunctions,
    LIFParams,
    SimResult,
    simulate,
    weight_matrix,
)
from connectomedb.simulate.params import F_POI, SHIU_2024
from tests.oracles import cook_graphs, edge_arrays
from tests.simulate.shiu import DT_MS, agree, mixed, run, scope, their_poisson_rates

P = LIFParams()


def _lif(params: dict[str, Any]) -> LIFParams:
    """The engine's parameters for one of their parameter sets."""
    import brian2 as b

    return LIFParams(
        v_rest=float(params["v_0"] / b.mV),
        v_reset=float(params["v_rst"] / b.mV),
        v_th=float(params["v_th"] / b.mV),
        tau_m=float(params["t_mbr"] / b.ms),
        tau_syn=float(params["tau"] / b.ms),
        t_ref=float(params["t_rfc"] / b.ms),
        delay=float(params["t_dly"] / b.ms),
        w_syn=float(params["w_syn"] / b.mV),
        dt=DT_MS,
    )


def _identical(ours: SimResult, theirs: dict[int, np.ndarray], names: list[str]) -> None:
    """The same neurons spike at the same steps."""
    mine = {
        int(k): np.asarray(v / ours.dt).round().astype(np.int64)
        for k, v in ours.spike_times().items()
    }
    assert set(mine) == set(theirs)
    for nrn, steps in theirs.items():
        assert np.array_equal(mine[nrn], steps), names[nrn]


def test_the_engine_defaults_are_their_model() -> None:
    """The engine's parameters are their ``default_params``; external input jumps v by
    ``w_syn * f_poi`` and its targets have no refractory period."""
    params = ref.default_params()
    assert _lif(params) == LIFParams()
    import brian2 as b

    assert params["f_poi"] == F_POI
    assert float(params["w_syn"] * params["f_poi"] / b.mV) == pytest.approx(
        F_POI * SHIU_2024["w_syn"]
    )
    drive = Drive()
    assert (drive.target, drive.refractory_driven) == ("v", False)


def test_identical_spike_times_under_their_poisson_input_at_one_spike_per_step() -> None:
    """Their ``poi`` at ``r_poi`` = 1 / dt draws a spike in every step: the input is
    deterministic. With ``f_poi`` = 1 each spike jumps v by 0.275 mV, and the driven
    neurons, which have no input of their own and no refractory period, fire
    periodically (input into g, or a refractory period, would change that). 1000
    neurons of mixed signs."""
    import brian2 as b

    types, pre, post, strength, sign, driven = mixed(7)
    n, steps = types.size, 3000
    scope()
    params = {**ref.default_params(), "r_poi": 1 / (DT_MS * b.ms), "f_poi": 1}
    neu, syn, mon = ref.create_model(n, pre, post, sign[pre] * strength, params)
    pois, neu = ref.poi(neu, [int(i) for i in driven], [], params)
    theirs = run([neu, syn, mon, *pois], mon, steps)

    p = _lif(params)
    w = weight_matrix(n, pre, post, strength, sign, p.w_syn)
    rates = np.zeros(n)
    rates[driven] = 1000 / DT_MS
    ours = simulate(w, p, steps, Drive(rates=rates, weight=p.w_syn), dtype=torch.float64)
    assert sum(len(t) for t in theirs.values()) > 3000  # the network is active
    assert len(set(theirs) - set(driven.tolist())) > 100  # beyond the driven neurons
    # after a spike: integrate, threshold, then 0.275 mV in every step, none lost to a
    # refractory period
    u, period = 0.0, 0  # u = v - v_0 right after a reset
    while True:
        period += 1
        u *= np.exp(-DT_MS / 20)  # integrate (g stays 0)
        if u > 7.0:  # threshold
            break
        u += 0.275  # the input
    assert {int(x) for i in driven for x in np.diff(theirs[int(i)])} == {period}
    _identical(ours, theirs, [str(i) for i in range(n)])


def _realisation(
    rng: np.random.Generator, driven: np.ndarray, steps: int, rate_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """One draw of Poisson input at ``rate_hz`` to each driven neuron: (steps, neurons)."""
    hit = rng.random((steps, driven.size)) < rate_hz * DT_MS / 1000
    st, which = np.nonzero(hit)
    return st, driven[which]


def _both(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    strength: np.ndarray,
    sign: np.ndarray,
    params: dict[str, Any],
    ev_steps: np.ndarray,
    ev_neurons: np.ndarray,
    steps: int,
) -> tuple[SimResult, dict[int, np.ndarray]]:
    """The engine (float64) and their model with ``params``, both driven by the same
    realisation of their Poisson input (``input_events``): (ours, their spike steps)."""
    scope()
    neu, syn, mon = ref.create_model(n, pre, post, sign[pre] * strength, params)
    inputs = ref.input_events(neu, ev_steps, ev_neurons, params)
    theirs = run([neu, syn, mon, *inputs], mon, steps)
    p = _lif(params)
    w = weight_matrix(n, pre, post, strength, sign, p.w_syn)
    drive = Drive(spikes=(ev_steps, ev_neurons, np.full(ev_steps.size, F_POI * p.w_syn)))
    return simulate(w, p, steps, drive, dtype=torch.float64), theirs


def test_identical_spike_times_under_a_given_poisson_realisation() -> None:
    """Their model with its default parameters, the driven neurons receiving one drawn
    realisation of 150 Hz Poisson input (68.75 mV jumps of v) for one second: the
    engine, given the same input events, spikes at the same steps. 1000 neurons of mixed
    signs."""
    types, pre, post, strength, sign, driven = mixed(3)
    n, steps = types.size, 10_000
    ev_steps, ev_neurons = _realisation(np.random.default_rng(5), driven, steps, 150.0)
    params = ref.default_params()
    ours, theirs = _both(n, pre, post, strength, sign, params, ev_steps, ev_neurons, steps)
    assert len(set(theirs) - set(driven.tolist())) > 100
    _identical(ours, theirs, [str(i) for i in range(n)])


@pytest.mark.parametrize("delay_ms, v_rst", [(0.0, -52.0), (0.0, -60.0), (1.8, -60.0)])
def test_identical_spike_times_with_zero_delay_or_a_reset_below_rest(
    delay_ms: float, v_rst: float
) -> None:
    """Their model with ``t_dly`` 0 (spikes act in their own step) or ``v_rst`` below
    rest (the engine's general path), the driven neurons receiving network input too
    (so events reach driven and refractory neurons alike), 0.5 s of a drawn realisation
    of their Poisson input."""
    import brian2 as b

    types, pre, post, strength, sign, driven = mixed(3, isolated=False)
    n, steps = types.size, 5000
    ev_steps, ev_neurons = _realisation(np.random.default_rng(6), driven, steps, 150.0)
    params = {**ref.default_params(), "t_dly": delay_ms * b.ms, "v_rst": v_rst * b.mV}
    ours, theirs = _both(n, pre, post, strength, sign, params, ev_steps, ev_neurons, steps)
    assert len(set(theirs) - set(driven.tolist())) > 100
    _identical(ours, theirs, [str(i) for i in range(n)])


@pytest.mark.parametrize("target, refractory_driven", [("g", False), ("v", True), ("g", True)])
def test_the_options_depart_from_their_model_as_brian2_does(
    target: str, refractory_driven: bool
) -> None:
    """The engine's options, input into g and a refractory period for the driven
    neurons, equal their model changed in just that way (the input synapses write g;
    the driven neurons keep ``t_rfc``), and differ from the default."""
    import brian2 as b

    types, pre, post, strength, sign, driven = mixed(3)
    n, steps = types.size, 5000
    ev_steps, ev_neurons = _realisation(np.random.default_rng(5), driven, steps, 150.0)
    scope()
    params = ref.default_params()
    neu, syn, mon = ref.create_model(n, pre, post, sign[pre] * strength, params)
    gen = b.SpikeGeneratorGroup(n, ev_neurons, ev_steps * DT_MS * b.ms)
    kick = b.Synapses(
        gen, neu, on_pre=f"{target}_post += w_poi", namespace={"w_poi": 250 * P.w_syn * b.mV}
    )
    kick.connect(j="i")
    if not refractory_driven:
        for i in driven:
            neu[int(i)].rfc = 0 * b.ms
    theirs = run([neu, syn, mon, gen, kick], mon, steps)

    w = weight_matrix(n, pre, post, strength, sign, P.w_syn)
    events = (ev_steps, ev_neurons, np.full(ev_steps.size, 250 * P.w_syn))
    drive = Drive(spikes=events, target=target, refractory_driven=refractory_driven)  # type: ignore[arg-type]
    ours = simulate(w, P, steps, drive, dtype=torch.float64)
    default = simulate(w, P, steps, Drive(spikes=events), dtype=torch.float64)
    assert not np.array_equal(ours.rates, default.rates)
    _identical(ours, theirs, [str(i) for i in range(n)])


def test_poisson_rates_agree_with_their_model_over_20_trials() -> None:
    """Their model under their Poisson input (150 Hz into 20 type-A neurons, 1 s), 20
    trials each, different random numbers in each simulator: the rates agree (see
    ``agree``)."""
    types, pre, post, strength, sign, driven = mixed(11)
    n, trials = types.size, 20
    theirs = their_poisson_rates(n, pre, post, strength, sign, driven, trials, seed=1)
    w = weight_matrix(n, pre, post, strength, sign, P.w_syn)
    rates = np.zeros(n)
    rates[driven] = 150.0
    drive = Drive(rates=rates, weight=250 * P.w_syn)
    ours = simulate(w, P, 10_000, drive, trials, seed=2).rates
    agree(ours, theirs, types, driven)


#: the 26 GABAergic neurons of the C. elegans hermaphrodite (McIntire et al. 1993)
GABAERGIC = (
    {f"DD{i}" for i in range(1, 7)}
    | {f"VD{i}" for i in range(1, 14)}
    | {
        "RMED",
        "RMEV",
        "RMEL",
        "RMER",
        "AVL",
        "DVB",
        "RIS",
    }
)


def _cook(
    settings: Settings,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, GapJunctions]:
    """Cook 2019 read from the sheets: neuron names, chemical connections (pre, post,
    synapse count), GABAergic neurons inhibitory, and the gap junctions (count / 200 as
    the coupling)."""
    chem, gap, neurons = cook_graphs(str(settings.data_cache))
    names = sorted(neurons & set(chem.nodes))
    pre, post, strength = edge_arrays(chem, names, "synapse_count", self_loops=False)
    sign = np.array([-1.0 if v in GABAERGIC else 1.0 for v in names])
    a, b, count = edge_arrays(gap, names, "count", self_loops=False)
    gaps = GapJunctions(a, b, count / 200)
    return names, pre, post, strength, sign, gaps


def _cook_params() -> dict[str, Any]:
    """C. elegans has few, strong synapses per connection (w_syn 1.5 mV); a reset below
    rest takes the engine's general path (the networks above take the v_reset ==
    v_rest one)."""
    import brian2 as b

    return {**ref.default_params(), "w_syn": 1.5 * b.mV, "v_rst": -60 * b.mV}


def test_identical_spike_times_on_cook2019(settings: Settings) -> None:
    """Cook 2019's chemical connectome read from the sheet, synapse counts as strengths,
    GABAergic neurons inhibitory; the nociceptive ASH and touch neurons get one drawn
    realisation of 150 Hz Poisson input for the first 100 ms."""
    names, pre, post, strength, sign, _ = _cook(settings)
    ix = {v: i for i, v in enumerate(names)}
    n, steps = len(names), 3000
    driven = np.array([ix[v] for v in ("ASHL", "ASHR", "ALML", "ALMR", "PLML", "PLMR")])
    ev_steps, ev_neurons = _realisation(np.random.default_rng(2), driven, 1000, 150.0)
    params = _cook_params()
    ours, theirs = _both(n, pre, post, strength, sign, params, ev_steps, ev_neurons, steps)
    assert len(theirs) > 20  # activity spread beyond the driven neurons
    _identical(ours, theirs, names)


def test_identical_spike_times_on_cook2019_with_gap_junctions_and_currents(
    settings: Settings,
) -> None:
    """Cook 2019 with its gap junctions as electrical couplings, and step currents of
    12 mV into ASH and 9 mV into AVA (below threshold alone) from 20 to 200 ms: their
    model with the membrane equation extended by both."""
    names, pre, post, strength, sign, gaps = _cook(settings)
    assert len(gaps.a) > 500
    ix = {v: i for i, v in enumerate(names)}
    n, steps = len(names), 3000
    cells = [("ASHL", 12.0), ("ASHR", 12.0), ("AVAL", 9.0), ("AVAR", 9.0)]
    currents = (
        np.array([ix[c] for c, _ in cells]),
        np.array([a for _, a in cells]),
        np.full(len(cells), 200),
        np.full(len(cells), 2000),
    )
    scope()
    params = ref.with_gaps_and_currents(_cook_params(), gaps=True, currents=True)
    params["step_current"] = ref.step_current_table(n, currents, steps, DT_MS)
    neu, syn, mon = ref.create_model(n, pre, post, sign[pre] * strength, params)
    gap = ref.gap_synapses(neu, gaps.a, gaps.b, gaps.coupling)
    theirs = run([neu, syn, mon, gap], mon, steps)

    p = _lif(params)
    w = weight_matrix(n, pre, post, strength, sign, p.w_syn)
    drive = Drive(currents=currents)
    ours = simulate(w, p, steps, drive, dtype=torch.float64, gaps=gaps)
    alone = simulate(w, p, steps, drive, dtype=torch.float64).spike_times()
    assert len(theirs) > 20
    assert set(alone) != set(theirs)  # the gap junctions change who fires
    _identical(ours, theirs, names)
