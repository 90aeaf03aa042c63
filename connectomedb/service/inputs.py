"""Arguments and input types, checked at the edge: whatever a client sends outside the
limits answers BAD_INPUT before any query runs."""

from __future__ import annotations

import math
import re
from dataclasses import fields
from typing import Any

import strawberry

from connectomedb.errors import BadInput
from connectomedb.settings import Settings
from connectomedb.store.neurons import NeuronFilter

MAX_ATTEMPTS = 20
QUEUE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@strawberry.input(description="Neurons to select; every field left out does not filter.")
class NeuronFilterInput:
    ids: list[strawberry.ID] | None = None
    name: str | None = None
    name_starts_with: str | None = None
    type: str | None = None
    cell_class: str | None = strawberry.field(default=None, name="class")
    superclass: str | None = None
    side: str | None = None
    neurotransmitter: str | None = None
    region: str | None = None
    min_in_degree: int | None = None
    max_in_degree: int | None = None
    min_out_degree: int | None = None
    max_out_degree: int | None = None

    def to_filter(self, max_ids: int) -> NeuronFilter:
        if self.ids is not None and len(self.ids) > max_ids:
            raise BadInput(f"filter.ids may name at most {max_ids} ids")
        values = {f.name: getattr(self, f.name) for f in fields(NeuronFilter)}
        values["ids"] = tuple(str(i) for i in self.ids) if self.ids is not None else None
        return NeuronFilter(**values)


def neuron_filter(settings: Settings, value: NeuronFilterInput | None) -> NeuronFilter | None:
    """The store's filter for an optional filter argument (its ids at most one page)."""
    return value.to_filter(settings.max_page_size) if value is not None else None


def id_list(settings: Settings, name: str, ids: list[strawberry.ID] | None) -> list[str] | None:
    """A list argument of ids, at most one page long."""
    if ids is None:
        return None
    if len(ids) > settings.max_page_size:
        raise BadInput(f"{name} may name at most {settings.max_page_size} ids")
    return [str(i) for i in ids]


def min_weight(value: int) -> int:
    if value < 1:
        raise BadInput("minWeight must be at least 1")
    return value


def q_bound(value: float | None) -> float | None:
    """A q-value bound: a number in [0, 1], or none."""
    if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
        raise BadInput("maxQ must lie between 0 and 1")
    return value


def json_object(params: Any) -> dict[str, Any] | None:
    """Job parameters: a JSON object, or nothing."""
    if params is not None and not isinstance(params, dict):
        raise BadInput("params must be a JSON object")
    return params


def queue_name(name: str) -> str:
    if not QUEUE_NAME.fullmatch(name):
        raise BadInput("queue names are 1-64 letters, digits, '.', '_' or '-'")
    return name


def max_attempts(value: int) -> int:
    if not 1 <= value <= MAX_ATTEMPTS:
        raise BadInput(f"maxAttempts must be between 1 and {MAX_ATTEMPTS}")
    return value
