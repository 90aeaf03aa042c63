"""Pure writers of exported content: column batches in, bytes out to a binary sink.

A writer names its parts in order (``parts``), each fed from one stream of
:class:`connectomedb.store.export.ExportRepository` (``cells``, ``connections``,
``synapses``): ``start(part)``, ``write(part, batch)`` any number of times, ``end(part)``,
and ``close()`` once at the end. The sink only needs ``write``: archives are written as
streamed zips (sizes in data descriptors), so a writer can feed an HTTP response.

Formats:

- ``arrow``: a zip of Arrow IPC *stream* files ``neurons.arrow``, ``connections.arrow``
  and, when asked for, ``synapses.arrow``, then ``manifest.json``; or one table as a bare
  IPC stream (:class:`ArrowTableWriter`).
- ``neuprint`` / ``codex``: zips of CSV files in the column names of
  :data:`~connectomedb.loaders.csvbundle.NEUPRINT_COLUMNS` and
  :data:`~connectomedb.loaders.csvbundle.FLYWIRE_COLUMNS`, which the bundle loaders read
  back; :data:`NEUPRINT_CONTENT` and :data:`CODEX_CONTENT` say what they carry.
- ``graphml``: one GraphML document, streamed (nodes, then edges; no graph in memory).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from abc import ABC, abstractmethod
from typing import IO, Any, ClassVar, Final, Literal
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa

from connectomedb.errors import BadInput
from connectomedb.loaders.csvbundle import FLYWIRE_COLUMNS, NEUPRINT_COLUMNS
from connectomedb.schema.graph import CELL_PROPERTIES
from connectomedb.store.export import CELL_COLUMNS, Columns
from connectomedb.store.fingerprint import FULL, Content

Stream = Literal["cells", "connections", "synapses"]

#: Cell properties held as numbers (the rest are text).
CELL_FLOATS: Final = frozenset({"x", "y", "z", "soma_x", "soma_y", "soma_z"})
CELL_INTS: Final = frozenset({"sign"})

ARROW_SCHEMAS: Final[dict[Stream, pa.Schema]] = {
    "cells": pa.schema(
        [
            pa.field(
                p,
                pa.float64() if p in CELL_FLOATS else pa.int64() if p in CELL_INTS else pa.string(),
                nullable=p != "id",
            )
            for p in CELL_COLUMNS
        ]
    ),
    "connections": pa.schema(
        [
            pa.field("pre", pa.string(), nullable=False),
            pa.field("post", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("synapse_count", pa.int64()),
            pa.field("weight", pa.float64()),
            pa.field("psd_area_total", pa.float64()),
            pa.field("neuropils", pa.list_(pa.string())),
            pa.field("nt_type", pa.string()),
        ]
    ),
    "synapses": pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("pre", pa.string(), nullable=False),
            pa.field("post", pa.string(), nullable=False),
            pa.field("kind", pa.string()),
            *(pa.field(c, pa.float64()) for c in ("x", "y", "z", "confidence", "psd_area")),
            pa.field("neurotransmitter", pa.string()),
            pa.field("region", pa.string()),
        ]
    ),
}
#: table name in an Arrow export -> stream
ARROW_TABLES: Final[dict[str, Stream]] = {
    "neurons": "cells",
    "connections": "connections",
    "synapses": "synapses",
}


def arrow_batch(stream: Stream, batch: Columns) -> pa.RecordBatch:
    """A column batch as an Arrow record batch of the stream's schema (ints stored in a
    float column, such as an integer weight, become floats)."""
    schema = ARROW_SCHEMAS[stream]
    arrays = []
    for f in schema:
        values = batch[f.name]
        if pa.types.is_floating(f.type):
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class Writer(ABC):
    """One export format (see the module docstring for the protocol)."""

    format: ClassVar[str]
    media_type: ClassVar[str]
    suffix: ClassVar[str]
    #: what a load of this format's output gives back (for fingerprints of a round trip)
    content: ClassVar[Content] = FULL
    #: whether the format holds synapses at all
    holds_synapses: ClassVar[bool] = True

    def __init__(self, sink: IO[bytes], dataset: str, *, synapses: bool = False) -> None:
        if synapses and not self.holds_synapses:
            raise BadInput(f"the {self.format} format holds no synapses")
        self.sink = sink
        self.dataset = dataset
        self.synapses = synapses
        self.rows: dict[str, int] = {}

    @abstractmethod
    def parts(self) -> list[tuple[str, Stream]]:
        """(part, stream) in writing order."""

    @abstractmethod
    def start(self, part: str) -> None: ...

    @abstractmethod
    def write(self, part: str, batch: Columns) -> None: ...

    @abstractmethod
    def end(self, part: str) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Finish the output (after the last part)."""


