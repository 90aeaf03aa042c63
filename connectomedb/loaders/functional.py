"""Functional data onto a loaded connectome: sources of measurement sets and the loader
that matches their names to the dataset's neurons and writes them.

Sources:

- :class:`RandiAtlasSource`: the C. elegans signal propagation atlas (Randi et al.
  2023, Nature 623:406), ``funatlas.h5`` in the ``wormneuroatlas`` wheel: for each
  measured ordered pair, neuron j stimulated -> neuron i responding, the mean dF/F
  ``dFF[i, j]``, the q-values ``q`` and ``q_eq`` and the trial count ``occ1[i, j]``;
  one set per strain (``wt``, ``unc31``).
- :class:`BentleySource`: Bentley et al. 2016's extrasynaptic monoamine and neuropeptide
  connectomes (same wheel), one relationship per source, target, transmitter, receptor.
- :class:`PairTable` and :class:`NeuronTable`: CSV files of per-pair measurements or
  per-neuron properties.

The whole input is read and checked before anything is written: a bad value is a
``LoaderError`` with file, row and column, and the store is left as it was. Names that
match no neuron of the dataset are reported (kept on the set as ``unmatched``), never
silently dropped.
"""

from __future__ import annotations

import csv
import io
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from connectomedb.errors import BadInput, LoaderError
from connectomedb.loaders.base import Row, Where, file_digest, parse_count, parse_float
from connectomedb.loaders.wheels import (
    WORMNEUROATLAS,
    WORMNEUROATLAS_VERSION,
    member_digest,
    open_member,
)
from connectomedb.loaders.writer import NoProgress, Progress
from connectomedb.schema.functional import (
    MAX_VECTOR,
    MeasurementSetMeta,
    check_property_name,
)
from connectomedb.store.measurements import (
    WRITE_EXTRASYNAPTIC,
    WRITE_PAIRS,
    WRITE_PROPERTIES,
    MeasurementWriter,
)

_DATA: Final = "wormneuroatlas/data/"
FUNATLAS: Final = _DATA + "funatlas.h5"
RANDI_STRAINS: Final = ("wt", "unc31")
RANDI_CITATION: Final = (
    "Randi F, Sharma AK, Dvali S, Leifer AM (2023) Neural signal propagation atlas of "
    "Caenorhabditis elegans. Nature 623:406-414. doi:10.1038/s41586-023-06683-4"
)
BENTLEY_FILES: Final = {
    "monoamine": _DATA + "esconnectome_monoamines_Bentley_2016.csv",
    "neuropeptide": _DATA + "esconnectome_neuropeptides_Bentley_2016.csv",
}
BENTLEY_CITATION: Final = (
    "Bentley B, Branicky R, Barnes CL, Chew YL, Yemini E, Bullmore ET, Vertes PE, "
    "Schafer WR (2016) The multilayer connectome of Caenorhabditis elegans. PLoS Comput "
    "Biol 12(12):e1005283. doi:10.1371/journal.pcbi.1005283"
)
#: a CSV of per-pair measurements: the two neuron columns, then any of the values
PAIR_COLUMNS: Final = ("stimulated", "responder")
PAIR_VALUE_COLUMNS: Final = ("amplitude", "q", "q_eq", "trials")
#: a CSV of per-neuron properties: this column, then one column per property
NEURON_COLUMN: Final = "neuron"
#: at most this many rows in one CSV (the input is checked whole before writing)
MAX_ROWS: Final = 20_000_000


class MeasurementSource(ABC):
    """A measurement set's input. ``rows`` yields ``(Where, values)`` with the neuron
    names under ``stimulated``/``responder`` (pairwise), ``source``/``target``
    (extrasynaptic) or ``neuron`` (neuron), the rest being the measured values."""

    meta: MeasurementSetMeta
    #: extrasynaptic sets: the family written on each relationship
    family: str | None = None

    @abstractmethod
    def fingerprint(self) -> str: ...

    @abstractmethod
    def rows(self) -> Iterator[Row]: ...


