"""What the cect sources share: the parsed graph, cell rows, provenance, fingerprint."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Row, Source, Where
from connectomedb.loaders.celegans.catalog import CellCatalog
from connectomedb.loaders.celegans.names import canonical_name
from connectomedb.loaders.celegans.provenance import (
    CELL_INFO,
    CITE_CECT,
    CITE_WANG,
    LICENSE,
    NT_ATLAS,
    PARSER_VERSION,
    SOURCE,
    SPECIES,
)
from connectomedb.loaders.wheels import CECT_VERSION, member_digest, member_stream
from connectomedb.schema.models import DatasetMeta

# A summed pair: [where it was first seen, total].
Tally = dict[tuple[str, str], list[Any]]


def accumulate(tally: Tally, key: tuple[str, str], n: int, where: Where) -> None:
    slot = tally.get(key)
    if slot is None:
        tally[key] = [where, n]
    else:
        slot[1] += n


@dataclass
class CectGraph:
    """Cells in order of first appearance, and summed connections and gap junctions."""

    cells: dict[str, Where] = field(default_factory=dict)
    chem: Tally = field(default_factory=dict)
    gap: Tally = field(default_factory=dict)

    def cell(self, name: str, where: Where) -> None:
        if name not in self.cells:
            self.cells[name] = where

    def add_chem(self, pre: str, post: str, n: int, where: Where) -> None:
        if n:
            accumulate(self.chem, (pre, post), n, where)

    def add_gap(self, a: str, b: str, n: int, where: Where) -> None:
        """Sums into the pair's first orientation, whichever way round it comes again."""
        if n:
            accumulate(self.gap, (a, b) if (b, a) not in self.gap else (b, a), n, where)


class CectSource(Source):
    """A connectome read from cect's package data; cells described by ``CellCatalog``."""

    members: tuple[str, ...] = ()

    def __init__(self, wheel: Path) -> None:
        self.wheel = Path(wheel)
        self._graph: CectGraph | None = None
        self._catalog: CellCatalog | None = None

    def _fingerprint_extra(self) -> str:
        """The source's parameters, as they enter the fingerprint."""
        return ""

    def _meta(
        self, id: str, name: str, citation: str, description: str, version: str = ""
    ) -> DatasetMeta:
        """Provenance shared by every cect dataset: species, package, cell tables, licence."""
        return DatasetMeta(
            id=id,
            name=name,
            species=SPECIES,
            version=version or f"cect {CECT_VERSION}",
            source=SOURCE,
            source_files=(*self.members, CELL_INFO, NT_ATLAS),
            citation=" ".join((citation, CITE_WANG, CITE_CECT)),
            license=LICENSE,
            description=description,
        )

    def fingerprint(self) -> str:
        return member_digest(
            self.wheel,
            *self.members,
            CELL_INFO,
            NT_ATLAS,
            extra=f"{PARSER_VERSION}|{type(self).__name__}|{self._fingerprint_extra()}",
        )

    @abstractmethod
    def _read(self) -> CectGraph:
        """Parse the connectome file(s)."""

    def graph(self) -> CectGraph:
        if self._graph is None:
            self._graph = self._read()
        return self._graph

    def catalog(self) -> CellCatalog:
        if self._catalog is None:
            self._catalog = CellCatalog.from_wheel(self.wheel)
        return self._catalog

    def neurons(self) -> Iterator[Row]:
        cat = self.catalog()
        for name, where in self.graph().cells.items():
            yield where, cat.props(name)

    def connections(self) -> Iterator[Row]:
        for (pre, post), (where, n) in self.graph().chem.items():
            yield where, {"pre": pre, "post": post, "synapse_count": n}

    def gap_junctions(self) -> Iterator[Row]:
        for (a, b), (where, n) in self.graph().gap.items():
            yield where, {"a": a, "b": b, "count": n}


def cell_name(value: Any, where: Where, column: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise where.error("missing cell name", column)
    if not isinstance(value, str):
        raise where.error(f"expected a cell name, got {value!r}", column)
    return canonical_name(value)


def is_blank(row: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def check_header(got: list[Any], expected: tuple[str, ...], file: str) -> None:
    norm = [str(v).strip().lower() if v is not None else "" for v in got[: len(expected)]]
    if norm != [e.lower() for e in expected] or any(
        v is not None and str(v).strip() for v in got[len(expected) :]
    ):
        raise LoaderError(f"expected header {list(expected)}, got {list(got)}", file=file, row=1)


def sheet_rows(wheel: Path, member: str, sheet: str | None) -> tuple[str, list[list[Any]]]:
    """``member:sheet`` and the sheet's cell values; ``sheet=None`` takes the only sheet."""
    wb = load_workbook(member_stream(wheel, member), read_only=True, data_only=True)
    try:
        if sheet is None:
            if len(wb.sheetnames) != 1:
                raise LoaderError(f"expected one sheet, found {wb.sheetnames}", file=member)
            sheet = wb.sheetnames[0]
        elif sheet not in wb.sheetnames:
            raise LoaderError(f"no sheet {sheet!r} (sheets: {wb.sheetnames})", file=member)
        rows = [list(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()
    return f"{member}:{sheet}", rows


def headed_sheet(wheel: Path, member: str, header: tuple[str, ...]) -> tuple[str, list[list[Any]]]:
    """The only sheet of ``member``, its first row checked against ``header``."""
    file, rows = sheet_rows(wheel, member, None)
    if not rows:
        raise LoaderError("empty sheet", file=file)
    check_header(rows[0], header, file)
    return file, rows
