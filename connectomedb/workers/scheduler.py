"""The scheduler: every tick, each due schedule enqueues its due times, each exactly once
however many schedulers run (the store locks the schedule; the policy is here)."""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Final

from connectomedb.jobs.cron import due_times
from connectomedb.store.schedules import ScheduleQueue

log = logging.getLogger("connectomedb.scheduler")

#: How many missed due times of one schedule are enqueued at most when catching up (the
#: latest ones; older missed runs are skipped).
MAX_CATCH_UP: Final = 100


def tick(queue: ScheduleQueue) -> int:
    """Enqueue every due run of every enabled schedule; returns how many jobs were
    created. A schedule that fails is logged and skipped; the others still run."""
    plan = partial(due_times, cap=MAX_CATCH_UP)
    created = 0
    for sid in queue.due_ids():
        try:
            created += queue.enqueue(sid, plan)
        except Exception:
            log.exception("schedule %s could not be enqueued", sid)
    return created


def run_scheduler(
    queue: ScheduleQueue, tick_s: float = 1.0, stop: threading.Event | None = None
) -> None:
    """Enqueue due runs every ``tick_s`` seconds until ``stop`` is set. Any number of
    schedulers may run: each due time becomes exactly one job."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            n = tick(queue)
            if n:
                log.info("enqueued %d scheduled jobs", n)
        except Exception:  # keep ticking through transient database errors
            log.exception("a scheduler tick failed")
        stop.wait(tick_s)
