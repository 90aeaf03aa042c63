"""Checks of the arrays and counts the science functions take from callers, with
``BadInput`` messages that name the argument."""

from __future__ import annotations

import operator
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from connectomedb.errors import BadInput


def check_int(name: str, value: object, low: int = 0) -> int:
    """``value`` as an int of at least ``low`` (a bool or a float is refused)."""
    wanted = "a non-negative integer" if low == 0 else f"an integer of at least {low}"
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        raise BadInput(f"{name} must be {wanted}, got {value!r}")
    out = operator.index(value)
    if out < low:
        raise BadInput(f"{name} must be {wanted}, got {out}")
    return out


def check_indices(name: str, values: npt.ArrayLike, n: int) -> npt.NDArray[np.int64]:
    """``values`` as a one-dimensional int64 array of neuron indices in ``[0, n)``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise BadInput(f"{name} must be a one-dimensional array, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise BadInput(f"{name} must hold integer neuron indices, got dtype {arr.dtype}")
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high >= n:
        bad = low if low < 0 else high
        raise BadInput(f"{name} holds index {bad}, outside [0, {n}) for n={n}")
    return arr.astype(np.int64, copy=False)
