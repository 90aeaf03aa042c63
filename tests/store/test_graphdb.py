"""The Store gateway: transaction timeouts surface as our Timeout, queries are counted."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectomedb.errors import Timeout
from connectomedb.settings import Settings
from connectomedb.store.graphdb import Store, make_async_driver

SLOW = "UNWIND range(1, 2000000000) AS x WITH x WHERE x % 7 = 0 RETURN count(x) AS c"


def test_a_query_past_its_time_limit_raises_timeout(settings: Settings, driver) -> None:
    async def go() -> tuple[Store, float]:
        d = make_async_driver(settings)
        store = Store(d, settings.neo4j_database, timeout_s=0.5)
        t = time.perf_counter()
        try:
            with pytest.raises(Timeout, match="ask for less"):
                await store.read("slow", SLOW)
            assert (await store.read("fast", "RETURN 1 AS one")) == [{"one": 1}]
            return store, time.perf_counter() - t
        finally:
            await d.close()

    store, elapsed = asyncio.run(go())
    assert store.queries == 2
    # the server's transaction monitor checks every db.transaction.monitor.check.interval
    assert elapsed < 15


def test_a_request_past_its_query_budget_is_refused(settings: Settings, driver) -> None:
    from connectomedb.errors import BadInput

    async def go() -> None:
        d = make_async_driver(settings)
        store = Store(d, settings.neo4j_database, timeout_s=5, max_queries=2)
        try:
            await store.read("one", "RETURN 1 AS x")
            await store.read("two", "RETURN 2 AS x")
            with pytest.raises(BadInput, match="more than 2 database queries"):
                await store.read("three", "RETURN 3 AS x")
        finally:
            await d.close()

    asyncio.run(go())


def test_a_server_that_accepts_but_never_answers_is_unavailable_in_time(
    settings: Settings,
) -> None:
    """A server that takes connections, agrees a Bolt version and then says nothing (one
    still starting up): the query gives up within the store's hard limit with
    UNAVAILABLE."""
    from connectomedb.errors import Unavailable
    from connectomedb.store.graphdb import hard_limit_s

    async def go() -> float:
        held: list[asyncio.StreamWriter] = []

        async def mute(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            held.append(w)  # keep it open
            await r.readexactly(20)  # magic preamble and four proposed versions
            w.write(bytes([0, 0, 4, 5]))  # Bolt 5.4, then silence
            await w.drain()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # the driver's own waits, sized for the default 20 s limit, add up to well over
        # a minute here; the store's 2 s queries must not wait for them
        quiet = settings.model_copy(update={"neo4j_uri": f"bolt://127.0.0.1:{port}"})
        d = make_async_driver(quiet)
        store = Store(d, quiet.neo4j_database, timeout_s=2.0)
        t = time.perf_counter()
        try:
            with pytest.raises(Unavailable):
                await store.read("silent", "RETURN 1 AS one")
            return time.perf_counter() - t
        finally:
            await d.close()
            server.close()

    elapsed = asyncio.run(go())
    assert elapsed <= hard_limit_s(2.0) + 1
