"""Varshney et al. 2011's connection list (``NeuronConnectFormatted.xlsx``)."""

from __future__ import annotations

from pathlib import Path

from connectomedb.loaders.base import Where, parse_count
from connectomedb.loaders.celegans.names import UNSPLIT_BODY_WALL_MUSCLE
from connectomedb.loaders.celegans.provenance import CITE_VARSHNEY, VARSHNEY
from connectomedb.loaders.celegans.source import (
    CectGraph,
    CectSource,
    Tally,
    accumulate,
    cell_name,
    headed_sheet,
    is_blank,
)

_VARSHNEY_HEADER = ("Neuron 1", "Neuron 2", "Type", "Nbr")
_NMJ = "NMJ"


class VarshneySource(CectSource):
    """Varshney et al. 2011 hermaphrodite somatic nervous system (no pharynx).

    Header ``Neuron 1, Neuron 2, Type, Nbr`` (the rows of cect's older
    ``NeuronConnect.xls``). ``S``/``Sp``: Neuron 1 sends to Neuron 2, summed per
    ordered pair; ``R``/``Rp``: the same synapses seen from the receiving side, only
    checked to mirror the send rows exactly. ``EJ``: electrical junctions, listed from
    both sides with the same count (one row per unordered pair; a pair listed from one
    side is taken as listed). ``NMJ``: neuromuscular junctions of Neuron 1, summed into
    connections to ``BWM`` (all body wall muscles), as cect does, unless
    ``include_nmj=False``.
    """

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

    def _fingerprint_extra(self) -> str:
        return f"include_nmj={self.include_nmj}"

    def _read(self) -> CectGraph:
        g = CectGraph()
        file, rows = headed_sheet(self.wheel, VARSHNEY, _VARSHNEY_HEADER)
        received: Tally = {}
        ej: Tally = {}
        for i, rec in enumerate(rows[1:], start=2):
            if is_blank(rec):
                continue
            where = Where(file, i)
            a = cell_name(rec[0] if len(rec) > 0 else None, where, "Neuron 1")
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
            b = cell_name(raw_b, where, "Neuron 2")
            if b == _NMJ:
                raise where.error(f"Neuron 2 is NMJ in a {code!r} row", "Neuron 2")
            g.cell(b, where._replace(column="Neuron 2"))
            if code in ("S", "Sp"):
                g.add_chem(a, b, n, where)
            elif code in ("R", "Rp"):
                accumulate(received, (b, a), n, where)
            elif code == "EJ":
                accumulate(ej, (a, b), n, where)
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
