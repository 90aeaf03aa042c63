"""In-silico ablation in the simulate job, on Cook 2019: removing AVA and AVD silences
the backward-locomotion motor neurons (VA, DA) that ASH drives through them; removing a
neuron with no path to them changes nothing. The ablated network equals the engine on the
sheet network with the ablated neurons' connections taken out, and the intervals equal
scipy's paired t-test on those rates."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

import neo4j
import networkx as nx
import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from connectomedb.settings import Settings
from connectomedb.simulate.engine import Drive, GapJunctions, LIFParams, simulate, weight_matrix
from connectomedb.simulate.job import SimulateParams, conditions, paired_change
from connectomedb.simulate.rate import RateParams, simulate_rates
from tests.oracles import cook_graphs
from tests.simulate.test_job import _outputs, _run, _sheet_edges, _sheet_network, _vectors
from tests.world import World

ASH = ["ASHL", "ASHR"]
AVA_AVD = ["AVAL", "AVAR", "AVDL", "AVDR"]
VA = [f"VA{i}" for i in range(1, 13)]
DA = [f"DA{i}" for i in range(1, 10)]
PNG = b"\x89PNG\r\n\x1a\n"


def _without(
    ids: list[str], removed: list[str], a: np.ndarray, b: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sheet's connections a -> b that touch none of ``removed``."""
    gone = np.isin(np.array(ids), removed)
    keep = ~(gone[a] | gone[b])
    return a[keep], b[keep], value[keep]


def _per_trial(
    art: Mapping[str, np.ndarray], condition: int, trials: int, ids: list[str]
) -> np.ndarray:
    """Spike counts (trials, neurons in ``ids`` order) of one condition, from the npz."""
    keep = art["condition"] == condition
    names = [str(x) for x in art["neuron_ids"]]
    counts = np.zeros((trials, len(names)), dtype=np.int64)
    np.add.at(counts, (art["trial"][keep], art["neuron"][keep]), 1)
    return counts[:, [names.index(v) for v in ids]]


