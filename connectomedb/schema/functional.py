"""Functional data beside the wiring: measurement sets and their shapes.

A measurement set belongs to one dataset and holds one kind of data, with its
provenance on a ``:MeasurementSet`` node keyed by ``(dataset, id)``:

- ``pairwise``: one ``(:Neuron)-[:EVOKES]->(:Neuron)`` per measured ordered pair,
  stimulated -> responder, with ``amplitude``, ``q``, ``q_eq`` and ``trials``;
- ``neuron``: one ``(:MeasurementSet)-[:MEASURED]->(:Neuron)`` per measured neuron,
  carrying the set's named properties (a number or a list of numbers each);
- ``extrasynaptic``: one ``(:Neuron)-[:EXTRASYNAPTIC]->(:Neuron)`` per source,
  target, transmitter and receptor (e.g. Bentley et al. 2016's monoamine and
  neuropeptide connectomes), kept apart from ``CONNECTS_TO``.

Every relationship carries its set's id in ``set``; nothing functional is ever
written onto ``CONNECTS_TO`` or ``GAP_JUNCTION``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectomedb.schema.models import ID_PATTERN

MEASUREMENT_SET: Final = "MeasurementSet"
EVOKES: Final = "EVOKES"
MEASURED: Final = "MEASURED"
EXTRASYNAPTIC: Final = "EXTRASYNAPTIC"

SetKind = Literal["pairwise", "neuron", "extrasynaptic"]
SET_KINDS: Final[tuple[str, ...]] = get_args(SetKind)
SetStatus = Literal["loading", "ready"]

#: the measured values of a pair, as stored on ``EVOKES``
PAIR_VALUES: Final = ("amplitude", "q", "q_eq", "trials")
#: a per-neuron property name: it becomes a relationship property key
PROPERTY_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
#: names a property may not take (the relationship's own keys)
RESERVED_PROPERTIES: Final = frozenset({"set", "dataset", "id", "neuron"})
#: at most this many numbers in one vector-valued property
MAX_VECTOR: Final = 4096


def check_property_name(name: str) -> str:
    """``name`` if it may name a per-neuron property; ValueError otherwise."""
    if not PROPERTY_NAME.match(name) or name in RESERVED_PROPERTIES:
        raise ValueError(
            f"property name {name!r} must start with a letter, hold only letters, digits "
            f"and '_' (at most 64), and not be one of {', '.join(sorted(RESERVED_PROPERTIES))}"
        )
    return name


class MeasurementSetMeta(BaseModel):
    """What a loader knows about a measurement set before writing it (its provenance)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    kind: SetKind
    name: str
    condition: str = Field(default="", description="strain, genotype or condition measured")
    source: str = Field(description="where the data came from (file, package)")
    source_files: tuple[str, ...] = ()
    citation: str = ""
    license: str = ""
    description: str = ""
    #: the per-neuron properties of a ``neuron`` set, in column order
    properties: tuple[str, ...] = ()

    @field_validator("properties")
    @classmethod
    def _names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            check_property_name(name)
        if len(set(v)) != len(v):
            raise ValueError("property names must be distinct")
        return v


class MeasurementSet(MeasurementSetMeta):
    """A stored set: its provenance, how many rows it holds and the names in its input
    that matched no neuron of the dataset (reported, never silently dropped)."""

    dataset: str
    status: SetStatus
    count: int = 0
    unmatched: tuple[str, ...] = ()
    fingerprint: str = ""
    created_at: datetime | None = None
