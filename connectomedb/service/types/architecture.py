"""Two datasets side by side (compareArchitecture): each one's density and reciprocity,
their degree distributions compared, and their triad significance profiles correlated,
every figure with its null model or test."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum

import strawberry

from connectomedb.analytics import architecture
from connectomedb.service.types import from_row
from connectomedb.service.types.connectivity import Level
from connectomedb.service.types.statistics import NullModel


@strawberry.enum
class DegreeKind(Enum):
    IN = "in"
    OUT = "out"
    TOTAL = "total"


@strawberry.type(
    description="One dataset of the comparison: its selected neurons and the connections "
    "among them with at least minWeight synapses (chemical; autapses left out)."
)
class ArchitectureSide:
    dataset: strawberry.ID
    neurons: int
    connections: int = strawberry.field(description="connections between distinct neurons")
    autapses: int = strawberry.field(description="neurons connected to themselves (left out)")
    min_weight: int
    density: float = strawberry.field(description="connections / (n(n-1))")
    reciprocal_pairs: int = strawberry.field(description="neuron pairs connected both ways")
    reciprocal_pairs_expected: float = strawberry.field(
        description="(n(n-1)/2) density^2: the pairs expected under nullModel"
    )
    reciprocity_enrichment: float | None = strawberry.field(
        description="reciprocalPairs / reciprocalPairsExpected (null when none is expected)"
    )
    null_model: str = strawberry.field(description="the null model of the reciprocity figures")


@strawberry.type(
    description="datasetA's and datasetB's distributions of one degree, each neuron's "
    "degree divided by the most it can be in its own dataset (normalisedBy) so that "
    "datasets of different sizes compare, by a two-sample Kolmogorov–Smirnov test."
)
class DegreeDistributionComparison:
    degree: DegreeKind
    normalised_by: str = strawberry.field(
        description="what each degree is divided by: n - 1 (in, out) or 2(n - 1) (total), "
        "n the dataset's selected neurons"
    )
    mean_a: float = strawberry.field(description="mean normalised degree in datasetA")
    mean_b: float
    ks_distance: float = strawberry.field(
        description="the largest gap between the two empirical distribution functions of "
        "the normalised degrees (0: the same, 1: no overlap)"
    )
    p_value: float = strawberry.field(
        description="two-sided, scipy.stats.ks_2samp; approximate: degrees are integers and "
        "tie, and the test assumes continuous distributions"
    )
    test: str
    null_hypothesis: str


@strawberry.type(
    description="One connected triad class (MAN label) in both datasets: observed count, "
    "z = (observed - null mean) / null std over the null samples, and the significance "
    "profile entry (z over the length of the dataset's z vector, Milo et al. 2004); "
    "z and profile are null where the null samples do not vary."
)
class TriadProfileClass:
    name: str
    observed_a: int
    observed_b: int
    z_a: float | None
    z_b: float | None
    profile_a: float | None
    profile_b: float | None


@strawberry.type(
    description="The triad significance profiles of the two datasets (the 13 connected "
    "classes, each dataset's census against samples of nullModel with the same seed) and "
    "their Pearson correlation over the classes with a z in both, with a permutation "
    "p-value."
)
class TriadProfileComparison:
    null_model: NullModel
    null_description: str
    samples: int
    seed: int
    type_level: Level | None = strawberry.field(
        description="the cell-type level of the CELL_TYPE_SBM null (null for the others)"
    )
    classes: list[TriadProfileClass]
    classes_compared: int = strawberry.field(description="classes with a z in both datasets")
    correlation: float | None = strawberry.field(
        description="Pearson's r of the two profiles over the compared classes (null below "
        "3 classes or when a profile is constant over them)"
    )
    p_value: float | None = strawberry.field(
        description="the permutation test's (see correlationNull)"
    )
    permutations: int
    test: str
    correlation_null: str


@strawberry.type(
    description="Two datasets side by side, every figure with its null model or test, and "
    "what the comparison does not claim (caveats)."
)
class ArchitectureComparison:
    dataset_a: ArchitectureSide
    dataset_b: ArchitectureSide
    degree_distributions: list[DegreeDistributionComparison] = strawberry.field(
        description="in-, out- and total degree, in that order"
    )
    triad_profile: TriadProfileComparison
    caveats: list[str]

    @classmethod
    def from_result(
        cls,
        r: architecture.ArchitectureComparison,
        datasets: tuple[str, str],
        min_weights: tuple[int, int],
        null_model: NullModel,
        type_level: Level | None,
    ) -> ArchitectureComparison:
        sides = [
            from_row(
                ArchitectureSide,
                asdict(s),
                dataset=strawberry.ID(ds),
                autapses=s.self_loops,
                min_weight=w,
            )
            for s, ds, w in zip((r.a, r.b), datasets, min_weights, strict=True)
        ]
        t = r.triads
        return cls(
            dataset_a=sides[0],
            dataset_b=sides[1],
            degree_distributions=[
                from_row(
                    DegreeDistributionComparison,
                    asdict(d),
                    degree=DegreeKind(d.degree),
                    ks_distance=d.statistic,
                )
                for d in r.degrees
            ],
            triad_profile=from_row(
                TriadProfileComparison,
                asdict(t),
                null_model=null_model,
                type_level=type_level,
                classes=[from_row(TriadProfileClass, asdict(c)) for c in t.classes],
            ),
            caveats=list(r.caveats),
        )
