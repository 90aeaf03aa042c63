"""The audit log: one ``(:AuditEvent)`` per mutation field a signed-in caller ran
through the API (refused ones included), per job a schedule submits, and per change the
operator makes with ``connectomedb user``, ``token``, ``lab`` and ``jobs submit``: who,
when, what, on which datasets and labs, and how it ended.

Events are written after the change, apart from its own transaction: a change whose
event could not be written is logged as an error and still stands. An event's labs are
the labs it names and the owner labs of its datasets at the time, so a lab's admins see
what happened to their datasets even after a dataset is gone."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from enum import Enum
from typing import Any, Final

import neo4j

from connectomedb.store.graphdb import Store

AUDIT_EVENT: Final = "AuditEvent"

#: the arguments of an event are kept as JSON of at most this many characters
MAX_ARGUMENTS_CHARS: Final = 2000

RECORD: Final = f"""
OPTIONAL MATCH (d:Dataset)-[:OWNED_BY]->(l:Lab) WHERE d.id IN $datasets
WITH collect(DISTINCT l.id) AS owners
CREATE (e:{AUDIT_EVENT} {{id: $id, at: datetime(), user: $user, token: $token,
                          action: $action, arguments: $arguments, datasets: $datasets,
                          labs: [x IN $labs WHERE NOT x IN owners] + owners,
                          outcome: $outcome}})
RETURN e.id AS id
"""

EVENTS: Final = f"""
MATCH (e:{AUDIT_EVENT})
WHERE ($after IS NULL OR e.id < $after)
  AND ($user IS NULL OR e.user = $user)
  AND ($dataset IS NULL OR $dataset IN e.datasets)
  AND ($lab IS NULL OR $lab IN e.labs)
  AND ($action IS NULL OR e.action = $action)
RETURN e {{.*}} AS e ORDER BY e.id DESC LIMIT $limit
"""


def event_id() -> str:
    """Ids sort by time (nanoseconds since the epoch, then a random part)."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else str(v)


def arguments_json(arguments: dict[str, Any]) -> str:
    text = json.dumps(arguments, sort_keys=True, default=_plain, ensure_ascii=False)
    if len(text) > MAX_ARGUMENTS_CHARS:
        text = text[: MAX_ARGUMENTS_CHARS - 1] + "\u2026"
    return text


def _params(
    user: str | None,
    token: str | None,
    action: str,
    arguments: dict[str, Any],
    outcome: str,
    datasets: Sequence[str],
    labs: Sequence[str],
) -> dict[str, Any]:
    return {
        "id": event_id(),
        "user": user,
        "token": token,
        "action": action,
        "arguments": arguments_json(arguments),
        "outcome": outcome,
        "datasets": sorted(set(datasets)),
        "labs": sorted(set(labs)),
    }


def record_operator(
    driver: neo4j.Driver,
    database: str,
    action: str,
    arguments: dict[str, Any],
    datasets: Sequence[str] = (),
    labs: Sequence[str] = (),
) -> None:
    """An event of the operator's CLI (no user: whoever can run it on the server)."""
    driver.execute_query(
        RECORD,
        _params(None, None, action, arguments, "OK", datasets, labs),
        database_=database,
    )


class AuditRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(
        self,
        *,
        user: str | None,
        token: str | None,
        action: str,
        arguments: dict[str, Any],
        outcome: str,
        datasets: Sequence[str] = (),
        labs: Sequence[str] = (),
    ) -> str:
        recs = await self.store.write(
            "audit_record",
            RECORD,
            **_params(user, token, action, arguments, outcome, datasets, labs),
        )
        return str(recs[0]["id"])

    async def events(
        self,
        *,
        limit: int,
        after: str | None = None,
        user: str | None = None,
        dataset: str | None = None,
        lab: str | None = None,
        action: str | None = None,
    ) -> list[dict[str, Any]]:
        recs = await self.store.read(
            "audit_events",
            EVENTS,
            after=after,
            user=user,
            dataset=dataset,
            lab=lab,
            action=action,
            limit=limit,
        )
        return [r["e"] for r in recs]
