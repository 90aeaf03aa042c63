"""bench/load.py's arithmetic: percentiles, the window's tallies and error codes, checked
against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from tests.bench import load_bench

load = load_bench("load")


def test_percentile_interpolates_between_ranks() -> None:
    xs = [40.0, 15.0, 50.0, 35.0, 20.0]  # sorted: 15 20 35 40 50
    assert load.percentile(xs, 50) == 35.0
    assert load.percentile(xs, 0) == 15.0
    assert load.percentile(xs, 100) == 50.0
    # rank (5 - 1) * 0.99 = 3.96: 40 + 0.96 * (50 - 40)
    assert load.percentile(xs, 99) == pytest.approx(49.6)
    # rank 4 * 0.25 = 1: exactly the second value
    assert load.percentile(xs, 25) == 20.0
    assert load.percentile([7.0], 99) == 7.0
    assert math.isnan(load.percentile([], 50))
    with pytest.raises(ValueError):
        load.percentile(xs, 101)


def test_summary_counts_only_the_window() -> None:
    R = load.Record
    records = [
        R("neuron", 9.0, 11.0),  # started before the window
        R("neuron", 10.0, 10.25),
        R("neuron", 12.0, 12.75, "TIMEOUT_200"),
        R("neuron", 13.0, 13.5, "TIMEOUT_200"),
        R("page", 15.0, 15.5),
        R("page", 16.0, 17.0, "UNAUTHENTICATED_401"),
        R("page", 19.0, 21.0),  # ended after it
    ]
    s = load.summarize(records, 10.0, 20.0)
    assert (s.requests, s.errors, s.seconds) == (5, 3, 10.0)
    assert (s.per_s, s.ok_per_s) == (0.5, 0.2)
    n, p = s.ops["neuron"], s.ops["page"]
    assert (n.requests, dict(n.errors), n.late) == (3, {"TIMEOUT_200": 2}, 0)
    assert (p.requests, dict(p.errors), p.late) == (2, {"UNAUTHENTICATED_401": 1}, 1)
    # neuron latencies 0.25, 0.5, 0.75 s; page 0.5, 1.0 s
    assert n.p50_ms == 500.0
    assert n.p99_ms == pytest.approx(745.0)  # 500 + 0.98 * 250
    assert p.p50_ms == 750.0
    lines = list(s.lines("w2"))
    assert "w2_requests: 5" in lines
    assert "w2_neuron_errors_TIMEOUT_200: 2" in lines
    assert "w2_page_p50_ms: 750.0" in lines
    assert "w2_requests_per_s: 0.5" in lines
    assert "w2_page_answered_after_the_window: 1" in lines
    assert not any(line.startswith("w2_neuron_answered") for line in lines)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, b'{"data": {"datasets": []}}', None),
        (200, b'{"data": {"x": 1}, "errors": []}', None),
        (
            200,
            b'{"data": null, "errors": [{"message": "slow", "extensions": {"code": "TIMEOUT"}}]}',
            "TIMEOUT_200",
        ),
        (
            401,
            b'{"errors": [{"message": "no", "extensions": {"code": "UNAUTHENTICATED"}}]}',
            "UNAUTHENTICATED_401",
        ),
        (200, b'{"errors": [{"message": "no code"}]}', "NONE_200"),
        (502, b"Bad Gateway", "NONE_502"),
        (500, b"{not json", "NONE_500"),
    ],
)
def test_error_code(status: int, body: bytes, code: str | None) -> None:
    assert load.error_code(status, body) == code
