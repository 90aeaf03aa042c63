"""Kind, class, type, side and neurotransmitter of each C. elegans cell."""

from __future__ import annotations

import csv
import io
import re
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Where
from connectomedb.loaders.celegans.names import UNSPLIT_BODY_WALL_MUSCLE
from connectomedb.loaders.celegans.provenance import CELL_INFO
from connectomedb.loaders.celegans.transmitters import atlas_neurons
from connectomedb.loaders.wheels import open_member

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


@dataclass(frozen=True)
class _CellInfo:
    kind: str
    cell_class: str
    type: str | None = None
    neurotransmitter: str | None = None


@dataclass
class CellCatalog:
    """What cect's tables say about each cell.

    ``all_cell_info.csv`` (header ``Cell name, Type, Name details, Lineage,
    Classification``; non-neuronal rows carry a sixth field) gives kind and ``class``
    through its ``Type`` column: ``sensory``, ``interneuron``, ``motor``, ``pharyngeal``
    or ``unknown`` (CANL/R) for neurons, the tissue for other cells. Wang et al. 2024's
    atlas (``transmitters``) gives the neuron class, used as ``type``, and the
    transmitters.
    """

    cells: dict[str, _CellInfo] = field(default_factory=dict)

    @classmethod
    def from_wheel(cls, wheel: Path) -> CellCatalog:
        cat = cls()
        cat._read_cell_table(wheel)
        cat._read_atlas(wheel)
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

    def _read_atlas(self, wheel: Path) -> None:
        with closing(atlas_neurons(wheel)) as neurons:
            for where, name, neuron_class, neurotransmitter in neurons:
                base = self.cells.get(name)
                if base is None or base.kind != "neuron":
                    raise where.error(f"{name!r} is not a neuron of {CELL_INFO}")
                self.cells[name] = _CellInfo(
                    base.kind, base.cell_class, neuron_class, neurotransmitter
                )

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
