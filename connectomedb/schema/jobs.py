"""The job model's fixed vocabulary: statuses and the default queue."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Final

QUEUED: Final = "queued"
RUNNING: Final = "running"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
#: A job moves ``queued -> running -> succeeded | failed | cancelled``.
STATUSES: Final = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)

#: The state every new job starts in (a Cypher map's entries), whoever creates it.
NEW_JOB_STATE: Final = (
    "status: 'queued', progress: 0.0, message: '', attempts: 0, cancel_requested: false, "
    "created_at: timestamp()"
)

#: The queue jobs go to unless another is named (workers serve one queue each).
DEFAULT_QUEUE: Final = "default"


def new_id(prefix: str) -> str:
    """A new id of a job, schedule or run: ``prefix_`` and 16 hex digits."""
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class JobRequest:
    """What is asked of a new job: a submission, or the template of a schedule's jobs.
    ``params`` are the kind's checked parameters; ``user`` is who asks (None: the
    operator)."""

    dataset: str
    kind: str
    params: dict[str, Any]
    user: str | None = None
    max_attempts: int = 3
    queue: str = DEFAULT_QUEUE