class _ZipWriter(Writer):
    """Parts are files of one streamed zip archive."""

    compression: ClassVar[int] = zipfile.ZIP_DEFLATED

    def __init__(self, sink: IO[bytes], dataset: str, *, synapses: bool = False) -> None:
        super().__init__(sink, dataset, synapses=synapses)
        self.zip = zipfile.ZipFile(sink, "w", compression=self.compression)
        self.entry: IO[bytes] | None = None

    def _open(self, name: str) -> IO[bytes]:
        # sizes are unknown in advance: zip64 headers, so a part may pass 4 GiB
        self.entry = self.zip.open(name, "w", force_zip64=True)
        return self.entry

    def _close_entry(self) -> None:
        if self.entry is not None:
            self.entry.close()
            self.entry = None

    def close(self) -> None:
        self._close_entry()
        self.zip.close()


class _ArrowStreams:
    """One Arrow IPC stream per part, written a record batch per page (shared by the
    zip of tables and the bare single table)."""

    ipc: pa.ipc.RecordBatchStreamWriter | None = None
    rows: dict[str, int]

    def _start_stream(self, out: IO[bytes], part: str) -> None:
        self.ipc = pa.ipc.new_stream(out, ARROW_SCHEMAS[ARROW_TABLES[part]])
        self.rows[part] = 0

    def write(self, part: str, batch: Columns) -> None:
        assert self.ipc is not None
        rb = arrow_batch(ARROW_TABLES[part], batch)
        self.ipc.write_batch(rb)
        self.rows[part] += rb.num_rows

    def _end_stream(self) -> None:
        assert self.ipc is not None
        self.ipc.close()
        self.ipc = None


#: The exported dataset's descriptive properties that ``manifest.json`` carries (as
#: ``meta``), so that a load under another id keeps them.
ARROW_META: Final = ("name", "species", "version", "citation", "license")


class ArrowZipWriter(_ArrowStreams, _ZipWriter):
    """``neurons.arrow``, ``connections.arrow`` (chemical rows, then gap junctions with
    ``kind`` electrical), ``synapses.arrow`` when asked for: Arrow IPC streams; then
    ``manifest.json`` (dataset, format version, tables and their row counts, and the
    dataset's :data:`ARROW_META` when ``meta`` is set)."""

    format = "arrow"
    media_type = "application/zip"
    suffix = "arrow.zip"
    compression = zipfile.ZIP_STORED  # Arrow buffers hardly deflate; storing is fast
    meta: dict[str, str] | None = None

    def describe(self, props: dict[str, Any]) -> None:
        """Carry the dataset's :data:`ARROW_META` properties (those set) in the manifest."""
        self.meta = {k: str(props[k]) for k in ARROW_META if props.get(k) not in (None, "")}

    def parts(self) -> list[tuple[str, Stream]]:
        names = ["neurons", "connections"] + (["synapses"] if self.synapses else [])
        return [(n, ARROW_TABLES[n]) for n in names]

    def start(self, part: str) -> None:
        self._start_stream(self._open(f"{part}.arrow"), part)

    def end(self, part: str) -> None:
        self._end_stream()
        self._close_entry()

    def close(self) -> None:
        manifest = {
            "format": "connectomedb-arrow-1",
            "dataset": self.dataset,
            "tables": {n: f"{n}.arrow" for n in self.rows},
            "rows": self.rows,
        }
        if self.meta is not None:
            manifest["meta"] = self.meta
        self.zip.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        super().close()


class ArrowTableWriter(_ArrowStreams, Writer):
    """One table (``neurons``, ``connections`` or ``synapses``) as a bare Arrow IPC
    stream."""

    format = "arrow"
    media_type = "application/vnd.apache.arrow.stream"
    suffix = "arrow"

    def __init__(self, sink: IO[bytes], dataset: str, *, table: str) -> None:
        if table not in ARROW_TABLES:
            raise BadInput(f"table must be one of {', '.join(ARROW_TABLES)}")
        super().__init__(sink, dataset, synapses=table == "synapses")
        self.table = table

    def parts(self) -> list[tuple[str, Stream]]:
        return [(self.table, ARROW_TABLES[self.table])]

    def start(self, part: str) -> None:
        self._start_stream(self.sink, part)

    def end(self, part: str) -> None:
        self._end_stream()

    def close(self) -> None:
        pass


