"""Larval Drosophila mushroom body (Eichler et al. 2017) from graspologic's package data.

Files, read from inside the pinned ``graspologic`` wheel (the package is never
imported): ``graspologic/datasets/drosophila/{left,right}_adjacency.csv`` and
``{left,right}_cell_labels.csv``.

* ``*_adjacency.csv``: a square matrix of non-negative integers, one matrix row per
  line, entries separated by spaces (graspologic reads it with
  ``np.loadtxt(dtype=int)``). Left is 209 x 209, right 213 x 213.
* ``*_cell_labels.csv``: one label per line, line i naming the cell of matrix row and
  column i: ``K`` Kenyon cell, ``P`` (uniglomerular) projection neuron, ``I`` mushroom
  body input neuron (MBIN), ``O`` mushroom body output neuron (MBON).

Entries are synapse counts (integers 1..65, asymmetric, zero diagonal), not 0/1: the
graph is weighted and directed. Row = presynaptic, column = postsynaptic: the P
columns are all zero while the P rows project onto Kenyon cells (PN -> KC, never the
reverse), K rows carry the KC -> MBON block, and I rows the MBIN -> KC block, as in
Eichler et al. 2017.

The cells have no names in these files; ids are ``L001`` .. ``L209`` (left) and
``R001`` .. ``R213`` (right), the number being the 1-based line in the files. The
label is the cell ``type``, its meaning the ``class``; ``side`` is the hemisphere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Row, Source, Where, parse_count
from connectomedb.loaders.wheels import GRASPOLOGIC_VERSION, member_digest, open_member
from connectomedb.schema.models import DatasetMeta

PARSER_VERSION = "larva-mb-1"
DATA = "graspologic/datasets/drosophila/"
LABEL_CLASS = {
    "K": "Kenyon cell",
    "P": "projection neuron",
    "I": "mushroom body input neuron",
    "O": "mushroom body output neuron",
}
CITATION = (
    "Eichler K, Li F, Litwin-Kumar A, Park Y, Andrade I, Schneider-Mizell CM, Saumweber T, "
    "Huser A, Eschbach C, Gerber B, Fetter RD, Truman JW, Priebe CE, Abbott LF, Thum AS, "
    "Zlatic M, Cardona A. The complete connectome of a learning and memory centre in an "
    "insect brain. Nature 548, 175-182 (2017). doi:10.1038/nature23455. Distributed with "
    "graspologic (Chung J. et al., graspy: graph statistics in Python, JMLR 20(158), 2019)."
)


class LarvaMushroomBodySource(Source):
    """One hemisphere (``"left"`` or ``"right"``) of the L1 larval mushroom body."""

    def __init__(self, wheel: Path, side: str) -> None:
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        self.wheel = Path(wheel)
        self.side = side
        self.adjacency = f"{DATA}{side}_adjacency.csv"
        self.labels = f"{DATA}{side}_cell_labels.csv"
        self._prefix = "L" if side == "left" else "R"
        self._cache: tuple[list[tuple[str, str, Where]], list[Row]] | None = None
        self.meta = DatasetMeta(
            id=f"larva_mb_{side}",
            name=f"Larval Drosophila mushroom body, {side} hemisphere (Eichler et al. 2017)",
            species="Drosophila melanogaster",
            version=f"graspologic {GRASPOLOGIC_VERSION}",
            source=f"graspologic {GRASPOLOGIC_VERSION} wheel (PyPI), package data",
            source_files=(self.adjacency, self.labels),
            citation=CITATION,
            license="MIT (license of the graspologic package that distributes these files)",
            description=(
                f"Mushroom body of the {side} hemisphere of a first instar larva: Kenyon cells, "
                "projection neurons, input (MBIN) and output (MBON) neurons. synapse_count is "
                "the number of synapses from the row cell to the column cell. Cell ids are "
                "positions in the files; the files carry no neuron names."
            ),
        )

    def fingerprint(self) -> str:
        return member_digest(
            self.wheel, self.adjacency, self.labels, extra=f"{PARSER_VERSION}|{self.side}"
        )

    def _read(self) -> tuple[list[tuple[str, str, Where]], list[Row]]:
        if self._cache is not None:
            return self._cache
        label_lines = open_member(self.wheel, self.labels).decode("utf-8").splitlines()
        while label_lines and not label_lines[-1].strip():
            label_lines.pop()
        width = max(3, len(str(len(label_lines))))
        cells: list[tuple[str, str, Where]] = []
        for i, line in enumerate(label_lines, start=1):
            label = line.strip()
            where = Where(self.labels, i, "label")
            if not label:
                raise where.error("missing cell label")
            cells.append((f"{self._prefix}{i:0{width}d}", label, where))
        n = len(cells)
        lines = open_member(self.wheel, self.adjacency).decode("utf-8").splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) != n:
            raise LoaderError(
                f"{len(lines)} matrix rows but {n} cell labels in {self.labels}",
                file=self.adjacency,
            )
        rows: list[Row] = []
        for i, line in enumerate(lines, start=1):
            values = line.split()
            if len(values) != n:
                raise Where(self.adjacency, i).error(f"expected {n} entries, got {len(values)}")
            pre = cells[i - 1][0]
            for j, v in enumerate(values, start=1):
                where = Where(self.adjacency, i, str(j))
                count = parse_count(v, where, str(j))
                if count:
                    rows.append(
                        (where, {"pre": pre, "post": cells[j - 1][0], "synapse_count": count})
                    )
        self._cache = (cells, rows)
        return self._cache

    def neurons(self) -> Iterator[Row]:
        cells, _ = self._read()
        for cid, label, where in cells:
            props: dict[str, Any] = {
                "id": cid,
                "name": cid,
                "kind": "neuron",
                "type": label,
                "side": self._prefix,
                "region": "mushroom body",
            }
            if label in LABEL_CLASS:
                props["class"] = LABEL_CLASS[label]
            yield where, props

    def connections(self) -> Iterator[Row]:
        _, rows = self._read()
        for where, props in rows:
            yield where, dict(props)