# -- the signal propagation atlas ---------------------------------------------------------
def _h5(wheel: Path) -> Any:
    try:
        import h5py
    except ImportError as e:  # a core dependency; a broken install says what to do
        raise BadInput("reading the atlas needs h5py: pip install h5py") from e
    return h5py.File(io.BytesIO(open_member(wheel, FUNATLAS)), "r")


class RandiAtlasSource(MeasurementSource):
    """One strain of the signal propagation atlas: every ordered pair (stimulated j,
    responder i != j) with at least one trial (``occ1[i, j] > 0``); a NaN amplitude or
    q-value is stored as missing."""

    def __init__(self, wheel: Path, strain: str) -> None:
        if strain not in RANDI_STRAINS:
            raise BadInput(f"strain must be one of {', '.join(RANDI_STRAINS)}")
        self.wheel = Path(wheel)
        self.strain = strain
        self.meta = MeasurementSetMeta(
            id=f"randi2023_{strain}",
            kind="pairwise",
            name=f"Signal propagation atlas ({'wild type' if strain == 'wt' else 'unc-31'})",
            condition=strain,
            source=f"{WORMNEUROATLAS}=={WORMNEUROATLAS_VERSION} (PyPI wheel)",
            source_files=(FUNATLAS,),
            citation=RANDI_CITATION,
            license="GPL-3.0-or-later (wormneuroatlas package)",
            description="Optogenetic stimulation of neuron j, calcium response of neuron i: "
            "mean dF/F (amplitude), q-value of a response (q), q-value of the equivalence "
            "test for no response (q_eq), trials (occ1)",
        )

    def fingerprint(self) -> str:
        return member_digest(self.wheel, FUNATLAS, extra=self.strain)

    def rows(self) -> Iterator[Row]:
        with _h5(self.wheel) as f:
            names = [n.decode("utf-8") for n in f["neuron_ids"][:]]
            g = f[self.strain]
            dff, q, q_eq = (np.asarray(g[k][:], dtype=np.float64) for k in ("dFF", "q", "q_eq"))
            occ = np.asarray(g["occ1"][:], dtype=np.int64)
        resp, stim = np.nonzero(occ > 0)
        keep = resp != stim
        where = f"{self.wheel.name}:{FUNATLAS}:/{self.strain}"

        def value(a: np.ndarray, i: int, j: int) -> float | None:
            v = float(a[i, j])
            return v if math.isfinite(v) else None

        for i, j in zip(resp[keep].tolist(), stim[keep].tolist(), strict=True):
            yield (
                Where(where, None, f"[{i}, {j}]"),
                {
                    "stimulated": names[j],
                    "responder": names[i],
                    "amplitude": value(dff, i, j),
                    "q": value(q, i, j),
                    "q_eq": value(q_eq, i, j),
                    "trials": int(occ[i, j]),
                },
            )


class BentleySource(MeasurementSource):
    """Bentley et al. 2016's extrasynaptic connectome of one family (``monoamine`` or
    ``neuropeptide``): source neuron -> target neuron through a transmitter and a
    receptor."""

    def __init__(self, wheel: Path, family: str) -> None:
        if family not in BENTLEY_FILES:
            raise BadInput(f"family must be one of {', '.join(BENTLEY_FILES)}")
        self.wheel = Path(wheel)
        self.family = family
        self.member = BENTLEY_FILES[family]
        self.meta = MeasurementSetMeta(
            id=f"bentley2016_{family}s",
            kind="extrasynaptic",
            name=f"Extrasynaptic {family} connectome",
            source=f"{WORMNEUROATLAS}=={WORMNEUROATLAS_VERSION} (PyPI wheel)",
            source_files=(self.member,),
            citation=BENTLEY_CITATION,
            license="GPL-3.0-or-later (wormneuroatlas package)",
            description=f"Predicted {family} signalling from expression of the transmitter "
            "in the source and of a receptor in the target (not a measured connection)",
        )

    def fingerprint(self) -> str:
        return member_digest(self.wheel, self.member)

    def rows(self) -> Iterator[Row]:
        text = open_member(self.wheel, self.member).decode("utf-8")
        name = f"{self.wheel.name}:{self.member}"
        for n, rec in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not rec or rec[0].lstrip().startswith("#"):
                continue
            if len(rec) < 4:
                raise LoaderError(
                    "expected source, target, transmitter, receptor", file=name, row=n
                )
            src, tgt, transmitter, receptor = (x.strip() for x in rec[:4])
            yield (
                Where(name, n),
                {"source": src, "target": tgt, "transmitter": transmitter, "receptor": receptor},
            )