def _csv_value(v: Any) -> Any:
    # repr of a float is its shortest exact decimal: parsed back, the same float
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return v


class _CsvZipWriter(_ZipWriter):
    """Each part is one CSV file: ``columns[file]`` maps a CSV column to the batch column
    that fills it (None: left blank)."""

    files: ClassVar[dict[str, tuple[Stream, dict[str, str | None]]]]

    def __init__(self, sink: IO[bytes], dataset: str, *, synapses: bool = False) -> None:
        super().__init__(sink, dataset, synapses=synapses)
        self.out: csv.DictWriter[str] | None = None
        self.text: io.TextIOWrapper | None = None

    def parts(self) -> list[tuple[str, Stream]]:
        return [
            (f, stream)
            for f, (stream, _) in self.files.items()
            if stream != "synapses" or self.synapses
        ]

    def start(self, part: str) -> None:
        self.text = io.TextIOWrapper(self._open(part), encoding="utf-8", newline="")
        self.out = csv.DictWriter(self.text, list(self.files[part][1]), lineterminator="\n")
        self.out.writeheader()
        self.rows[part] = 0

    def keep(self, part: str, batch: Columns) -> list[int]:
        """The rows of ``batch`` that go into ``part``."""
        if "kind" in batch and self.files[part][0] == "connections":
            return [i for i, k in enumerate(batch["kind"]) if k == "chemical"]
        return list(range(len(next(iter(batch.values()), []))))

    def write(self, part: str, batch: Columns) -> None:
        assert self.out is not None
        mapping = self.files[part][1]
        keep = self.keep(part, batch)
        cols = {c: batch[src] if src is not None else None for c, src in mapping.items()}
        self.out.writerows(
            {c: _csv_value(v[i] if v is not None else None) for c, v in cols.items()} for i in keep
        )
        self.rows[part] += len(keep)

    def end(self, part: str) -> None:
        assert self.text is not None
        self.text.flush()
        self.text.detach()  # the zip entry is closed by the zip writer, not the wrapper
        self.text = self.out = None
        self._close_entry()


def _cell_columns(
    file: str, layout: dict[str, tuple[tuple[str, ...], dict[str, str]]]
) -> dict[str, str | None]:
    required, optional = layout[file]
    return {required[0]: "id", **optional}


def _carried(*files: tuple[tuple[str, ...], dict[str, str]]) -> tuple[str, ...]:
    props = {p for _, optional in files for p in optional.values()}
    return ("id", *(p for p in CELL_PROPERTIES if p in props))


#: What a neuPrint bundle carries through its loader: cells' neuPrint columns, chemical
#: synapse counts (as ``weight``) and synapses; not cell kinds (all load as neurons),
#: signs, positions other than soma, connection weights other than counts, gap junctions.
NEUPRINT_CONTENT: Final = Content(
    cells=_carried(NEUPRINT_COLUMNS["neurons.csv"]),
    connections=("synapse_count",),
    gap_junctions=False,
    synapses=("kind", "x", "y", "z", "confidence", "region"),
)

#: What a Codex bundle carries: cells' Codex columns (no names: they load as the id),
#: chemical synapse counts and transmitter types; no gap junctions, no synapses.
CODEX_CONTENT: Final = Content(
    cells=_carried(FLYWIRE_COLUMNS["neurons.csv"], FLYWIRE_COLUMNS["classification.csv"]),
    connections=("synapse_count", "nt_type"),
    gap_junctions=False,
    synapses=None,
)


class NeuprintWriter(_CsvZipWriter):
    """``neurons.csv`` (bodyId = our cell id, instance = name, ...), ``connections.csv``
    (bodyId_pre, bodyId_post, weight = synapse count; chemical only, one row per pair)
    and ``synapses.csv`` when asked for."""

    format = "neuprint"
    media_type = "application/zip"
    suffix = "neuprint.zip"
    content = NEUPRINT_CONTENT
    files = {
        "neurons.csv": ("cells", _cell_columns("neurons.csv", NEUPRINT_COLUMNS)),
        "connections.csv": (
            "connections",
            {"bodyId_pre": "pre", "bodyId_post": "post", "weight": "synapse_count"},
        ),
        "synapses.csv": (
            "synapses",
            {
                "bodyId_pre": "pre",
                "bodyId_post": "post",
                "x": "x",
                "y": "y",
                "z": "z",
                "synapse_id": "id",
                "confidence": "confidence",
                "roi": "region",
                "kind": "kind",
            },
        ),
    }


