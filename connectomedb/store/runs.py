"""Model runs in the graph: what a job produced (a ModelRun with its metrics and an
OUTPUT per neuron), written with the job's success and read by the API and by jobs that
build on earlier runs."""

from __future__ import annotations

import json
from typing import Any, Final

import neo4j

from connectomedb.errors import BadInput
from connectomedb.jobs.contract import RunResult
from connectomedb.schema.graph import NEURON
from connectomedb.store.graphdb import Store

CREATE_RUN: Final = """
MATCH (j:Job {id: $job})
CREATE (j)-[:PRODUCED]->(r:ModelRun {id: $id, kind: $kind, dataset: $dataset,
        job: $job, params: $params, metrics: $metrics, seed: $seed,
        code_version: $code_version, requested_by: j.requested_by,
        outputs: $n_outputs, created_at: timestamp()})
RETURN r.id AS id"""

CREATE_OUTPUTS: Final = """
MATCH (r:ModelRun {id: $run})
UNWIND $rows AS row
MATCH (n:Neuron {dataset: $dataset, id: row.id})
CREATE (r)-[:OUTPUT {label: row.label, score: row.score, vector: row.vector,
                     layout: row.layout, kind: $kind}]->(n)
RETURN count(*) AS written"""

RUNS: Final = """
MATCH (r:ModelRun) WHERE r.dataset IN $datasets AND ($kind IS NULL OR r.kind = $kind)
RETURN r {.*} AS run ORDER BY r.created_at DESC, r.id DESC SKIP $skip LIMIT $limit"""

RUN: Final = "MATCH (r:ModelRun {id: $id}) RETURN r {.*} AS run"

RUN_OUTPUTS: Final = """
MATCH (r:ModelRun {id: $run})-[o:OUTPUT]->(n:Neuron)
RETURN n.id AS neuron, o.label AS label, o.score AS score, o.vector AS vector,
       o.layout AS layout
ORDER BY neuron SKIP $skip LIMIT $limit"""

NEURON_OUTPUTS: Final = """
UNWIND $ids AS nid
MATCH (n:Neuron {dataset: $dataset, id: nid})<-[o:OUTPUT {kind: $kind}]-(r:ModelRun)
WHERE $run IS NULL OR r.id = $run
WITH nid, r, o ORDER BY r.created_at DESC, r.id DESC
WITH nid, collect({run: r.id, label: o.label, score: o.score, vector: o.vector,
                   layout: o.layout})[0] AS latest
RETURN nid AS id, latest"""

#: a run's kind and parameters and each neuron's score (fit_strengths: the gain)
RUN_SCORES: Final = f"""
MATCH (r:ModelRun {{id: $run}}) WHERE r.dataset = $dataset
OPTIONAL MATCH (r)-[o:OUTPUT]->(n:{NEURON})
RETURN r.kind AS kind, r.params AS params, collect([n.id, o.score]) AS scores"""


def _jsonable(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def write_run(
    tx: neo4j.ManagedTransaction,
    run_id: str,
    job: dict[str, Any],
    result: RunResult,
    code_version: str,
    batch: int = 5_000,
) -> None:
    """Write the ModelRun of ``job`` and every output, inside the caller's transaction.

    Raises:
        BadInput: an output names a neuron that is not in the job's dataset.
    """
    rows = [o.row() for o in result.outputs]
    tx.run(
        CREATE_RUN,
        job=job["id"],
        id=run_id,
        kind=job["kind"],
        dataset=job["dataset"],
        params=job["params"],
        metrics=json.dumps(result.metrics, sort_keys=True, default=_jsonable),
        seed=result.seed,
        code_version=code_version,
        n_outputs=len(rows),
    ).consume()
    written = 0
    for i in range(0, len(rows), batch):
        rec = tx.run(
            CREATE_OUTPUTS,
            run=run_id,
            rows=rows[i : i + batch],
            dataset=job["dataset"],
            kind=job["kind"],
        ).single()
        written += int(rec["written"]) if rec else 0
    if written != len(rows):
        raise BadInput(
            f"{len(rows) - written} outputs name neurons that are not in dataset {job['dataset']!r}"
        )


def run_scores(
    driver: neo4j.Driver, database: str, dataset: str, run_id: str
) -> tuple[str, dict[str, Any], dict[str, float | None]] | None:
    """(kind, params, score per neuron id) of a model run of ``dataset``; None when the
    dataset has no such run."""
    recs, _, _ = driver.execute_query(
        RUN_SCORES,
        run=run_id,
        dataset=dataset,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    if not recs or recs[0]["kind"] is None:
        return None
    r = recs[0]
    scores = {nid: score for nid, score in r["scores"] if nid is not None}
    return r["kind"], json.loads(r["params"] or "{}"), scores


class RunRepository:
    """The API's reads of model runs (async)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def runs(
        self, datasets: list[str], kind: str | None, skip: int, limit: int
    ) -> list[dict[str, Any]]:
        recs = await self.store.read(
            "model_runs", RUNS, datasets=datasets, kind=kind, skip=skip, limit=limit
        )
        return [dict(r["run"]) for r in recs]

    async def run(self, run_id: str) -> dict[str, Any] | None:
        recs = await self.store.read("model_run", RUN, id=run_id)
        return dict(recs[0]["run"]) if recs else None

    async def run_outputs(self, run_id: str, skip: int, limit: int) -> list[dict[str, Any]]:
        return await self.store.read(
            "model_run_outputs", RUN_OUTPUTS, run=run_id, skip=skip, limit=limit
        )

    async def neuron_outputs(
        self, dataset: str, kind: str, run: str | None, ids: list[str]
    ) -> dict[str, dict[str, Any] | None]:
        recs = await self.store.read(
            "neuron_outputs", NEURON_OUTPUTS, dataset=dataset, kind=kind, run=run, ids=ids
        )
        return {r["id"]: r["latest"] for r in recs}
