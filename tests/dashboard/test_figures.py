"""The dashboard's figure builders on hand-made inputs: every value a trace carries is
worked out here by hand."""

from __future__ import annotations

import json
import math

import pytest

from connectomedb.service.dashboard import figures

SIZES = {"A": 2, "B": 3, None: 1}
PAIRS = [
    {"pre": "A", "post": "A", "synapses": 4, "pairs": 1},
    {"pre": "A", "post": "B", "synapses": 9, "pairs": 3},
    {"pre": "B", "post": None, "synapses": 2, "pairs": 2},
]


def test_connectivity_matrix_of_synapses() -> None:
    labels, z = figures.connectivity_matrix(SIZES, PAIRS, "synapses")
    assert labels == ["A", "B", "(unknown)"]  # by name, the unknown group last
    assert z == [[4.0, 9.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]


def test_connectivity_matrix_of_probabilities() -> None:
    """Possible pairs: A->A 2*2-2 = 2, A->B 2*3 = 6, B->? 3*1 = 3, ?->? 1*1-1 = 0."""
    _, z = figures.connectivity_matrix(SIZES, PAIRS, "probability")
    assert z[0][0] == pytest.approx(1 / 2)
    assert z[0][1] == pytest.approx(3 / 6)
    assert z[1][2] == pytest.approx(2 / 3)
    assert z[1][0] == 0.0 and z[2][0] == 0.0  # possible but not connected
    assert z[2][2] is None  # one neuron: no pair to itself is possible


def test_connectivity_matrix_refuses_an_unknown_metric() -> None:
    with pytest.raises(ValueError, match="metric"):
        figures.connectivity_matrix(SIZES, PAIRS, "weight")


def test_connectivity_heatmap_colours_log_synapses_and_keeps_counts_for_hover() -> None:
    labels, z = figures.connectivity_matrix(SIZES, PAIRS, "synapses")
    fig = figures.connectivity_heatmap(labels, z, "synapses", "class")
    h = fig.data[0]
    assert h.z[0][1] == pytest.approx(1.0)  # log10(1 + 9)
    assert h.z[0][0] == pytest.approx(math.log10(5))
    assert h.z[2][2] == 0.0
    assert h.customdata[0][1] == 9.0
    assert list(h.x) == list(h.y) == ["A", "B", "(unknown)"]
    p = figures.connectivity_heatmap(
        labels, figures.connectivity_matrix(SIZES, PAIRS, "probability")[1], "probability", "type"
    )
    assert p.data[0].z[1][2] == pytest.approx(2 / 3)  # probabilities as they are
    assert p.data[0].z[2][2] is None


def test_degree_distributions() -> None:
    fig = figures.degree_distributions([(0, 3), (2, 5)], [(1, 7)])
    assert [t.name for t in fig.data] == ["in-degree", "out-degree"]
    assert list(fig.data[0].x) == [0, 2] and list(fig.data[0].y) == [3, 5]
    assert list(fig.data[1].x) == [1] and list(fig.data[1].y) == [7]


def test_reciprocity_bars_leave_out_empty_pairs_and_sort_by_size() -> None:
    entries = [
        {"group_a": "s", "group_b": "s", "reciprocal_pairs": 2, "expected": 1.5},
        {"group_a": "s", "group_b": "m", "reciprocal_pairs": 0, "expected": 0.0},
        {"group_a": "m", "group_b": None, "reciprocal_pairs": 1, "expected": 6.25},
    ]
    fig = figures.reciprocity_bars(entries)
    observed, expected = fig.data
    assert list(observed.x) == ["m ↔ (unknown)", "s ↔ s"]
    assert list(observed.y) == [1, 2]
    assert list(expected.y) == [6.25, 1.5]


def test_reciprocity_bars_keep_the_largest_pairs() -> None:
    entries = [
        {"group_a": f"g{i:02d}", "group_b": "x", "reciprocal_pairs": i, "expected": 0.0}
        for i in range(1, 41)
    ]
    fig = figures.reciprocity_bars(entries)
    assert len(fig.data[0].x) == figures.MAX_RECIPROCITY_BARS
    assert fig.data[0].y[0] == 40 and fig.data[0].y[-1] == 11


def test_partner_bars_put_the_strongest_partner_on_top() -> None:
    up = [
        {"cell": {"id": "AVAL", "name": "AVAL"}, "synapse_count": 10},
        {"cell": {"id": "n7"}, "synapse_count": 5},  # no name: the id
    ]
    down = [{"cell": {"id": "AVBR", "name": "AVBR"}, "synapse_count": 3}]
    fig = figures.partner_bars(up, down)
    a, b = fig.data
    # horizontal bars are drawn bottom-up: the strongest last
    assert list(a.y) == ["n7", "AVAL"] and list(a.x) == [5, 10]
    assert list(b.y) == ["AVBR"] and list(b.x) == [3]
    assert a.orientation == "h" and a.xaxis == "x" and b.xaxis == "x2"


def test_census_z_bars() -> None:
    rows = [
        {"name": "003", "observed": 10, "null_mean": 12.0, "null_std": 1.0, "z": -2.0},
        {"name": "012", "observed": 4, "null_mean": 4.0, "null_std": 0.0, "z": None},
        {"name": "030T", "observed": 9, "null_mean": 3.0, "null_std": 2.0, "z": 3.0},
    ]
    fig = figures.census_z_bars(rows, "a null")
    bar = fig.data[0]
    assert list(bar.x) == ["003", "012", "030T"]
    assert list(bar.y) == [-2.0, None, 3.0]  # no bar where the null does not vary
    assert bar.marker.color[0] != bar.marker.color[2]  # below and above the null differ
    assert bar.customdata[1][3] == "n/a"
    assert fig.layout.annotations[0].text == "a null"


def test_confusion_heatmap() -> None:
    fig = figures.confusion_heatmap(["motor", "sensory"], [[5, 1], [0, 7]])
    h = fig.data[0]
    assert list(h.x) == ["motor", "sensory"] and list(h.y) == ["motor", "sensory"]
    assert [list(r) for r in h.z] == [[5, 1], [0, 7]]
    assert [list(r) for r in h.text] == [["5", "1"], ["0", "7"]]
    assert fig.layout.yaxis.autorange == "reversed"  # the first label on top


def test_embedding_scatter_one_trace_per_group_unknown_last() -> None:
    points = [
        ("n1", 0.5, 1.0, "motor"),
        ("n2", -1.0, 2.0, None),
        ("n3", 3.0, -0.5, "inter"),
        ("n4", 2.0, 2.5, "motor"),
    ]
    fig = figures.embedding_scatter(points)
    assert [t.name for t in fig.data] == ["inter", "motor", "(unknown)"]
    motor = fig.data[1]
    assert list(motor.x) == [0.5, 2.0] and list(motor.y) == [1.0, 2.5]
    assert list(motor.text) == ["n1", "n4"]


def test_spike_raster_one_row_per_neuron_in_order() -> None:
    fig = figures.spike_raster([("ASHL", [1.5, 20.0]), ("AVAL", []), ("AVAR", [3.0])], "r")
    t = fig.data[0]
    assert list(t.x) == [1.5, 20.0, 3.0]
    assert list(t.y) == ["ASHL", "ASHL", "AVAR"]
    assert list(fig.layout.yaxis.categoryarray) == ["ASHL", "AVAL", "AVAR"]
    assert fig.layout.xaxis.range is None
    whole = figures.spike_raster([("ASHL", [1.5])], "r", duration_ms=200.0)
    assert list(whole.layout.xaxis.range) == [0.0, 200.0]


def test_population_rate_at_bin_centres() -> None:
    fig = figures.population_rate(10.0, [("baseline", [1.0, 2.0, 0.5]), ("driven", [4.0])])
    assert list(fig.data[0].x) == [5.0, 15.0, 25.0]
    assert list(fig.data[0].y) == [1.0, 2.0, 0.5]
    assert fig.data[1].name == "driven" and list(fig.data[1].x) == [5.0]


def test_anomaly_bars() -> None:
    fig = figures.anomaly_bars([{"neuron": "AVAL", "score": 3.5}, {"neuron": "RIA", "score": 2}])
    assert list(fig.data[0].x) == ["AVAL", "RIA"] and list(fig.data[0].y) == [3.5, 2.0]


PAIRWISE = {
    "q_threshold": 0.05,
    "confidence": 0.95,
    "rate_ci": "Wilson",
    "categories": [
        {
            "category": "direct",
            "pairs": 10,
            "functional": 2,
            "probability": 0.2,
            "ci_low": 0.05,
            "ci_high": 0.5,
        },
        {
            "category": "none",
            "pairs": 0,
            "functional": 0,
            "probability": None,
            "ci_low": None,
            "ci_high": None,
        },
    ],
    "odds_ratios": [
        {"category": "gap", "reference": "none", "odds_ratio": 4.0, "ci_low": 2.0, "ci_high": 9.0},
        {
            "category": "two-hop",
            "reference": "none",
            "odds_ratio": None,
            "ci_low": 0.0,
            "ci_high": math.inf,
        },
        {"category": "zero", "reference": "none", "odds_ratio": 0.0, "ci_low": 0.0, "ci_high": 1.0},
    ],
    "direct_odds_ratio": {
        "category": "direct",
        "reference": "none",
        "odds_ratio": 2.0,
        "ci_low": 0.0,
        "ci_high": math.inf,
    },
}


def test_functional_by_wiring_error_bars() -> None:
    bar = figures.functional_by_wiring(PAIRWISE).data[0]
    assert list(bar.x) == ["direct (2/10)", "none (0/0)"]
    assert list(bar.y) == [0.2, 0.0]  # no pairs: drawn at 0 without an interval
    assert bar.error_y.arrayminus == pytest.approx([0.15, 0.0])
    assert bar.error_y.array == pytest.approx([0.3, 0.0])


def test_odds_ratios_leave_out_what_a_log_axis_cannot_show() -> None:
    t = figures.odds_ratios(PAIRWISE).data[0]
    assert list(t.x) == [4.0, 2.0]
    assert list(t.y) == ["gap vs none", "direct vs none"]
    # direct: a lower bound of 0 and an infinite upper bound draw no interval
    assert t.error_x.arrayminus == pytest.approx([2.0, 0.0])
    assert t.error_x.array == pytest.approx([5.0, 0.0])


def test_like_to_like_bins_and_fit() -> None:
    ll = {
        "similarity": "-|a-b|",
        "slope": 0.5,
        "slope_ci_low": 0.25,
        "slope_ci_high": 0.75,
        "intercept": 0.1,
        "bins": [
            {
                "lower": -1.0,
                "upper": 0.0,
                "centre": -0.5,
                "probability": 0.05,
                "ci_low": 0.0,
                "ci_high": 0.1,
            },
            {
                "lower": 0.0,
                "upper": 1.0,
                "centre": 0.5,
                "probability": 0.6,
                "ci_low": 0.5,
                "ci_high": 0.8,
            },
        ],
    }
    points, line = figures.like_to_like(ll, "tuning").data
    assert list(points.x) == [-0.5, 0.5] and list(points.y) == [0.05, 0.6]
    assert points.error_y.arrayminus == pytest.approx([0.05, 0.1])
    assert list(line.x) == [-1.0, 1.0]
    assert list(line.y) == pytest.approx([-0.4, 0.6])  # 0.1 + 0.5 x


def test_figure_json_cannot_close_its_script_element() -> None:
    fig = figures.anomaly_bars([{"neuron": "</script><script>alert(1)</script>&", "score": 1}])
    text = figures.figure_json(fig)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["data"][0]["x"] == ["</script><script>alert(1)</script>&"]
