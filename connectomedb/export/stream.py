"""Run an export: pages from the store into a writer, out as byte chunks (for an HTTP
response) or into a file that appears only when complete.

Reads are async (the API's event loop keeps serving while Neo4j answers); each batch is
encoded in a worker thread, so encoding does not hold the loop either.
"""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import IO, Any, Protocol, cast

from connectomedb.errors import BadInput
from connectomedb.export.writers import (
    WRITERS,
    ArrowTableWriter,
    ArrowZipWriter,
    Stream,
    Writer,
)
from connectomedb.store.export import Columns, ExportRepository

FORMATS = tuple(WRITERS)


class ChunkSink(io.RawIOBase):
    """A write-only, unseekable byte sink that hands out what was written so far."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._chunks.append(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class Progress(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...


class _Quiet:
    def phase(self, name: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


def make_writer(
    fmt: str, sink: ChunkSink, dataset: str, *, synapses: bool = False, table: str | None = None
) -> Writer:
    """The writer of format ``fmt`` (one Arrow table alone when ``table`` is given)."""
    if fmt not in WRITERS:
        raise BadInput(f"format must be one of {', '.join(FORMATS)}")
    out = cast(IO[bytes], sink)
    if table is not None:
        if fmt != "arrow":
            raise BadInput("table= goes with format=arrow only")
        if synapses and table != "synapses":
            raise BadInput("synapses= goes with the whole export, or table=synapses")
        return ArrowTableWriter(out, dataset, table=table)
    return WRITERS[fmt](out, dataset, synapses=synapses)


def _stream(repo: ExportRepository, name: Stream) -> Callable[[], AsyncIterator[Columns]]:
    return {"cells": repo.cells, "connections": repo.connections, "synapses": repo.synapses}[name]


async def export_chunks(
    repo: ExportRepository,
    writer: Writer,
    sink: ChunkSink,
    totals: dict[str, int | None] | None = None,
    progress: Progress | None = None,
) -> AsyncIterator[bytes]:
    """The bytes of ``writer``'s output, a chunk per page, as the pages are read."""
    progress = progress or _Quiet()
    totals = totals or {}
    for part, stream in writer.parts():
        progress.phase(part, totals.get(stream))
        writer.start(part)
        # closed at once when the consumer stops (a client gone): the page read ahead
        # is cancelled rather than left to the garbage collector
        async with aclosing(cast(AsyncGenerator[Columns, None], _stream(repo, stream)())) as pages:
            async for batch in pages:
                await asyncio.to_thread(writer.write, part, batch)
                progress.advance(len(next(iter(batch.values()))))
                if data := sink.take():
                    yield data
        writer.end(part)
    writer.close()
    if data := sink.take():
        yield data


def temp_path(path: Path) -> Path:
    """A sibling of ``path`` to write into before the rename (same file system)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")


async def export_to_file(
    repo: ExportRepository,
    fmt: str,
    path: Path,
    *,
    synapses: bool = False,
    table: str | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the export to ``path``: into a temporary file beside it, renamed into place
    only when complete, so a failure leaves nothing half-written. Returns rows per part."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise BadInput(f"directory {path.parent} does not exist")
    props = await repo.check_ready()
    sink = ChunkSink()
    writer = make_writer(fmt, sink, repo.dataset, synapses=synapses, table=table)
    if isinstance(writer, ArrowZipWriter):
        writer.describe(props)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            async for chunk in export_chunks(repo, writer, sink, repo.totals(props), progress):
                f.write(chunk)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return dict(writer.rows)
