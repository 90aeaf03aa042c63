"""A dataset's content fingerprint: sha256 over its cells, connections, gap junctions
and synapses in a canonical encoding and order, independent of load order and of the
dataset id. Equal fingerprints before an export and after loading it back under a new id
prove the round trip; a :class:`Content` names what a comparison covers (a CSV bundle
carries less than the graph holds).

Encoding (version ``connectomedb-fingerprint-1``): for each section in the order cells,
chemical, electrical, synapses, a header line ``#<section>\\n``; then one line per row,
the JSON array of ``[name, value]`` pairs of the row's non-null covered fields in the
order of :class:`Content`, compact, UTF-8. Integers are JSON integers, floats Python's
shortest round-trip repr (a float field holding an integer, such as a weight of 3, reads
3.0); lists stay lists. Rows come in the order of :mod:`connectomedb.store.export` (by
id; pairs by (pre, post), gap junctions with pre <= post) and :class:`Fingerprint` checks
it, so unsorted input is refused rather than hashed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from connectomedb.errors import BadInput
from connectomedb.schema.graph import CELL_PROPERTIES
from connectomedb.store.export import Columns, ExportRepository, Selection
from connectomedb.store.graphdb import Store

VERSION: Final = "connectomedb-fingerprint-1"
#: Fields held as floats (an int stored there is hashed as the same float).
FLOAT_FIELDS: Final = frozenset(
    {"x", "y", "z", "soma_x", "soma_y", "soma_z", "weight", "psd_area_total"}
    | {"confidence", "psd_area"}
)
INT_FIELDS: Final = frozenset({"sign", "synapse_count"})


@dataclass(frozen=True)
class Content:
    """What a fingerprint covers: cell properties, connection properties (beside pre,
    post), whether gap junctions count, and synapse properties (None: no synapses)."""

    cells: tuple[str, ...] = CELL_PROPERTIES
    connections: tuple[str, ...] = (
        "synapse_count",
        "weight",
        "psd_area_total",
        "neuropils",
        "nt_type",
    )
    gap_junctions: bool = True
    synapses: tuple[str, ...] | None = (
        "kind",
        "x",
        "y",
        "z",
        "confidence",
        "psd_area",
        "neurotransmitter",
        "region",
    )

    def __post_init__(self) -> None:
        if "id" not in self.cells:
            raise ValueError("a fingerprint always covers cell ids")


#: Everything the graph model defines.
FULL: Final = Content()


def _value(name: str, v: Any) -> Any:
    if name in FLOAT_FIELDS:
        return float(v)
    if name in INT_FIELDS:
        return int(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def _line(fields: list[tuple[str, Any]]) -> bytes:
    pairs = [[k, _value(k, v)] for k, v in fields if v is not None]
    return (
        json.dumps(pairs, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    ).encode()


class Fingerprint:
    """Hashes sections of rows given in canonical order (see the module docstring)."""

    SECTIONS: Final = ("cells", "chemical", "electrical", "synapses")

    def __init__(self, content: Content = FULL) -> None:
        self.content = content
        self.h = hashlib.sha256((VERSION + "\n").encode())
        self._section = -1
        self._last: tuple[Any, ...] | None = None
        self.rows = dict.fromkeys(self.SECTIONS, 0)

    def _enter(self, section: str) -> None:
        i = self.SECTIONS.index(section)
        if i < self._section:
            raise BadInput(f"fingerprint sections must come in the order {self.SECTIONS}")
        while self._section < i:
            self._section += 1
            self.h.update(f"#{self.SECTIONS[self._section]}\n".encode())
            self._last = None

    def _key_order(self, key: tuple[Any, ...], section: str) -> None:
        if self._last is not None and key <= self._last:
            raise BadInput(f"{section} rows out of order at {key!r} (after {self._last!r})")
        self._last = key

    def add(self, section: str, batch: Columns) -> None:
        """One batch of a section's columns (``cells``: :data:`CELL_COLUMNS`, the others
        ``pre``, ``post`` (synapses also ``id``) and the content's fields)."""
        self._enter(section)
        c = self.content
        if section == "electrical" and not c.gap_junctions:
            return
        if section == "synapses" and c.synapses is None:
            return
        if section == "cells":
            names: tuple[str, ...] = c.cells
            keys: tuple[str, ...] = ("id",)
        elif section == "synapses":
            assert c.synapses is not None
            names = ("id", "pre", "post", *c.synapses)
            keys = ("id",)
        else:
            names = ("pre", "post", *c.connections)
            keys = ("pre", "post")
        cols = [(n, batch[n]) for n in names]
        key_cols = [batch[k] for k in keys]
        n = len(key_cols[0])
        for i in range(n):
            key = tuple(k[i] for k in key_cols)
            if section == "electrical" and key[0] > key[1]:
                raise BadInput(f"gap junction {key!r} not given as pre <= post")
            self._key_order(key, section)
            self.h.update(_line([(name, col[i]) for name, col in cols]))
        self.rows[section] += n

    def hexdigest(self) -> str:
        self._enter(self.SECTIONS[-1])
        return self.h.hexdigest()


async def dataset_fingerprint(
    store: Store,
    dataset: str,
    content: Content = FULL,
    selection: Selection | None = None,
    page_size: int | None = None,
) -> str:
    """The fingerprint of a dataset (or of a selection's subgraph) as stored, read in
    keyset pages."""
    kw = {"page_size": page_size} if page_size else {}
    repo = ExportRepository(store, dataset, selection, **kw)
    await repo.check_ready()
    fp = Fingerprint(content)
    async for b in repo.cells():
        fp.add("cells", b)
    async for b in repo.chemical():
        fp.add("chemical", b)
    if content.gap_junctions:
        async for b in repo.electrical():
            fp.add("electrical", b)
    if content.synapses is not None:
        async for b in repo.synapses():
            fp.add("synapses", b)
    return fp.hexdigest()
