"""Failed sign-ins per client: the window, the refusal and its wait, on a fake clock."""

from __future__ import annotations

import pytest

from connectomedb.errors import RateLimited
from connectomedb.service.errors import CLIENT_CODES, HTTP_STATUS
from connectomedb.service.ratelimit import FailedSignIns


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refused_after_max_failures_within_the_window_until_the_oldest_ages_out() -> None:
    clock = Clock()
    lim = FailedSignIns(3, 60.0, clock)
    for t in (0.0, 10.0, 20.0):
        clock.now = 1000.0 + t
        lim.check("a")
        lim.failed("a")
    clock.now = 1030.0
    with pytest.raises(RateLimited) as e:
        lim.check("a")
    assert e.value.retry_after_s == pytest.approx(30.0)  # the failure at 1000 ages out at 1060
    lim.check("b")  # another client is not affected
    clock.now = 1059.9
    with pytest.raises(RateLimited):
        lim.check("a")
    clock.now = 1060.0
    lim.check("a")  # two failures left in the window
    lim.failed("a")
    with pytest.raises(RateLimited) as e:
        lim.check("a")
    assert e.value.retry_after_s == pytest.approx(10.0)  # now the one at 1010


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    lim = FailedSignIns(2, 5.0, clock)
    lim.failed("a")
    clock.now += 5.0
    lim.failed("a")
    lim.check("a")  # only one failure within the last 5 s


def test_the_table_of_clients_is_bounded() -> None:
    clock = Clock()
    lim = FailedSignIns(1, 60.0, clock, max_clients=3)
    for c in "abcd":
        lim.failed(c)
    lim.check("a")  # the least recently failing client was forgotten
    for c in "bcd":
        with pytest.raises(RateLimited):
            lim.check(c)


def test_every_client_code_has_an_http_status() -> None:
    assert set(HTTP_STATUS) == CLIENT_CODES
    assert HTTP_STATUS["RATE_LIMITED"] == 429


def test_sign_ins_being_checked_count_until_they_succeed() -> None:
    clock = Clock()
    lim = FailedSignIns(3, 60.0, clock)
    guesses = [f"cdb_guess_{i}" for i in range(3)]
    counted = [lim.begin("a", g) for g in guesses]  # three in flight at once
    assert counted == [True, True, True]
    with pytest.raises(RateLimited):
        lim.begin("a", "cdb_guess_4")  # a fourth, in parallel, is refused already
    for g, c in zip(guesses, counted, strict=True):
        lim.end("a", g, c, ok=False)
    with pytest.raises(RateLimited):
        lim.check("a")


def test_a_good_token_in_parallel_is_not_held_up() -> None:
    clock = Clock()
    lim = FailedSignIns(3, 60.0, clock)
    c = lim.begin("a", "good")
    lim.end("a", "good", c, ok=True)  # it signed in once
    flight = [lim.begin("a", "good") for _ in range(10)]  # then ten at once
    assert flight == [False] * 10
    for c in flight:
        lim.end("a", "good", c, ok=True)
    lim.check("a")
    # an unknown outcome (the database did not answer) is neither a failure nor good
    c = lim.begin("a", "other")
    lim.end("a", "other", c, ok=None)
    assert lim.begin("a", "other") is True
