"""CSV bundles exported from neuPrint and from FlyWire Codex.

Files are streamed with the ``csv`` module: only one batch of rows is held at a
time (plus the cell-id index the writer keeps). Column names are documented in
the README; ``NEUPRINT_COLUMNS`` and ``FLYWIRE_COLUMNS`` are the source of truth.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, ClassVar

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Row, Source, Where, file_digest, parse_count, parse_float
from connectomedb.schema.models import DatasetMeta

#: file -> (required columns, optional columns -> property)
NEUPRINT_COLUMNS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "neurons.csv": (
        ("bodyId",),
        {
            "instance": "name",
            "type": "type",
            "class": "class",
            "superclass": "superclass",
            "side": "side",
            "region": "region",
            "predictedNt": "neurotransmitter",
            "status": "status",
            "somaLocation_x": "soma_x",
            "somaLocation_y": "soma_y",
            "somaLocation_z": "soma_z",
        },
    ),
    "connections.csv": (("bodyId_pre", "bodyId_post", "weight"), {"roi": "neuropil"}),
    "synapses.csv": (
        ("bodyId_pre", "bodyId_post", "x", "y", "z"),
        {"synapse_id": "id", "confidence": "confidence", "roi": "region", "kind": "kind"},
    ),
}

FLYWIRE_COLUMNS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "neurons.csv": (("root_id",), {"group": "group", "nt_type": "neurotransmitter"}),
    "classification.csv": (
        ("root_id",),
        {
            "flow": "flow",
            "super_class": "superclass",
            "class": "class",
            "sub_class": "region",
            "cell_type": "type",
            "hemilineage": "hemilineage",
            "side": "side",
            "nerve": "nerve",
        },
    ),
    "connections.csv": (
        ("pre_root_id", "post_root_id", "syn_count"),
        {"neuropil": "neuropil", "nt_type": "nt_type"},
    ),
}


def _lines(path: Path, name: str) -> Generator[str, None, None]:
    """Decode line by line so that a bad byte is reported at its own line."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        f = opener(path, "rb")
    except OSError as e:
        raise LoaderError(f"cannot read file: {e.strerror or e}", file=name) from e
    lineno = 0
    with f:
        try:
            for lineno, raw in enumerate(f, 1):
                try:
                    text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise LoaderError(
                        f"unreadable CSV: not UTF-8 text (byte {e.start + 1} of the line)",
                        file=name,
                        row=lineno,
                    ) from e
                yield text
        except (OSError, EOFError, zlib.error) as e:
            raise LoaderError(f"cannot read file: {e}", file=name, row=lineno + 1) from e


def read_csv(
    path: Path, required: tuple[str, ...], display: str | None = None
) -> Iterator[tuple[Where, dict[str, str]]]:
    """Stream ``path`` as dicts; the header is row 1, so data rows start at row 2."""
    name = display or path.name
    if not path.is_file():
        raise LoaderError("file not found", file=name)
    reader = csv.reader(_lines(path, name))
    try:
        header = next(reader)
    except StopIteration:
        raise LoaderError("empty file (no header row)", file=name, row=1) from None
    except csv.Error as e:
        raise LoaderError(f"unreadable CSV: {e}", file=name, row=1) from e
    header = [h.strip() for h in header]
    for col in required:
        if col not in header:
            raise LoaderError(
                f"missing required column (header has {', '.join(header)})",
                file=name,
                row=1,
                column=col,
            )
    dup = {h for h in header if header.count(h) > 1}
    if dup:
        raise LoaderError("duplicate column in header", file=name, row=1, column=sorted(dup)[0])
    width = len(header)
    rowno = 1
    try:
        for values in reader:
            rowno = reader.line_num
            if not values:
                continue
            if len(values) != width:
                raise LoaderError(
                    f"expected {width} fields, found {len(values)}", file=name, row=rowno
                )
            yield Where(name, rowno), dict(zip(header, values, strict=True))
    except csv.Error as e:
        raise LoaderError(f"unreadable CSV: {e}", file=name, row=reader.line_num) from e


def _find(directory: Path, name: str, required: bool = True) -> Path | None:
    for cand in (directory / name, directory / (name + ".gz")):
        if cand.exists():
            return cand
    if required:
        raise LoaderError("required file not found in bundle", file=str(directory / name))
    return None


def _text(v: str | None) -> str | None:
    if v is None:
        return None
    v = v.strip()
    return v or None


