"""The dataset description an Arrow export's manifest carries (``meta``): taken by the
loader, absent in older exports, refused when it is not names to strings."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connectomedb.errors import LoaderError
from connectomedb.export.writers import ARROW_SCHEMAS, ARROW_TABLES
from connectomedb.loaders.arrowbundle import ArrowBundle


def bundle(path: Path, meta: Any = None) -> Path:
    """An export of an empty dataset ``ex``, with ``meta`` in its manifest unless None."""
    manifest: dict[str, Any] = {
        "format": "connectomedb-arrow-1",
        "dataset": "ex",
        "tables": {"neurons": "neurons.arrow", "connections": "connections.arrow"},
        "rows": {"neurons": 0, "connections": 0},
    }
    if meta is not None:
        manifest["meta"] = meta
    with zipfile.ZipFile(path, "w") as z:
        for table in manifest["tables"]:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, ARROW_SCHEMAS[ARROW_TABLES[table]]):
                pass
            z.writestr(f"{table}.arrow", sink.getvalue().to_pybytes())
        z.writestr("manifest.json", json.dumps(manifest))
    return path


def test_the_description_comes_from_the_manifest(tmp_path: Path) -> None:
    meta = {"name": "Example", "species": "C. elegans", "citation": "Doe 2024", "extra": "x"}
    got = ArrowBundle(bundle(tmp_path / "b.zip", meta), "copy").meta
    assert (got.id, got.name, got.species, got.citation, got.version, got.license) == (
        "copy",
        "Example",
        "C. elegans",
        "Doe 2024",
        "1",
        "",
    )
    # a name given to the loader wins over the exported one
    assert ArrowBundle(tmp_path / "b.zip", "copy", name="Mine").meta.name == "Mine"


def test_an_export_without_a_description_loads_as_before(tmp_path: Path) -> None:
    got = ArrowBundle(bundle(tmp_path / "b.zip"), "copy").meta
    assert (got.name, got.species, got.citation) == ("copy", "unknown", "")


@pytest.mark.parametrize("meta", [["name"], {"version": 3}], ids=["a list", "a number"])
def test_a_description_that_is_not_names_to_strings_is_refused(tmp_path: Path, meta: Any) -> None:
    with pytest.raises(LoaderError) as e:
        ArrowBundle(bundle(tmp_path / "b.zip", meta), "copy")
    assert str(e.value) == "manifest.json, column 'meta': 'meta' must map names to strings"
