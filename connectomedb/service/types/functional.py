"""Structure against function as callers see it: functional connection rates by wiring
category, odds ratios, rank correlations and variance explained, each against a null."""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

import strawberry

from connectomedb.analytics.structure_function import PAIRWISE_NULLS

#: the nulls of a structure-function test, e.g. ``FunctionalNull("label_permutation")``
FunctionalNull = Enum("FunctionalNull", {m.upper(): m for m in PAIRWISE_NULLS})  # type: ignore[misc]
strawberry.enum(FunctionalNull)
LABEL_PERMUTATION = FunctionalNull("label_permutation")


@strawberry.enum
class AmplitudeMode(Enum):
    ABS = "abs"
    SIGNED = "signed"


def _f(v: Any) -> float | None:
    """A finite float, or None (an infinite odds ratio has no JSON number)."""
    return float(v) if v is not None and math.isfinite(v) else None


@strawberry.type(
    description="Functional connections among the measured pairs of one wiring category."
)
class WiringCategoryRate:
    category: str = strawberry.field(
        description="chemical (a direct connection stimulated -> responder), gap_junction "
        "(a gap junction and no direct chemical connection), two_hop (neither, but a "
        "two-step path), none"
    )
    pairs: int
    functional: int = strawberry.field(description="pairs with q below the threshold")
    probability: float | None
    ci_low: float | None
    ci_high: float | None


@strawberry.type(
    description="The odds of a functional connection in a category against unwired pairs."
)
class FunctionalOddsRatio:
    category: str
    reference: str
    table: list[int] = strawberry.field(
        description="[functional, not functional] in the category, then in the reference"
    )
    odds_ratio: float | None = strawberry.field(description="a*d / (b*c); null when infinite")
    ci_low: float | None
    ci_high: float | None = strawberry.field(description="null when unbounded")


@strawberry.type(description="An observed statistic against samples of the null model.")
class NullTest:
    statistic: str
    observed: float | None
    null_mean: float | None
    p_value: float | None = strawberry.field(
        description="one-sided: (1 + samples at least as large) / (1 + samples)"
    )


@strawberry.type(
    description="How much the wiring predicts a pairwise measurement set: what it shows, "
    "against a named null, with intervals. An association, not a mechanism."
)
class StructureFunction:
    measurement_set: strawberry.ID
    neurons: int
    pairs: int = strawberry.field(description="measured pairs with a q-value, among neurons")
    pairs_without_q: int = strawberry.field(description="measured pairs left out: no q-value")
    pairs_with_amplitude: int
    q_threshold: float
    amplitude_mode: AmplitudeMode
    categories: list[WiringCategoryRate]
    odds_ratios: list[FunctionalOddsRatio]
    direct_odds_ratio: FunctionalOddsRatio = strawberry.field(
        description="any direct wiring (chemical or gap junction) against none"
    )
    spearman_count: float | None = strawberry.field(
        description="rank correlation of response strength with the synapse count"
    )
    spearman_path: float | None = strawberry.field(
        description="rank correlation of response strength with (A + A@A)[s, r], A = "
        "chemical synapses + gap junctions"
    )
    cv_r2: float | None = strawberry.field(
        description="out-of-fold R^2 of response strength from wiring features (folds "
        "grouped by stimulated neuron)"
    )
    folds: int
    tests: list[NullTest]
    null: FunctionalNull
    null_description: str
    null_samples: int
    seed: int
    confidence: float
    rate_interval: str
    odds_ratio_interval: str
    caveats: list[str]

    @classmethod
    def from_result(
        cls, set_id: str, without_q: int, r: dict[str, Any], caveats: list[str]
    ) -> StructureFunction:
        def odds(o: dict[str, Any]) -> FunctionalOddsRatio:
            return FunctionalOddsRatio(
                category=o["category"],
                reference=o["reference"],
                table=list(o["table"]),
                odds_ratio=_f(o["odds_ratio"]),
                ci_low=_f(o["ci_low"]),
                ci_high=_f(o["ci_high"]),
            )

        return cls(
            measurement_set=strawberry.ID(set_id),
            neurons=r["neurons"],
            pairs=r["pairs"],
            pairs_without_q=without_q,
            pairs_with_amplitude=r["pairs_with_amplitude"],
            q_threshold=r["q_threshold"],
            amplitude_mode=AmplitudeMode(r["amplitude_mode"]),
            categories=[
                WiringCategoryRate(
                    category=c["category"],
                    pairs=c["pairs"],
                    functional=c["functional"],
                    probability=_f(c["probability"]),
                    ci_low=_f(c["ci_low"]),
                    ci_high=_f(c["ci_high"]),
                )
                for c in r["categories"]
            ],
            odds_ratios=[odds(o) for o in r["odds_ratios"]],
            direct_odds_ratio=odds(r["direct_odds_ratio"]),
            spearman_count=_f(r["spearman_count"]),
            spearman_path=_f(r["spearman_path"]),
            cv_r2=_f(r["cv_r2"]),
            folds=r["folds"],
            tests=[
                NullTest(
                    statistic=t["statistic"],
                    observed=_f(t["observed"]),
                    null_mean=_f(t["null_mean"]),
                    p_value=_f(t["p_value"]),
                )
                for t in r["tests"]
            ],
            null=FunctionalNull(r["null"]),
            null_description=r["null_description"],
            null_samples=r["null_samples"],
            seed=r["seed"],
            confidence=r["confidence"],
            rate_interval=r["rate_ci"],
            odds_ratio_interval=r["odds_ratio_ci"],
            caveats=caveats,
        )
