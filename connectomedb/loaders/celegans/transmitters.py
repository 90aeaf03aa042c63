"""Neuron classes and neurotransmitters from Wang et al. 2024's atlas (Supp File 2)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import NamedTuple

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Where
from connectomedb.loaders.celegans.names import canonical_name
from connectomedb.loaders.celegans.provenance import NT_ATLAS, NT_SHEET
from connectomedb.loaders.wheels import member_stream

# Wang et al. 2024 entries (after dropping '*', ' - NEW', '(new)'; lower case) -> the
# transmitter released, or None for uptake-only, precursor-only and unidentified ones.
_NT_MAP: dict[str, str | None] = {
    "ach": "acetylcholine",
    "glu": "glutamate",
    "gaba": "gaba",
    "da": "dopamine",
    "5-ht": "serotonin",
    "5-ht (synthesis + uptake)": "serotonin",
    "5-ht (alternative synthesis/uptake mechanism)": "serotonin",
    "octopamine": "octopamine",
    "tyramine": "tyramine",
    "tyramine (synthesis + uptake)": "tyramine",
    "betaine (uptake)": "betaine",
    "5-ht (uptake)": None,
    "gaba (uptake)": None,
    "5-htp": None,
    "5-htp (synthesis) and 5-ht (uptake)": None,
    "peoh?": None,
    "unknown (orphan)": None,
    "unknown (orphan, unc-47 expression)": None,
    "unknown (orphan; unc-47 positive)": None,
    "unknown (orphan, unc-46 expression)": None,
    "unknown monoamine?": None,
    "unknown monoamine": None,
    "bas-1-depen unknown monoamine?": None,
}


def _nt_key(raw: str) -> str:
    s = " ".join(raw.replace("*", " ").split()).lower()
    for suffix in (" - new", "(new)", "- new"):
        if s.endswith(suffix):
            s = s[: -len(suffix)].strip()
    return s


def _find_col(labels: list[str], label: str, file: str, row: int, *, prefix: bool = False) -> int:
    for j, v in enumerate(labels):
        if v == label or (prefix and v.startswith(label)):
            return j
    raise LoaderError(f"no {label!r} column in the header", file=file, row=row)


class AtlasNeuron(NamedTuple):
    where: Where  # the neuron's cell
    name: str
    neuron_class: str
    neurotransmitter: str | None  # several joined with ","


def atlas_neurons(wheel: Path) -> Generator[AtlasNeuron, None, None]:
    """One entry per hermaphrodite neuron of the atlas, in sheet order.

    Sheet ``Supp File 2``: caption rows 1-3, header row 4, a neuron per row from row 5
    until the first blank neuron cell. Column ``Class`` is filled on the first row of
    each class only; ``Neurotransmitter(s)`` and the two columns after it hold the
    transmitters. As in cect, ``betaine (uptake)`` counts only where the ``cat-1`` cell
    is filled and the ``snf-3`` cell says NEW; uptake-only, unidentified and ``male -``
    entries are left out.
    """
    wb = load_workbook(member_stream(wheel, NT_ATLAS), read_only=True)
    try:
        if NT_SHEET not in wb.sheetnames:
            raise LoaderError(f"no sheet {NT_SHEET!r}", file=NT_ATLAS)
        file = f"{NT_ATLAS}:{NT_SHEET}"
        rows = wb[NT_SHEET].iter_rows()
        header_row = 4
        col_class = col_neuron = col_nt = col_cat1 = col_snf3 = -1
        cls_name: str | None = None
        for i, cells in enumerate(rows, start=1):
            if i < header_row:
                continue
            values = [c.value for c in cells]
            if i == header_row:
                labels = [str(v).strip() if v is not None else "" for v in values]
                col_class = _find_col(labels, "Class", file, i)
                col_neuron = _find_col(labels, "Neuron", file, i)
                col_nt = _find_col(labels, "Neurotransmitter(s)", file, i)
                col_cat1 = _find_col(labels, "cat-1", file, i, prefix=True)
                col_snf3 = _find_col(labels, "snf-3", file, i, prefix=True)
                continue
            neuron = values[col_neuron] if col_neuron < len(values) else None
            if neuron is None or str(neuron).strip() == "":
                break
            if values[col_class] is not None and str(values[col_class]).strip():
                cls_name = str(values[col_class]).strip()
            if cls_name is None:
                raise Where(file, i, get_column_letter(col_class + 1)).error("missing class")
            name = canonical_name(str(neuron).split("/")[0])
            fill = getattr(cells[col_cat1], "fill", None) if col_cat1 < len(cells) else None
            cat1 = fill is not None and fill.patternType == "solid"
            snf3 = col_snf3 < len(values) and "NEW" in str(values[col_snf3] or "")
            nts: list[str] = []
            for j in range(col_nt, min(col_nt + 3, len(values))):
                raw = values[j]
                if raw is None or str(raw).strip() == "":
                    continue
                raw_s = str(raw).strip()
                if raw_s.lower().startswith("male -"):
                    continue
                key = _nt_key(raw_s)
                if key not in _NT_MAP:
                    raise Where(file, i, get_column_letter(j + 1)).error(
                        f"unknown neurotransmitter entry {raw_s!r}"
                    )
                nt = _NT_MAP[key]
                if nt == "betaine" and not (cat1 and snf3):
                    nt = None
                if nt is not None and nt not in nts:
                    nts.append(nt)
            where = Where(file, i, get_column_letter(col_neuron + 1))
            yield AtlasNeuron(where, name, cls_name, ",".join(nts) or None)
    finally:
        wb.close()
