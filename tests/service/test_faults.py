"""Neo4j killed (SIGKILL, the server's whole process group) under API load and started
again 8 s later, with real processes: a Neo4j of its own, ``connectomedb serve`` and 6
HTTP clients (bench/faults.py's drill). While the server is dead every request answers
within the query time limit with a clear code (UNAVAILABLE, and HTTP 503 on
``/rest`` and ``/health``); once it answers again every kind of request succeeds within
seconds, without restarting the API; nothing ever answers INTERNAL or HTTP 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectomedb.settings import Settings
from connectomedb.store.graphdb import hard_limit_s
from tests.bench import load_bench

faults = load_bench("faults")

#: the API's query time limit in this test
LIMIT_S = 6.0


@pytest.fixture(scope="module")
def drilled(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, list[str]]]:
    """The drill's record and report, on a server, dataset and API of its own."""
    home = tmp_path_factory.mktemp("neo4j-faults")
    with faults.own_server(settings, home) as s:
        env = faults.env_for(s, LIMIT_S)
        faults.cli(env, "db", "init")
        faults.cli(
            env, "load", "synthetic", "--neurons", "300", "--connections", "3000", "--public",
            "--no-warm", "--id", "faults",
        )  # fmt: skip
        ids = [f"n{i}" for i in range(20)]
        with faults.api(env) as (url, proc):
            d = faults.drill(s, url, "faults", ids, users=6, before_s=4, down_s=8, after_s=2)
            assert proc.poll() is None  # the same API process throughout
        yield d, faults.report(d)


def test_while_neo4j_is_dead_every_request_answers_unavailable_in_time(
    drilled: tuple[Any, list[str]],
) -> None:
    d, lines = drilled
    # in flight at some time while the server was dead (the restart not yet begun)
    dead = [a for a in d.answers if a.started < d.restarted and a.started + a.seconds > d.killed]
    started_dead = [a for a in dead if a.started > d.killed + 0.5]
    assert len(started_dead) >= 10, lines
    want = {
        "graphql_neuron": (200, "UNAVAILABLE"),  # GraphQL answers 200 with the error's code
        "rest_neurons": (503, "UNAVAILABLE"),
        "health": (503, "HTTP_503"),
    }
    for a in started_dead:
        assert (a.status, a.code) == want[a.kind], (a, lines)
    for a in dead:  # those in flight at the kill too: a code, in time
        assert a.code in ("OK", "UNAVAILABLE", "HTTP_503"), (a, lines)
        assert a.seconds <= LIMIT_S, (a, lines)


def test_the_api_recovers_without_a_restart_and_never_answers_internal(
    drilled: tuple[Any, list[str]],
) -> None:
    d, lines = drilled
    rec = d.recovered()
    assert all(v is not None and v < 30 for v in rec.values()), lines
    codes = {a.code for a in d.answers}
    # the restart window may also see TIMEOUT (a server still starting up); never anything
    # without a code, INTERNAL, HTTP 500 or a request the client gave up on
    assert codes <= {"OK", "UNAVAILABLE", "HTTP_503", "TIMEOUT"}, (codes, lines)
    # a server that accepts connections but does not answer yet (starting up) holds no
    # request past the store's hard limit either
    longest = max(d.answers, key=lambda a: a.seconds)
    assert longest.seconds <= hard_limit_s(LIMIT_S) + 1, (longest, lines)
    before = [a for a in d.answers if a.started + a.seconds < d.killed]
    after = [a for a in d.answers if a.started > d.up + max(v for v in rec.values() if v)]
    assert before and after
    assert all(a.code == "OK" for a in before + after), lines
