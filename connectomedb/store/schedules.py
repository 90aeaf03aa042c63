"""Schedules in the graph: a cron expression that enqueues a job at each due time, each
due time exactly once however many schedulers run. The policy (which times are due) is
the scheduler's; the store offers the locked transaction it runs in."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

import neo4j

from connectomedb.schema.jobs import NEW_JOB_STATE, JobRequest, new_id
from connectomedb.store.audit import AUDIT_EVENT
from connectomedb.store.driver import READ, chained_session
from connectomedb.store.graphdb import Store

CREATE_SCHEDULE: Final = """
CREATE (s:Schedule {id: $id, dataset: $dataset, kind: $kind, params: $params,
                    cron: $cron, created_by: $user, queue: $queue, enabled: true,
                    next_due: $next_due,
                    max_attempts: $max_attempts, created_at: timestamp()})
RETURN s {.*} AS schedule"""

SCHEDULES: Final = """
MATCH (s:Schedule) WHERE s.dataset IN $datasets
RETURN s {.*} AS schedule ORDER BY s.created_at, s.id"""

DUE_SCHEDULES: Final = """
MATCH (s:Schedule) WHERE s.enabled AND s.next_due <= timestamp()
RETURN s.id AS id ORDER BY s.next_due"""

LOCK_SCHEDULE: Final = "MATCH (s:Schedule {id: $id}) SET s.lock_seq = coalesce(s.lock_seq, 0) + 1"

READ_SCHEDULE: Final = "MATCH (s:Schedule {id: $id}) RETURN s {.*, now: timestamp()} AS schedule"

ENQUEUE_DUE: Final = f"""
MATCH (s:Schedule {{id: $id}})
UNWIND $due AS due
MERGE (j:Job {{schedule_due: s.id + '@' + toString(due)}})
ON CREATE SET j += {{id: 'job_' + s.id + '_' + toString(due), kind: s.kind,
    params: s.params, dataset: s.dataset, requested_by: s.created_by, queue: s.queue,
    max_attempts: s.max_attempts, {NEW_JOB_STATE},
    schedule: s.id, due: due, enqueued_by: $tick}}
WITH s, collect(CASE WHEN j.enqueued_by = $tick THEN j.id END) AS created
SET s.next_due = $next_due, s.last_due = $last_due
WITH s, created
OPTIONAL MATCH (:Dataset {{id: s.dataset}})-[:OWNED_BY]->(owner:Lab)
WITH s, created, collect(owner.id) AS owners
FOREACH (job IN created |
    CREATE (:{AUDIT_EVENT} {{id: $event + job, at: datetime(), user: s.created_by,
        token: null, action: 'scheduledJob',
        arguments: '{{"job": "' + job + '", "schedule": "' + s.id + '"}}',
        datasets: [s.dataset], labs: owners, outcome: 'OK'}}))
RETURN size(created) AS n"""


#: (cron, next due, now) -> (the due times to enqueue, the next due time after now)
Plan = Callable[[str, int, int], tuple[list[int], int]]


class ScheduleQueue:
    """The scheduler's side (sync driver)."""

    def __init__(self, driver: neo4j.Driver, database: str) -> None:
        self.driver = driver
        self.database = database

    def due_ids(self) -> list[str]:
        """The enabled schedules that are due, the most overdue first."""
        recs = self.driver.execute_query(
            DUE_SCHEDULES, database_=self.database, routing_=READ
        ).records
        return [r["id"] for r in recs]

    def enqueue(self, schedule_id: str, plan: Plan) -> int:
        """Lock the schedule, re-read it and, when it is still due, enqueue the due
        times ``plan`` gives and move it to the next; returns how many jobs were created
        (0 when another scheduler got there first)."""

        def work(tx: neo4j.ManagedTransaction) -> int:
            tx.run(LOCK_SCHEDULE, id=schedule_id).consume()
            rec = tx.run(READ_SCHEDULE, id=schedule_id).single()
            if rec is None:
                return 0
            s = rec["schedule"]
            if not s["enabled"] or s["next_due"] > s["now"]:
                return 0
            due, next_due = plan(s["cron"], s["next_due"], s["now"])
            out = tx.run(
                ENQUEUE_DUE,
                id=schedule_id,
                due=due,
                next_due=next_due,
                last_due=due[-1],
                tick=secrets.token_hex(8),
                event=f"{time.time_ns():020d}-",
            ).single()
            return int(out["n"]) if out else 0

        with chained_session(self.driver, self.database) as s:
            return s.execute_write(work)


class ScheduleRepository:
    """The API's side: create and list schedules (async)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create_schedule(self, req: JobRequest, cron: str, next_due: int) -> dict[str, Any]:
        """A schedule enqueuing ``req`` at each due time of ``cron``, the first at
        ``next_due``."""
        recs = await self.store.write(
            "create_schedule",
            CREATE_SCHEDULE,
            id=new_id("sched"),
            dataset=req.dataset,
            kind=req.kind,
            params=json.dumps(req.params, sort_keys=True),
            cron=cron,
            user=req.user,
            next_due=next_due,
            max_attempts=req.max_attempts,
            queue=req.queue,
        )
        return dict(recs[0]["schedule"])

    async def schedules(self, datasets: list[str]) -> list[dict[str, Any]]:
        recs = await self.store.read("schedules", SCHEDULES, datasets=datasets)
        return [dict(r["schedule"]) for r in recs]
