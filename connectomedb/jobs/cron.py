"""Cron expressions for schedules (croniter): five fields, or six with seconds last.

Due times are milliseconds since the epoch, UTC, on the database server's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterError, croniter

from connectomedb.errors import BadInput


def check_cron(expr: str) -> str:
    """The expression, stripped, if croniter accepts it with 5 or 6 fields."""
    expr = " ".join(expr.split())
    if len(expr.split()) not in (5, 6) or not croniter.is_valid(expr):
        raise BadInput(
            f"cron expression {expr!r} is not valid: five fields (minute hour day month "
            "weekday) or six with seconds last, e.g. '*/15 * * * *'"
        )
    return expr


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)


def next_after(expr: str, after_ms: int) -> int:
    """The first due time strictly after ``after_ms`` (UTC)."""
    try:
        return _ms(croniter(check_cron(expr), _dt(after_ms)).get_next(datetime))
    except CroniterError as e:  # e.g. '0 0 30 2 *', a day that never comes
        raise BadInput(f"cron expression {expr!r} never comes due: {e}") from e


def due_times(expr: str, next_due: int, now: int, cap: int) -> tuple[list[int], int]:
    """The due times from ``next_due`` (itself due) up to ``now``, in order: all of
    them, or the latest ``cap`` when more were missed; and the first due time after
    ``now``."""
    it = croniter(check_cron(expr), _dt(now + 1))  # get_prev: the last one <= now
    latest: list[int] = []
    while len(latest) < cap:
        t = _ms(it.get_prev(datetime))
        if t < next_due:
            break
        latest.append(t)
    return sorted(latest) or [next_due], next_after(expr, now)
