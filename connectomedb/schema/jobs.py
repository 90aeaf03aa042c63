"""The job model's fixed vocabulary: statuses and the default queue."""

from __future__ import annotations

import secrets
from typing import Final

QUEUED: Final = "queued"
RUNNING: Final = "running"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
#: A job moves ``queued -> running -> succeeded | failed | cancelled``.
STATUSES: Final = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)

#: The queue jobs go to unless another is named (workers serve one queue each).
DEFAULT_QUEUE: Final = "default"


def new_id(prefix: str) -> str:
    """A new id of a job, schedule or run: ``prefix_`` and 16 hex digits."""
    return f"{prefix}_{secrets.token_hex(8)}"
