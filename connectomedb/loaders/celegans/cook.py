"""Cook et al. 2019's adjacency matrices (SI 5, corrected July 2020)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Where, parse_count
from connectomedb.loaders.celegans.provenance import (
    CITE_COOK,
    COOK,
    COOK_CHEM_SHEET,
    COOK_GAP_SHEET,
)
from connectomedb.loaders.celegans.source import CectGraph, CectSource, cell_name, sheet_rows
from connectomedb.loaders.wheels import CECT_VERSION


class Cook2019HermSource(CectSource):
    """Cook et al. 2019 adult hermaphrodite, corrected SI 5 adjacency matrices.

    Sheets ``hermaphrodite chemical`` (300 neurons by 454 cells) and ``hermaphrodite gap
    jn symmetric`` (469 cells, the same order on both axes). Row 3 from column D holds
    the post-synaptic labels, column C from row 4 the pre-synaptic ones; the body is
    the number of EM serial sections of connectivity (blank is 0). Captions in rows 1-2
    and columns A-B and the repeated labels after the block are ignored; a number
    anywhere else outside the block is an error. Each unordered gap-junction pair is
    taken once (the diagonal too); a pair whose two entries differ is an error, since
    the 2020 correction states that values across the diagonal match.
    """

    members = (COOK,)

    def __init__(self, wheel: Path) -> None:
        super().__init__(wheel)
        self.meta = self._meta(
            id="cook2019_herm",
            name="Cook et al. 2019, adult hermaphrodite (whole animal)",
            citation=CITE_COOK,
            description=(
                "Chemical and gap-junction connectivity of the whole adult hermaphrodite: "
                "neurons, muscles, glia and end organs, assembled from several animals with "
                "extrapolated gaps. synapse_count and gap-junction counts are the number of "
                "EM serial sections of connectivity (synapse number and size), not synapse "
                "counts."
            ),
            version=f"SI 5 corrected July 2020; cect {CECT_VERSION}",
        )

    def _read(self) -> CectGraph:
        g = CectGraph()
        chem_file, chem = sheet_rows(self.wheel, COOK, COOK_CHEM_SHEET)
        gap_file, gap = sheet_rows(self.wheel, COOK, COOK_GAP_SHEET)
        chem_rows, chem_cols = _matrix_labels(chem, chem_file, g)
        gap_rows, gap_cols = _matrix_labels(gap, gap_file, g)
        for pre, post, n, where in _matrix_values(chem, chem_file, chem_rows, chem_cols):
            g.add_chem(pre, post, n, where)
        values: dict[tuple[str, str], tuple[int, Where]] = {}
        for a, b, n, where in _matrix_values(gap, gap_file, gap_rows, gap_cols):
            if n:
                values[(a, b)] = (n, where)
        for (a, b), (n, where) in values.items():
            if a == b:
                g.add_gap(a, b, n, where)
                continue
            mirror = values.get((b, a))
            m = mirror[0] if mirror else 0
            if m != n:
                raise where.error(
                    f"gap-junction matrix is not symmetric: {a}-{b} = {n} but {b}-{a} = {m}"
                )
            if (b, a) not in g.gap:
                g.add_gap(a, b, n, where)
        return g


def _matrix_labels(
    rows: list[list[Any]], file: str, g: CectGraph
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Row labels (column C from row 4) and column labels (row 3 from column D), with
    their 0-based positions; registers the cells in ``g``."""
    if len(rows) < 4:
        raise LoaderError("sheet is too short for an adjacency matrix", file=file)
    header = rows[2]
    cols: list[tuple[int, str]] = []
    j = 3
    while j < len(header) and header[j] is not None and str(header[j]).strip():
        where = Where(file, 3, get_column_letter(j + 1))
        cols.append((j, cell_name(header[j], where, where.column or "")))
        j += 1
    out_rows: list[tuple[int, str]] = []
    i = 3
    while i < len(rows) and len(rows[i]) > 2 and rows[i][2] is not None and str(rows[i][2]).strip():
        where = Where(file, i + 1, "C")
        out_rows.append((i, cell_name(rows[i][2], where, "C")))
        i += 1
    if not cols or not out_rows:
        raise LoaderError("no cell labels in row 3 / column C", file=file, row=3)
    for labels, axis in ((out_rows, "row"), (cols, "column")):
        seen: dict[str, int] = {}
        for pos, name in labels:
            if name in seen:
                r, c = (pos + 1, "C") if axis == "row" else (3, get_column_letter(pos + 1))
                raise Where(file, r, c).error(f"duplicate {axis} label {name!r}")
            seen[name] = pos
    for pos, name in out_rows:
        g.cell(name, Where(file, pos + 1, "C"))
    for pos, name in cols:
        g.cell(name, Where(file, 3, get_column_letter(pos + 1)))
    return out_rows, cols


def _matrix_values(
    rows: list[list[Any]],
    file: str,
    row_labels: list[tuple[int, str]],
    col_labels: list[tuple[int, str]],
) -> Iterator[tuple[str, str, int, Where]]:
    """Every body cell of the labelled block, row-major; numbers outside it are errors."""
    first_row, last_row = row_labels[0][0], row_labels[-1][0]
    first_col, last_col = col_labels[0][0], col_labels[-1][0]
    for i, row in enumerate(rows):
        if i < first_row:
            continue
        for j, v in enumerate(row):
            if j < first_col or v is None:
                continue
            inside = i <= last_row and j <= last_col
            if not inside and isinstance(v, (int, float)) and not isinstance(v, bool):
                raise Where(file, i + 1, get_column_letter(j + 1)).error(
                    f"number {v!r} outside the labelled matrix"
                )
    for i, pre in row_labels:
        row = rows[i]
        for j, post in col_labels:
            v = row[j] if j < len(row) else None
            where = Where(file, i + 1, get_column_letter(j + 1))
            yield pre, post, parse_count(v, where, where.column or ""), where
