"""Structure against function, asked live: the wiring of a dataset against one of its
pairwise measurement sets (the ``structure_function`` job does the same with no request
budget, per-neuron properties and plots)."""

from __future__ import annotations

import asyncio
from typing import Final

import numpy as np
import strawberry
from pydantic import ValidationError

from connectomedb.analytics.params import StructureFunctionParams
from connectomedb.analytics.structure_function_job import CAVEATS, analyse
from connectomedb.errors import BadInput
from connectomedb.service import inputs
from connectomedb.service.context import Info
from connectomedb.service.permissions import ReadsDataset
from connectomedb.service.resolvers.statistics import check_seed
from connectomedb.service.types.functional import (
    LABEL_PERMUTATION,
    AmplitudeMode,
    FunctionalNull,
    StructureFunction,
)
from connectomedb.store.graph import GraphReader

#: what one request may ask for: null samples x measured pairs (label permutation; a
#: sample costs a lookup per pair) or x connections (degree-preserving; a sample rewires
#: the graph). Larger questions go to a structure_function job.
MAX_LABEL_WORK: Final = 20_000_000
MAX_REWIRE_WORK: Final = 5_000_000


@strawberry.type
class FunctionalQueries:
    @strawberry.field(
        description="How much the wiring predicts a pairwise measurement set (e.g. the "
        "signal propagation atlas): the probability of a functional connection (q below "
        "qThreshold) given a direct chemical connection, a gap junction, a two-hop path or "
        "none, odds ratios against unwired pairs, rank correlations of response strength "
        "with synapse count and path-summed weight, and the cross-validated variance "
        "explained by wiring features, each against the null model. Larger questions: "
        "submit a structure_function job.",
        extensions=[ReadsDataset()],
    )
    async def structure_function(
        self,
        info: Info,
        dataset: strawberry.ID,
        measurements: strawberry.ID,
        q_threshold: float = 0.05,
        null_model: FunctionalNull = LABEL_PERMUTATION,  # type: ignore[valid-type]
        null_samples: int = 100,
        folds: int = 5,
        amplitude: AmplitudeMode = AmplitudeMode.ABS,
        min_weight: int = 1,
        seed: int = 0,
    ) -> StructureFunction:
        ds, set_id = str(dataset), str(measurements)
        check_seed(seed)
        try:
            p = StructureFunctionParams(
                measurements=set_id,
                q_threshold=q_threshold,
                null=null_model.value,
                null_samples=null_samples,
                folds=folds,
                amplitude=amplitude.value,
                min_weight=inputs.min_weight(min_weight),
                seed=seed,
            )
        except ValidationError as e:
            raise BadInput(
                "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            ) from e
        await info.context.measurement_set(ds, set_id, "pairwise")
        reader = GraphReader(info.context.store)
        g = await reader.read(ds, min_weight=p.min_weight)
        gaps, pairs = await asyncio.gather(
            reader.gap_junctions(g), info.context.measurements(ds).pairs(g, set_id)
        )
        work, limit = (
            (pairs.stim.size, MAX_LABEL_WORK)
            if p.null == "label_permutation"
            else (g.m + gaps[0].size, MAX_REWIRE_WORK)
        )
        if p.null_samples * work > limit:
            raise BadInput(
                f"{p.null_samples} null samples over {work:,} "
                f"{'pairs' if p.null == 'label_permutation' else 'connections'} is more than "
                "one request computes: ask for fewer samples, or submit a structure_function job"
            )
        out = await asyncio.to_thread(analyse, g, gaps, p, pairs, {})
        return StructureFunction.from_result(
            set_id, int((~np.isfinite(pairs.q)).sum()), out["pairwise"], list(CAVEATS)
        )
