"""structureFunction over GraphQL on Cook 2019 + the atlas: its counts and odds ratios
equal the count made from the sheet and the h5 file; outsiders see nothing; what one
request may compute is bounded."""

from __future__ import annotations

import pytest

from connectomedb.loaders.functional import MeasurementLoad
from connectomedb.settings import Settings
from tests.analytics.test_structure_function_job import CATS, _oracle
from tests.world import World

Q = """query($ds: ID!, $set: ID!, $samples: Int!, $null: FunctionalNull!, $q: Float!) {
  structureFunction(dataset: $ds, measurements: $set, nullSamples: $samples,
                    nullModel: $null, qThreshold: $q) {
    measurementSet pairs pairsWithoutQ qThreshold
    categories { category pairs functional probability ciLow ciHigh }
    oddsRatios { category reference table oddsRatio ciLow ciHigh }
    directOddsRatio { oddsRatio }
    spearmanCount cvR2 tests { statistic pValue } nullModel: null nullSamples nullDescription
    caveats
  }
}"""


def test_structure_function_equals_the_count(
    atlas: dict[str, MeasurementLoad], world: World, settings: Settings
) -> None:
    args = {"ds": world.cook, "set": "randi2023_wt", "samples": 20, "q": 0.01}
    r = world.client("alice")(Q, **args, null="LABEL_PERMUTATION")["structureFunction"]
    df = _oracle(settings, "wt", 0.01)
    counts = df.groupby("category").functional.agg(["size", "sum"]).reindex(list(CATS))
    assert [(c["category"], c["pairs"], c["functional"]) for c in r["categories"]] == [
        (k, int(v["size"]), int(v["sum"])) for k, v in counts.iterrows()
    ]
    none_f = int(counts.loc["none", "sum"])
    none_n = int(counts.loc["none", "size"]) - none_f
    for o in r["oddsRatios"]:
        a = int(counts.loc[o["category"], "sum"])
        b = int(counts.loc[o["category"], "size"]) - a
        assert o["table"] == [a, b, none_f, none_n]
        assert o["oddsRatio"] == pytest.approx(a * none_n / (b * none_f), rel=1e-12)
    assert r["pairs"] == len(df) and r["qThreshold"] == 0.01
    assert r["nullModel"] == "LABEL_PERMUTATION" and r["nullSamples"] == 20
    assert [t["statistic"] for t in r["tests"]][0] == "direct_odds_ratio"
    assert r["caveats"] and "not causation" in r["caveats"][0]
    # the degree-preserving null on a graph this size is within one request's budget
    d = world.client("alice")(Q, **{**args, "samples": 5}, null="DEGREE_PRESERVING")
    assert d["structureFunction"]["nullModel"] == "DEGREE_PRESERVING"
    assert d["structureFunction"]["categories"] == r["categories"]


def test_structure_function_refusals(atlas: dict[str, MeasurementLoad], world: World) -> None:
    args = {"ds": world.cook, "set": "randi2023_wt", "samples": 10, "q": 0.05}
    for who in ("bob", None):
        code, _ = world.client(who).error(Q, **args, null="LABEL_PERMUTATION")
        assert code == "NOT_FOUND"
    alice = world.client("alice")
    code, message = alice.error(Q, **{**args, "samples": 5000}, null="DEGREE_PRESERVING")
    assert code == "BAD_INPUT" and "structure_function job" in message
    code, message = alice.error(Q, **{**args, "q": 1.5}, null="LABEL_PERMUTATION")
    assert code == "BAD_INPUT" and "q_threshold" in message
    code, message = alice.error(
        Q, **{**args, "set": "bentley2016_neuropeptides"}, null="LABEL_PERMUTATION"
    )
    assert code == "BAD_INPUT" and "extrasynaptic" in message
