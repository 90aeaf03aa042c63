"""The job contract's helpers: metrics made strict JSON."""

from __future__ import annotations

import json
import math

from connectomedb.jobs.contract import finite


def test_finite_makes_metrics_strict_json() -> None:
    metrics = {
        "or": math.inf,
        "r": math.nan,
        "ci": (0.5, -math.inf),
        "rows": [{"p": 0.01, "n": 3, "name": "x", "ok": True}],
    }
    out = finite(metrics)
    assert out == {
        "or": None,
        "r": None,
        "ci": [0.5, None],
        "rows": [{"p": 0.01, "n": 3, "name": "x", "ok": True}],
    }
    json.dumps(out, allow_nan=False)  # raises on any NaN or infinity left
