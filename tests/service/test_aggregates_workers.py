"""What several API worker processes (``serve --workers N``) share: stored aggregates. A
lock inside one process makes its concurrent requests compute an answer once; workers do
not share it, so two of them may compute the same answer at once. Both then store it,
and the store must keep one answer, not two."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import neo4j

from connectomedb.loaders.csvbundle import NeuprintBundle
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.service.aggregates import Aggregates
from connectomedb.settings import Settings
from connectomedb.store.graphdb import Store, make_async_driver
from tests.factories import neuprint_bundle


def test_two_workers_computing_one_answer_store_it_once(
    driver: neo4j.Driver, settings: Settings, dataset_id: str, tmp_path: Path
) -> None:
    DatasetWriter(driver, settings.neo4j_database).load(
        NeuprintBundle(neuprint_bundle(tmp_path / "bundle"), dataset_id)
    )
    both_computing = threading.Barrier(2)
    computed: list[int] = []

    def worker(i: int, out: list[Any]) -> None:
        """One worker process's view: its own event loop (so its own locks) and driver."""

        async def compute() -> dict[str, int]:
            computed.append(i)
            # neither stores before both have read "nothing stored" and started computing
            await asyncio.to_thread(both_computing.wait, 30)
            return {"answer": 42}

        async def run() -> None:
            d = make_async_driver(settings)
            try:
                agg = Aggregates(Store(d, settings.neo4j_database, 30), settings, dataset_id)
                out.append((await agg.cached("probe_stat", {"n": 1}, compute), agg.hit))
            finally:
                await d.close()

        asyncio.run(run())

    outs: list[list[Any]] = [[], []]
    threads = [threading.Thread(target=worker, args=(i, outs[i])) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(computed) == [0, 1]
    assert outs == [[({"answer": 42}, False)], [({"answer": 42}, False)]]
    recs, _, _ = driver.execute_query(
        "MATCH (a:Aggregate {dataset: $ds}) RETURN a.kind AS kind, a.value AS value",
        ds=dataset_id,
    )
    assert [(r["kind"], r["value"]) for r in recs] == [("probe_stat", '{"answer":42}')]
