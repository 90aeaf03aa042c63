"""An Arrow export (format ``connectomedb-arrow-1``, see :mod:`connectomedb.export.writers`)
loaded back as a dataset: cells with their kind and every property, chemical connections
with all their properties, gap junctions and synapses.

The bundle is the export's zip or a directory holding the same files. ``manifest.json`` is
checked first (format, tables, row counts) and every table's schema when the source is
built, so a bad bundle is refused before anything is written; rows are then streamed one
Arrow record batch at a time, and a table whose row count differs from the manifest's
fails the load at the first row past it (or at its end), which the writer rolls back.
Rows are numbered from 1 within each table (an Arrow table has no header row).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Final

import pyarrow as pa
from pydantic import ValidationError

from connectomedb.errors import LoaderError
from connectomedb.export.writers import ARROW_META, ARROW_SCHEMAS, ARROW_TABLES
from connectomedb.loaders.base import CELL_KINDS, Row, Source, Where, file_digest
from connectomedb.schema.models import DatasetMeta

FORMAT: Final = "connectomedb-arrow-1"
MANIFEST: Final = "manifest.json"
#: tables every bundle has; ``synapses`` is optional
REQUIRED_TABLES: Final = ("neurons", "connections")
CONNECTION_KINDS: Final = ("chemical", "electrical")


class ArrowBundle(Source):
    """A ``connectomedb-arrow-1`` bundle (zip or directory) as a source.

    Args:
        path: the ``.arrow.zip`` file, or a directory with ``manifest.json`` and the tables.
        dataset_id: the new dataset's id; the exported dataset's id when None.
        name: the new dataset's name (default: the exported dataset's, from the manifest's
            ``meta``, else its id).
        species: what the export came from when the manifest's ``meta`` does not say
            (older exports; the manifest's wins). Version, citation and license come
            from ``meta`` too.
    """

    #: property -> column, for the writer's error messages (gap junctions and synapse ids)
    columns: Final = {"a": "pre", "b": "post", "count": "synapse_count", "synapse_id": "id"}

    def __init__(
        self,
        path: Path,
        dataset_id: str | None = None,
        *,
        name: str | None = None,
        species: str = "unknown",
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            self.archive = False
        elif self.path.is_file():
            self.archive = True
            if not zipfile.is_zipfile(self.path):
                raise LoaderError("not a zip archive (nor a bundle directory)", file=str(path))
        else:
            raise LoaderError("bundle not found", file=str(path))
        manifest = self._manifest()
        self.exported: str = manifest["dataset"]
        self.tables: dict[str, str] = manifest["tables"]
        self.rows: dict[str, int] = manifest["rows"]
        for table in self.tables:
            self._check_schema(table)
        ds = dataset_id or self.exported
        described: dict[str, str] = manifest.get("meta", {})
        try:
            self.meta = DatasetMeta(
                id=ds,
                name=name or described.get("name") or ds,
                species=described.get("species", species),
                **{k: described[k] for k in ("version", "citation", "license") if k in described},
                source=f"connectomedb Arrow export {self.path.name}",
                source_files=(self.path.name,)
                if self.archive
                else (MANIFEST, *self.tables.values()),
                description=(
                    f"Loaded from an Arrow export ({FORMAT}) of dataset {self.exported!r}."
                ),
            )
        except ValidationError as e:
            raise LoaderError(f"invalid dataset id {ds!r}: letters, digits, '_', '.', '-'") from e

    # -- files -----------------------------------------------------------------

    def _open(self, stack: ExitStack, member: str) -> IO[bytes]:
        """A member file of the bundle, opened for reading (closed with ``stack``)."""
        try:
            if self.archive:
                z = stack.enter_context(zipfile.ZipFile(self.path))
                return stack.enter_context(z.open(member))
            return stack.enter_context(open(self.path / member, "rb"))
        except KeyError:
            raise LoaderError("missing from the bundle", file=member) from None
        except FileNotFoundError:
            raise LoaderError("missing from the bundle", file=member) from None
        except (OSError, zipfile.BadZipFile) as e:
            raise LoaderError(f"cannot read file: {e}", file=member) from e

    def _manifest(self) -> dict[str, Any]:
        with ExitStack() as stack:
            f = self._open(stack, MANIFEST)
            try:
                m = json.loads(f.read().decode("utf-8"))
            except json.JSONDecodeError as e:
                raise LoaderError(f"not valid JSON: {e.msg}", file=MANIFEST, row=e.lineno) from e
            except (UnicodeDecodeError, OSError, zipfile.BadZipFile) as e:
                raise LoaderError(f"cannot read file: {e}", file=MANIFEST) from e
        if not isinstance(m, dict):
            raise LoaderError("expected a JSON object", file=MANIFEST)
        if m.get("format") != FORMAT:
            raise LoaderError(
                f"format is {m.get('format')!r}; this loader reads {FORMAT!r}",
                file=MANIFEST,
                column="format",
            )
        if not isinstance(m.get("dataset"), str) or not m["dataset"]:
            raise LoaderError("missing the exported dataset's id", file=MANIFEST, column="dataset")
        tables, rows = m.get("tables"), m.get("rows")
        if not isinstance(tables, dict) or not isinstance(rows, dict):
            raise LoaderError("needs 'tables' and 'rows' objects", file=MANIFEST)
        for t in REQUIRED_TABLES:
            if t not in tables:
                raise LoaderError(f"lists no {t} table", file=MANIFEST, column="tables")
        for t, file in tables.items():
            if t not in ARROW_TABLES:
                raise LoaderError(
                    f"unknown table {t!r} (known: {', '.join(ARROW_TABLES)})",
                    file=MANIFEST,
                    column="tables",
                )
            if file != f"{t}.arrow":
                raise LoaderError(
                    f"table {t!r} must be in {t}.arrow, not {file!r}",
                    file=MANIFEST,
                    column="tables",
                )
            n = rows.get(t)
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise LoaderError(
                    f"row count of {t!r} must be a non-negative integer, got {n!r}",
                    file=MANIFEST,
                    column="rows",
                )
        meta = m.get("meta", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise LoaderError("'meta' must map names to strings", file=MANIFEST, column="meta")
        m["meta"] = {k: v for k, v in meta.items() if k in ARROW_META}
        extra = set(rows) - set(tables)
        if extra:
            raise LoaderError(
                f"row counts for tables it does not list: {sorted(extra)}",
                file=MANIFEST,
                column="rows",
            )
        return m

    def _check_schema(self, table: str) -> None:
        """Every column of the table's schema present with its type, and no other."""
        file = self.tables[table]
        expected = ARROW_SCHEMAS[ARROW_TABLES[table]]
        with ExitStack() as stack:
            schema = self._reader(stack, table).schema
        for f in expected:
            i = schema.get_field_index(f.name)
            if i < 0:
                raise LoaderError(
                    f"missing column (the table has {', '.join(schema.names) or 'none'})",
                    file=file,
                    column=f.name,
                )
            if not schema.field(i).type.equals(f.type):
                raise LoaderError(
                    f"column of type {schema.field(i).type}, expected {f.type}",
                    file=file,
                    column=f.name,
                )
        for name in schema.names:
            if expected.get_field_index(name) < 0:
                raise LoaderError("unsupported column", file=file, column=name)
            if schema.names.count(name) > 1:
                raise LoaderError("duplicate column", file=file, column=name)

    def _reader(self, stack: ExitStack, table: str) -> pa.ipc.RecordBatchStreamReader:
        file = self.tables[table]
        f = self._open(stack, file)
        try:
            return stack.enter_context(pa.ipc.open_stream(f))
        except (pa.ArrowException, OSError, zipfile.BadZipFile) as e:
            raise LoaderError(f"not an Arrow IPC stream: {e}", file=file) from e

    def _table_rows(self, table: str) -> Iterator[Row]:
        """The rows of ``table`` as property dicts of its columns (nulls kept), a record
        batch at a time; refused at the first row past the manifest's count, or at the
        end when short of it."""
        file = self.tables.get(table)
        if file is None:
            return
        expected = self.rows[table]
        names = ARROW_SCHEMAS[ARROW_TABLES[table]].names
        row = 0
        with ExitStack() as stack:
            reader = self._reader(stack, table)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (pa.ArrowException, OSError, zipfile.BadZipFile) as e:
                    raise LoaderError(
                        f"unreadable Arrow stream: {e}", file=file, row=row + 1
                    ) from e
                cols = [batch.column(n).to_pylist() for n in names]
                for values in zip(*cols, strict=True):
                    row += 1
                    if row > expected:
                        raise LoaderError(
                            f"more rows than the {expected:,} that {MANIFEST} gives",
                            file=file,
                            row=row,
                        )
                    yield Where(file, row), dict(zip(names, values, strict=True))
        if row != expected:
            raise LoaderError(
                f"{row:,} rows, but {MANIFEST} gives {expected:,}", file=file, row=row + 1
            )

    # -- Source ----------------------------------------------------------------

    def fingerprint(self) -> str:
        if self.archive:
            return file_digest(self.path)
        files = [MANIFEST, *(self.tables[t] for t in sorted(self.tables))]
        return file_digest(*(self.path / f for f in files))

    def neurons(self) -> Iterator[Row]:
        for where, props in self._table_rows("neurons"):
            kind = props.get("kind")
            if kind is not None and kind not in CELL_KINDS:
                raise where.error(f"unknown cell kind {kind!r}", "kind")
            yield where, {k: v for k, v in props.items() if v is not None}

    def _pairs(self, kind: str) -> Iterator[tuple[Where, dict[str, Any]]]:
        """Rows of ``connections.arrow`` of one kind (the table is read whole each time,
        so that its row count is checked by either phase)."""
        for where, props in self._table_rows("connections"):
            k = props["kind"]
            if k not in CONNECTION_KINDS:
                raise where.error(
                    f"kind must be {' or '.join(CONNECTION_KINDS)}, got {k!r}", "kind"
                )
            if k == kind:
                yield where, props

    def connections(self) -> Iterator[Row]:
        for where, r in self._pairs("chemical"):
            props: dict[str, Any] = {
                "pre": r["pre"],
                "post": r["post"],
                "synapse_count": r["synapse_count"],
            }
            for p in ("weight", "psd_area_total", "nt_type"):
                if r[p] is not None:
                    props[p] = r[p]
            neuropils = r["neuropils"]
            if neuropils:
                # The writer stores a single neuropil per row (as a one-element list).
                if len(neuropils) > 1:
                    raise where.error(
                        f"{len(neuropils)} neuropils on one connection; "
                        "only one per connection can be loaded",
                        "neuropils",
                    )
                props["neuropil"] = neuropils[0]
            yield where, props

    def gap_junctions(self) -> Iterator[Row]:
        for where, r in self._pairs("electrical"):
            yield where, {"a": r["pre"], "b": r["post"], "count": r["synapse_count"]}

    def synapses(self) -> Iterator[Row]:
        for where, r in self._table_rows("synapses"):
            xyz = [r[c] for c in ("x", "y", "z")]
            if any(v is None for v in xyz) and any(v is not None for v in xyz):
                missing = ("x", "y", "z")[[v is None for v in xyz].index(True)]
                raise where.error("a location needs x, y and z", missing)
            if r["kind"] is not None and r["kind"] not in CONNECTION_KINDS:
                raise where.error(
                    f"kind must be {' or '.join(CONNECTION_KINDS)}, got {r['kind']!r}", "kind"
                )
            yield where, {k: v for k, v in r.items() if v is not None}
