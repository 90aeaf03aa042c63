"""``pre, post, type, synapses`` edge lists: Witvliet et al. 2021 and White et al. 1986."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Where, parse_count
from connectomedb.loaders.celegans.provenance import (
    CITE_WHITE,
    CITE_WITVLIET,
    WHITE,
    WITVLIET,
    WITVLIET_STAGE,
)
from connectomedb.loaders.celegans.source import (
    CectGraph,
    CectSource,
    cell_name,
    check_header,
    headed_sheet,
    is_blank,
)
from connectomedb.loaders.wheels import open_member

_EDGE_HEADER = ("pre", "post", "type", "synapses")


class _EdgeListSource(CectSource):
    """One row per synapse type and pair: ``chemical`` is directed (pre -> post),
    ``electrical`` undirected (each pair once, self pairs allowed). A pair listed more
    than once is summed."""

    def _records(self) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
        raise NotImplementedError

    def _read(self) -> CectGraph:
        g = CectGraph()
        file, records = self._records()
        for rowno, rec in records:
            where = Where(file, rowno)
            if len(rec) != 4:
                raise where.error(f"expected 4 fields, got {len(rec)}")
            pre = cell_name(rec[0], where, "pre")
            post = cell_name(rec[1], where, "post")
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


class WitvlietSource(_EdgeListSource):
    """Witvliet et al. 2021, one of eight animals (stage 1-8: L1 x4, L2, L3, adult x2).

    ``synapses`` is the number of presynaptic active zones agreed by at least two of
    three annotators (chemical) or of gap junctions (electrical).
    """

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

    def _fingerprint_extra(self) -> str:
        return f"stage={self.stage}"

    def _records(self) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
        file, rows = headed_sheet(self.wheel, WITVLIET[self.stage], _EDGE_HEADER)

        def gen() -> Iterator[tuple[int, list[Any]]]:
            for i, r in enumerate(rows[1:], start=2):
                if is_blank(r):
                    continue
                while len(r) > 4 and r[-1] is None:
                    r = r[:-1]
                yield i, r

        return file, gen()


class White1986Source(_EdgeListSource):
    """White et al. 1986 whole animal (Varshney et al. 2011 reading, with the pharynx).

    cect's ``White_whole`` file: tab separated; ``LegacyBodyWallMuscles`` is the
    unsplit body wall muscle and becomes ``BWM``.
    """

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
        check_header(list(rows[0]), _EDGE_HEADER, WHITE)

        def gen() -> Iterator[tuple[int, list[Any]]]:
            for i, r in enumerate(rows[1:], start=2):
                if not any(x.strip() for x in r):
                    continue
                yield i, [x.strip() for x in r]

        return WHITE, gen()