# -- CSV tables ----------------------------------------------------------------------------
def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(1-based row, values by column) of a CSV file with a header row."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
    except OSError as e:
        raise LoaderError(f"cannot read file: {e.strerror or e}", file=str(path)) from e
    with f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            raise LoaderError("empty file: expected a header row", file=str(path), row=1)
        for n, rec in enumerate(reader, start=2):
            if None in rec:
                raise LoaderError("more values than header columns", file=str(path), row=n)
            if n > MAX_ROWS + 1:
                raise LoaderError(f"more than {MAX_ROWS} rows", file=str(path), row=n)
            yield n, rec


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = next(csv.reader(f), None)
    except OSError as e:
        raise LoaderError(f"cannot read file: {e.strerror or e}", file=str(path)) from e
    if not first:
        raise LoaderError("empty file: expected a header row", file=str(path), row=1)
    cols = [c.strip() for c in first]
    seen: set[str] = set()
    for c in cols:
        if c in seen:
            raise LoaderError("column named twice", file=str(path), row=1, column=c)
        seen.add(c)
    return cols


def _table_meta(path: Path, set_id: str, kind: str, **kw: Any) -> MeasurementSetMeta:
    from pydantic import ValidationError

    try:
        return MeasurementSetMeta(
            id=set_id,
            kind=kind,  # type: ignore[arg-type]
            name=kw.pop("name", None) or Path(path).stem,
            source=f"CSV file {Path(path).name}",
            source_files=(Path(path).name,),
            **{k: v for k, v in kw.items() if v is not None},
        )
    except ValidationError as e:
        raise BadInput(
            "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        ) from e


class PairTable(MeasurementSource):
    """A CSV of per-pair measurements: columns ``stimulated`` and ``responder`` (neuron
    ids or names) and any of ``amplitude``, ``q``, ``q_eq`` (numbers) and ``trials``
    (a count); blank cells are missing values."""

    def __init__(self, path: Path, set_id: str, **meta: Any) -> None:
        self.path = Path(path)
        cols = _header(self.path)
        for c in PAIR_COLUMNS:
            if c not in cols:
                raise LoaderError("missing column", file=str(self.path), row=1, column=c)
        for c in cols:
            if c not in PAIR_COLUMNS + PAIR_VALUE_COLUMNS:
                raise LoaderError(
                    "unknown column (expected "
                    + ", ".join(PAIR_COLUMNS + PAIR_VALUE_COLUMNS)
                    + ")",
                    file=str(self.path),
                    row=1,
                    column=c,
                )
        self.columns = cols
        self.meta = _table_meta(self.path, set_id, "pairwise", **meta)

    def fingerprint(self) -> str:
        return file_digest(self.path, extra=self.meta.id)

    def rows(self) -> Iterator[Row]:
        for n, rec in _csv_rows(self.path):
            w = Where(str(self.path), n)
            out: dict[str, Any] = {}
            for c in PAIR_COLUMNS:
                v = (rec.get(c) or "").strip()
                if not v:
                    raise w.error("missing neuron", c)
                out[c] = v
            for c in ("amplitude", "q", "q_eq"):
                out[c] = parse_float(rec.get(c), w, c) if c in rec else None
            for c in ("q", "q_eq"):
                if out[c] is not None and not 0 <= out[c] <= 1:
                    raise w.error(f"a q-value lies in [0, 1], got {rec[c]!r}", c)
            trials = rec.get("trials")
            out["trials"] = (
                parse_count(trials, w, "trials") if trials is not None and trials.strip() else None
            )
            yield w, out


def _property_value(text: str | None, w: Where, column: str) -> float | list[float] | None:
    """A number, or numbers separated by ';' (a vector); blank is missing."""
    if text is None or not text.strip():
        return None
    if ";" in text:
        parts = text.split(";")
        if len(parts) > MAX_VECTOR:
            raise w.error(f"a vector holds at most {MAX_VECTOR} numbers", column)
        vec = [parse_float(p, w, column, optional=False) for p in parts]
        return [float(v) for v in vec if v is not None]
    return parse_float(text, w, column, optional=False)


class NeuronTable(MeasurementSource):
    """A CSV of per-neuron properties: a ``neuron`` column (ids or names) and one column
    per property, each cell a number or numbers separated by ';' (a vector, e.g. a
    tuning curve); blank cells are missing values."""

    def __init__(self, path: Path, set_id: str, **meta: Any) -> None:
        self.path = Path(path)
        cols = _header(self.path)
        if NEURON_COLUMN not in cols:
            raise LoaderError("missing column", file=str(self.path), row=1, column=NEURON_COLUMN)
        props = [c for c in cols if c != NEURON_COLUMN]
        if not props:
            raise LoaderError("no property columns", file=str(self.path), row=1)
        for c in props:
            try:
                check_property_name(c)
            except ValueError as e:
                raise LoaderError(str(e), file=str(self.path), row=1, column=c) from None
        self.properties = props
        self.meta = _table_meta(self.path, set_id, "neuron", properties=tuple(props), **meta)

    def fingerprint(self) -> str:
        return file_digest(self.path, extra=self.meta.id)

    def rows(self) -> Iterator[Row]:
        dims: dict[str, tuple[int, int]] = {}  # vector property -> (length, first row)
        for n, rec in _csv_rows(self.path):
            w = Where(str(self.path), n)
            name = (rec.get(NEURON_COLUMN) or "").strip()
            if not name:
                raise w.error("missing neuron", NEURON_COLUMN)
            values: dict[str, Any] = {}
            for c in self.properties:
                v = _property_value(rec.get(c), w, c)
                if isinstance(v, list):
                    length, first = dims.setdefault(c, (len(v), n))
                    if len(v) != length:
                        raise w.error(f"a vector of {len(v)} numbers; row {first} has {length}", c)
                values[c] = v
            yield w, {NEURON_COLUMN: name, "values": values}


# -- the loader ----------------------------------------------------------------------------
@dataclass
class MeasurementLoad:
    """What a load wrote: the set, its rows, and the input names that matched no neuron
    (with how many rows each cost)."""

    dataset: str
    set: str
    status: Literal["loaded", "unchanged"]
    count: int
    unmatched: dict[str, int] = field(default_factory=dict)


_NAME_KEYS: Final = {
    "pairwise": ("stimulated", "responder"),
    "extrasynaptic": ("source", "target"),
    "neuron": (NEURON_COLUMN,),
}


class MeasurementLoader:
    """Loads measurement sets onto a ready dataset.

    Args:
        driver: a sync Neo4j driver.
        database: the Neo4j database name.
        batch_size: rows per write transaction.
        writers: transactions written at once (pairs and links).
        progress: receives phase starts and row counts (e.g. a rich progress bar).
    """

    def __init__(
        self,
        driver: Any,
        database: str = "neo4j",
        batch_size: int = 10_000,
        progress: Progress | None = None,
        writers: int = 3,
    ) -> None:
        if batch_size < 1 or writers < 1:
            raise ValueError("batch_size and writers must be at least 1")
        self.writers = writers
        self.store = MeasurementWriter(driver, database)
        self.batch_size = batch_size
        self.progress: Progress = progress or NoProgress()

    def load(
        self, source: MeasurementSource, onto: str, *, replace: bool = False
    ) -> MeasurementLoad:
        meta = source.meta
        status = self.store.dataset_status(onto)
        if status != "ready":
            raise BadInput(f"dataset {onto!r} is {status}, not ready: load it first")
        fp = source.fingerprint()
        existing = self.store.get(onto, meta.id)
        if existing is not None:
            if existing.status == "ready" and existing.fingerprint == fp and not replace:
                return MeasurementLoad(
                    onto, meta.id, "unchanged", existing.count, dict.fromkeys(existing.unmatched, 0)
                )
            if existing.status == "ready" and not replace:
                raise BadInput(
                    f"measurement set {meta.id!r} of {onto!r} exists (from different input); "
                    "load with --replace"
                )
        index = self.store.neurons(onto)
        # read and check the whole input before writing anything
        rows, unmatched = self._resolve(source, index.resolve)
        if existing is not None:  # replaced, or a write that never finished
            self.store.delete(onto, meta.id)
        props = meta.model_dump(exclude={"id"})
        props.update(
            source_files=list(meta.source_files),
            properties=list(meta.properties),
            fingerprint=fp,
        )
        self.store.create(onto, meta.id, props)
        try:
            self._write(source, onto, rows, index.eid)
            self.store.finish(onto, meta.id, len(rows), sorted(unmatched))
        except BaseException:
            self.store.delete(onto, meta.id)
            raise
        return MeasurementLoad(onto, meta.id, "loaded", len(rows), unmatched)

    def _resolve(
        self, source: MeasurementSource, resolve: Callable[[str], str | None]
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The rows whose neurons all exist, names replaced by neuron ids; the names that
        matched none, with their row counts. Repeated keys are errors."""
        keys = _NAME_KEYS[source.meta.kind]
        rows: list[dict[str, Any]] = []
        unmatched: dict[str, int] = {}
        seen: dict[tuple[Any, ...], int | None] = {}
        self.progress.phase("reading", None)
        for w, values in source.rows():
            ids = [resolve(values[k]) for k in keys]
            missing = [values[k] for k, i in zip(keys, ids, strict=True) if i is None]
            if missing:
                for name in set(missing):
                    unmatched[name] = unmatched.get(name, 0) + 1
                continue
            if source.meta.kind == "extrasynaptic":
                key: tuple[Any, ...] = (*ids, values["transmitter"], values["receptor"])
            else:
                key = tuple(ids)
            if key in seen:
                first = seen[key]
                raise w.error(
                    ("the same " + ("pair" if len(ids) > 1 else "neuron"))
                    + (f" as row {first}" if first is not None else " appears twice")
                    + f" ({' -> '.join(str(i) for i in ids)})"
                )
            seen[key] = w.row
            rows.append({**values, **dict(zip(keys, ids, strict=True))})
            self.progress.advance(1)
        return rows, unmatched

    def _write(
        self, source: MeasurementSource, onto: str, rows: list[dict[str, Any]], eid: dict[str, str]
    ) -> None:
        """Batches of ``batch_size`` rows, up to ``writers`` transactions at once for pairs
        and links (Neo4j's deadlock detection and the driver's retry handle lock
        conflicts); one at a time for per-neuron values, which all hang off the set's
        node."""
        kind = source.meta.kind
        set_id = source.meta.id
        self.progress.phase("writing", len(rows))

        def batch(chunk: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
            if kind == "pairwise":
                return (
                    WRITE_PAIRS,
                    [
                        {
                            "s": eid[r["stimulated"]],
                            "r": eid[r["responder"]],
                            **{k: r.get(k) for k in PAIR_VALUE_COLUMNS},
                        }
                        for r in chunk
                    ],
                    {},
                )
            if kind == "extrasynaptic":
                return (
                    WRITE_EXTRASYNAPTIC,
                    [
                        {
                            "s": eid[r["source"]],
                            "r": eid[r["target"]],
                            "transmitter": r["transmitter"],
                            "receptor": r["receptor"],
                        }
                        for r in chunk
                    ],
                    {"family": source.family},
                )
            return (
                WRITE_PROPERTIES,
                [
                    {
                        "n": eid[r[NEURON_COLUMN]],
                        "values": {k: v for k, v in r["values"].items() if v is not None},
                    }
                    for r in chunk
                ],
                {},
            )

        def write(chunk: list[dict[str, Any]]) -> int:
            text, rows_, extra = batch(chunk)
            self.store.write(text, onto, set_id, rows_, **extra)
            return len(chunk)

        chunks = [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        workers = 1 if kind == "neuron" else self.writers
        if workers == 1 or len(chunks) < 2:
            for chunk in chunks:
                self.progress.advance(write(chunk))
            return
        with ThreadPoolExecutor(workers, thread_name_prefix="cdb-measurements") as pool:
            for n in pool.map(write, chunks):
                self.progress.advance(n)
