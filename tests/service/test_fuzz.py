"""Operations generated from the whole schema (bench/fuzz.py's generator), queries and
mutations, valid and with one violation, sent over HTTP to a live API anonymously and
as two signed-in users who are not site admins: every answer is coded (no HTTP 500, every
error with a client code, none INTERNAL). CONNECTOMEDB_FUZZ_EXAMPLES raises the count
(bench/fuzz.py runs the full one)."""

from __future__ import annotations

import os
from typing import Any

import neo4j
import pytest

from connectomedb.settings import Settings
from tests.bench import load_bench
from tests.world import Client

fuzz = load_bench("fuzz")

EXAMPLES = int(os.environ.get("CONNECTOMEDB_FUZZ_EXAMPLES", "300"))


def test_every_generated_answer_is_coded(
    url: str, cast: Any, driver: neo4j.Driver, settings: Settings
) -> None:
    tally = fuzz.fuzz(
        url,
        cast,
        lambda: fuzz.reset(driver, cast, settings.neo4j_database),
        EXAMPLES,
        stop_on_failure=True,
    )
    print("\n".join(tally.lines()))
    assert tally.operations >= EXAMPLES * 0.9
    # The generator reaches the resolvers, not only validation: some answers carry
    # data (about one in ten over 10 000 operations in bench/fuzz.py; 300 vary more),
    # some are refused for a missing or unreadable thing, some ask to sign in.
    assert tally.with_data > EXAMPLES * 0.05
    assert tally.codes["NOT_FOUND"] > 0
    assert tally.codes["UNAUTHENTICATED"] > 0
    assert tally.codes["BAD_INPUT"] > 0
    assert set(tally.by_request) >= {"anonymous_query_valid", "editor_mutation_valid"}


#: what the full run of bench/fuzz.py found: a negative seed reached numpy (INTERNAL)
SEEDED = {
    "feedForwardLoops": "{ feedForwardLoops(dataset: $ds, samples: 2, seed: -5) { z } }",
    "motifCensus": "{ motifCensus(dataset: $ds, nullModel: ERDOS_RENYI, samples: 2, seed: -1)"
    " { neurons } }",
    "compareArchitecture": "{ compareArchitecture(datasetA: $ds, datasetB: $ds, samples: 2,"
    " seed: -1) { caveats } }",
    "structureFunction": '{ structureFunction(dataset: $ds, measurements: "m", seed: -1)'
    " { qThreshold } }",
}


@pytest.mark.parametrize("field", list(SEEDED))
def test_a_negative_seed_is_bad_input(url: str, cast: Any, field: str) -> None:
    text = "query($ds: ID!) " + SEEDED[field]
    c = Client(url, cast.tokens["editor"])
    code, message = c.error(text, ds=cast.public)
    assert (code, message) == ("BAD_INPUT", "seed must be 0 or more")
