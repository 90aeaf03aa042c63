"""A weight matrix as a dataset: the recurrent weights of a trained network (or any
matrix of unit-to-unit weights), so that the service's statistics compare it with a
connectome.

Inputs:

- ``.npz``: an array ``weights`` (n x n) and optionally ``ids`` (n unit names) and
  ``labels`` (n unit labels: the units' type and class);
- ``.npy``: the matrix alone;
- ``.csv``: a header row of unit names (its first cell names the column of row names,
  e.g. ``unit``; a second column headed ``label`` gives each unit's label), then one
  row per unit: its name, its label if any, and its weights.

By default ``W[post, pre]`` is the weight from unit ``pre`` to unit ``post``, as in
PyTorch's ``weight_hh`` (``h_t = W h_{t-1}``); ``orientation="pre_post"`` reads
``W[pre, post]``. Every entry with ``|w| > threshold`` off the diagonal becomes one
connection ``pre -> post`` with ``synapse_count`` 1 (one connection is one trained
parameter, not a count of synapses) and ``weight`` w (signed); a unit's ``sign`` is +1
or -1 when all its outgoing weights share that sign (Dale's law holds for it), else 0.
Self-connections are left out (the graph model has no autapses for a matrix).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Row, Source, Where, file_digest
from connectomedb.schema.models import DatasetMeta

#: at most this many units (the matrix is read whole: 20 000^2 float64 is 3.2 GB)
MAX_UNITS: Final = 20_000
_NAME: Final = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")

Orientation = Literal["post_pre", "pre_post"]


def check_names(values: list[str], file: str, what: str) -> list[str]:
    """``values`` as unit names, or a LoaderError naming the first bad or repeated one."""
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if not _NAME.match(v):
            raise LoaderError(
                f"unit name {v!r} must be 1-128 letters, digits, '_', '.', ':' or '-'",
                file=file,
                column=f"{what}[{i}]",
            )
        if v in seen:
            raise LoaderError(
                f"unit name {v!r} appears twice ({what}[{seen[v]}] and [{i}])",
                file=file,
                column=f"{what}[{i}]",
            )
        seen[v] = i
    return values


class WeightMatrixSource(Source):
    """A weight matrix as a dataset (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        dataset_id: str,
        *,
        threshold: float = 0.0,
        orientation: Orientation = "post_pre",
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        if threshold < 0:
            raise LoaderError("threshold must be at least 0", file=str(self.path))
        if orientation not in ("post_pre", "pre_post"):
            raise LoaderError("orientation must be post_pre or pre_post", file=str(self.path))
        self.threshold = float(threshold)
        self.orientation = orientation
        self.meta = DatasetMeta(
            id=dataset_id,
            name=name or f"Weight matrix {self.path.name}",
            species="artificial network",
            source=f"weight matrix {self.path.name}",
            source_files=(self.path.name,),
            description=(
                f"W[{orientation.replace('_', ', ')}] entries with |w| > {self.threshold:g} "
                "as connections: synapse_count 1 per connection (one trained parameter), "
                "weight = the signed entry; not a count of synapses"
            ),
        )
        self._read: tuple[np.ndarray, list[str], list[str] | None] | None = None

    def fingerprint(self) -> str:
        return file_digest(self.path, extra=f"{self.threshold}:{self.orientation}")

    # -- reading ---------------------------------------------------------------------------
    def _matrix(self) -> tuple[np.ndarray, list[str], list[str] | None]:
        """(W[pre, post], unit names, labels or None), read and checked once."""
        if self._read is None:
            suffix = self.path.suffix.lower()
            if suffix == ".csv":
                w, ids, labels = self._csv()
            elif suffix in (".npz", ".npy"):
                w, ids, labels = self._numpy(suffix)
            else:
                raise LoaderError("expected a .npz, .npy or .csv file", file=str(self.path))
            bad = np.argwhere(~np.isfinite(w))
            if bad.size:
                i, j = (int(x) for x in bad[0])
                raise LoaderError(
                    f"weight {w[i, j]!r} is not a finite number",
                    file=str(self.path),
                    row=i + 2 if suffix == ".csv" else None,
                    column=f"[{i}, {j}]",
                )
            self._read = (w if self.orientation == "pre_post" else w.T, ids, labels)
        return self._read

    def _check_shape(self, w: np.ndarray) -> np.ndarray:
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            raise LoaderError(
                f"the weights must be a square matrix, got shape {w.shape}", file=str(self.path)
            )
        if w.shape[0] > MAX_UNITS:
            raise LoaderError(f"at most {MAX_UNITS} units, got {w.shape[0]}", file=str(self.path))
        if w.dtype.kind not in "iuf":
            raise LoaderError(
                f"the weights must be numbers, got dtype {w.dtype}", file=str(self.path)
            )
        return w.astype(np.float64)

    def _numpy(self, suffix: str) -> tuple[np.ndarray, list[str], list[str] | None]:
        file = str(self.path)
        try:
            data = np.load(self.path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise LoaderError(f"cannot read the array file: {e}", file=file) from e
        if suffix == ".npy":
            w = self._check_shape(np.asarray(data))
            return w, [f"u{i}" for i in range(w.shape[0])], None
        with data:
            if "weights" not in data.files:
                raise LoaderError(f"no array 'weights' (found: {', '.join(data.files)})", file=file)
            w = self._check_shape(data["weights"])
            n = w.shape[0]
            out: dict[str, list[str]] = {}
            for key in ("ids", "labels"):
                if key in data.files:
                    arr = np.asarray(data[key])
                    if arr.shape != (n,):
                        raise LoaderError(
                            f"'{key}' must hold {n} names, got shape {arr.shape}",
                            file=file,
                            column=key,
                        )
                    out[key] = [str(x) for x in arr.tolist()]
        ids = check_names(out.get("ids") or [f"u{i}" for i in range(n)], file, "ids")
        return w, ids, out.get("labels")

    def _csv(self) -> tuple[np.ndarray, list[str], list[str] | None]:
        file = str(self.path)
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise LoaderError(f"cannot read file: {e}", file=file) from e
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise LoaderError("empty file: expected a header row of unit names", file=file, row=1)
        header = [c.strip() for c in rows[0]]
        labelled = len(header) > 1 and header[1] == "label"
        ids = check_names(header[2 if labelled else 1 :], file, "header")
        n = len(ids)
        if n == 0 or n > MAX_UNITS:
            raise LoaderError(f"expected 1 to {MAX_UNITS} unit columns, got {n}", file=file, row=1)
        body = [r for r in rows[1:] if any(c.strip() for c in r)]
        if len(body) != n:
            raise LoaderError(
                f"expected {n} rows of weights (one per unit), got {len(body)}", file=file
            )
        w = np.empty((n, n))
        labels: list[str] = []
        skip = 2 if labelled else 1
        for i, r in enumerate(body):
            line = i + 2
            if len(r) != n + skip:
                raise LoaderError(f"expected {n + skip} values, got {len(r)}", file=file, row=line)
            if r[0].strip() != ids[i]:
                raise LoaderError(
                    f"row {i + 1} is named {r[0].strip()!r}; rows must follow the header's "
                    f"order ({ids[i]!r})",
                    file=file,
                    row=line,
                    column=header[0] or "unit",
                )
            if labelled:
                labels.append(r[1].strip())
            for j, v in enumerate(r[skip:]):
                try:
                    w[i, j] = float(v) if v.strip() else 0.0
                except ValueError:
                    raise LoaderError(
                        f"expected a number, got {v!r}", file=file, row=line, column=ids[j]
                    ) from None
        return w, ids, labels if labelled else None

    # -- rows ------------------------------------------------------------------------------
    def _edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, _, _ = self._matrix()
        keep = np.abs(w) > self.threshold
        np.fill_diagonal(keep, False)
        pre, post = np.nonzero(keep)
        return pre, post, w[pre, post]

    def neurons(self) -> Iterator[Row]:
        w, ids, labels = self._matrix()
        pre, _, weight = self._edges()
        pos = np.bincount(pre[weight > 0], minlength=len(ids))
        neg = np.bincount(pre[weight < 0], minlength=len(ids))
        for i, unit in enumerate(ids):
            props: dict[str, Any] = {"id": unit, "kind": "neuron", "name": unit}
            props["sign"] = 1 if neg[i] == 0 and pos[i] else -1 if pos[i] == 0 and neg[i] else 0
            if labels is not None and labels[i]:
                props["type"] = props["class"] = labels[i]
            yield Where(str(self.path), None, f"unit {i}"), props

    def connections(self) -> Iterator[Row]:
        _, ids, _ = self._matrix()
        pre, post, weight = self._edges()
        where = str(self.path)
        for a, b, x in zip(pre.tolist(), post.tolist(), weight.tolist(), strict=True):
            yield (
                Where(where, None, f"[{a}, {b}]"),
                {"pre": ids[a], "post": ids[b], "synapse_count": 1, "weight": x},
            )
