"""Tasks: shapes, and targets placed where the task says, checked by hand."""

from __future__ import annotations

import numpy as np

from connectomedb.neuroai.tasks import IGNORE, DigitsTask, PairEchoTask, PatternTask, RecallTask


def test_recall_targets_follow_the_go_cue_in_order() -> None:
    t = RecallTask()
    b = t.sample(16, np.random.default_rng(0))
    for x, y in zip(b.x, b.y, strict=True):
        shown = x[:3, :6].argmax(axis=1)
        go = int(np.flatnonzero(x[:, 6])[0])
        assert 3 + 4 <= go <= 3 + 10  # the trained delays
        assert y[go : go + 3].tolist() == shown.tolist()
        assert (np.delete(y, [go, go + 1, go + 2]) == IGNORE).all()
    held = t.sample(16, np.random.default_rng(0), held_out=True)
    gos = [int(np.flatnonzero(x[:, 6])[0]) for x in held.x]
    assert min(gos) >= 3 + 14


def test_pattern_class_is_the_order_of_the_pulses() -> None:
    t = PatternTask()
    b = t.sample(32, np.random.default_rng(1))
    for x, y in zip(b.x, b.y, strict=True):
        order = tuple(np.argsort(x.argmax(axis=0)))  # channels by their pulse time
        assert t.orders[y[-1]] == order
        assert (y[:-1] == IGNORE).all()
    assert t.sample(4, np.random.default_rng(1), held_out=True).x.shape[1] > b.x.shape[1]


def test_digits_are_read_row_by_row_and_shifted_when_held_out() -> None:
    t = DigitsTask()
    test, shifted = t.evaluation(False), t.evaluation(True)
    assert test.x.shape == (500, 8, 8) and test.y[:, -1].max() == 9
    assert np.array_equal(shifted.x[:, :, 1:], test.x[:, :, :-1])
    assert (shifted.x[:, :, 0] == 0).all()


def test_pair_echo_asks_each_unit_for_its_own_sign_two_steps_later() -> None:
    t = PairEchoTask(5)
    b = t.sample(3, np.random.default_rng(2))
    assert np.array_equal(b.y[:, 2], (b.x[:, 0] > 0).astype(np.float32))
    assert np.isnan(b.y[:, :2]).all()
    assert np.abs(t.sample(3, np.random.default_rng(2), held_out=True).x[:, 0]).max() == 0.5