class _Bundle(Source):
    """A directory of CSV files (each may be gzipped) in one exporter's column names."""

    #: file -> (required columns, optional columns -> property), in reading order
    layout: ClassVar[dict[str, tuple[tuple[str, ...], dict[str, str]]]]
    #: the one file the bundle may lack
    optional_file: ClassVar[str]
    exporter: ClassVar[str]
    #: property -> this exporter's column, for the writer's error messages
    columns: ClassVar[dict[str, str]]

    def __init__(
        self,
        directory: Path,
        dataset_id: str,
        *,
        name: str | None = None,
        species: str = "Drosophila melanogaster",
        citation: str = "",
        license: str = "",
    ) -> None:
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise LoaderError("bundle directory not found", file=str(self.dir))
        self.files = {f: _find(self.dir, f, required=f != self.optional_file) for f in self.layout}
        self.aggregate_connections = self._sums_pairs()
        self.meta = DatasetMeta(
            id=dataset_id,
            name=name or dataset_id,
            species=species,
            source=f"{self.exporter} CSV bundle {self.dir.name}",
            source_files=tuple(p.name for p in self.files.values() if p is not None),
            citation=citation,
            license=license,
        )

    def _sums_pairs(self) -> bool:
        """Whether ``connections.csv`` may list a pair more than once, to be summed."""
        return self.aggregate_connections

    def fingerprint(self) -> str:
        return file_digest(*(p for p in self.files.values() if p is not None))

    def _rows(self, file: str) -> Iterator[tuple[Where, dict[str, str]]]:
        p = self.files[file]
        if p is None:
            return iter(())
        return read_csv(p, self.layout[file][0])

    def _cells(self, id_column: str) -> Iterator[Row]:
        """``neurons.csv``: the id and the optional columns present, as properties."""
        opt = self.layout["neurons.csv"][1]
        for where, r in self._rows("neurons.csv"):
            cid = _text(r[id_column])
            if cid is None:
                raise where.error(f"missing {id_column}", id_column)
            props: dict[str, Any] = {"id": cid, "kind": "neuron"}
            for col, prop in opt.items():
                if col in r:
                    if prop.startswith("soma_"):
                        props[prop] = parse_float(r[col], where, col)
                    else:
                        props[prop] = _text(r[col])
            yield where, props


class NeuprintBundle(_Bundle):
    """A directory with ``neurons.csv``, ``connections.csv`` and optionally ``synapses.csv``
    in neuPrint's column names (as neuprint-python's ``fetch_neurons`` /
    ``fetch_adjacencies`` / ``fetch_synapse_connections`` write them)."""

    layout = NEUPRINT_COLUMNS
    optional_file = "synapses.csv"
    exporter = "neuPrint"
    columns = {
        "pre": "bodyId_pre",
        "post": "bodyId_post",
        "synapse_count": "weight",
        "id": "bodyId",
        "synapse_id": "synapse_id",
    }

    def _sums_pairs(self) -> bool:
        # One row per pair and ROI when the file has a roi column.
        p = self.files["connections.csv"]
        if p is None:
            return False
        rows = _lines(p, p.name)
        try:
            header = next(csv.reader(rows), [])
        finally:
            rows.close()
        return "roi" in [h.strip() for h in header]

    def neurons(self) -> Iterator[Row]:
        return self._cells("bodyId")

    def connections(self) -> Iterator[Row]:
        for where, r in self._rows("connections.csv"):
            props: dict[str, Any] = {
                "pre": _text(r["bodyId_pre"]),
                "post": _text(r["bodyId_post"]),
                "synapse_count": parse_count(r["weight"], where, "weight"),
            }
            if "roi" in r:
                props["neuropil"] = _text(r["roi"])
            yield where, props

    def synapses(self) -> Iterator[Row]:
        for where, r in self._rows("synapses.csv"):
            props: dict[str, Any] = {
                "id": _text(r.get("synapse_id")) or f"r{where.row}",
                "pre": _text(r["bodyId_pre"]),
                "post": _text(r["bodyId_post"]),
                "x": parse_float(r["x"], where, "x", optional=False),
                "y": parse_float(r["y"], where, "y", optional=False),
                "z": parse_float(r["z"], where, "z", optional=False),
                "kind": _text(r.get("kind")) or "chemical",
            }
            if props["kind"] not in ("chemical", "electrical"):
                raise where.error(
                    f"kind must be chemical or electrical, got {props['kind']!r}", "kind"
                )
            if "confidence" in r:
                c = parse_float(r["confidence"], where, "confidence")
                if c is not None and not 0.0 <= c <= 1.0:
                    raise where.error(f"confidence must be within [0, 1], got {c}", "confidence")
                props["confidence"] = c
            if "roi" in r:
                props["region"] = _text(r["roi"])
            yield where, props


class FlywireBundle(_Bundle):
    """A directory in FlyWire Codex's download layout: ``neurons.csv`` (root_id, group,
    nt_type), ``classification.csv`` (root_id, flow, super_class, class, sub_class,
    cell_type, hemilineage, side, nerve) and ``connections.csv`` (pre_root_id,
    post_root_id, neuropil, syn_count, nt_type; one row per pair and neuropil, summed
    into one CONNECTS_TO per ordered pair)."""

    aggregate_connections = True
    layout = FLYWIRE_COLUMNS
    optional_file = "classification.csv"
    exporter = "FlyWire Codex"
    columns = {
        "pre": "pre_root_id",
        "post": "post_root_id",
        "synapse_count": "syn_count",
        "id": "root_id",
    }

    def _classification(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        opt = FLYWIRE_COLUMNS["classification.csv"][1]
        for where, r in self._rows("classification.csv"):
            rid = _text(r["root_id"])
            if rid is None:
                raise where.error("missing root_id", "root_id")
            if rid in out:
                raise where.error(f"duplicate root_id {rid!r}", "root_id")
            out[rid] = {prop: _text(r[col]) for col, prop in opt.items() if col in r}
        return out

    def neurons(self) -> Iterator[Row]:
        cls = self._classification()
        for where, props in self._cells("root_id"):
            props.update({k: v for k, v in cls.get(props["id"], {}).items() if v is not None})
            yield where, props

    def connections(self) -> Iterator[Row]:
        for where, r in self._rows("connections.csv"):
            yield (
                where,
                {
                    "pre": _text(r["pre_root_id"]),
                    "post": _text(r["post_root_id"]),
                    "synapse_count": parse_count(r["syn_count"], where, "syn_count"),
                    "neuropil": _text(r.get("neuropil")),
                    "nt_type": _text(r.get("nt_type")),
                },
            )