class CodexWriter(_CsvZipWriter):
    """``neurons.csv`` (root_id = our cell id, group, nt_type), ``classification.csv``
    and ``connections.csv`` (pre_root_id, post_root_id, neuropil left blank, syn_count,
    nt_type; chemical only, one row per pair) in FlyWire Codex's names."""

    format = "codex"
    media_type = "application/zip"
    suffix = "codex.zip"
    content = CODEX_CONTENT
    holds_synapses = False
    files = {
        "neurons.csv": ("cells", _cell_columns("neurons.csv", FLYWIRE_COLUMNS)),
        "classification.csv": ("cells", _cell_columns("classification.csv", FLYWIRE_COLUMNS)),
        "connections.csv": (
            "connections",
            {
                "pre_root_id": "pre",
                "post_root_id": "post",
                "neuropil": None,
                "syn_count": "synapse_count",
                "nt_type": "nt_type",
            },
        ),
    }


#: GraphML attribute types (networkx reads them back as str, float, int).
_GRAPHML_TYPE: Final = {"string": "string", "float": "double", "int": "long"}
NODE_KEYS: Final[dict[str, str]] = {
    p: "float" if p in CELL_FLOATS else "int" if p in CELL_INTS else "string"
    for p in CELL_COLUMNS
    if p != "id"
}
EDGE_KEYS: Final[dict[str, str]] = {
    "kind": "string",
    "synapse_count": "int",
    "weight": "float",
    "psd_area_total": "float",
    "neuropils": "string",
    "nt_type": "string",
}


def _graphml_value(kind: str, v: Any) -> str:
    if kind == "float":
        return repr(float(v))
    if isinstance(v, list | tuple):
        return ";".join(str(x) for x in v)
    return str(v)


class GraphMLWriter(Writer):
    """A directed GraphML graph: one node per cell (id, its properties), one edge per
    chemical connection and one per gap junction (``kind`` electrical, pre <= post by id;
    ``synapse_count`` and ``weight`` its count). ``neuropils`` are joined by ``;``.
    Written as it streams: memory holds one batch."""

    format = "graphml"
    media_type = "application/graphml+xml"
    suffix = "graphml"
    holds_synapses = False

    def parts(self) -> list[tuple[str, Stream]]:
        return [("nodes", "cells"), ("edges", "connections")]

    def _put(self, text: str) -> None:
        self.sink.write(text.encode())

    def start(self, part: str) -> None:
        self.rows[part] = 0
        if part != "nodes":
            return
        keys = [
            f'<key id="n_{k}" for="node" attr.name="{k}" attr.type="{_GRAPHML_TYPE[t]}"/>'
            for k, t in NODE_KEYS.items()
        ] + [
            f'<key id="e_{k}" for="edge" attr.name="{k}" attr.type="{_GRAPHML_TYPE[t]}"/>'
            for k, t in EDGE_KEYS.items()
        ]
        self._put(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
            'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
            + "".join(f"  {k}\n" for k in keys)
            + f'  <graph id={quoteattr(self.dataset)} edgedefault="directed">\n'
        )

    def write(self, part: str, batch: Columns) -> None:
        out: list[str] = []
        if part == "nodes":
            for i, cid in enumerate(batch["id"]):
                data = "".join(
                    f'<data key="n_{k}">{escape(_graphml_value(t, batch[k][i]))}</data>'
                    for k, t in NODE_KEYS.items()
                    if batch[k][i] is not None
                )
                out.append(f"    <node id={quoteattr(cid)}>{data}</node>\n")
        else:
            for i in range(len(batch["pre"])):
                data = "".join(
                    f'<data key="e_{k}">{escape(_graphml_value(t, batch[k][i]))}</data>'
                    for k, t in EDGE_KEYS.items()
                    if batch[k][i] is not None
                )
                out.append(
                    f"    <edge source={quoteattr(batch['pre'][i])} "
                    f"target={quoteattr(batch['post'][i])}>{data}</edge>\n"
                )
        self._put("".join(out))
        self.rows[part] += len(out)

    def end(self, part: str) -> None:
        pass

    def close(self) -> None:
        self._put("  </graph>\n</graphml>\n")


#: format name -> writer (the whole-export writers; ``ArrowTableWriter`` is one table)
WRITERS: Final[dict[str, type[Writer]]] = {
    w.format: w for w in (ArrowZipWriter, NeuprintWriter, CodexWriter, GraphMLWriter)
}
