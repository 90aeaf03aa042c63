"""Shiu et al.'s own model in Brian2, the reference the tests and the benchmark compare
the engine with (Brian2 is a test and benchmark dependency, imported only when called).

``default_params``, ``create_model`` and ``poi`` reproduce, statement for statement, the
objects of the same names in ``model.py`` of philshiu/Drosophila_brain_model (GitHub),
commit 2a83ad611cd9768f8c9723fc613ed27761a5feb5 (MIT License, Copyright (c) 2023
Philip Shiu): the parameters, the equations, threshold and reset strings, the
``NeuronGroup``, ``Synapses`` and ``PoissonInput`` calls and the values they are given.
Nothing is re-derived from the engine. What differs is only how the network arrives:
``create_model`` takes the neuron count and the connection arrays (their
``Presynaptic_Index``, ``Postsynaptic_Index`` and ``Excitatory x Connectivity``
columns) instead of reading a CSV and a parquet file.

The rest is not in their model and is marked as such: ``poi_block`` is ``poi`` for a
range of neurons at once, ``input_events`` delivers a given realisation of the Poisson
input (a spike generator whose synapses do what
``PoissonInput`` does: jump v by ``w_syn * f_poi`` in the synapses slot of the step),
and ``with_gaps_and_currents`` adds gap junctions (a summed variable) and step
currents (a ``TimedArray``) to the membrane equation, for the engine's extensions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: where the model statements below come from
SOURCE = "philshiu/Drosophila_brain_model model.py @ 2a83ad611cd9768f8c9723fc613ed27761a5feb5"


def default_params() -> dict[str, Any]:
    """Their ``default_params`` (Brian2 quantities)."""
    from textwrap import dedent

    from brian2 import Hz, ms, mV

    return {
        "t_run": 1000 * ms,
        "n_run": 30,
        "v_0": -52 * mV,
        "v_rst": -52 * mV,
        "v_th": -45 * mV,
        "t_mbr": 20 * ms,
        "tau": 5 * ms,
        "t_rfc": 2.2 * ms,
        "t_dly": 1.8 * ms,
        "w_syn": 0.275 * mV,
        "r_poi": 150 * Hz,
        "r_poi2": 0 * Hz,
        "f_poi": 250,
        "eqs": dedent(
            """ 
                    dv/dt = (v_0 - v + g) / t_mbr : volt (unless refractory)
                    dg/dt = -g / tau               : volt (unless refractory) 
                    rfc                            : second
                    """
        ),
        "eq_th": "v > v_th",
        "eq_rst": "v = v_rst; w = 0; g = 0 * mV",
    }


def create_model(
    n: int,
    i_pre: np.ndarray,
    i_post: np.ndarray,
    exc_x_connectivity: np.ndarray,
    params: dict[str, Any],
) -> tuple[Any, Any, Any]:
    """Their ``create_model``: (neurons, synapses, spike monitor) for ``n`` neurons and
    the connections ``i_pre -> i_post`` of ``exc_x_connectivity`` signed synapses."""
    from brian2 import NeuronGroup, SpikeMonitor, Synapses

    neu = NeuronGroup(
        N=n,
        model=params["eqs"],
        method="linear",
        threshold=params["eq_th"],
        reset=params["eq_rst"],
        refractory="rfc",
        name="default_neurons",
        namespace=params,
    )
    neu.v = params["v_0"]
    neu.g = 0
    neu.rfc = params["t_rfc"]

    syn = Synapses(
        neu, neu, "w : volt", on_pre="g += w", delay=params["t_dly"], name="default_synapses"
    )
    syn.connect(i=i_pre, j=i_post)
    syn.w = exc_x_connectivity * params["w_syn"]

    spk_mon = SpikeMonitor(neu)
    return neu, syn, spk_mon


def poi(neu: Any, exc: list[int], exc2: list[int], params: dict[str, Any]) -> tuple[list[Any], Any]:
    """Their ``poi``: one ``PoissonInput`` into v per neuron in ``exc`` (at ``r_poi``) and
    ``exc2`` (at ``r_poi2``), and no refractory period for those neurons."""
    from brian2 import PoissonInput, ms

    pois = []
    for i in exc:
        p = PoissonInput(
            target=neu[i],
            target_var="v",
            N=1,
            rate=params["r_poi"],
            weight=params["w_syn"] * params["f_poi"],
        )
        neu[i].rfc = 0 * ms
        pois.append(p)

    for i in exc2:
        p = PoissonInput(
            target=neu[i],
            target_var="v",
            N=1,
            rate=params["r_poi2"],
            weight=params["w_syn"] * params["f_poi"],
        )
        neu[i].rfc = 0 * ms
        pois.append(p)

    return pois, neu


def poi_block(neu: Any, start: int, stop: int, params: dict[str, Any]) -> Any:
    """Not in their model as such: ``poi``'s statements for the neurons start..stop-1 at
    once, one ``PoissonInput`` on the subgroup (Brian2 draws each target's input
    independently, as for one ``PoissonInput`` per neuron; it is much faster to run)."""
    from brian2 import PoissonInput, ms

    p = PoissonInput(
        target=neu[start:stop],
        target_var="v",
        N=1,
        rate=params["r_poi"],
        weight=params["w_syn"] * params["f_poi"],
    )
    neu[start:stop].rfc = 0 * ms
    return p


def input_events(
    neu: Any, steps: np.ndarray, neurons: np.ndarray, params: dict[str, Any]
) -> list[Any]:
    """Not in their model: a given realisation of their Poisson input. Each event (step,
    neuron) jumps v by ``w_syn * f_poi`` in the synapses slot of that step, as a
    ``PoissonInput`` spike does; like ``poi``, the targets get no refractory period."""
    from brian2 import SpikeGeneratorGroup, Synapses, defaultclock, ms

    gen = SpikeGeneratorGroup(len(neu), neurons, steps * defaultclock.dt)
    kick = Synapses(
        gen, neu, on_pre="v_post += w_poi", namespace={"w_poi": params["w_syn"] * params["f_poi"]}
    )
    kick.connect(j="i")
    for i in np.unique(neurons):
        neu[int(i)].rfc = 0 * ms
    return [gen, kick]


def with_gaps_and_currents(params: dict[str, Any], gaps: bool, currents: bool) -> dict[str, Any]:
    """Not in their model: their parameters with the membrane equation extended by a gap
    current ``I_gap`` (a summed variable, see ``gap_synapses``) and a step current
    ``I_step = step_current(t, i)`` (a ``TimedArray`` the caller puts in the namespace)."""
    eqs = params["eqs"]
    extra, more = "", ""
    if gaps:
        extra, more = extra + " + I_gap", more + "I_gap : volt\n"
    if currents:
        extra += " + I_step"
        more += "I_step = step_current(t, i) : volt (constant over dt)\n"
    old = "(v_0 - v + g)"
    if old not in eqs:
        raise ValueError(f"not their membrane equation: {eqs!r}")
    return {**params, "eqs": eqs.replace(old, f"(v_0 - v + g{extra})") + more}


def gap_synapses(neu: Any, a: np.ndarray, b: np.ndarray, coupling: np.ndarray) -> Any:
    """Not in their model: gap junctions a <-> b, each adding ``coupling * (v_other - v)``
    to the membrane equation's ``I_gap``."""
    from brian2 import Synapses

    gap = Synapses(neu, neu, "c : 1\nI_gap_post = c * (v_pre - v_post) : volt (summed)")
    gap.connect(i=np.concatenate([a, b]), j=np.concatenate([b, a]))
    gap.c = np.concatenate([coupling, coupling])
    return gap


def step_current_table(
    n: int,
    currents: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    steps: int,
    dt_ms: float,
) -> Any:
    """Not in their model: step currents as the engine takes them (neuron, mV, first
    step, end step) as a ``TimedArray`` over ``steps`` steps."""
    from brian2 import TimedArray, ms, mV

    table = np.zeros((steps + 1, n))
    for nrn, amp, first, end in zip(*currents, strict=True):
        table[int(first) : int(end), int(nrn)] += amp
    return TimedArray(table * mV, dt=dt_ms * ms)
