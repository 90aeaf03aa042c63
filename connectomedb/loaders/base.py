"""What every loader source provides: dataset metadata and streams of located rows.

A source yields ``(Where, props)`` pairs. ``props`` are plain dicts whose keys are
the Neo4j property names (see ``connectomedb.schema.graph``); ``Where`` locates
the row in its input so that the writer can report cross-row problems
(duplicate ids, unknown partners) with file, row and column.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from connectomedb.errors import LoaderError
from connectomedb.schema.models import DatasetMeta


class Where(NamedTuple):
    """Location of a row: file (with ``:sheet`` for spreadsheets), 1-based row, column."""

    file: str
    row: int | None = None
    column: str | None = None

    def error(self, message: str, column: str | None = None) -> LoaderError:
        return LoaderError(message, file=self.file, row=self.row, column=column or self.column)


Row = tuple[Where, dict[str, Any]]

# Kinds of cell. Only "neuron" rows become :Neuron nodes; the others are
# :NonNeuronal partners (muscles, glia, end organs) kept out of neuron-only statistics.
CELL_KINDS = ("neuron", "muscle", "glia", "end_organ", "other")


class Source(ABC):
    """A connectome input. Iterating it twice must give the same rows in the same order
    (the writer relies on that to resume an interrupted load)."""

    meta: DatasetMeta
    #: True when several rows may describe the same ordered pair (e.g. one row per
    #: neuropil) and must be summed into one CONNECTS_TO.
    aggregate_connections: bool = False

    @abstractmethod
    def fingerprint(self) -> str:
        """A stable digest of the inputs and parameters (decides resume vs. conflict)."""

    @abstractmethod
    def neurons(self) -> Iterator[Row]:
        """Cells: ``id`` (str), ``kind`` (one of CELL_KINDS), ``name`` and optional
        ``type``, ``class``, ``superclass``, ``side``, ``region``, ``neurotransmitter``,
        ``sign`` (+1/-1/0), ``x``, ``y``, ``z``."""

    @abstractmethod
    def connections(self) -> Iterator[Row]:
        """Directed chemical connections: ``pre``, ``post``, ``synapse_count`` (int >= 0),
        optional ``weight``, ``psd_area_total``, ``neuropil``, ``nt_type``."""

    def gap_junctions(self) -> Iterator[Row]:
        """Electrical synapses, one row per unordered pair: ``a``, ``b``, ``count``."""
        return iter(())

    def synapses(self) -> Iterator[Row]:
        """Synapse sites: ``id``, ``pre``, ``post``, ``x``, ``y``, ``z`` and optional
        ``confidence``, ``kind``, ``psd_area``, ``neurotransmitter``, ``region``."""
        return iter(())


def file_digest(*paths: Path, extra: str = "") -> str:
    """sha256 over file contents and an extra parameter string."""
    h = hashlib.sha256()
    for p in paths:
        try:
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as e:
            raise LoaderError(f"cannot read file: {e.strerror or e}", file=str(p)) from e
    h.update(extra.encode())
    return h.hexdigest()[:16]


def parse_count(value: Any, where: Where, column: str) -> int:
    """A non-negative integer count; blank means 0."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return 0
    if isinstance(value, float) and math.isnan(value):
        return 0
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise where.error(f"expected a non-negative integer, got {value!r}", column) from None
    if not math.isfinite(f) or f != int(f):
        raise where.error(f"expected a non-negative integer, got {value!r}", column)
    if f < 0:
        raise where.error(f"negative count {value!r}", column)
    return int(f)


def parse_float(value: Any, where: Where, column: str, *, optional: bool = True) -> float | None:
    """A finite float; blank gives None when optional."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if optional:
            return None
        raise where.error("missing value", column)
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise where.error(f"expected a number, got {value!r}", column) from None
    if not math.isfinite(f):
        raise where.error(f"expected a finite number, got {value!r}", column)
    return f