def test_ablating_ava_and_avd_silences_va_and_da_and_a_pathless_neuron_changes_nothing(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """Poisson input to ASHL/ASHR (100 Hz, 5 trials of 0.5 s), two ablations (AVA+AVD;
    MCL) crossed with gap coupling 0 and 0.005: four comparisons against the intact
    network of their point.

    Shiu et al.'s w_syn (0.275 mV) leaves VA and DA silent on Cook 2019: with ASH at
    150 Hz its 26 and 56 synapses onto AVA and AVD fire them at 0 to 10 Hz, too little to
    drive the motor neurons (the engine on the sheet network); at 0.6 mV VA/DA fire
    below 1 Hz, at 1 mV about 30 Hz. So w_syn is 1 mV here; the Poisson input keeps Shiu
    et al.'s 68.75 mV jump (any jump above 7 mV fires ASH)."""
    chem, gap, neurons = cook_graphs(str(settings.data_cache))
    chem = chem.subgraph(neurons)  # the job's network: neurons only, not muscles

    # the wiring behind the expectation, from the sheet
    def synapses(pre: list[str], post: list[str]) -> int:
        return sum(
            chem.edges[a, b]["synapse_count"] for a in pre for b in post if chem.has_edge(a, b)
        )

    assert [synapses(ASH, [x]) for x in AVA_AVD] == [15, 11, 34, 22]
    assert synapses(AVA_AVD, VA + DA) == 340 and synapses(ASH, VA + DA) == 0
    # MCL has no chemical synapse onto a neuron (only onto marginal cells), so nothing
    # lies downstream of it in the chemical network; it is not downstream of ASH; its gap
    # junctions join pharyngeal neurons only (through them and RIP's gap junctions it
    # reaches every neuron of the worm, so only without gap junctions is it strictly
    # without a path to VA/DA)
    assert chem.out_degree("MCL") == 0
    assert "MCL" not in set().union(*(nx.descendants(chem, h) for h in ASH))
    circuit = set(ASH + AVA_AVD + VA + DA)
    assert not circuit & set(gap.neighbors("MCL")) and not circuit & set(chem.predecessors("MCL"))

    params = {
        "seconds": 0.5,
        "trials": 5,
        "seed": 7,
        "w_syn": 1.0,
        "drive_weight_mv": 68.75,
        "stimuli": [{"ids": ASH, "rate_hz": 100.0}],
        "grid": {"gap_coupling": [0.0, 0.005]},
        "ablate_sets": [[{"type": "AVA"}, {"ids": ["AVDL", "AVDR"]}], [{"ids": ["MCL"]}]],
        "readout": [{"type": "VA"}, {"class": "motor", "type": "DA"}],
    }
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, _ = _outputs(driver, j["run_id"])
    vectors = _vectors(driver, j["run_id"])
    names = [c["name"] for c in metrics["conditions"]]
    assert names == [
        f"gap_coupling={gc}, {state}"
        for gc in ("0", "0.005")
        for state in ("intact", "ablation 1", "ablation 2")
    ]
    ab = metrics["ablation"]
    assert ab["pairing"] == "paired by trial" and ab["trials"] == 5 and ab["confidence"] == 0.95
    assert ab["readout_neurons"] == 21
    got = [(c["condition"], c["intact"], c["condition_index"]) for c in ab["comparisons"]]
    assert got == [
        (names[1], names[0], 1),
        (names[2], names[0], 2),
        (names[4], names[3], 4),
        (names[5], names[3], 5),
    ]

    # the ablated network at gap coupling 0.005 is the engine's on the sheet network
    # without AVA/AVD's connections and gap junctions, same seed, trial by trial (the
    # intact network's equality with the engine is test_job's)
    ids, _, _, sign, gaps = _sheet_network(world, driver, settings)
    ix = {v: i for i, v in enumerate(ids)}
    pre, post, strength = _sheet_edges(ids, settings)
    rates = np.zeros(len(ids))
    rates[[ix[v] for v in ASH]] = 100.0
    a, b, count = _without(ids, AVA_AVD, gaps.a, gaps.b, gaps.coupling)
    ablated = simulate(
        weight_matrix(len(ids), *_without(ids, AVA_AVD, pre, post, strength), sign, 1.0),
        LIFParams(w_syn=1.0),
        5000,
        Drive(rates=rates, weight=68.75),
        5,
        7,
        gaps=GapJunctions(a, b, count),
    ).rates
    art = np.load(metrics["artifact"])
    np.testing.assert_allclose(_per_trial(art, 4, 5, ids) / 0.5, ablated, rtol=1e-6)
    intact = _per_trial(art, 3, 5, ids) / 0.5
    job = np.array([vectors[v] for v in ids])  # (neurons, conditions): mean over trials
    np.testing.assert_allclose(job[:, 3], intact.mean(axis=0), rtol=1e-6)
    assert (job[[ix[v] for v in AVA_AVD], :][:, [1, 4]] == 0).all()  # ablated: rate 0

    motor = [ix[v] for v in VA + DA]
    want = stats.ttest_rel(ablated[:, motor].mean(axis=1), intact[:, motor].mean(axis=1))
    ci = want.confidence_interval(0.95)
    for c in (ab["comparisons"][0], ab["comparisons"][2]):
        assert c["ablated_ids"] == AVA_AVD and c["ablated_neurons"] == 4
        groups = {x["group"]: x for x in c["groups"]}
        assert set(groups) == {"all readout", "type=VA", "type=DA, class=motor"}
        assert (groups["type=VA"]["neurons"], groups["type=DA, class=motor"]["neurons"]) == (12, 9)
        both = groups["all readout"]
        assert both["neurons"] == 21
        # the response to ASH falls, beyond trial noise
        assert both["intact_hz"] > 10 and both["change_hz"] < 0 and both["ci_high_hz"] < 0
        assert {x["id"] for x in c["neurons"]} == set(VA + DA)
    both = {x["group"]: x for x in ab["comparisons"][2]["groups"]}["all readout"]
    assert both["intact_hz"] == pytest.approx(intact[:, motor].mean(), rel=1e-6)
    assert both["ablated_hz"] == pytest.approx(ablated[:, motor].mean(), abs=1e-9)
    assert (both["ci_low_hz"], both["ci_high_hz"]) == pytest.approx((ci.low, ci.high), rel=1e-6)
    assert both["p_value"] == pytest.approx(want.pvalue, rel=1e-6)

    # MCL: at gap coupling 0 every spike of every other neuron is the same, trial by
    # trial; at 0.005 every readout interval still holds 0
    others = [v for v in ids if v != "MCL"]
    np.testing.assert_array_equal(_per_trial(art, 0, 5, others), _per_trial(art, 2, 5, others))
    for c in (ab["comparisons"][1], ab["comparisons"][3]):
        assert c["ablated_ids"] == ["MCL"]
        for row in c["neurons"] + c["groups"]:
            assert row["ci_low_hz"] <= 0 <= row["ci_high_hz"], row
    for row in ab["comparisons"][1]["neurons"]:
        assert (row["change_hz"], row["ci_low_hz"], row["ci_high_hz"], row["p_value"]) == (
            0.0,
            0.0,
            0.0,
            1.0,
        )

    # a plot per comparison, and the table of every readout neuron
    folder = Path(metrics["artifact_dir"])
    plots = [c["plot"] for c in ab["comparisons"]]
    assert plots == [f"ablation-{k}.png" for k in range(4)]
    assert set(plots) | {"ablation.csv", "spikes.npz"} <= set(metrics["files"])
    for name in plots:
        assert (folder / name).read_bytes()[:8] == PNG
    with (folder / "ablation.csv").open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 * 21
    row = next(r for r in table if r["condition"] == names[4] and r["neuron"] == "DA3")
    k = ix["DA3"]
    assert float(row["change_hz"]) == pytest.approx(ablated[:, k].mean() - intact[:, k].mean())


def test_the_rate_model_ablation_equals_the_rate_model_without_those_neurons(
    world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    """The graded rate model (w_syn 0.01 mV, dt 1 ms, ASH at 100 Hz; at Shiu et al.'s
    w_syn most neurons saturate at r_max): ablating AVA and AVD equals the model on the
    sheet network without their connections; deterministic, so the change is exact. The
    readout is every neuron, grouped by class."""
    params = {
        "model": "rate",
        "seconds": 1.0,
        "dt": 1.0,
        "w_syn": 0.01,
        "stimuli": [{"ids": ASH, "rate_hz": 100.0}],
        "ablate": [{"ids": AVA_AVD}],
    }
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert j["status"] == "succeeded", j.get("error")
    metrics, _ = _outputs(driver, j["run_id"])
    vectors = _vectors(driver, j["run_id"])
    ids, _, _, sign, _ = _sheet_network(world, driver, settings)
    ix = {v: i for i, v in enumerate(ids)}
    pre, post, strength = _sheet_edges(ids, settings)
    x = np.zeros(len(ids))
    x[[ix[v] for v in ASH]] = 100.0
    intact = simulate_rates(
        weight_matrix(len(ids), pre, post, strength, sign, 0.01), RateParams(dt=1.0), 1000, x
    ).rates[0]
    ablated = simulate_rates(
        weight_matrix(len(ids), *_without(ids, AVA_AVD, pre, post, strength), sign, 0.01),
        RateParams(dt=1.0),
        1000,
        x,
    ).rates[0]
    assert [c["name"] for c in metrics["conditions"]] == ["intact", "ablated"]
    job = np.array([vectors[v] for v in ids])
    np.testing.assert_allclose(job[:, 0], intact, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(job[:, 1], ablated, rtol=1e-5, atol=1e-6)
    ab = metrics["ablation"]
    assert ab["pairing"] == "deterministic" and ab["readout"] == "every neuron, grouped by class"
    (c,) = ab["comparisons"]
    assert c["readout_neurons"] == len(ids) - 4
    rows = {r["id"]: r for r in c["neurons"]}
    assert not set(AVA_AVD) & set(rows)  # ablated neurons leave the readout
    motor = [ix[v] for v in VA + DA]
    assert intact[motor].mean() > 20 and ablated[motor].mean() < intact[motor].mean() / 10
    for v in VA + DA:
        r = rows[v]
        assert r["change_hz"] == pytest.approx(ablated[ix[v]] - intact[ix[v]], abs=1e-4)
        assert r["ci_low_hz"] == r["change_hz"] == r["ci_high_hz"] and r["p_value"] is None
    groups = {g["group"]: g for g in c["groups"]}
    keep = [ix[v] for v in rows]
    assert groups["all readout"]["change_hz"] == pytest.approx(
        (ablated[keep] - intact[keep]).mean(), abs=1e-4
    )
    assert groups["class=motor"]["change_hz"] < 0
    folder = Path(metrics["artifact_dir"])
    assert metrics["files"] == ["ablation.csv", "ablation-0.png"]
    assert (folder / "ablation-0.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"ablate": [{"ids": ["NOPE"]}]}, "ablate {'ids': ['NOPE']} selects no neuron"),
        ({"ablate": [{"type": "AVA"}], "readout": [{"type": "NOPE"}]}, "readout {'type': 'NOPE'}"),
        # by type, so only the network shows that ASHL is both
        ({"ablate": [{"type": "ASH"}]}, "ASHL, ASHR both stimulated and ablated"),
    ],
)
def test_an_ablation_the_network_refutes_fails_without_retry(
    world: World,
    driver: neo4j.Driver,
    settings: Settings,
    tmp_path: Path,
    extra: dict,
    said: str,
) -> None:
    params = {"seconds": 0.1, "trials": 2, "stimuli": [{"ids": ["ASHL", "ASHR"]}], **extra}
    j = _run(driver, settings, world.cook, params, tmp_path)
    assert (j["status"], j["attempts"]) == ("failed", 1) and said in j["error"]


STIM = [{"ids": ["ASHL"]}]


@pytest.mark.parametrize(
    "bad",
    [
        {"ablate": []},
        {"ablate": [{}]},  # a selector that selects nothing in particular
        {"ablate": [{"ids": []}]},
        {"ablate": [{"ids": [""]}]},
        {"ablate": [{"name": "AVAL"}]},  # not a selector field
        {"ablate": [{"ids": ["AVAL"]}], "ablate_sets": [[{"ids": ["AVAR"]}]]},
        {"ablate_sets": []},
        {"ablate_sets": [[{"ids": ["AVAL"]}], []]},
        {"readout": [{"type": "VA"}]},  # nothing ablated
        {"ablate": [{"ids": ["AVAL"]}], "readout": []},
        {"ablate": [{"ids": ["AVAL"]}], "trials": 1},  # no interval from one LIF trial
        {"ablate": [{"ids": ["AVAL", "ASHL"]}]},  # stimulated and ablated
        {"stimuli": [], "stimulus_sets": [STIM], "ablate_sets": [[{"ids": ["ASHL"]}]]},
        # 3 x 11 grid points, each intact and ablated: 66 conditions
        {
            "stimuli": [],
            "stimulus_sets": [STIM] * 3,
            "grid": {"w_syn": [0.1 * k for k in range(1, 12)]},
            "ablate": [{"ids": ["AVAL"]}],
        },
    ],
)
def test_bad_ablations_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        SimulateParams.model_validate({"stimuli": STIM, "trials": 2, **bad})


def test_ablations_that_may_hold_are_taken() -> None:
    """A rate run needs no second trial; a stimulus and an ablation by type may select
    different neurons (the job decides); 3 x 10 points, intact and ablated, make 60."""
    SimulateParams.model_validate({"model": "rate", "stimuli": STIM, "ablate": [{"ids": ["AVAL"]}]})
    SimulateParams.model_validate(
        {"stimuli": STIM, "trials": 2, "ablate": [{"ids": ["ASHL"], "type": "AVA"}]}
    )
    p = SimulateParams.model_validate(
        {
            "stimulus_sets": [STIM] * 3,
            "trials": 2,
            "grid": {"w_syn": [0.1 * k for k in range(1, 11)]},
            "ablate": [{"ids": ["AVAL"]}],
        }
    )
    assert len(conditions(p)) == 60


def test_conditions_run_each_point_intact_then_each_ablation() -> None:
    p = SimulateParams.model_validate(
        {
            "stimulus_sets": [STIM, [{"ids": ["ASHR"]}]],
            "trials": 2,
            "grid": {"w_syn": [0.2]},
            "ablate_sets": [[{"type": "AVA"}], [{"class": "motor"}]],
        }
    )
    got = [(c.name, c.ablation) for c in conditions(p)]
    assert got == [
        ("set 1, w_syn=0.2, intact", None),
        ("set 1, w_syn=0.2, ablation 1", 0),
        ("set 1, w_syn=0.2, ablation 2", 1),
        ("set 2, w_syn=0.2, intact", None),
        ("set 2, w_syn=0.2, ablation 1", 0),
        ("set 2, w_syn=0.2, ablation 2", 1),
    ]
    # without an ablation the conditions are as before
    plain = SimulateParams.model_validate({"stimuli": STIM, "grid": {"w_syn": [0.2]}})
    assert [(c.name, c.ablation) for c in conditions(plain)] == [("w_syn=0.2", None)]


def test_the_paired_change_is_the_paired_t_test() -> None:
    """By hand: changes 1, 2, 3 have mean 2 and standard error 1/sqrt(3); t(0.975, 2) =
    4.302653 gives 2 +- 2.484138, and t = 3.4641 gives p = 0.07418. On random rates it
    equals scipy's ttest_rel, column by column."""
    got = paired_change(np.array([[2.0], [3.0], [6.0]]), np.array([[3.0], [5.0], [9.0]]))
    assert got.change[0] == 2.0
    assert (got.low[0], got.high[0]) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)
    assert got.p[0] == pytest.approx(0.07418, abs=1e-5)
    rng = np.random.default_rng(3)
    a, b = rng.poisson(20, (7, 5)).astype(float), rng.poisson(22, (7, 5)).astype(float)
    got = paired_change(a, b)
    for k in range(5):
        want = stats.ttest_rel(b[:, k], a[:, k])
        ci = want.confidence_interval(0.95)
        assert (got.low[k], got.high[k], got.p[k]) == pytest.approx((ci.low, ci.high, want.pvalue))
    # every trial alike: the interval is the change, p 1 for none and 0 for any other
    same = paired_change(np.array([[4.0, 4.0], [6.0, 6.0]]), np.array([[4.0, 1.0], [6.0, 3.0]]))
    assert list(same.low) == list(same.high) == [0.0, -3.0] and list(same.p) == [1.0, 0.0]
    # one trial (the rate model): the change, no p-value
    one = paired_change(np.array([[4.0]]), np.array([[1.5]]))
    assert (one.low[0], one.high[0]) == (-2.5, -2.5) and math.isnan(one.p[0])
