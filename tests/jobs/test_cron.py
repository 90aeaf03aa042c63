"""Cron due times against hand-counted answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectomedb.errors import BadInput
from connectomedb.jobs.cron import check_cron, due_times, next_after

T0 = int(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp() * 1000)


def test_every_missed_due_time_in_order() -> None:
    # every 2 s; due at T0, the scheduler looks at T0 + 7.5 s
    due, nxt = due_times("* * * * * */2", T0, T0 + 7_500, 100)
    assert due == [T0, T0 + 2_000, T0 + 4_000, T0 + 6_000]
    assert nxt == T0 + 8_000


def test_a_due_time_at_exactly_now_counts() -> None:
    due, nxt = due_times("*/15 * * * *", T0, T0 + 15 * 60_000, 100)
    assert due == [T0, T0 + 15 * 60_000] and nxt == T0 + 30 * 60_000


def test_a_long_outage_enqueues_only_the_latest_runs() -> None:
    day = 86_400_000
    due, nxt = due_times("* * * * * *", T0, T0 + day, 100)
    assert due == list(range(T0 + day - 99_000, T0 + day + 1, 1_000))
    assert nxt == T0 + day + 1_000


def test_next_after_and_bad_expressions() -> None:
    assert next_after("0 3 * * *", T0) == T0 + 15 * 3_600_000  # 03:00 the next day
    assert check_cron(" 0  3 * * 1 ") == "0 3 * * 1"
    for bad in ("61 * * * *", "* * *", "every day", "* * * * * * * *"):
        with pytest.raises(BadInput):
            check_cron(bad)
    with pytest.raises(BadInput, match="never comes due"):
        next_after("0 0 30 2 *", T0)  # 30 February
