"""Temporal tasks, each with a training condition and a held-out condition that tests
generalisation beyond it. Inputs and targets are numpy arrays; no torch.

- ``pattern``: which of six orders four channels pulsed in (temporal pattern
  classification); held out: the same orders at 1.5x slower tempo.
- ``recall``: three symbols, a delay, a go cue, then the symbols in order (delayed
  recall, a memory-capacity load of three items); trained on delays of 4-10 steps, held
  out: 14-20.
- ``digits``: the 8x8 handwritten digits of scikit-learn's package data read row by row
  (sequential digits); trained on 1 297 images, scored on 500 others; held out: those
  500 shifted one pixel to the right.
- ``pair_echo``: the planted control. Unit i alone receives a sign at t = 0 and must
  report it at t = 2; inputs and outputs are fixed to units (``identity_io``), so the
  sign can come back to unit i in two steps only through a reciprocal pair i <-> j (the
  mask has no autapses): units in reciprocal pairs can learn it, the others cannot.
  Held out: the sign at half the amplitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import permutations
from typing import ClassVar, Final

import numpy as np

#: targets of steps that are not scored
IGNORE: Final = -1


@dataclass(frozen=True)
class Batch:
    """Inputs and targets of one batch.

    Shapes:
        x: (batch, time, inputs) float32. y: (batch, time) int64 class targets, IGNORE
        where a step is not scored; for ``binary`` tasks (batch, time, outputs) float32
        of 0/1 with NaN where not scored.
    """

    x: np.ndarray
    y: np.ndarray


class Task:
    """A task: ``sample(batch, rng, held_out)``; ``criterion`` is the accuracy that counts
    as learned (sample efficiency is the number of examples seen before reaching it)."""

    name: ClassVar[str]
    n_in: int
    n_out: int
    binary: ClassVar[bool] = False
    identity_io: ClassVar[bool] = False
    criterion: float
    chance: float

    def sample(self, batch: int, rng: np.random.Generator, held_out: bool = False) -> Batch:
        raise NotImplementedError

    def describe(self) -> str:
        return (self.__doc__ or "").strip().splitlines()[0]


class PatternTask(Task):
    """Classify the order in which four channels pulsed (6 orders), read at the last step."""

    name = "pattern"
    CHANNELS: Final = 4
    SPACING: Final = 3
    START: Final = 2

    def __init__(self) -> None:
        self.orders = list(permutations(range(self.CHANNELS)))[::4]  # 6 of the 24 orders
        self.n_in, self.n_out = self.CHANNELS, len(self.orders)
        self.criterion, self.chance = 0.9, 1 / len(self.orders)

    def sample(self, batch: int, rng: np.random.Generator, held_out: bool = False) -> Batch:
        tempo = 1.5 if held_out else 1.0
        span = self.START + int(np.ceil(tempo * self.SPACING * (self.CHANNELS - 1))) + 2
        steps = span + 3
        cls = rng.integers(len(self.orders), size=batch)
        x = np.zeros((batch, steps, self.n_in), dtype=np.float32)
        jitter = rng.integers(-1, 2, size=(batch, self.CHANNELS))
        for b in range(batch):
            for slot, ch in enumerate(self.orders[cls[b]]):
                t = self.START + round(tempo * self.SPACING * slot) + jitter[b, slot]
                x[b, t, ch] = 1.0
        x += rng.normal(0.0, 0.1, size=x.shape).astype(np.float32)
        y = np.full((batch, steps), IGNORE, dtype=np.int64)
        y[:, -1] = cls
        return Batch(x, y)


class RecallTask(Task):
    """Recall three of six symbols, in order, after a delay and a go cue."""

    name = "recall"
    SYMBOLS: Final = 6
    ITEMS: Final = 3
    TRAIN_DELAYS: Final = (4, 10)
    HELD_OUT_DELAYS: Final = (14, 20)

    def __init__(self) -> None:
        self.n_in, self.n_out = self.SYMBOLS + 1, self.SYMBOLS
        self.criterion, self.chance = 0.9, 1 / self.SYMBOLS

    def sample(self, batch: int, rng: np.random.Generator, held_out: bool = False) -> Batch:
        lo, hi = self.HELD_OUT_DELAYS if held_out else self.TRAIN_DELAYS
        k = self.ITEMS
        steps = k + hi + k
        sym = rng.integers(self.SYMBOLS, size=(batch, k))
        delay = rng.integers(lo, hi + 1, size=batch)
        x = np.zeros((batch, steps, self.n_in), dtype=np.float32)
        y = np.full((batch, steps), IGNORE, dtype=np.int64)
        rows = np.arange(batch)
        for i in range(k):
            x[rows, i, sym[:, i]] = 1.0
            y[rows, k + delay + i] = sym[:, i]
        x[rows, k + delay, self.SYMBOLS] = 1.0  # go
        return Batch(x, y)


class DigitsTask(Task):
    """Classify a handwritten digit read one pixel row per step (scikit-learn's digits)."""

    name = "digits"
    TEST: Final = 500

    def __init__(self) -> None:
        self.n_in, self.n_out = 8, 10
        self.criterion, self.chance = 0.85, 0.1

    @cached_property
    def _data(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_digits  # the package's own data file, no download

        d = load_digits()
        order = np.random.default_rng(0).permutation(len(d.target))  # one fixed split
        return (d.images[order] / 16.0).astype(np.float32), d.target[order].astype(np.int64)

    def sample(self, batch: int, rng: np.random.Generator, held_out: bool = False) -> Batch:
        images, labels = self._data
        train = len(labels) - self.TEST
        idx = rng.integers(train, size=batch)
        return self._batch(images[idx], labels[idx], shift=False)

    def evaluation(self, held_out: bool) -> Batch:
        """The 500 test images (held out: shifted one pixel right)."""
        images, labels = self._data
        return self._batch(images[-self.TEST :], labels[-self.TEST :], shift=held_out)

    @staticmethod
    def _batch(images: np.ndarray, labels: np.ndarray, shift: bool) -> Batch:
        if shift:
            images = np.concatenate([np.zeros_like(images[:, :, :1]), images[:, :, :-1]], axis=2)
        y = np.full((len(labels), 8), IGNORE, dtype=np.int64)
        y[:, -1] = labels
        return Batch(np.ascontiguousarray(images), y)


class PairEchoTask(Task):
    """Each unit reports, two steps later, the sign it alone was given (planted control)."""

    name = "pair_echo"
    binary = True
    identity_io = True
    STEPS: Final = 3

    def __init__(self, n: int) -> None:
        self.n_in = self.n_out = n
        self.criterion, self.chance = 0.75, 0.5

    def sample(self, batch: int, rng: np.random.Generator, held_out: bool = False) -> Batch:
        sign = rng.integers(2, size=(batch, self.n_in))
        x = np.zeros((batch, self.STEPS, self.n_in), dtype=np.float32)
        x[:, 0] = (2.0 * sign - 1.0) * (0.5 if held_out else 1.0)
        y = np.full((batch, self.STEPS, self.n_out), np.nan, dtype=np.float32)
        y[:, 2] = sign
        return Batch(x, y)


TASKS: Final = ("pattern", "recall", "digits", "pair_echo")


def make_task(name: str, units: int) -> Task:
    """The task called ``name`` for a network of ``units`` units."""
    if name == "pattern":
        return PatternTask()
    if name == "recall":
        return RecallTask()
    if name == "digits":
        return DigitsTask()
    if name == "pair_echo":
        return PairEchoTask(units)
    raise ValueError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
