"""GraphQL types, one module per domain. Storage rows become these through ``from_row``;
resolvers on them fetch nested data through the request's DataLoaders (one query per
level, never per object)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def from_row(cls: type[T], row: Mapping[str, Any], **given: Any) -> T:
    """An instance of the strawberry type ``cls`` from a storage row: each field not
    ``given`` takes the row's value of the same name (None where the row has none)."""
    names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    return cls(**{n: row.get(n) for n in names if n not in given}, **given)
