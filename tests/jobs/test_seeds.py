"""Every job kind whose parameters take a seed refuses a negative one before it is queued
(numpy refuses them only later, in the worker)."""

from __future__ import annotations

import numpy as np
import pytest

from connectomedb.errors import BadInput
from connectomedb.jobs.registry import KINDS, check_params

SEEDED = sorted(name for name, k in KINDS.items() if "seed" in k.params.model_fields)


def test_the_seeded_kinds_are_found() -> None:
    assert {"census", "simulate"} <= set(SEEDED)
    with pytest.raises(ValueError):
        np.random.default_rng(-1)  # what a negative seed would meet in the worker


@pytest.mark.parametrize("kind", SEEDED)
def test_a_negative_seed_is_refused(kind: str) -> None:
    with pytest.raises(BadInput, match="seed"):
        check_params(kind, {"seed": -1})
